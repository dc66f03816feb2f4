// The symbols `hgc compile` generates for a compiled model (the kernel table, the embedded
// plan, names), shared by the program driver (aot_main.cc) and the library (aot_lib.cc).
// Each declares only what its link provides; unused declarations cost nothing.
#pragma once
#include "hgc/runtime/kernel_abi.h"

extern "C" {
struct HgcAotKernel {
  const char* name;
  hgc::PackedKernel fn;
};
extern const HgcAotKernel hgc_aot_kernels[];
extern const int hgc_aot_kernel_count;
extern const char hgc_plan_blob[];
extern const char hgc_plan_blob_end[];
extern const char hgc_model_name[];
extern const char* const hgc_output_names[];  // library only
extern const int hgc_output_name_count;       // library only
extern const int hgc_params_beside;           // program only: 1 when params are read from a file
extern const int hgc_target_cuda;             // program only: 1 when the blob is a GpuPlan (gpu_plan.h)
}
