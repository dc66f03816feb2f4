// Which CUDA device the tests see: none (the build machines), tests/fake_cuda's host-memory
// stand-in (a child process run with LD_LIBRARY_PATH=HGC_FAKE_CUDA_DIR: copies work, no
// module loads, no kernel runs), or a real GPU. Execution tests call real_gpu() and return
// when it is false; it prints why ("SKIP: ..."), so no result claims a GPU ran.
//
//   if (!test::real_gpu()) return;     // kernels must run
//   if (!test::fake_gpu()) return;     // only meaningful on the stand-in
#pragma once
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "hgc/runtime/cuda.h"
#include "support/shell.h"

namespace hgc::test {

// The name tests/fake_cuda/fake_cuda.c reports for its device.
inline bool is_fake_device() {
  static const bool fake = cuda::available() &&
                           cuda::Device::open(0)->name().find("hgc fake CUDA device") != std::string::npos;
  return fake;
}

inline bool real_gpu() {
  if (!cuda::available()) {
    MESSAGE("SKIP: no CUDA device: " << cuda::unavailable_reason());
    return false;
  }
  if (is_fake_device()) {
    MESSAGE("SKIP: the fake CUDA driver (host memory) runs no kernels");
    return false;
  }
  return true;
}

// For the cases written for the stand-in (its refusals are part of what they check).
inline bool fake_gpu() {
  if (!is_fake_device()) {
    MESSAGE("SKIP: runs only against tests/fake_cuda (the parent case starts it)");
    return false;
  }
  return true;
}

// This test binary again in a child that loads the fake libcuda.so.1, running `filter`
// (-tc); the caller checks its output.
inline Shell run_on_fake_driver(const std::string& filter) {
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  return sh("LD_LIBRARY_PATH=" HGC_FAKE_CUDA_DIR " " + self + " --no-version -tc='" + filter + "'");
}

}  // namespace hgc::test
