// The CUDA device: the driver API (libcuda.so.1) and cuBLAS (libcublas.so.*) loaded with
// dlopen at first use, so nothing links against CUDA and every binary still runs (and reports
// a clear hgc::Error) where no driver or GPU exists. No CUDA headers: the few driver types
// and entry points are declared in runtime/src/cuda_api.h.
//
//   if (!cuda::available()) { ... cuda::unavailable_reason() ... }
//   auto dev = cuda::Device::open(0);                 // context + stream, throws hgc::Error
//   cuda::DevicePtr p = dev->alloc(bytes);            // caching allocator
//   dev->upload(p, host, bytes);  dev->download(host, p, bytes);
//   auto m = dev->load_ptx(ptx);                      // cuModuleLoadData
//   dev->launch(m->function("k0_kernel"), grid, block, params);
//   dev->free(p);                                     // back to the cache
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace hgc {
struct GpuLaunch;
}

namespace hgc::cuda {

using DevicePtr = uint64_t;  // CUdeviceptr

// Whether the driver loads, initializes and reports at least one device (never throws).
bool available();
// Why available() is false ("" when it is true).
std::string unavailable_reason();
int device_count();  // 0 without a driver

class Module {
 public:
  Module(void* handle, std::string name) : handle_(handle), name_(std::move(name)) {}
  ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  // The kernel `entry` (cuModuleGetFunction); throws hgc::Error naming it when absent.
  void* function(const std::string& entry) const;

 private:
  void* handle_;
  std::string name_;
};

class Device {
 public:
  // Context and stream on device `ordinal`. Throws hgc::Error("cuda", ...) saying what is
  // missing: the driver library, a device, or the ordinal.
  static std::shared_ptr<Device> open(int ordinal = 0);
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  int ordinal() const { return ordinal_; }
  const std::string& name() const { return name_; }
  int compute_capability() const { return cc_; }  // 90 for sm_90
  // "sm_90" etc.
  std::string chip() const { return "sm_" + std::to_string(cc_); }

  // Caching allocator: freed blocks are kept by size class (powers of two above 512 bytes)
  // and handed out again; trim() returns them to the driver.
  DevicePtr alloc(std::size_t bytes);
  void free(DevicePtr p);
  void trim();
  std::size_t cached_bytes() const;

  void upload(DevicePtr dst, const void* src, std::size_t bytes);
  void download(void* dst, DevicePtr src, std::size_t bytes);
  void copy(DevicePtr dst, DevicePtr src, std::size_t bytes);
  void zero(DevicePtr dst, std::size_t bytes);
  void synchronize();

  std::shared_ptr<Module> load_ptx(const std::string& ptx, const std::string& name = "module");
  // `params[i]` points at the i-th kernel parameter's value (cuLaunchKernel's convention).
  void launch(void* function, const int64_t grid[3], const int64_t block[3], std::vector<void*>& params,
              unsigned shared_bytes = 0);

  // cuBLAS on this device's stream, row-major like runtime/library.h.
  // c[M,N] = op(a) . op(b) (+ c when accumulate), `batch` times over contiguous operands.
  void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, DevicePtr a, DevicePtr b, DevicePtr c,
             int64_t batch = 1, bool accumulate = false);
  // y[M,N] += 1 . bias[N]^T (the bias of a fully connected layer).
  void add_row_bias(DevicePtr y, DevicePtr bias, int64_t M, int64_t N);

 private:
  Device() = default;
  void* blas();  // the cuBLAS handle, created at first use
  int ordinal_ = 0;
  int cc_ = 0;
  std::string name_;
  void* context_ = nullptr;
  void* stream_ = nullptr;
  void* blas_ = nullptr;
  DevicePtr ones_ = 0;  // a vector of 1.0f for add_row_bias
  int64_t ones_n_ = 0;
  mutable std::mutex mu_;  // the allocator's maps and the cuBLAS handle
  std::mutex ones_mu_;
  std::multimap<std::size_t, DevicePtr> cache_;  // size class -> free block
  std::map<DevicePtr, std::size_t> live_;        // block -> size class
};

// The kernel parameter values of one launch (MLIR's NVVM convention: each memref operand is
// allocated, aligned, offset, sizes..., strides...; scalars as themselves), as 8-byte slots
// (32-bit scalars in the low half). `args` are the group's argument buffers, `temps` its
// scratch. Pure: tested without a GPU.
std::vector<uint64_t> pack_params(const GpuLaunch& l, const std::vector<DevicePtr>& args,
                                  const std::vector<DevicePtr>& temps);

}  // namespace hgc::cuda
