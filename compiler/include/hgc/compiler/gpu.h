// GPU code generation: the kernel groups compile() would JIT for the CPU, lowered through
// MLIR's GPU and NVVM dialects to PTX (libdevice linked for math). GEMM-shaped steps stay
// library calls (cuBLAS on the device; see runtime/cuda.h). Plain C++ types only.
//
//   GpuPlan p = gpu::compile_to_ptx(graph, CompileOptions());   // shapes inferred
//   for (const GpuKernel& k : p.kernels) ... k.launches[i].ptx.at("sm_90") ...
#pragma once
#include <map>
#include <string>
#include <vector>

#include "hgc/compiler/compile.h"
#include "hgc/runtime/gpu_plan.h"

namespace hgc::gpu {

// GpuOptions (chips, threads per block, toolkit) is in hgc/base/compile_options.h, as
// CompileOptions::gpu.
using hgc::GpuOptions;

// The toolkit folder used when `o.toolkit` is empty; throws hgc::Error("compiler") when no
// libdevice is found there.
std::string toolkit_path(const GpuOptions& o = {});

// The graph's plan with static shapes and its kernels lowered to PTX. Throws hgc::Error
// naming the kernel and the MLIR diagnostics when a kernel cannot be mapped to the GPU.
GpuPlan compile_to_ptx(const Graph& g, const CompileOptions& opts = {}, const GpuOptions& gopts = {},
                       const std::map<std::string, HostTensor>& frozen = {});
// The same with the GPU options that `opts` carries (opts.gpu).
GpuPlan compile_to_ptx(const Graph& g, const CompileOptions& opts, const std::map<std::string, HostTensor>& frozen);

// A direct (implicit-GEMM) convolution kernel for a "convolution" library call's parameters
// (runtime/library_call.h): arguments x, w, (b), y as the call takes them. The GPU runs
// convolutions with it; the CPU keeps im2col + OpenBLAS.
std::string convolution_kernel(const std::string& name, const std::vector<int64_t>& params);

// lower_module_to_ptx behind the on-disk kernel cache (kernel_cache.h; the same folder and
// switches as CPU code: opts.disk_cache, opts.cache_dir). Key: the module text, the GPU
// options, the toolkit and compiler_version().
std::vector<GpuKernel> lower_module_to_ptx_cached(const std::string& mlir_text, const GpuOptions& gopts,
                                                  const CompileOptions& opts);

// The core, for tests: a module of kernel functions (as emit_mlir writes them, static
// shapes) -> one GpuKernel per public function.
std::vector<GpuKernel> lower_module_to_ptx(const std::string& mlir_text, const GpuOptions& gopts = {});

}  // namespace hgc::gpu
