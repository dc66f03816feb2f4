/* A test double of libcuda.so.1 for the build machines (no GPU): one "device" whose memory
 * is host memory (malloc), copies are memcpy, streams are synchronous. Enough for the
 * byte-moving paths (cuda::Device's allocator and copies, NDArray gpu contexts); it loads no
 * module and launches no kernel (those calls fail with CUDA_ERROR_NOT_SUPPORTED, 801).
 * Only tests load it, through LD_LIBRARY_PATH in a child process
 * (tests/frontend/test_ndarray_gpu.cc); nothing links against it. Never a claim about a GPU. */
#include <stdlib.h>
#include <string.h>

typedef unsigned long long CUdeviceptr;
enum { kOk = 0, kInvalidValue = 1, kOutOfMemory = 2, kInvalidDevice = 101, kNotSupported = 801 };

int cuInit(unsigned flags) { return flags == 0 ? kOk : kInvalidValue; }
int cuDeviceGetCount(int* n) { *n = 1; return kOk; }
int cuDeviceGet(int* d, int ordinal) {
  if (ordinal != 0) return kInvalidDevice;
  *d = 0;
  return kOk;
}
int cuDeviceGetName(char* name, int len, int d) {
  (void)d;
  strncpy(name, "hgc fake CUDA device (host memory)", (size_t)len);
  return kOk;
}
int cuDeviceGetAttribute(int* v, int attr, int d) {
  (void)d;
  *v = attr == 75 ? 9 : 0; /* compute capability 9.0 */
  return kOk;
}
static int g_context;
int cuDevicePrimaryCtxRetain(void** ctx, int d) { (void)d; *ctx = &g_context; return kOk; }
int cuDevicePrimaryCtxRelease_v2(int d) { (void)d; return kOk; }
int cuCtxSetCurrent(void* ctx) { return ctx == &g_context ? kOk : kInvalidValue; }
static int g_stream;
int cuStreamCreate(void** s, unsigned flags) { (void)flags; *s = &g_stream; return kOk; }
int cuStreamDestroy_v2(void* s) { (void)s; return kOk; }
int cuStreamSynchronize(void* s) { (void)s; return kOk; }
int cuMemAlloc_v2(CUdeviceptr* p, size_t n) {
  void* m = malloc(n ? n : 1);
  if (!m) return kOutOfMemory;
  *p = (CUdeviceptr)(size_t)m;
  return kOk;
}
int cuMemFree_v2(CUdeviceptr p) { free((void*)(size_t)p); return kOk; }
int cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, size_t n, void* s) {
  (void)s;
  memcpy((void*)(size_t)dst, src, n);
  return kOk;
}
int cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t n, void* s) {
  (void)s;
  memcpy(dst, (const void*)(size_t)src, n);
  return kOk;
}
int cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t n, void* s) {
  (void)s;
  memmove((void*)(size_t)dst, (const void*)(size_t)src, n);
  return kOk;
}
int cuMemsetD8Async(CUdeviceptr dst, unsigned char v, size_t n, void* s) {
  (void)s;
  memset((void*)(size_t)dst, v, n);
  return kOk;
}
int cuModuleLoadDataEx(void** m, const void* image, unsigned n, int* opts, void** vals) {
  (void)m, (void)image, (void)n, (void)opts, (void)vals;
  return kNotSupported;
}
int cuModuleUnload(void* m) { (void)m; return kOk; }
int cuModuleGetFunction(void** f, void* m, const char* name) { (void)f, (void)m, (void)name; return kNotSupported; }
int cuLaunchKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                   unsigned shared, void* s, void** params, void** extra) {
  (void)f, (void)gx, (void)gy, (void)gz, (void)bx, (void)by, (void)bz, (void)shared, (void)s, (void)params, (void)extra;
  return kNotSupported;
}
int cuGetErrorString(int e, const char** msg) {
  *msg = e == kNotSupported ? "the fake CUDA driver runs no kernels" : "fake CUDA driver error";
  return kOk;
}
