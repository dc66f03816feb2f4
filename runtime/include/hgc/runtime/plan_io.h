// An Executable's plan as bytes and back: buffers, steps (kernel names, library calls, split
// flags, epilogue arguments), input/output names, arena size and constants. What a
// standalone program made by `hgc compile` carries; its kernels come from its own object
// code, looked up by name.
//
//   std::string blob = save_plan(*exe);                  // exe from compile() or plan_aot()
//   auto back = load_plan(blob, "model.plan", [&](const std::string& k) { return table[k]; });
//   back->run({{"data", x}});
//
// Format (little endian): "HGCPLAN\0", u32 version, then the sections in the order written
// by save_plan; strings are u32 length + bytes. load_plan checks every count, index, size,
// arena offset, library call (check_library) and constant against the bytes and against
// each other: truncated or hostile bytes throw hgc::Error("runtime"), they never crash.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "hgc/runtime/executable.h"

namespace hgc {

// 2: an optional dynamic-dims section at the end (dynamic_plan.h); 3: then each step's
// Step::epilogue_rows. Versions 1 and 2 still load.
inline constexpr uint32_t kPlanVersion = 3;

// Kernel steps are saved by Step::kernel_name (which must be set); `code` is not saved.
std::string save_plan(const Executable& exe);

// Maps a kernel name to its code; nullptr when the program has no such kernel.
using KernelResolver = std::function<PackedKernel(const std::string& kernel_name)>;
// `origin` names the source in errors.
std::shared_ptr<Executable> load_plan(std::string_view bytes, const std::string& origin,
                                      const KernelResolver& resolve);

}  // namespace hgc
