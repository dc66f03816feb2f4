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
  int64_t hits = 0, misses = 0;
  double compile_ms = 0;  // total JIT time of the misses
  int64_t entries = 0;
};
KernelCacheStats kernel_cache_stats();
void clear_kernel_cache();

}  // namespace hgc
