// The dense sgemm behind every library GEMM (fully_connected, matmul, convolution and its
// gradients): oneDNN's, row-major like cblas_sgemm. Why not OpenBLAS's: oneDNN picks its JIT
// kernels by the CPU's instruction sets at run time (AVX-512 where there is one), while the
// OpenBLAS 0.3.21 of Debian 12 is pinned to AVX2 on machines whose newer cores it mis-handles
// (OPENBLAS_CORETYPE=Haswell); on this build machine's AVX-512 core oneDNN's sgemm ran
// 1.2-2.4x faster single-threaded on the shapes of the benchmark workloads (bench/).
// OpenBLAS keeps the matrix-vector products (cblas_sgemv).
#pragma once
#include <cstdint>

namespace hgc::lib::detail {

// c = alpha * op(a) . op(b) + beta * c; op(a) (M, K), op(b) (K, N), c (M, N) with leading
// dimensions lda, ldb, ldc. Products worth it run as row or column blocks on the runtime's pool.
void sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// The threads a library call made here may use: the pool's size, or 1 inside a
// ThreadPool::Serial scope (a serial run, or a step running beside others in a group).
int pool_threads();
// Sets the calling thread's OpenMP thread count (oneDNN's) to pool_threads(); the
// convolution primitives call it first (sgemm picks one thread for small products).
void dnnl_use_pool_threads();
// Threads a call of `macs` multiply-adds deserves (sgemm's cost model: ThreadPool::parts_for
// with sgemm's grain), and setting the calling thread's OpenMP count to that or to `n`.
int dnnl_threads_for(int64_t macs);
void dnnl_use_threads_for(int64_t macs);
void dnnl_use_threads(int n);
// How many blocks sgemm cuts an (M, N, K) product into (1: one single-threaded call).
int sgemm_parts(int64_t M, int64_t N, int64_t K);

// Whether packed_fully_connected would take a product of M rows with these weights (the
// path on, the shape in its range, the weights announced as stable).
bool packed_fully_connected_takes(const float* w, int64_t M, int64_t N, int64_t K);
// Generates oneDNN's sgemm kernels (first use of each kind) ahead of the first product.
void prepare_sgemm();
// Builds (and caches) the oneDNN primitives packed_fully_connected would build on its first
// calls at this shape, so that those calls only run them (a primitive's creation generates
// code: a few ms each). Safe on any thread.
void prepare_packed_fully_connected(int64_t M, int64_t N, int64_t K, bool has_bias);
// y[M,N] = x . w^T (+ b) through oneDNN matmul primitives whose weights were packed once into
// their preferred layout (gemm_packed.cc), in row blocks on the pool; only for weights in an
// announced stable buffer (hgc/runtime/stable_buffers.h) and from the second call at one
// generation of it on. False (nothing written) otherwise: the caller takes the sgemm path.
bool packed_fully_connected(const float* x, const float* w, const float* b, float* y, int64_t M, int64_t N,
                            int64_t K);

// All `batch` products of batch_matmul (library.h) in one oneDNN matmul primitive, cached
// per shape; false (nothing written) where oneDNN rejects the shape.
bool onednn_batch_matmul(const float* a, const float* b, float* c, int64_t batch, int64_t M, int64_t N, int64_t K,
                         bool ta, bool tb);

}  // namespace hgc::lib::detail
