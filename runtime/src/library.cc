#include "hgc/runtime/library.h"

#include <cblas.h>
#include <dlfcn.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <vector>

#include "gemm.h"
#include "hgc/runtime/thread_pool.h"
#include "library_sparse.h"
#include "library_window.h"

namespace hgc::lib {

namespace {

// Products up to this many multiply-adds run as a plain loop, past the fixed cost of an
// OpenBLAS call (argument checks, buffer set-up, packing both operands): a recommender
// head's Dense(4) on 8 features, say. Attention's 32x32x4 per-head products (4096) measured
// ~4 % slower in BST's forward this way than through sgemm, so the line sits below them.
constexpr int64_t kSmallGemm = int64_t(1) << 11;

// Row-major [rows, cols] -> [cols, rows].
void transpose(const float* x, float* y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) y[c * rows + r] = x[r * cols + c];
}

// The two loop orders below are built for AVX2/FMA too and picked at load time (the rest of
// the runtime targets baseline x86-64): OpenBLAS's kernels use them, and without them these
// loops would lose to the calls they replace.
#define HGC_SMALL_GEMM_TARGETS [[gnu::target_clones("arch=x86-64-v3", "default")]]

// c[i, :] = sum_k a[i, k] * b[k, :] + bias: whole rows of b and c per step (wide N).
HGC_SMALL_GEMM_TARGETS
void rows_gemm(const float* __restrict a, const float* __restrict b, float* __restrict c, int64_t M, int64_t N,
               int64_t K, const float* __restrict bias) {
  for (int64_t i = 0; i < M; ++i) {
    float* __restrict ci = c + i * N;
    for (int64_t j = 0; j < N; ++j) ci[j] = 0.f;
    for (int64_t k = 0; k < K; ++k) {
      const float aik = a[i * K + k];
      const float* __restrict bk = b + k * N;
      for (int64_t j = 0; j < N; ++j) ci[j] += aik * bk[j];
    }
    // The bias last, as sgemm with beta = 1 adds it: the same rounding as the sgemm path.
    if (bias)
      for (int64_t j = 0; j < N; ++j) ci[j] += bias[j];
  }
}

// c[i, j] = a[i, :] . bt[j, :] + bias[j]: dot products along K (few columns, long K).
HGC_SMALL_GEMM_TARGETS
void dots_gemm(const float* __restrict a, const float* __restrict bt, float* __restrict c, int64_t M, int64_t N,
               int64_t K, const float* __restrict bias) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      const float* __restrict ai = a + i * K;
      const float* __restrict bj = bt + j * K;
      float s = 0.f;
#pragma clang loop vectorize(enable)
      for (int64_t k = 0; k < K; ++k) s += ai[k] * bj[k];
      c[i * N + j] = bias ? s + bias[j] : s;
    }
}

// c = op(a) . op(b) (+ the row `bias` when given): a brought to [M,K], b to whichever layout
// the loop order for this N wants (small copies; the operands are tiny by definition).
void small_matmul(const float* a, const float* b, float* c, int64_t M, int64_t N, int64_t K, bool ta, bool tb,
                  const float* bias = nullptr) {
  thread_local std::vector<float> at, bt;
  if (ta) {
    at.resize(static_cast<size_t>(M * K));
    transpose(a, at.data(), K, M);
    a = at.data();
  }
  const bool wide = N >= 8;
  if (wide == tb) {  // wide wants b as [K,N], narrow as [N,K]
    bt.resize(static_cast<size_t>(K * N));
    if (tb) transpose(b, bt.data(), N, K);
    else transpose(b, bt.data(), K, N);
    b = bt.data();
  }
  if (wide) rows_gemm(a, b, c, M, N, K, bias);
  else dots_gemm(a, b, c, M, N, K, bias);
}

}  // namespace

// Few rows, or one column: our own loops over the operands as they lie. OpenBLAS's sgemm
// packs the whole weight matrix into its panel layout on every call (at M = 1 the copy cost
// more than the product: 2/3 of a 512x256 FC), and its sgemv wakes its threads from 9216
// multiply-adds on, which costs more than a product of this size. Past kVectorOps (a 4 MiB
// matrix) the threaded sgemv is worth its start.
constexpr int64_t kGemvRows = 4;
constexpr int64_t kVectorOps = int64_t(1) << 20;

void park_blas_threads() {
  // OpenBLAS's own entry for this (its fork handler's); absent in other BLAS builds.
  using Fn = void (*)();
  static Fn shutdown = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "blas_thread_shutdown_"));
  if (shutdown) shutdown();
}

void fully_connected(const float* x, const float* w, const float* b, float* y, int64_t M, int64_t N, int64_t K) {
  if (M * N * K <= kSmallGemm) {
    small_matmul(x, w, y, M, N, K, false, true, b);
    return;
  }
  if (M <= kGemvRows && N * K <= kVectorOps) {
    dots_gemm(x, w, y, M, N, K, b);
    return;
  }
  if (detail::sparse_matmul(x, w, y, M, N, K, false, true, b, detail::kSparseA)) return;
  if (M > kGemvRows && detail::packed_fully_connected(x, w, b, y, M, N, K)) return;
  float beta = 0.f;
  if (b) {  // seed every row with the bias, then accumulate the product onto it
    for (int64_t i = 0; i < M; ++i) std::memcpy(y + i * N, b, sizeof(float) * N);
    beta = 1.f;
  }
  if (M <= kGemvRows) {
    for (int64_t i = 0; i < M; ++i)
      cblas_sgemv(CblasRowMajor, CblasNoTrans, N, K, 1.f, w, K, x + i * K, 1, beta, y + i * N, 1);
    return;
  }
  detail::sgemm(false, true, M, N, K, 1.f, x, K, w, K, beta, y, N);
}

void prepare_fully_connected(int64_t M, int64_t N, int64_t K, bool has_bias) {
  // The paths of fully_connected that reach the packed primitives (sparse inputs aside).
  if (M * N * K <= kSmallGemm || M <= kGemvRows) return;
  // Only packed parameters reach the packed primitives (frontend weights register as stable
  // ranges only then): otherwise their set-up would be work no call uses.
  if (packed_parameters()) detail::prepare_packed_fully_connected(M, N, K, has_bias);
  // A graph with fully connected layers has sgemm products in its gradient (and in
  // fully_connected's own fallbacks).
  detail::prepare_sgemm();
}

void matmul(const float* a, const float* b, float* c, int64_t M, int64_t N, int64_t K, bool ta, bool tb) {
  if (M * N * K <= kSmallGemm) {
    small_matmul(a, b, c, M, N, K, ta, tb);
    return;
  }
  const int64_t lda = ta ? M : K, ldb = tb ? K : N;
  // A vector operand is contiguous whether or not it is marked transposed ([1,K] and [K,1]).
  if (M == 1 && N * K <= kVectorOps) {  // c[1,N] = a . op(b): b's rows as dot products, or summed
    if (tb) dots_gemm(a, b, c, 1, N, K, nullptr);
    else rows_gemm(a, b, c, 1, N, K, nullptr);
    return;
  }
  if (N == 1 && M * K <= kVectorOps) {  // c[M,1] = op(a) . b, the same with a in b's place
    if (ta) rows_gemm(b, a, c, 1, M, K, nullptr);
    else dots_gemm(a, b, c, M, 1, K, nullptr);
    return;
  }
  if (M == 1) {  // c[1,N] = op(b)^T . a
    cblas_sgemv(CblasRowMajor, tb ? CblasNoTrans : CblasTrans, tb ? N : K, tb ? K : N, 1.f, b, ldb, a, 1, 0.f, c, 1);
    return;
  }
  if (N == 1) {  // c[M,1] = op(a) . b
    cblas_sgemv(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, ta ? K : M, ta ? M : K, 1.f, a, lda, b, 1, 0.f, c, 1);
    return;
  }
  if (detail::sparse_matmul(a, b, c, M, N, K, ta, tb, nullptr, detail::kSparseA | detail::kSparseB)) return;
  detail::sgemm(ta, tb, M, N, K, 1.f, a, lda, b, ldb, 0.f, c, N);
}

void batch_matmul(const float* a, const float* b, float* c, int64_t batch, int64_t M, int64_t N, int64_t K, bool ta,
                  bool tb) {
  if (batch > 1 && detail::onednn_batch_matmul(a, b, c, batch, M, N, K, ta, tb)) return;
  for (int64_t i = 0; i < batch; ++i) matmul(a + i * M * K, b + i * K * N, c + i * M * N, M, N, K, ta, tb);
}

int64_t convolution_workspace(const ConvShape& s) { return detail::conv_plan(s).workspace; }

namespace detail {

// Runs fn(p) for every plane p < n, split over the thread pool when there is enough work.
void for_planes(int64_t n, int64_t work_per_plane, const std::function<void(int64_t)>& fn) {
  ThreadPool& pool = ThreadPool::global();
  int chunks = static_cast<int>(std::min<int64_t>(n, 4 * pool.size()));  // a few per thread (see run_split)
  if (chunks <= 1 || n * work_per_plane < (int64_t(1) << 16)) {
    for (int64_t p = 0; p < n; ++p) fn(p);
    return;
  }
  pool.parallel_for(chunks, [&](int c) {
    for (int64_t p = n * c / chunks; p < n * (c + 1) / chunks; ++p) fn(p);
  });
}

}  // namespace detail

using namespace detail;

void im2col(const ConvShape& s, const float* x, float* col) {
  Geom2 g(s);
  int64_t in = g.H * g.W, rows = g.KH * g.KW * g.OH * g.OW;
  for_planes(s.N * s.C, rows, [&](int64_t p) { im2col_plane(g, x + p * in, col + p * rows, g.OH * g.OW); });
}

void col2im(const ConvShape& s, const float* col, float* x) {
  Geom2 g(s);
  int64_t in = g.H * g.W, rows = g.KH * g.KW * g.OH * g.OW;
  for_planes(s.N * s.C, rows, [&](int64_t p) {
    std::memset(x + p * in, 0, sizeof(float) * in);
    col2im_plane(g, col + p * rows, x + p * in, g.OH * g.OW);
  });
}


int64_t deconvolution_workspace(const ConvShape& s) {
  int64_t kk = 1, in = 1;
  for (int d = 0; d < s.nsp; ++d) kk *= s.k[d], in *= s.in[d];
  return (s.O / s.groups) * kk * in;
}

void deconvolution(const ConvShape& s, const float* x, const float* w, const float* b, float* y, float* ws) {
  int64_t in_sp = 1, out_sp = 1, kk = 1;
  for (int d = 0; d < s.nsp; ++d) in_sp *= s.in[d], out_sp *= s.out[d], kk *= s.k[d];
  int64_t cg = s.C / s.groups, og = s.O / s.groups;
  // col2im's image is the output and its blocks the input positions.
  ConvShape t = s;
  for (int d = 0; d < s.nsp; ++d) t.in[d] = s.out[d], t.out[d] = s.in[d];
  Geom2 geo(t);
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t g = 0; g < s.groups; ++g) {
      // cols (og * K, in) = W[g]^T . x[n, g], W[g] being (cg, og * K).
      detail::sgemm(true, false, og * kk, in_sp, cg, 1.f, w + g * cg * og * kk, og * kk, x + (n * s.C + g * cg) * in_sp,
                    in_sp, 0.f, ws, in_sp);
      for (int64_t o = 0; o < og; ++o) {
        float* yo = y + (n * s.O + g * og + o) * out_sp;
        float bias = b ? b[g * og + o] : 0.f;
        for (int64_t p = 0; p < out_sp; ++p) yo[p] = bias;
        col2im_plane(geo, ws + o * kk * in_sp, yo, in_sp);
      }
    }
}

}  // namespace hgc::lib
