#include "hgc/runtime/library.h"

#include <cblas.h>

#include <cstring>
#include <vector>

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

int64_t convolution_workspace(const ConvShape& s) {
  int64_t kk = 1, oo = 1;
  for (int d = 0; d < s.nsp; ++d) kk *= s.k[d], oo *= s.out[d];
  return (s.C / s.groups) * kk * oo;
}

namespace {
// Column matrix [Cg * KH * KW, OH * OW] of one image's channel group; zero outside the input.
void im2col(const ConvShape& s, const float* x, int64_t cg, float* col) {
  int64_t H = s.nsp == 2 ? s.in[0] : 1, W = s.in[s.nsp - 1];
  int64_t KH = s.nsp == 2 ? s.k[0] : 1, KW = s.k[s.nsp - 1];
  int64_t OH = s.nsp == 2 ? s.out[0] : 1, OW = s.out[s.nsp - 1];
  int64_t SH = s.nsp == 2 ? s.stride[0] : 1, SW = s.stride[s.nsp - 1];
  int64_t PH = s.nsp == 2 ? s.pad[0] : 0, PW = s.pad[s.nsp - 1];
  int64_t DH = s.nsp == 2 ? s.dilate[0] : 1, DW = s.dilate[s.nsp - 1];
  for (int64_t c = 0; c < cg; ++c)
    for (int64_t kh = 0; kh < KH; ++kh)
      for (int64_t kw = 0; kw < KW; ++kw) {
        float* row = col + ((c * KH + kh) * KW + kw) * OH * OW;
        for (int64_t oh = 0; oh < OH; ++oh) {
          int64_t ih = oh * SH - PH + kh * DH;
          float* out = row + oh * OW;
          if (ih < 0 || ih >= H) {
            std::memset(out, 0, sizeof(float) * OW);
            continue;
          }
          const float* in = x + (c * H + ih) * W;
          for (int64_t ow = 0; ow < OW; ++ow) {
            int64_t iw = ow * SW - PW + kw * DW;
            out[ow] = iw >= 0 && iw < W ? in[iw] : 0.f;
          }
        }
      }
}
}  // namespace

void convolution(const ConvShape& s, const float* x, const float* w, const float* b, float* y, float* ws) {
  int64_t in_sp = 1, out_sp = 1, kk = 1;
  for (int d = 0; d < s.nsp; ++d) in_sp *= s.in[d], out_sp *= s.out[d], kk *= s.k[d];
  int64_t cg = s.C / s.groups, og = s.O / s.groups;
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t g = 0; g < s.groups; ++g) {
      const float* xg = x + (n * s.C + g * cg) * in_sp;
      float* yg = y + (n * s.O + g * og) * out_sp;
      const float* wg = w + g * og * cg * kk;
      bool pointwise = kk == 1 && s.stride[0] == 1 && s.stride[s.nsp - 1] == 1 && s.pad[0] == 0 && s.pad[s.nsp - 1] == 0;
      const float* col = xg;  // a 1x1 convolution reads the image itself
      if (!pointwise) {
        im2col(s, xg, cg, ws);
        col = ws;
      }
      float beta = 0.f;
      if (b) {
        for (int64_t o = 0; o < og; ++o)
          for (int64_t p = 0; p < out_sp; ++p) yg[o * out_sp + p] = b[g * og + o];
        beta = 1.f;
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, og, out_sp, cg * kk, 1.f, wg, cg * kk, col, out_sp, beta,
                  yg, out_sp);
    }
}

}  // namespace hgc::lib
