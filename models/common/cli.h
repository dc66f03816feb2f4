// Argument helpers shared by the example programs: a bad number or --help gets a message,
// never an uncaught std::stoi exception.
#pragma once
#include <cstdio>
#include <cstring>
#include <string>

#include "hgc/base/error.h"

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

// "[epochs] [export-prefix] [--dump DIR]", the BST programs' arguments.
struct TrainArgs {
  int epochs;
  std::string prefix, dump;
};
inline TrainArgs parse_train_args(int argc, char** argv, int default_epochs) {
  TrainArgs a{default_epochs, "", ""};
  int positional = 0;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--dump") && i + 1 < argc) a.dump = argv[++i];
    else if (positional++ == 0) a.epochs = positive_int_arg(argv[i], "epochs");
    else if (positional == 2) a.prefix = argv[i];
    else fail("cli", "unexpected argument '", argv[i], "'");
  }
  return a;
}

}  // namespace hgc::models
