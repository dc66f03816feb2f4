// CompileOptions: every knob of compilation in one plain struct (DESIGN.md: typed options,
// not env vars), for either target. It lives in the base library so that headers which only
// carry options (a block's HybridizeOptions) need no compiler header.
//
//   CompileOptions o = CompileOptions().opt(2).fusion(false);
//   CompileOptions g = CompileOptions().on(Target::cuda).gpu_chips({"sm_90"});
#pragma once
#include <string>
#include <utility>

#include "hgc/base/dtype.h"
#include <vector>

namespace hgc {

enum class Target { cpu, cuda };
inline const char* target_name(Target t) { return t == Target::cuda ? "cuda" : "cpu"; }

// The GPU target's options (compiler/gpu.h also names it gpu::GpuOptions).
struct GpuOptions {
  std::vector<std::string> chips = {"sm_80", "sm_90"};
  int threads_per_block = 256;
  // Reductions over one dim of >= 32 elements as one block per output element (shuffles +
  // shared memory); off: one thread per output element, a sequential loop.
  bool block_reductions = true;
  // The CUDA toolkit (for libdevice): empty = $CUDA_HOME, $CUDA_PATH, else /usr/local/cuda.
  std::string toolkit;
};

struct CompileOptions {
  // Where the code runs: cpu (LLVM JIT or object code) or cuda (PTX through NVPTX; `gpu`).
  Target target = Target::cpu;
  GpuOptions gpu;
  int opt_level = 3;                 // LLVM -O level
  std::string target_cpu = "native";  // or an LLVM CPU name such as "x86-64-v3"
  bool memory_cache = true;          // reuse JIT modules of identical kernel text in-process
  // On-disk kernel cache (object code, shared by processes; see kernel_cache.h). Empty
  // cache_dir: DiskCache::global()'s folder ($HGC_CACHE_DIR, else the user's cache folder).
  bool disk_cache = true;
  bool fuse = true;                  // kernel groups (operation folding), passes/fuse.h
  bool optimize = true;              // DCE, CSE, simplification; with frozen tensors also
                                     // constant and BatchNorm folding (passes/simplify.h)
  bool plan_memory = true;           // arena reuse and in-place writes, passes/memory_plan.h
  // The caller passes output buffers that are also input buffers (an optimizer updating its
  // weights in place): kernels then compute into temporaries before writing their outputs.
  bool outputs_alias_inputs = false;
  std::string cache_dir;
  // Automatic mixed precision (passes/amp.h): bf16 (or f16) runs the GEMMs and convolutions
  // in that type, softmax/norms/losses/reductions in float32; unknown: off.
  DType amp = DType::unknown;

  CompileOptions& on(Target t) { target = t; return *this; }
  CompileOptions& gpu_options(GpuOptions o) { gpu = std::move(o); return *this; }
  CompileOptions& gpu_chips(std::vector<std::string> chips) { gpu.chips = std::move(chips); return *this; }
  CompileOptions& opt(int level) { opt_level = level; return *this; }
  CompileOptions& cpu(std::string name) { target_cpu = std::move(name); return *this; }
  CompileOptions& cache(bool on) { memory_cache = on; return *this; }
  CompileOptions& disk(bool on) { disk_cache = on; return *this; }
  CompileOptions& fusion(bool on) { fuse = on; return *this; }
  CompileOptions& simplify(bool on) { optimize = on; return *this; }
  CompileOptions& plan(bool on) { plan_memory = on; return *this; }
  CompileOptions& aliasing(bool on) { outputs_alias_inputs = on; return *this; }
  CompileOptions& cache_folder(std::string dir) { cache_dir = std::move(dir); return *this; }
  CompileOptions& mixed_precision(DType t) { amp = t; return *this; }
};

}  // namespace hgc
