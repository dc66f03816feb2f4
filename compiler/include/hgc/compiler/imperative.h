// The imperative road: one op on concrete tensors, through the same lowerings and JIT as a
// compiled graph. Kernels are cached by signature (op, attributes, dtypes, and shapes — with
// every dim but the size-1 ones dynamic for shape-polymorphic lowerings, so a new batch
// size reuses the code).
//
//   HostTensor y = invoke("Activation", {{"act_type", "relu"}}, {x})[0];
//   KernelCacheStats s = kernel_cache_stats();   // hits, misses, compile time
#pragma once
#include <map>
#include <string>
#include <vector>

#include "hgc/compiler/compile.h"
#include "hgc/base/attrs.h"
#include "hgc/base/tensor.h"

namespace hgc {

// Attributes as MXNet strings ({"axis", "1"}); parsed with the op's schema.
std::vector<HostTensor> invoke(const std::string& op, const std::map<std::string, std::string>& attrs,
                               const std::vector<HostTensor>& inputs, const CompileOptions& opts = {});
// Attributes already typed.
std::vector<HostTensor> invoke_typed(const std::string& op, const AttrMap& attrs, const std::vector<HostTensor>& inputs,
                                     const CompileOptions& opts = {});

struct KernelCacheStats {
  int64_t hits = 0, misses = 0;  // misses: kernels compiled (JIT or loaded from the disk cache)
  double compile_ms = 0;  // total JIT time of the misses
  int64_t entries = 0;
  int64_t prebuilt = 0;   // first uses served by a kernel compiled at build time (no JIT)
};
KernelCacheStats kernel_cache_stats();
void clear_kernel_cache();

// The kernels compiled ahead of time at build time (compiler/prebuilt/kernels.txt, through
// the same lowering) and linked into the library. invoke() uses one before it would JIT
// when its key matches and the running CPU has every feature the build machine's code was
// generated for (else: JIT, as without them).
struct PrebuiltKernelsInfo {
  int64_t kernels = 0;   // in the library
  int64_t modules = 0;   // whole graph modules in the library (compiler/prebuilt/graphs.txt)
  bool usable = false;   // on this CPU
  std::string target;    // what they were compiled for: triple|cpu|features|llvm version
  std::string reason;    // why not usable ("" when usable)
  std::vector<std::string> keys;  // the imperative cache keys they serve
};
PrebuiltKernelsInfo prebuilt_kernels_info();
// Why code generated for `built` (a host_target_id(): "triple|cpu|+f1,-f2,...|llvm X") may not
// run on a machine described by `host`: another triple or LLVM, or a feature enabled in
// `built` missing in `host` ("" when it may run; the CPU names may differ).
std::string prebuilt_target_mismatch(const std::string& built, const std::string& host);
// Process-wide, on by default; off, invoke() JIT-compiles the prebuilt signatures too (to
// compare the two: their in-memory cache entries are kept apart).
void set_prebuilt_kernels_enabled(bool on);
bool prebuilt_kernels_enabled();

}  // namespace hgc
