// Gradient rules of the nn_resize family. Nearest UpSampling sums each scale x scale block
// (MXNet's sum pool); bilinear UpSampling is a depthwise Deconvolution, so its data gradient
// is the Convolution with the same weight and its weight gradient im2col GEMMs (as
// Deconvolution's rule); Crop pads the gradient back with zeros; BilinearResize2D and
// AdaptiveAvgPooling2D are separable linear maps out = Mh . x . Mw^T, so their gradient is
// Mh^T . g . Mw with the same (out x in) weights, built here on the host. Shape-only inputs
// (crop_like, like) get zeros, as in MXNet.
#include <cmath>

#include "autograd/grad_rules.h"
#include "hgc/base/error.h"
#include "hgc/base/tensor.h"
#include "hgc/frontend/nd/op.h"
#include "nd/detail.h"

namespace hgc::grad {

using nd_detail::call;

namespace {

using Matrix = std::vector<double>;  // (out x in), row-major

// MXNet 1.9's bilinear weights along one axis (bilinear_resize.cc: float coordinates).
Matrix bilinear_matrix(int64_t in, int64_t out, bool align) {
  Matrix m(out * in, 0.0);
  if (in == out) {  // MXNet's copy path
    for (int64_t o = 0; o < out; ++o) m[o * in + o] = 1;
    return m;
  }
  float r = out <= 1 ? 0.f
            : align  ? static_cast<float>(in - 1) / static_cast<float>(out - 1)
                     : static_cast<float>(in) / static_cast<float>(out);
  for (int64_t o = 0; o < out; ++o) {
    float src = align ? r * static_cast<float>(o) : std::max(0.f, r * (static_cast<float>(o) + 0.5f) - 0.5f);
    int64_t lo = static_cast<int64_t>(src), hi = lo < in - 1 ? lo + 1 : lo;
    double l1 = src - static_cast<float>(lo);
    m[o * in + lo] += 1 - l1;
    m[o * in + hi] += l1;
  }
  return m;
}

// Adaptive average pooling's window means along one axis.
Matrix adaptive_matrix(int64_t in, int64_t out) {
  Matrix m(out * in, 0.0);
  for (int64_t o = 0; o < out; ++o) {
    int64_t b = o * in / out, e = ((o + 1) * in + out - 1) / out;
    for (int64_t i = b; i < e; ++i) m[o * in + i] = 1.0 / static_cast<double>(e - b);
  }
  return m;
}

NDArray matrix_array(const Matrix& m, int64_t rows, int64_t cols, DType t) {
  HostTensor h(DType::f64, {rows, cols});
  for (int64_t i = 0; i < rows * cols; ++i) h.data<double>()[i] = m[i];
  NDArray a = nd::array(h);
  return t == DType::f64 ? a : a.astype(t);
}

// dx = Mh^T . g . Mw for g (N, C, OH, OW) and Mh (OH x H), Mw (OW x W).
NDArray separable_grad(const NDArray& g, const Matrix& mh, const Matrix& mw, int64_t h, int64_t w) {
  auto s = g.shape();
  int64_t n = s[0], ch = s[1], oh = s[2], ow = s[3];
  NDArray ah = matrix_array(mh, oh, h, g.dtype()), aw = matrix_array(mw, ow, w, g.dtype());
  if (g.dtype() == DType::f32) {  // two GEMMs
    NDArray t = nd::dot(g.reshape({n * ch * oh, ow}), aw).reshape({n * ch, oh, w});
    t = t.transpose({1, 0, 2}).reshape({oh, n * ch * w});
    return nd::dot(ah, t, true).reshape({h, n * ch, w}).transpose({1, 0, 2}).reshape({n, ch, h, w});
  }
  // GEMM calls take float32: multiply and sum in the gradient's own dtype.
  NDArray t = nd::sum(g.reshape({n, ch, oh, ow, 1}) * aw.reshape({1, 1, 1, ow, w}), {3});   // (N, C, OH, W)
  return nd::sum(t.reshape({n, ch, oh, 1, w}) * ah.reshape({1, 1, oh, h, 1}), {2});          // (N, C, H, W)
}

Grads upsampling_grad(const GradCtx& c) {
  const NDArray& g = c.og[0];
  int64_t scale = c.attrs.i("scale");
  if (c.attrs.s("sample_type") == "bilinear") {
    const NDArray &x = c.in[0], &w = c.in[1];
    int64_t k = 2 * scale - scale % 2, pad = scale / 2, n = x.shape()[0], ch = x.shape()[1];
    int64_t l = x.shape()[2] * x.shape()[3];
    AttrMap win{{"kernel", std::vector<int64_t>{k, k}},
                {"stride", std::vector<int64_t>{scale, scale}},
                {"pad", std::vector<int64_t>{pad, pad}}};
    AttrMap conv = win;
    conv["num_filter"] = ch;
    conv["num_group"] = ch;
    conv["no_bias"] = true;
    NDArray dx = call("Convolution", conv, {g, w});
    NDArray dcols = call("im2col", win, {g}).reshape({n * ch, k * k, l});
    NDArray dw = nd::sum(nd::batch_dot(x.reshape({n * ch, 1, l}), dcols, false, true).reshape({n, ch, k * k}), {0});
    return {dx, dw.reshape(w.shape())};
  }
  bool sum = c.attrs.s("multi_input_mode") == "sum";
  Grads r;
  int64_t begin = 0;
  for (const NDArray& x : c.in) {
    auto s = x.shape();
    int64_t f = g.shape()[2] / s[2];
    NDArray gi = sum ? g : g.slice_axis(1, begin, begin + s[1]);
    r.push_back(nd::sum(gi.reshape({s[0], s[1], s[2], f, s[3], f}), {3, 5}));
    begin += s[1];
  }
  return r;
}

// The gradient padded with zeros back to data's extent on H and W.
Grads crop_grad(const GradCtx& c) {
  const NDArray &x = c.in[0], &g = c.og[0];
  auto xs = x.shape(), os = g.shape();
  bool center = c.attrs.b("center_crop");
  int64_t off[2] = {center ? (xs[2] - os[2]) / 2 : c.attrs.tuple("offset")[0],
                    center ? (xs[3] - os[3]) / 2 : c.attrs.tuple("offset")[1]};
  NDArray d = g;
  for (int k = 0; k < 2; ++k) {
    int ax = 2 + k;
    std::vector<NDArray> parts;
    auto zeros = [&](int64_t len) {
      std::vector<int64_t> s = d.shape();
      s[ax] = len;
      return nd::zeros(s, g.dtype());
    };
    if (off[k] > 0) parts.push_back(zeros(off[k]));
    parts.push_back(d);
    int64_t after = xs[ax] - off[k] - os[ax];
    if (after > 0) parts.push_back(zeros(after));
    if (parts.size() > 1) d = nd::concat(parts, ax);
  }
  Grads r{d};
  if (c.in.size() > 1) r.push_back(nd::zeros_like(c.in[1]));
  return r;
}

}  // namespace

void register_nn_resize_rules(RuleTable& t) {
  t.add("UpSampling", upsampling_grad);
  t.add("Crop", crop_grad);
  t.add("_contrib_BilinearResize2D", [](const GradCtx& c) -> Grads {
    const NDArray &x = c.in[0], &g = c.og[0];
    int64_t h = x.shape()[2], w = x.shape()[3];
    bool align = c.attrs.b("align_corners");
    Grads r{separable_grad(g, bilinear_matrix(h, g.shape()[2], align), bilinear_matrix(w, g.shape()[3], align), h, w)};
    if (c.in.size() > 1) r.push_back(nd::zeros_like(c.in[1]));
    return r;
  });
  t.add("_contrib_AdaptiveAvgPooling2D", [](const GradCtx& c) -> Grads {
    const NDArray &x = c.in[0], &g = c.og[0];
    int64_t h = x.shape()[2], w = x.shape()[3];
    return {separable_grad(g, adaptive_matrix(h, g.shape()[2]), adaptive_matrix(w, g.shape()[3]), h, w)};
  });
}

}  // namespace hgc::grad
