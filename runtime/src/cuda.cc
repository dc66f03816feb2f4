// The CUDA device on the driver API (see hgc/runtime/cuda.h). Every call first makes the
// device's primary context current on the calling thread, so a Device may be used from any
// thread (one at a time per stream: calls are serialized by the stream, not by a lock).
#include "hgc/runtime/cuda.h"

#include <cstring>

#include "cuda_api.h"
#include "hgc/base/error.h"
#include "hgc/runtime/gpu_plan.h"

namespace hgc::cuda {
namespace {

const api::Driver& drv() {
  std::string why;
  const api::Driver* d = api::driver(&why);
  if (!d) fail("cuda", why);
  return *d;
}

// Size classes: exact below 512 bytes (rounded to 256), powers of two above, so a block
// freed by one run fits the same buffer in the next.
std::size_t size_class(std::size_t n) {
  if (n <= 512) return (n + 255) / 256 * 256;
  std::size_t c = 1024;
  while (c < n) c <<= 1;
  return c;
}

}  // namespace

bool available() { return api::driver() != nullptr; }

std::string unavailable_reason() {
  std::string why;
  api::driver(&why);
  return why;
}

int device_count() {
  const api::Driver* d = api::driver();
  int n = 0;
  if (d && d->cuDeviceGetCount(&n) != 0) n = 0;
  return n;
}

Module::~Module() {
  if (const api::Driver* d = api::driver()) d->cuModuleUnload(handle_);
}

void* Module::function(const std::string& entry) const {
  api::CUfunction f = nullptr;
  if (drv().cuModuleGetFunction(&f, handle_, entry.c_str()) != 0 || !f)
    fail("cuda", "module ", name_, " has no kernel '", entry, "'");
  return f;
}

std::shared_ptr<Device> Device::open(int ordinal) {
  const api::Driver& d = drv();
  int n = device_count();
  if (ordinal < 0 || ordinal >= n) fail("cuda", "no GPU ", ordinal, ": the driver reports ", n, " device(s)");
  std::shared_ptr<Device> dev(new Device());
  dev->ordinal_ = ordinal;
  api::CUdevice h = 0;
  api::check(d.cuDeviceGet(&h, ordinal), "cuDeviceGet");
  char name[256] = {};
  api::check(d.cuDeviceGetName(name, sizeof name - 1, h), "cuDeviceGetName");
  dev->name_ = name;
  int major = 0, minor = 0;
  api::check(d.cuDeviceGetAttribute(&major, api::kAttrCcMajor, h), "cuDeviceGetAttribute");
  api::check(d.cuDeviceGetAttribute(&minor, api::kAttrCcMinor, h), "cuDeviceGetAttribute");
  dev->cc_ = major * 10 + minor;
  api::check(d.cuDevicePrimaryCtxRetain(&dev->context_, h), "cuDevicePrimaryCtxRetain");
  api::check(d.cuCtxSetCurrent(dev->context_), "cuCtxSetCurrent");
  api::check(d.cuStreamCreate(&dev->stream_, 0), "cuStreamCreate");
  return dev;
}

Device::~Device() {
  const api::Driver* d = api::driver();
  if (!d) return;
  d->cuCtxSetCurrent(context_);
  d->cuStreamSynchronize(stream_);
  if (blas_) api::blas().destroy(blas_);
  for (auto& [cls, p] : cache_) d->cuMemFree(p);
  for (auto& [p, cls] : live_) d->cuMemFree(p);  // ones_ included
  d->cuStreamDestroy(stream_);
  d->cuDevicePrimaryCtxRelease(ordinal_);
}

DevicePtr Device::alloc(std::size_t bytes) {
  std::size_t cls = size_class(std::max<std::size_t>(bytes, 1));
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = cache_.find(cls); it != cache_.end()) {
    DevicePtr p = it->second;
    cache_.erase(it);
    live_[p] = cls;
    return p;
  }
  const api::Driver& d = drv();
  api::check(d.cuCtxSetCurrent(context_), "cuCtxSetCurrent");
  api::CUdeviceptr p = 0;
  if (d.cuMemAlloc(&p, cls) != 0) {  // out of memory: give the cache back and try once more
    for (auto& [c, q] : cache_) d.cuMemFree(q);
    cache_.clear();
    api::check(d.cuMemAlloc(&p, cls), ("cuMemAlloc of " + std::to_string(cls) + " bytes").c_str());
  }
  live_[p] = cls;
  return p;
}

void Device::free(DevicePtr p) {
  if (!p) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(p);
  if (it == live_.end()) fail("cuda", "free of a pointer this device did not allocate");
  cache_.emplace(it->second, p);
  live_.erase(it);
}

void Device::trim() {
  std::lock_guard<std::mutex> lock(mu_);
  const api::Driver& d = drv();
  d.cuCtxSetCurrent(context_);
  d.cuStreamSynchronize(stream_);
  for (auto& [c, p] : cache_) d.cuMemFree(p);
  cache_.clear();
}

std::size_t Device::cached_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::size_t n = 0;
  for (auto& [c, p] : cache_) n += c;
  return n;
}

void Device::upload(DevicePtr dst, const void* src, std::size_t bytes) {
  if (!bytes) return;
  const api::Driver& d = drv();
  api::check(d.cuCtxSetCurrent(context_), "cuCtxSetCurrent");
  api::check(d.cuMemcpyHtoDAsync(dst, src, bytes, stream_), "cuMemcpyHtoD");
  // The host buffer may go away after return (it is pageable memory anyway).
  api::check(d.cuStreamSynchronize(stream_), "cuStreamSynchronize");
}

void Device::download(void* dst, DevicePtr src, std::size_t bytes) {
  if (!bytes) return;
  const api::Driver& d = drv();
  api::check(d.cuCtxSetCurrent(context_), "cuCtxSetCurrent");
  api::check(d.cuMemcpyDtoHAsync(dst, src, bytes, stream_), "cuMemcpyDtoH");
  api::check(d.cuStreamSynchronize(stream_), "cuStreamSynchronize");
}

void Device::copy(DevicePtr dst, DevicePtr src, std::size_t bytes) {
  if (!bytes) return;
  const api::Driver& d = drv();
  api::check(d.cuCtxSetCurrent(context_), "cuCtxSetCurrent");
  api::check(d.cuMemcpyDtoDAsync(dst, src, bytes, stream_), "cuMemcpyDtoD");
}

void Device::zero(DevicePtr dst, std::size_t bytes) {
  if (!bytes) return;
  const api::Driver& d = drv();
  api::check(d.cuCtxSetCurrent(context_), "cuCtxSetCurrent");
  api::check(d.cuMemsetD8Async(dst, 0, bytes, stream_), "cuMemsetD8");
}

void Device::synchronize() {
  const api::Driver& d = drv();
  api::check(d.cuCtxSetCurrent(context_), "cuCtxSetCurrent");
  api::check(d.cuStreamSynchronize(stream_), "cuStreamSynchronize");
}

std::shared_ptr<Module> Device::load_ptx(const std::string& ptx, const std::string& name) {
  const api::Driver& d = drv();
  api::check(d.cuCtxSetCurrent(context_), "cuCtxSetCurrent");
  std::string text = ptx;  // cuModuleLoadData wants a NUL-terminated image
  char log[4096] = {};
  int opts[] = {api::kJitErrorLogBuffer, api::kJitErrorLogBufferSize};
  void* vals[] = {log, reinterpret_cast<void*>(static_cast<uintptr_t>(sizeof log - 1))};
  api::CUmodule m = nullptr;
  if (api::CUresult r = d.cuModuleLoadDataEx(&m, text.c_str(), 2, opts, vals); r != 0) {
    const char* msg = nullptr;
    d.cuGetErrorString(r, &msg);
    fail("cuda", "cannot load the PTX of ", name, " on ", name_, " (", chip(), "): ", msg ? msg : "error", log[0] ? "\n" : "",
         log);
  }
  return std::make_shared<Module>(m, name);
}

void Device::launch(void* function, const int64_t grid[3], const int64_t block[3], std::vector<void*>& params,
                    unsigned shared_bytes) {
  const api::Driver& d = drv();
  api::check(d.cuCtxSetCurrent(context_), "cuCtxSetCurrent");
  api::check(d.cuLaunchKernel(function, static_cast<unsigned>(grid[0]), static_cast<unsigned>(grid[1]),
                              static_cast<unsigned>(grid[2]), static_cast<unsigned>(block[0]),
                              static_cast<unsigned>(block[1]), static_cast<unsigned>(block[2]), shared_bytes, stream_,
                              params.data(), nullptr),
             "cuLaunchKernel");
}

void* Device::blas() {
  // cuBLAS runs in the calling thread's current context: make it this device's every time.
  api::check(drv().cuCtxSetCurrent(context_), "cuCtxSetCurrent");
  std::lock_guard<std::mutex> lock(mu_);
  if (!blas_) {
    const api::Blas& b = api::blas();
    api::check_blas(b.create(&blas_), "cublasCreate");
    api::check_blas(b.set_stream(blas_, stream_), "cublasSetStream");
  }
  return blas_;
}

void Device::sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, DevicePtr a, DevicePtr b, DevicePtr c,
                   int64_t batch, bool accumulate) {
  if (M == 0 || N == 0 || batch == 0) return;
  if (K == 0) {  // an empty sum: C = 0 (or unchanged when accumulating)
    if (!accumulate) zero(c, static_cast<std::size_t>(batch * M * N) * 4);
    return;
  }
  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the operands.
  const api::Blas& bl = api::blas();
  void* h = blas();
  float one = 1.f, beta = accumulate ? 1.f : 0.f;
  int lda = static_cast<int>(ta ? M : K), ldb = static_cast<int>(tb ? K : N);
  const float* A = reinterpret_cast<const float*>(a);
  const float* B = reinterpret_cast<const float*>(b);
  float* C = reinterpret_cast<float*>(c);
  if (batch == 1) {
    api::check_blas(bl.sgemm(h, tb ? 1 : 0, ta ? 1 : 0, static_cast<int>(N), static_cast<int>(M), static_cast<int>(K),
                             &one, B, ldb, A, lda, &beta, C, static_cast<int>(N)),
                    "cublasSgemm");
  } else {
    api::check_blas(bl.sgemm_strided_batched(h, tb ? 1 : 0, ta ? 1 : 0, static_cast<int>(N), static_cast<int>(M),
                                             static_cast<int>(K), &one, B, ldb, K * N, A, lda, M * K, &beta, C,
                                             static_cast<int>(N), M * N, static_cast<int>(batch)),
                    "cublasSgemmStridedBatched");
  }
}

void Device::add_row_bias(DevicePtr y, DevicePtr bias, int64_t M, int64_t N) {
  if (M == 0 || N == 0) return;
  std::lock_guard<std::mutex> ones_lock(ones_mu_);
  if (ones_n_ < M) {
    if (ones_) free(ones_);
    ones_ = alloc(static_cast<std::size_t>(M) * 4);
    std::vector<float> host(static_cast<std::size_t>(M), 1.f);
    upload(ones_, host.data(), host.size() * 4);
    ones_n_ = M;
  }
  // Column-major y^T [N x M] += bias[N] . ones[M]^T.
  float one = 1.f;
  api::check_blas(api::blas().sger(blas(), static_cast<int>(N), static_cast<int>(M), &one,
                                   reinterpret_cast<const float*>(bias), 1, reinterpret_cast<const float*>(ones_), 1,
                                   reinterpret_cast<float*>(y), static_cast<int>(N)),
                  "cublasSger");
}

std::vector<uint64_t> pack_params(const GpuLaunch& l, const std::vector<DevicePtr>& args,
                                  const std::vector<DevicePtr>& temps) {
  std::vector<uint64_t> slots;
  for (const GpuOperand& o : l.operands) {
    switch (o.kind) {
      case GpuOperand::Kind::Arg:
      case GpuOperand::Kind::Temp: {
        const auto& from = o.kind == GpuOperand::Kind::Arg ? args : temps;
        if (o.index < 0 || static_cast<size_t>(o.index) >= from.size())
          fail("cuda", "kernel ", l.entry, ": operand ", o.kind == GpuOperand::Kind::Arg ? "argument " : "scratch ",
               o.index, " does not exist (", from.size(), " given)");
        if (o.sizes.size() != o.strides.size()) fail("cuda", "kernel ", l.entry, ": malformed memref operand");
        slots.push_back(from[o.index]);  // allocated
        slots.push_back(from[o.index]);  // aligned
        slots.push_back(static_cast<uint64_t>(o.offset));
        for (int64_t s : o.sizes) slots.push_back(static_cast<uint64_t>(s));
        for (int64_t s : o.strides) slots.push_back(static_cast<uint64_t>(s));
        break;
      }
      case GpuOperand::Kind::Int: {
        uint64_t v = 0;
        if (o.bits <= 32) {
          int32_t x = static_cast<int32_t>(o.ival);
          std::memcpy(&v, &x, 4);
        } else {
          v = static_cast<uint64_t>(o.ival);
        }
        slots.push_back(v);
        break;
      }
      case GpuOperand::Kind::Float: {
        uint64_t v = 0;
        if (o.bits == 32) {
          float x = static_cast<float>(o.fval);
          std::memcpy(&v, &x, 4);
        } else {
          std::memcpy(&v, &o.fval, 8);
        }
        slots.push_back(v);
        break;
      }
    }
  }
  return slots;
}

}  // namespace hgc::cuda
