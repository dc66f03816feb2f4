#include "hgc/runtime/library.h"

#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <vector>

#include "hgc/runtime/thread_pool.h"
#include "library_window.h"

namespace hgc::lib {

void fully_connected(const float* x, const float* w, const float* b, float* y, int64_t M, int64_t N, int64_t K) {
  float beta = 0.f;
  if (b) {  // seed every row with the bias, then accumulate the product onto it
    for (int64_t i = 0; i < M; ++i) std::memcpy(y + i * N, b, sizeof(float) * N);
    beta = 1.f;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.f, x, K, w, K, beta, y, N);
}

void matmul(const float* a, const float* b, float* c, int64_t M, int64_t N, int64_t K, bool ta, bool tb) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.f, a,
              ta ? M : K, b, tb ? K : N, 0.f, c, N);
}

void batch_matmul(const float* a, const float* b, float* c, int64_t batch, int64_t M, int64_t N, int64_t K, bool ta,
                  bool tb) {
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
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, og * kk, in_sp, cg, 1.f, w + g * cg * og * kk, og * kk,
                  x + (n * s.C + g * cg) * in_sp, in_sp, 0.f, ws, in_sp);
      for (int64_t o = 0; o < og; ++o) {
        float* yo = y + (n * s.O + g * og + o) * out_sp;
        float bias = b ? b[g * og + o] : 0.f;
        for (int64_t p = 0; p < out_sp; ++p) yo[p] = bias;
        col2im_plane(geo, ws + o * kk * in_sp, yo, in_sp);
      }
    }
}

}  // namespace hgc::lib
