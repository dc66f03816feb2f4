// Convolution and its two gradients as im2col + one sgemm per chunk of images (see ConvPlan
// in library_window.h). For a chunk of m images, group g, with columns cols (CK, m*L) laid
// out image after image along the width:
//   forward       Y^T (Og, m*L)  = W_g (Og, CK) . cols
//   data grad     dcols (CK, m*L) = W_g^T . dY^T,   dx = col2im(dcols)
//   weight grad   dW_g (Og, CK)  += dY^T . cols^T
// where dY^T (Og, m*L) is the chunk's output(-gradient) block with images side by side.
#include <cstring>

#include "gemm.h"
#include "hgc/runtime/library.h"
#include "library_window.h"

namespace hgc::lib {

using namespace detail;

namespace {

// Columns of images [n0, n0 + m) of group g: row (c*taps + k), image i at column offset i*L.
void chunk_im2col(const ConvShape& s, const ConvPlan& p, const Geom2& geo, const float* x, int64_t n0, int64_t m,
                  int64_t g, float* col) {
  int64_t ld = m * p.L;
  for_planes(m * p.cg, p.taps * p.L, [&](int64_t q) {
    int64_t i = q / p.cg, c = q % p.cg;
    im2col_plane(geo, x + ((n0 + i) * s.C + g * p.cg + c) * p.in_sp, col + c * p.taps * ld + i * p.L, ld);
  });
}

// dst (Og, m*L) <- rows g*Og.. of images [n0, n0 + m) of y (N, O, L), side by side.
void gather_rows(const ConvShape& s, const ConvPlan& p, const float* y, int64_t n0, int64_t m, int64_t g,
                 float* dst) {
  int64_t ld = m * p.L;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t o = 0; o < p.og; ++o)
      std::memcpy(dst + o * ld + i * p.L, y + ((n0 + i) * s.O + g * p.og + o) * p.L, sizeof(float) * p.L);
}

// Calls fn(g, n0, m, ld) for every group g and chunk of m images from n0 (ld = m * L, the
// chunk's column count).
template <class F>
void for_chunks(const ConvShape& s, const ConvPlan& p, F&& fn) {
  for (int64_t g = 0; g < s.groups; ++g)
    for (int64_t n0 = 0; n0 < s.N; n0 += p.images) {
      int64_t m = std::min(p.images, s.N - n0);
      fn(g, n0, m, m * p.L);
    }
}

}  // namespace

void convolution(const ConvShape& s, const float* x, const float* w, const float* b, float* y, float* ws) {
  ConvPlan p = conv_plan(s);
  Geom2 geo(s);
  float* col = ws;
  float* out = ws + p.ck * p.images * p.L;
  for_chunks(s, p, [&](int64_t g, int64_t n0, int64_t m, int64_t ld) {
    chunk_im2col(s, p, geo, x, n0, m, g, col);
    sgemm(false, false, p.og, ld, p.ck, 1.f, w + g * p.og * p.ck, p.ck, col, ld, 0.f, out, ld);
    for (int64_t i = 0; i < m; ++i)  // scatter back to (N, O, L), adding the bias
      for (int64_t o = 0; o < p.og; ++o) {
        float* dst = y + ((n0 + i) * s.O + g * p.og + o) * p.L;
        const float* src = out + o * ld + i * p.L;
        float bias = b ? b[g * p.og + o] : 0.f;
        for (int64_t l = 0; l < p.L; ++l) dst[l] = src[l] + bias;
      }
  });
}

void conv_data_grad(const ConvShape& s, const float* dy, const float* w, float* dx, float* ws) {
  ConvPlan p = conv_plan(s);
  Geom2 geo(s);
  float* col = ws;
  float* dyt = ws + p.ck * p.images * p.L;
  for_chunks(s, p, [&](int64_t g, int64_t n0, int64_t m, int64_t ld) {
    gather_rows(s, p, dy, n0, m, g, dyt);
    sgemm(true, false, p.ck, ld, p.og, 1.f, w + g * p.og * p.ck, p.ck, dyt, ld, 0.f, col, ld);
    for_planes(m * p.cg, p.taps * p.L, [&](int64_t q) {
      int64_t i = q / p.cg, c = q % p.cg;
      float* plane = dx + ((n0 + i) * s.C + g * p.cg + c) * p.in_sp;
      std::memset(plane, 0, sizeof(float) * p.in_sp);
      col2im_plane(geo, col + c * p.taps * ld + i * p.L, plane, ld);
    });
  });
}

void conv_weight_grad(const ConvShape& s, const float* dy, const float* x, float* dw, float* ws) {
  ConvPlan p = conv_plan(s);
  Geom2 geo(s);
  float* col = ws;
  float* dyt = ws + p.ck * p.images * p.L;
  for_chunks(s, p, [&](int64_t g, int64_t n0, int64_t m, int64_t ld) {
    chunk_im2col(s, p, geo, x, n0, m, g, col);
    gather_rows(s, p, dy, n0, m, g, dyt);
    sgemm(false, true, p.og, p.ck, ld, 1.f, dyt, ld, col, ld, n0 ? 1.f : 0.f, dw + g * p.og * p.ck, p.ck);
  });
}

}  // namespace hgc::lib
