// What the GPU code generator hands the CUDA runtime, as plain data (no MLIR, no CUDA
// headers): per kernel group of a graph, the device kernels it launches, in order, with
// static launch sizes and how each kernel parameter is built from the group's arguments.
//
//   GpuPlan p = gpu::compile_to_ptx(graph, opts);        // compiler/ (hgc/compiler/gpu.h)
//   for (const GpuKernel& k : p.kernels)                  // one per unique kernel group
//     for (const GpuLaunch& l : k.launches)               // PTX entry + grid/block + params
//       ... cuModuleLoadData(l.ptx.at("sm_90")) ... cuLaunchKernel(...)
//
// Kernel parameter convention (MLIR's NVVM lowering, no bare pointers): every memref operand
// expands to allocated ptr, aligned ptr, offset, sizes[rank], strides[rank] (64-bit each);
// scalars are passed as themselves.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace hgc {

class Executable;

struct GpuOperand {
  enum class Kind { Arg, Temp, Int, Float };
  Kind kind = Kind::Arg;
  // Arg: index into the group's arguments (the step's args: inputs, then outputs). Temp:
  // index into GpuKernel::temp_bytes (scratch the group needs, e.g. a softmax's row maxima).
  int index = 0;
  // Memref operands (Arg/Temp): the descriptor, in elements, relative to the buffer's start.
  int64_t offset = 0;
  std::vector<int64_t> sizes, strides;
  // Int/Float scalars: the value and its width in bits (a kernel parameter of that type).
  int64_t ival = 0;
  double fval = 0;
  int bits = 64;
};

struct GpuLaunch {
  std::string module;  // the outlined gpu.module's name
  std::string entry;   // the kernel's symbol in the PTX
  std::map<std::string, std::string> ptx;  // chip ("sm_80", "sm_90") -> PTX text (no NUL)
  int64_t grid[3] = {1, 1, 1};
  int64_t block[3] = {1, 1, 1};
  std::vector<GpuOperand> operands;
};

// One kernel group (the function a CPU step would call): its launches run in order on one
// stream; temps live for the group's duration.
struct GpuKernel {
  std::string name;
  std::vector<int64_t> temp_bytes;
  std::vector<GpuLaunch> launches;
};

// A compiled graph for the GPU: the step plan (buffers, arena offsets, library calls, kernel
// names; no CPU code) and the device kernels by name.
struct GpuPlan {
  std::shared_ptr<Executable> exe;
  std::string mlir;                  // the kernel module before GPU lowering
  std::vector<std::string> chips;    // PTX targets present in every GpuLaunch::ptx
  std::vector<GpuKernel> kernels;
  // Library calls the device runs as generated kernels instead (convolution): step index ->
  // kernel name, called with the call's operands.
  std::map<size_t, std::string> library_kernels;
  const GpuKernel* find(const std::string& name) const {
    for (const GpuKernel& k : kernels)
      if (k.name == name) return &k;
    return nullptr;
  }
};

// The device code of a plan as bytes and back (the PTX disk cache stores these). load throws
// hgc::Error("runtime") naming `origin` and the offset for anything malformed.
std::string save_gpu_kernels(const std::vector<GpuKernel>& kernels);
std::vector<GpuKernel> load_gpu_kernels(const std::string& bytes, const std::string& origin = "GPU kernel list");

// A whole plan as bytes and back (what `hgc compile --target=cuda` embeds in a program):
// the step plan (plan_io.h, constants included), the device kernels, the chips and the
// library calls run as kernels; not the MLIR text. The loaded plan's steps have no CPU
// code: running `exe` on the CPU throws hgc::Error. load_gpu_plan throws
// hgc::Error("runtime") naming `origin` for anything malformed.
std::string save_gpu_plan(const GpuPlan& plan);
GpuPlan load_gpu_plan(const std::string& bytes, const std::string& origin = "GPU plan");

}  // namespace hgc
