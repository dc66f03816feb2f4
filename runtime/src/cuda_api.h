// The slice of the CUDA driver API and cuBLAS the runtime uses, declared here (no CUDA
// headers at build time) and resolved with dlopen/dlsym at first use. Signatures follow
// cuda.h / cublas_api.h of CUDA 11-13 (the _v2 entry points).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace hgc::cuda::api {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = void*;
using CUmodule = void*;
using CUfunction = void*;
using CUstream = void*;

constexpr int kAttrCcMajor = 75;  // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
constexpr int kAttrCcMinor = 76;
constexpr int kJitErrorLogBuffer = 5;  // CU_JIT_ERROR_LOG_BUFFER
constexpr int kJitErrorLogBufferSize = 6;

struct Driver {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDeviceGetCount)(int*);
  CUresult (*cuDeviceGet)(CUdevice*, int);
  CUresult (*cuDeviceGetName)(char*, int, CUdevice);
  CUresult (*cuDeviceGetAttribute)(int*, int, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext*, CUdevice);
  CUresult (*cuDevicePrimaryCtxRelease)(CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuStreamCreate)(CUstream*, unsigned);
  CUresult (*cuStreamDestroy)(CUstream);
  CUresult (*cuStreamSynchronize)(CUstream);
  CUresult (*cuMemAlloc)(CUdeviceptr*, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemcpyHtoDAsync)(CUdeviceptr, const void*, size_t, CUstream);
  CUresult (*cuMemcpyDtoHAsync)(void*, CUdeviceptr, size_t, CUstream);
  CUresult (*cuMemcpyDtoDAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*cuMemsetD8Async)(CUdeviceptr, unsigned char, size_t, CUstream);
  CUresult (*cuModuleLoadDataEx)(CUmodule*, const void*, unsigned, int*, void**);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction*, CUmodule, const char*);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                             CUstream, void**, void**);
  CUresult (*cuGetErrorString)(CUresult, const char**);
};

// The driver, loaded and initialized once; nullptr (with the reason) when unavailable.
const Driver* driver(std::string* why = nullptr);
// Throws hgc::Error("cuda", what + ": " + the driver's message) unless r == 0.
void check(CUresult r, const char* what);

using cublasHandle_t = void*;
using cublasStatus_t = int;
struct Blas {
  cublasStatus_t (*create)(cublasHandle_t*);
  cublasStatus_t (*destroy)(cublasHandle_t);
  cublasStatus_t (*set_stream)(cublasHandle_t, CUstream);
  cublasStatus_t (*sgemm)(cublasHandle_t, int, int, int, int, int, const float*, const float*, int, const float*,
                          int, const float*, float*, int);
  cublasStatus_t (*sgemm_strided_batched)(cublasHandle_t, int, int, int, int, int, const float*, const float*, int,
                                          long long, const float*, int, long long, const float*, float*, int,
                                          long long, int);
  cublasStatus_t (*sger)(cublasHandle_t, int, int, const float*, const float*, int, const float*, int, float*, int);
};
// cuBLAS, loaded once; throws hgc::Error("cuda") naming the libraries tried when absent.
const Blas& blas();
void check_blas(cublasStatus_t s, const char* what);

}  // namespace hgc::cuda::api
