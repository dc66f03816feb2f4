// The hgc subcommands; each parses its own options and returns an exit code.
#pragma once
#include "cli.h"

namespace hgc::cli {
int cmd_dump(Args& args);
int cmd_run(Args& args);
int cmd_compile(Args& args);
int cmd_onnx_test(Args& args);
int cmd_convert(Args& args);
int cmd_launch(Args& args);
}  // namespace hgc::cli
