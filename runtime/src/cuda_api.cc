// dlopen/dlsym of the CUDA driver and cuBLAS (see cuda_api.h). Loaded once per process; a
// missing library or symbol is remembered as the reason, never a crash.
#include "cuda_api.h"

#include <dlfcn.h>

#include "hgc/base/error.h"

namespace hgc::cuda::api {
namespace {

template <typename F>
bool resolve(void* lib, F& fn, const char* name, std::string& why) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  if (!fn && why.empty()) why = std::string("libcuda.so.1 has no ") + name;
  return fn != nullptr;
}

struct Loaded {
  Driver d{};
  std::string why;
  bool ok = false;
};

const Loaded& loaded() {
  static const Loaded l = [] {
    Loaded r;
    void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char* e = dlerror();
      r.why = std::string("no CUDA driver: cannot load libcuda.so.1 (") + (e ? e : "unknown error") + ")";
      return r;
    }
    Driver& d = r.d;
    std::string& w = r.why;
    resolve(lib, d.cuInit, "cuInit", w);
    resolve(lib, d.cuDeviceGetCount, "cuDeviceGetCount", w);
    resolve(lib, d.cuDeviceGet, "cuDeviceGet", w);
    resolve(lib, d.cuDeviceGetName, "cuDeviceGetName", w);
    resolve(lib, d.cuDeviceGetAttribute, "cuDeviceGetAttribute", w);
    resolve(lib, d.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain", w);
    resolve(lib, d.cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2", w);
    resolve(lib, d.cuCtxSetCurrent, "cuCtxSetCurrent", w);
    resolve(lib, d.cuStreamCreate, "cuStreamCreate", w);
    resolve(lib, d.cuStreamDestroy, "cuStreamDestroy_v2", w);
    resolve(lib, d.cuStreamSynchronize, "cuStreamSynchronize", w);
    resolve(lib, d.cuMemAlloc, "cuMemAlloc_v2", w);
    resolve(lib, d.cuMemFree, "cuMemFree_v2", w);
    resolve(lib, d.cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2", w);
    resolve(lib, d.cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2", w);
    resolve(lib, d.cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2", w);
    resolve(lib, d.cuMemsetD8Async, "cuMemsetD8Async", w);
    resolve(lib, d.cuModuleLoadDataEx, "cuModuleLoadDataEx", w);
    resolve(lib, d.cuModuleUnload, "cuModuleUnload", w);
    resolve(lib, d.cuModuleGetFunction, "cuModuleGetFunction", w);
    resolve(lib, d.cuLaunchKernel, "cuLaunchKernel", w);
    resolve(lib, d.cuGetErrorString, "cuGetErrorString", w);
    if (!w.empty()) return r;
    if (CUresult e = d.cuInit(0); e != 0) {
      const char* msg = nullptr;
      d.cuGetErrorString(e, &msg);
      r.why = "the CUDA driver does not initialize (cuInit: " + std::string(msg ? msg : "error " + std::to_string(e)) + ")";
      return r;
    }
    int n = 0;
    if (d.cuDeviceGetCount(&n) != 0 || n == 0) {
      r.why = "the CUDA driver reports no GPU";
      return r;
    }
    r.ok = true;
    return r;
  }();
  return l;
}

}  // namespace

const Driver* driver(std::string* why) {
  const Loaded& l = loaded();
  if (why) *why = l.why;
  return l.ok ? &l.d : nullptr;
}

void check(CUresult r, const char* what) {
  if (r == 0) return;
  const char* msg = nullptr;
  if (const Driver* d = driver()) d->cuGetErrorString(r, &msg);
  fail("cuda", what, ": ", msg ? msg : "CUDA error", " (", r, ")");
}

const Blas& blas() {
  struct L {
    Blas b{};
    std::string why;
  };
  static const L l = [] {
    L r;
    void* lib = nullptr;
    std::string tried;
    for (const char* name : {"libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"}) {
      tried += (tried.empty() ? "" : ", ") + std::string(name);
      if ((lib = dlopen(name, RTLD_NOW | RTLD_LOCAL))) break;
    }
    if (!lib) {
      r.why = "cuBLAS is not installed (tried " + tried + ")";
      return r;
    }
    auto get = [&](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
      if (!fn && r.why.empty()) r.why = std::string("cuBLAS has no ") + name;
    };
    get(r.b.create, "cublasCreate_v2");
    get(r.b.destroy, "cublasDestroy_v2");
    get(r.b.set_stream, "cublasSetStream_v2");
    get(r.b.sgemm, "cublasSgemm_v2");
    get(r.b.sgemm_strided_batched, "cublasSgemmStridedBatched");
    get(r.b.sger, "cublasSger_v2");
    return r;
  }();
  if (!l.why.empty()) fail("cuda", l.why);
  return l.b;
}

void check_blas(cublasStatus_t s, const char* what) {
  if (s != 0) fail("cuda", what, ": cuBLAS status ", s);
}

}  // namespace hgc::cuda::api
