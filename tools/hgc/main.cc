// hgc — the hybrid graph compiler's command line.
#include <cstring>
#include <iostream>

#include "commands.h"
#include "hgc/base/error.h"

namespace {
const char* kHelp = R"(usage: hgc COMMAND [options]

commands:
  dump     load a model (JSON or .onnx), infer shapes, print it (text, canonical JSON, Graphviz)
  run      compile a model through MLIR/LLVM and run it (inputs from .npy or random)
  compile  compile a model ahead of time: a standalone program, an object, MLIR or LLVM IR
  convert  MXNet JSON + .params -> ONNX (checked), or ONNX -> MXNet JSON + .params
  onnx-test  run one ONNX backend test folder (model.onnx + test_data_set_N) and compare
  launch   run N ranks of a data-parallel program on this machine (gloo or mpi)
MODEL is an MXNet symbol JSON or an .onnx file.

Run `hgc COMMAND --help` for a command's options.
)";
}

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "--help")) {
    std::cout << kHelp;
    return argc < 2 ? 2 : 0;
  }
  std::string cmd = argv[1];
  try {
    hgc::cli::Args args(argc, argv, 2);
    if (cmd == "dump") return hgc::cli::cmd_dump(args);
    if (cmd == "run") return hgc::cli::cmd_run(args);
    if (cmd == "compile") return hgc::cli::cmd_compile(args);
    if (cmd == "onnx-test") return hgc::cli::cmd_onnx_test(args);
    if (cmd == "convert") return hgc::cli::cmd_convert(args);
    if (cmd == "launch") return hgc::cli::cmd_launch(args);
    std::cerr << "hgc: unknown command '" << cmd << "'\n" << kHelp;
    return 2;
  } catch (const hgc::Error& e) {
    std::cerr << "hgc " << cmd << ": error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "hgc " << cmd << ": internal error: " << e.what() << "\n";
    return 3;
  }
}
