#include "gemm.h"

#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.h>

#include "hgc/base/error.h"
#include "hgc/runtime/thread_pool.h"

namespace {

// libdnnl of Debian runs on OpenMP (libgomp, loaded with it): its thread count is the calling
// thread's OpenMP setting, which follows the runtime's pool here rather than OMP_NUM_THREADS.
// Looked up rather than linked so that no link line needs libgomp's development files.
void set_openmp_threads(int n) {
  using SetThreads = void (*)(int);
  static SetThreads set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
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

// Products below this many multiply-adds (~0.4 ms on one AVX-512 core) run on one thread.
// OpenMP's fork-join costs little on an idle machine, but when the cores are shared each
// parallel region waits for a descheduled thread: a 64x784x256 FC took 14-17 ms on two
// threads on this 2-core machine under load, against 0.17 ms on one.
constexpr int64_t kThreadedGemm = int64_t(1) << 26;

void dnnl_use_pool_threads() { use_threads(ThreadPool::global().size()); }

int dnnl_threads_for(int64_t macs) { return macs >= kThreadedGemm ? ThreadPool::global().size() : 1; }

void dnnl_use_threads_for(int64_t macs) { use_threads(dnnl_threads_for(macs)); }

void sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  dnnl_use_threads_for(M * N * K);
  dnnl_status_t st = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
  if (st != dnnl_success)
    fail("runtime", "sgemm (oneDNN) failed with status ", static_cast<int>(st), " for M=", M, " N=", N, " K=", K);
}

}  // namespace hgc::lib::detail
