#include "gemm.h"

#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.h>

#include "hgc/ir/error.h"
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

void dnnl_use_pool_threads() {
  thread_local int threads = 0;
  if (threads == 0) {
    threads = ThreadPool::global().size();
    set_openmp_threads(threads);
  }
}

void sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  dnnl_use_pool_threads();
  dnnl_status_t st = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
  if (st != dnnl_success)
    fail("runtime", "sgemm (oneDNN) failed with status ", static_cast<int>(st), " for M=", M, " N=", N, " K=", K);
}

}  // namespace hgc::lib::detail
