// GPU plans for the frontend (NDArrays on gpu contexts, hybridized blocks called with gpu
// inputs), in namespace hgc: the frontend's gpu(i) context function and the compiler's
// hgc::gpu namespace cannot meet in one file, so these wrap hgc/compiler/gpu.h.
//
//   auto p = imperative_gpu_plan("broadcast_add", {}, {{2, 3}, {2, 3}}, {DType::f32, DType::f32});
//   GpuPlan q = compile_gpu_plan(traced_graph, opts);     // gpu::compile_to_ptx
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "hgc/compiler/compile.h"
#include "hgc/base/attrs.h"
#include "hgc/runtime/gpu_plan.h"

namespace hgc {

// The imperative road on the GPU: one registered op on inputs of these shapes and dtypes as
// a graph of one node (every output a head), compiled with gpu::compile_to_ptx once per
// (op, attributes, dtypes, shapes, options) and kept in memory for the process (a GpuPlan is
// device-independent; the caller loads it per device). Throws hgc::Error naming the op for a
// missing attribute or an op without a GPU lowering.
std::shared_ptr<const GpuPlan> imperative_gpu_plan(const std::string& op, const AttrMap& attrs,
                                                   const std::vector<std::vector<int64_t>>& shapes,
                                                   const std::vector<DType>& dtypes, const CompileOptions& opts = {});
struct GpuPlanCacheStats {
  int64_t hits = 0, misses = 0, entries = 0;
};
GpuPlanCacheStats imperative_gpu_plan_stats();
void clear_imperative_gpu_plans();

// gpu::compile_to_ptx with the default GPU options (sm_80 and sm_90, the toolkit found as
// gpu::toolkit_path says).
GpuPlan compile_gpu_plan(const Graph& g, const CompileOptions& opts = {});

}  // namespace hgc
