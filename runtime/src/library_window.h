// The window helpers shared by the runtime's im2col/col2im and convolution library calls.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>

#include "hgc/runtime/library.h"

namespace hgc::lib::detail {

// The 2-D view of a 1-D or 2-D window geometry (1-D: a height of 1).
struct Geom2 {
  int64_t H, W, KH, KW, OH, OW, SH, SW, PH, PW, DH, DW;
  explicit Geom2(const ConvShape& s) {
    bool two = s.nsp == 2;
    H = two ? s.in[0] : 1, W = s.in[s.nsp - 1];
    KH = two ? s.k[0] : 1, KW = s.k[s.nsp - 1];
    OH = two ? s.out[0] : 1, OW = s.out[s.nsp - 1];
    SH = two ? s.stride[0] : 1, SW = s.stride[s.nsp - 1];
    PH = two ? s.pad[0] : 0, PW = s.pad[s.nsp - 1];
    DH = two ? s.dilate[0] : 1, DW = s.dilate[s.nsp - 1];
  }
};


// Column rows [KH * KW, OH * OW] of one channel plane, row r at col + r * ld; zero outside
// the input.
inline void im2col_plane(const Geom2& g, const float* x, float* col, int64_t ld) {
  for (int64_t kh = 0; kh < g.KH; ++kh)
    for (int64_t kw = 0; kw < g.KW; ++kw) {
      float* row = col + (kh * g.KW + kw) * ld;
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        int64_t ih = oh * g.SH - g.PH + kh * g.DH;
        float* out = row + oh * g.OW;
        if (ih < 0 || ih >= g.H) {
          std::memset(out, 0, sizeof(float) * g.OW);
          continue;
        }
        const float* in = x + ih * g.W;
        if (g.SW == 1 && g.PW == 0 && (g.OW - 1) + kw * g.DW < g.W) {  // a contiguous run
          std::memcpy(out, in + kw * g.DW, sizeof(float) * g.OW);
          continue;
        }
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          int64_t iw = ow * g.SW - g.PW + kw * g.DW;
          out[ow] = iw >= 0 && iw < g.W ? in[iw] : 0.f;
        }
      }
    }
}

// The adjoint of im2col_plane: every column entry added back to the input element it was
// read from (entries read from the padding are dropped). `x` must be zeroed by the caller.
inline void col2im_plane(const Geom2& g, const float* col, float* x, int64_t ld) {
  for (int64_t kh = 0; kh < g.KH; ++kh)
    for (int64_t kw = 0; kw < g.KW; ++kw) {
      const float* row = col + (kh * g.KW + kw) * ld;
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        int64_t ih = oh * g.SH - g.PH + kh * g.DH;
        if (ih < 0 || ih >= g.H) continue;
        const float* in = row + oh * g.OW;
        float* out = x + ih * g.W;
        if (g.SW == 1 && g.PW == 0 && (g.OW - 1) + kw * g.DW < g.W) {  // a contiguous run
          float* o = out + kw * g.DW;
          for (int64_t ow = 0; ow < g.OW; ++ow) o[ow] += in[ow];
          continue;
        }
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          int64_t iw = ow * g.SW - g.PW + kw * g.DW;
          if (iw >= 0 && iw < g.W) out[iw] += in[ow];
        }
      }
    }
}

// How a convolution (or its gradients) runs: per group, over chunks of `images` images whose
// im2col columns sit side by side, so each chunk is ONE GEMM of width images * L instead of
// one small GEMM per image. The workspace holds one chunk's columns (CK x images*L) and its
// output-gradient (or output) block (Og x images*L).
struct ConvPlan {
  int64_t in_sp = 1, L = 1, taps = 1, cg = 0, og = 0, ck = 0, images = 1, workspace = 0;
};
// Columns per chunk: about 1 MB for the forward, 256 KB for the gradients, whose GEMMs
// write (data grad) or reduce over (weight grad) the whole chunk. LeNet's second convolution
// (b=64, 20->50 on 12x12, one thread; ms at 2^16 / 2^18 floats): data grad 1.25 / 1.41,
// weight grad 1.50 / 1.72, forward 1.43 / 1.45 (two threads: forward 1.27 / 1.07). Earlier,
// LeNet's step: 2^18 floats 12.5 ms, 2^20 14.2 ms.
constexpr int64_t kForwardChunkFloats = int64_t(1) << 18, kGradChunkFloats = int64_t(1) << 16;
inline ConvPlan conv_plan(const ConvShape& s, int64_t chunk_floats = kForwardChunkFloats) {
  ConvPlan p;
  for (int d = 0; d < s.nsp; ++d) p.in_sp *= s.in[d], p.L *= s.out[d], p.taps *= s.k[d];
  p.cg = s.C / s.groups, p.og = s.O / s.groups, p.ck = p.cg * p.taps;
  p.images = std::max<int64_t>(1, std::min<int64_t>(s.N, chunk_floats / std::max<int64_t>(1, p.ck * p.L)));
  p.workspace = (p.ck + p.og) * p.images * p.L;
  return p;
}

// Runs fn(p) for every plane p < n, split over the thread pool when there is enough work.
void for_planes(int64_t n, int64_t work_per_plane, const std::function<void(int64_t)>& fn);

}  // namespace hgc::lib::detail
