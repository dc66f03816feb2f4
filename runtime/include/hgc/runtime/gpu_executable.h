// A compiled graph on a CUDA device: the GpuPlan's steps (generated kernels as PTX launches,
// GEMM-shaped library calls on cuBLAS) over device buffers laid out like the CPU arena.
// Inputs and outputs are host tensors; each run uploads the inputs, runs the steps on the
// device's stream and downloads the outputs. Constants are uploaded once.
//
//   GpuPlan plan = gpu::compile_to_ptx(graph, opts);          // compiler/ (hgc/compiler/gpu.h)
//   GpuExecutable exe(plan, cuda::Device::open(0));           // loads PTX, throws hgc::Error
//   std::vector<HostTensor> out = exe.run({{"data", x}, ...});
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hgc/runtime/cuda.h"
#include "hgc/runtime/executable.h"
#include "hgc/runtime/gpu_plan.h"

namespace hgc {

class GpuExecutable {
 public:
  // Throws hgc::Error("cuda") when a step cannot run on the device (a library call with
  // neither cuBLAS nor a generated kernel) or no PTX target of the plan suits the device.
  GpuExecutable(GpuPlan plan, std::shared_ptr<cuda::Device> device);
  ~GpuExecutable();
  GpuExecutable(const GpuExecutable&) = delete;
  GpuExecutable& operator=(const GpuExecutable&) = delete;

  std::vector<HostTensor> run(const std::vector<HostTensor>& inputs) const;
  std::vector<HostTensor> run(const std::map<std::string, HostTensor>& inputs) const;
  // The same on device buffers the caller owns (NDArrays on a gpu context): `inputs` in the
  // plan's input order, `outputs` sized like its outputs (plan().buffers of output_buffers).
  // No host copies; the work is queued on the device's stream (later copies and frees on
  // that stream run after it). A head no step writes (a view of an input) is copied over.
  void run_device(const std::vector<cuda::DevicePtr>& inputs, const std::vector<cuda::DevicePtr>& outputs) const;
  const Executable& plan() const { return *plan_.exe; }
  const std::string& chip() const { return chip_; }

  // The PTX target to load on a device of compute capability `cc` (90 for sm_90): the
  // newest of `chips` not newer than the device (PTX is JIT-compiled forward). Throws when
  // every chip is newer than the device.
  static std::string pick_chip(const std::vector<std::string>& chips, int cc);

 private:
  struct Kernel {
    const GpuKernel* code = nullptr;
    std::vector<void*> functions;  // per launch
  };
  void run_step(size_t step, const Step& s, const std::vector<cuda::DevicePtr>& ptr) const;
  void run_kernel(const std::string& name, const std::vector<int>& args, const std::vector<cuda::DevicePtr>& ptr) const;
  void run_library(size_t step, const Step& s, const std::vector<cuda::DevicePtr>& ptr) const;

  GpuPlan plan_;
  std::shared_ptr<cuda::Device> dev_;
  std::string chip_;
  std::vector<std::shared_ptr<cuda::Module>> modules_;
  std::map<std::string, Kernel> kernels_;
  std::vector<cuda::DevicePtr> constants_;
};

}  // namespace hgc
