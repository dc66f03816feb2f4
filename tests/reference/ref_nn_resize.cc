// Reference kernels of the nn_resize family, written as MXNet 1.9 computes them:
// UpSampling (nn/upsampling-inl.h: nearest repeats, bilinear = depthwise Deconvolution),
// Crop (crop-inl.h), _contrib_BilinearResize2D (contrib/bilinear_resize.cc, float
// coordinates) and _contrib_AdaptiveAvgPooling2D (contrib/adaptive_avg_pooling.cc).
#include <cmath>

#include "ref_kernels.h"

namespace hgc::ref {
namespace {

// Element (n, c, h, w) of an NCHW array.
double at(const Arr& a, int64_t n, int64_t c, int64_t h, int64_t w) {
  const Dims& s = a.shape;
  return a.v[((n * s[1] + c) * s[2] + h) * s[3] + w];
}

void upsampling(Ctx& c) {
  Arr& o = c.out[0];
  const Dims& os = o.shape;
  int64_t scale = c.a.i("scale");
  if (c.a.s("sample_type") == "bilinear") {
    // out[oh] += x[ih] * w[kh] where oh = ih * scale - pad + kh (a transposed convolution).
    const Arr &x = c.in[0], &w = c.in[1];
    int64_t k = 2 * scale - scale % 2, pad = scale / 2;  // ceil((scale - 1) / 2)
    for (Odometer it(x.shape); it.valid(); it.next()) {
      auto& i = it.idx;
      for (int64_t kh = 0; kh < k; ++kh)
        for (int64_t kw = 0; kw < k; ++kw) {
          int64_t oh = i[2] * scale - pad + kh, ow = i[3] * scale - pad + kw;
          if (oh < 0 || ow < 0 || oh >= os[2] || ow >= os[3]) continue;
          o.v[((i[0] * os[1] + i[1]) * os[2] + oh) * os[3] + ow] += at(x, i[0], i[1], i[2], i[3]) * at(w, i[1], 0, kh, kw);
        }
    }
    return;
  }
  bool sum = c.a.s("multi_input_mode") == "sum";
  int64_t begin = 0;
  for (const Arr& x : c.in) {
    int64_t s = os[2] / x.shape[2];
    for (Odometer it(x.shape); it.valid(); it.next()) {
      auto& i = it.idx;
      for (int64_t dh = 0; dh < s; ++dh)
        for (int64_t dw = 0; dw < s; ++dw) {
          int64_t ch = sum ? i[1] : begin + i[1];
          o.v[((i[0] * os[1] + ch) * os[2] + i[2] * s + dh) * os[3] + i[3] * s + dw] += at(x, i[0], i[1], i[2], i[3]);
        }
    }
    if (!sum) begin += x.shape[1];
  }
}

void crop(Ctx& c) {
  const Arr& x = c.in[0];
  Arr& o = c.out[0];
  int64_t oy, ox;
  if (c.a.b("center_crop")) {
    oy = (x.shape[2] - o.shape[2]) / 2, ox = (x.shape[3] - o.shape[3]) / 2;
  } else {
    oy = c.a.tuple("offset")[0], ox = c.a.tuple("offset")[1];
  }
  int64_t k = 0;
  for (Odometer it(o.shape); it.valid(); it.next(), ++k)
    o.v[k] = at(x, it.idx[0], it.idx[1], it.idx[2] + oy, it.idx[3] + ox);
}

// MXNet's area_pixel_compute_scale / _source_index, in float as MXNet computes them.
float source_scale(int64_t in, int64_t out, bool align) {
  if (out <= 1) return 0.f;
  return align ? static_cast<float>(in - 1) / static_cast<float>(out - 1) : static_cast<float>(in) / static_cast<float>(out);
}
float source_index(float scale, int64_t dst, bool align) {
  if (align) return scale * static_cast<float>(dst);
  float s = scale * (static_cast<float>(dst) + 0.5f) - 0.5f;
  return s < 0 ? 0.f : s;
}

void bilinear_resize(Ctx& c) {
  const Arr& x = c.in[0];
  Arr& o = c.out[0];
  int64_t ih = x.shape[2], iw = x.shape[3], oh = o.shape[2], ow = o.shape[3];
  bool align = c.a.b("align_corners");
  float rh = source_scale(ih, oh, align), rw = source_scale(iw, ow, align);
  int64_t k = 0;
  for (Odometer it(o.shape); it.valid(); it.next(), ++k) {
    int64_t n = it.idx[0], ch = it.idx[1], h2 = it.idx[2], w2 = it.idx[3];
    if (ih == oh && iw == ow) {  // MXNet's copy path
      o.v[k] = at(x, n, ch, h2, w2);
      continue;
    }
    float h1r = source_index(rh, h2, align), w1r = source_index(rw, w2, align);
    int64_t h1 = static_cast<int64_t>(h1r), w1 = static_cast<int64_t>(w1r);
    int64_t h1p = h1 < ih - 1 ? 1 : 0, w1p = w1 < iw - 1 ? 1 : 0;
    double hl1 = h1r - h1, hl0 = 1 - hl1, wl1 = w1r - w1, wl0 = 1 - wl1;
    o.v[k] = hl0 * (wl0 * at(x, n, ch, h1, w1) + wl1 * at(x, n, ch, h1, w1 + w1p)) +
             hl1 * (wl0 * at(x, n, ch, h1 + h1p, w1) + wl1 * at(x, n, ch, h1 + h1p, w1 + w1p));
  }
}

void adaptive_avg_pool(Ctx& c) {
  const Arr& x = c.in[0];
  Arr& o = c.out[0];
  int64_t ih = x.shape[2], iw = x.shape[3], oh = o.shape[2], ow = o.shape[3];
  int64_t k = 0;
  for (Odometer it(o.shape); it.valid(); it.next(), ++k) {
    int64_t h0 = it.idx[2] * ih / oh, h1 = ((it.idx[2] + 1) * ih + oh - 1) / oh;
    int64_t w0 = it.idx[3] * iw / ow, w1 = ((it.idx[3] + 1) * iw + ow - 1) / ow;
    double s = 0;
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t w = w0; w < w1; ++w) s += at(x, it.idx[0], it.idx[1], h, w);
    o.v[k] = s / static_cast<double>((h1 - h0) * (w1 - w0));
  }
}

}  // namespace

void add_nn_resize_kernels(KernelTable& t) {
  t.add("UpSampling", upsampling);
  t.add("Crop", crop);
  t.add("_contrib_BilinearResize2D", bilinear_resize);
  t.add("_contrib_AdaptiveAvgPooling2D", adaptive_avg_pool);
}

}  // namespace hgc::ref
