// The PTX checks of tests/compiler/test_gpu_codegen.cc for test files that cannot include
// hgc/compiler/gpu.h (the frontend's gpu(i) function and the hgc::gpu namespace clash).
//
//   if (!test::gpu_toolkit_present()) return;      // prints SKIP without libdevice
//   test::check_gpu_plan(plan, "what", {"sm_80", "sm_90"});   // structure + ptxas
#pragma once
#include <set>
#include <string>

#include "hgc/runtime/gpu_plan.h"

namespace hgc::test {
// Every step is a library call, view or kernel the plan has; every launch has PTX for
// sm_80 and sm_90 with the runtime's parameter layout, and ptxas accepts it for the chips in
// `ptxas_chips` (SKIP message when ptxas is absent). Returns the number of launches.
int check_gpu_plan(const GpuPlan& p, const std::string& what,
                   const std::set<std::string>& ptxas_chips = {"sm_80", "sm_90"});
// Whether the CUDA toolkit's libdevice is there (else prints "SKIP: ...").
bool gpu_toolkit_present();
}  // namespace hgc::test
