// Argument helpers shared by the example programs: a bad number or --help gets a message,
// never an uncaught std::stoi exception.
#pragma once
#include <cstdio>
#include <cstring>
#include <string>

#include "hgc/ir/error.h"

namespace hgc::models {

// `s` as an integer >= 1, or an hgc::Error naming `what`.
inline int positive_int_arg(const std::string& s, const char* what) {
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || v < 1 || v > 1000000) fail("cli", what, " must be a positive integer, got '", s, "'");
  return static_cast<int>(v);
}

// Prints `usage` and returns true when an argument is -h or --help.
inline bool wants_help(int argc, char** argv, const char* usage) {
  for (int i = 1; i < argc; ++i)
    if (!std::strcmp(argv[i], "-h") || !std::strcmp(argv[i], "--help")) {
      std::printf("usage: %s %s\n", argv[0], usage);
      return true;
    }
  return false;
}

}  // namespace hgc::models
