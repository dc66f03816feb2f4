// Runs commands from tests (the hgc tool, compiled programs, ldd), capturing stdout and
// stderr together.
//
//   Shell r = sh("ls /");           r.code == 0;  r.out
//   Shell d = hgc_tool("dump --help");
#pragma once
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace hgc::test {

struct Shell {
  int code;
  std::string out;
};

inline Shell sh(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p);
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

// The hgc binary of this build with `args` (and optional `env` assignments before it).
inline Shell hgc_tool(const std::string& args, const std::string& env = "") {
  return sh(env + (env.empty() ? "" : " ") + std::string(HGC_TOOL) + " " + args);
}

}  // namespace hgc::test
