#include "gemm.h"

#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <mutex>
#include <vector>

#include "hgc/base/error.h"
#include "hgc/runtime/library.h"
#include "hgc/runtime/thread_pool.h"

namespace {

// libdnnl of Debian runs on OpenMP (libgomp, loaded with it): its thread count is the calling
// thread's OpenMP setting, which follows the runtime's pool here rather than OMP_NUM_THREADS.
// Looked up rather than linked so that no link line needs libgomp's development files.
void set_openmp_threads(int n) {
  using SetThreads = void (*)(int);
  static SetThreads set = [] {
    // A standalone program loads oneDNN, and libgomp with it, at its first call into oneDNN
    // (runtime/aot_lazy.cc): this is that call when the setting comes first (sgemm1), so
    // that the lookup finds libgomp and oneDNN's first product runs on the count asked.
    dnnl_version();
    return reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  }();
  if (set) set(n);
}

}  // namespace

namespace hgc::lib::detail {

namespace {

thread_local int openmp_threads = 0;  // what this thread last told OpenMP

void use_threads(int n) {
  if (n != openmp_threads) set_openmp_threads(openmp_threads = n);
}

}  // namespace

// Threads for a product by a cost model (measured on an AVX-512 Xeon, 2 cores, sgemm at
// ~150-180 GFLOP/s per core): each thread must get at least kGrainMacs multiply-adds
// (~6 us of work), because handing a part to the pool costs ~1-3 us when its workers are
// spinning (ThreadPool). A 64x256x512 product (2^23) ran 1.76x faster on two threads,
// 1024x32x32 (2^20) 1.44x; 1x256x512 (2^17) was slower on two.
//
// The parts are row or column blocks of C, each a single-threaded oneDNN sgemm on the
// runtime's own pool: no OpenMP region, so no OpenMP wake-up (10-70 us per call with passive
// waits on a shared machine) and no OpenMP threads spinning against the pool. A block's
// elements are the same dot products as in the whole product.
constexpr int64_t kGrainMacs = int64_t(1) << 20;
// Column blocks start on a 64-byte boundary of C's rows.
constexpr int64_t kColumnAlign = 16;

int pool_threads() { return ThreadPool::serial_here() ? 1 : ThreadPool::global().size(); }

void dnnl_use_pool_threads() { use_threads(pool_threads()); }

int dnnl_threads_for(int64_t macs) { return ThreadPool::global().parts_for(macs, kGrainMacs); }

void dnnl_use_threads_for(int64_t macs) { use_threads(dnnl_threads_for(macs)); }

void dnnl_use_threads(int n) { use_threads(n); }

namespace {

void sgemm1(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* a, int64_t lda,
            const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  use_threads(1);
  dnnl_status_t st = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
  if (st != dnnl_success)
    fail("runtime", "sgemm (oneDNN) failed with status ", static_cast<int>(st), " for M=", M, " N=", N, " K=", K);
}

}  // namespace

void prepare_sgemm() {
  // oneDNN generates its sgemm kernels on the first call of each kind (transposes, beta zero
  // or not): tens of ms in all, paid by whichever product comes first. Small products of every
  // kind generate them here instead, once per process.
  static std::once_flag once;
  std::call_once(once, [] {
    constexpr int64_t n = 64;
    std::vector<float> a(n * n, 1.f), b(n * n, 1.f), c(n * n, 0.f);
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (float beta : {0.f, 1.f}) sgemm1(ta, tb, n, n, n, 1.f, a.data(), n, b.data(), n, beta, c.data(), n);
  });
}

int sgemm_parts(int64_t M, int64_t N, int64_t K) {
  int parts = ThreadPool::global().parts_for(M * N * K, kGrainMacs);
  // Blocks along the longer side of C; a side too short to cut leaves the product whole.
  const int64_t side = N >= M ? (N + kColumnAlign - 1) / kColumnAlign : M;
  return static_cast<int>(std::min<int64_t>(parts, side));
}

void sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  const int parts = sgemm_parts(M, N, K);
  if (parts <= 1) {
    sgemm1(ta, tb, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  if (N >= M) {  // column blocks: op(b)'s columns j0.. and C's
    const int64_t units = (N + kColumnAlign - 1) / kColumnAlign;
    ThreadPool::global().parallel_for(parts, [&](int p) {
      const int64_t j0 = std::min(N, units * p / parts * kColumnAlign);
      const int64_t j1 = std::min(N, units * (p + 1) / parts * kColumnAlign);
      if (j1 > j0)
        sgemm1(ta, tb, M, j1 - j0, K, alpha, a, lda, tb ? b + j0 * ldb : b + j0, ldb, beta, c + j0, ldc);
    });
  } else {  // row blocks: op(a)'s rows i0.. and C's
    ThreadPool::global().parallel_for(parts, [&](int p) {
      const int64_t i0 = M * p / parts, i1 = M * (p + 1) / parts;
      if (i1 > i0)
        sgemm1(ta, tb, i1 - i0, N, K, alpha, ta ? a + i0 : a + i0 * lda, lda, b, ldb, beta, c + i0 * ldc, ldc);
    });
  }
}

}  // namespace hgc::lib::detail

namespace hgc::lib {

int gemm_threads(int64_t M, int64_t N, int64_t K) { return detail::sgemm_parts(M, N, K); }

std::string onednn_version() {
  const dnnl_version_t* v = dnnl_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) + " (" +
         v->hash + ", cpu runtime " + (v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "other") + ")";
}

std::string openblas_version() {
  // Looked up like omp_set_num_threads: the symbols are OpenBLAS extensions, not cblas.h's.
  using Str = char* (*)();
  static Str config = reinterpret_cast<Str>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
  static Str core = reinterpret_cast<Str>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (!config) return "not loaded";
  return std::string(config()) + "; core " + (core ? core() : "?");
}

}  // namespace hgc::lib
