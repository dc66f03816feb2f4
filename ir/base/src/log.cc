#include "hgc/base/log.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace hgc {

bool log_enabled(std::string_view topic) {
  static const std::string topics = [] {
    const char* v = std::getenv("HGC_LOG");
    return "," + std::string(v ? v : "") + ",";
  }();
  return topics.find("," + std::string(topic) + ",") != std::string::npos || topics.find(",all,") != std::string::npos;
}

namespace {
// HGC_LOG=...,time prefixes each line with the milliseconds since the process's first
// log_line call (the timeline of a cold start: which compile overlaps which).
const auto g_start = std::chrono::steady_clock::now();
}  // namespace

void log_line(const std::string& text) {
  std::string prefix = "[hgc] ";
  if (log_enabled("time")) {
    char b[32];
    std::snprintf(b, sizeof b, "[hgc %8.1f] ",
                  std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - g_start).count());
    prefix = b;
  }
  std::string line = prefix + text + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace hgc
