// The transforms of transforms_more.h, as host loops over each image (the data-loading side,
// where MXNet runs its CPU image kernels); random draws from the global generator.
#include <algorithm>
#include <cmath>

#include "hgc/base/error.h"
#include "hgc/frontend/gluon/data/vision/transforms_more.h"
#include "gluon/data/vision/hue.h"
#include "nd/detail.h"

namespace hgc::gluon::data::transforms {
namespace {

constexpr double kPi = 3.14159265358979323846;
double draw_uniform(double lo, double hi) { return nd::random::uniform(lo, hi, {1}, DType::f64).asscalar<double>(); }

// Calls fn(image index, pixels (H*W, C) of one image) on (H, W, C) or (N, H, W, C) data and
// returns the result in x's dtype (integers rounded and clipped as saturate_cast does).
template <class Fn>
NDArray per_hwc(const NDArray& x, const char* what, int64_t need_c, Fn fn) {
  if (x.ndim() != 3 && x.ndim() != 4)
    fail("transforms", what, ": expects (H, W, C) or (N, H, W, C), got ", nd_detail::shape_str(x.shape()));
  bool batched = x.ndim() == 4;
  int64_t n = batched ? x.shape()[0] : 1, c = x.shape().back(), hw = x.size() / std::max<int64_t>(n * c, 1);
  if (need_c && c != need_c) fail("transforms", what, ": expects ", need_c, " channels (RGB), got ", c);
  std::vector<float> v = x.to_vector<float>();
  for (int64_t i = 0; i < n; ++i) fn(i, v.data() + i * hw * c, hw);
  if (!dtype_is_float(x.dtype()))
    for (float& f : v) f = std::round(std::clamp(f, 0.0f, x.dtype() == DType::u8 ? 255.0f : 3.4e38f));
  return nd::array(v, x.shape(), x.dtype());
}

void rgb_to_hls(float r, float g, float b, float& h, float& l, float& s) {
  float mx = std::max({r, g, b}), mn = std::min({r, g, b});
  l = (mx + mn) / 2, h = 0, s = 0;
  if (mx == mn) return;
  float d = mx - mn;
  s = l <= 0.5f ? d / (mx + mn) : d / (2 - mx - mn);
  if (mx == r) h = 60 * (g - b) / d;
  else if (mx == g) h = 60 * (b - r) / d + 120;
  else h = 60 * (r - g) / d + 240;
  if (h < 0) h += 360;
}

void hls_to_rgb(float h, float l, float s, float& r, float& g, float& b) {
  if (s == 0) {
    r = g = b = l;
    return;
  }
  float p2 = l <= 0.5f ? l * (1 + s) : l + s - l * s, p1 = 2 * l - p2;
  auto chan = [&](float hh) {
    hh = std::fmod(hh, 360.0f);
    if (hh < 0) hh += 360;
    if (hh < 60) return p1 + (p2 - p1) * hh / 60;
    if (hh < 180) return p2;
    if (hh < 240) return p1 + (p2 - p1) * (240 - hh) / 60;
    return p1;
  };
  r = chan(h + 120), g = chan(h), b = chan(h - 120);
}

// One image (C, H, W) rotated by `rad` with the given zoom (MXNet's grid + BilinearSampler).
void rotate_chw(const float* in, float* out, int64_t c, int64_t h, int64_t w, double rad, bool zin, bool zout) {
  double hs = double(h - 1) / 2, ws = double(w - 1) / 2, ca = std::cos(rad), sa = std::sin(rad), gs = 1;
  if (zin || zout) {
    double rho = std::sqrt(double(h * h + w * w)), ang = std::atan(double(h) / double(w)), ar = std::abs(rad);
    double mx = std::max(std::abs(rho * std::cos(ang + ar)), std::abs(rho * std::cos(ang - ar)));
    double my = std::max(std::abs(rho * std::sin(ang + ar)), std::abs(rho * std::sin(ang - ar)));
    gs = zout ? std::max(mx / w, my / h) : std::min(w / mx, h / my);
  }
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      double wc = x - ws, hc = y - hs;
      double sx = (wc * ca - hc * sa) * gs + ws, sy = (wc * sa + hc * ca) * gs + hs;
      double fx = std::floor(sx), fy = std::floor(sy), ax = sx - fx, ay = sy - fy;
      int64_t x0 = int64_t(fx), y0 = int64_t(fy);
      for (int64_t k = 0; k < c; ++k) {
        double acc = 0;
        for (int dy = 0; dy < 2; ++dy)
          for (int dx = 0; dx < 2; ++dx) {
            int64_t xx = x0 + dx, yy = y0 + dy;
            if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
            acc += (dx ? ax : 1 - ax) * (dy ? ay : 1 - ay) * in[(k * h + yy) * w + xx];
          }
        out[(k * h + y) * w + x] = float(acc);
      }
    }
}

NDArray rotate_all(const NDArray& x, const std::vector<double>& degrees, bool zin, bool zout, const char* what) {
  if (x.dtype() != DType::f32)
    fail("transforms", what, ": only float32 (C, H, W) tensors are supported (apply ToTensor first), got ",
         dtype_name(x.dtype()));
  if (x.ndim() != 3 && x.ndim() != 4)
    fail("transforms", what, ": expects (C, H, W) or (N, C, H, W), got ", nd_detail::shape_str(x.shape()));
  bool batched = x.ndim() == 4;
  int64_t n = batched ? x.shape()[0] : 1, c = x.shape()[batched], h = x.shape()[batched + 1], w = x.shape()[batched + 2];
  std::vector<float> in = x.to_vector<float>(), out(in.size());
  for (int64_t i = 0; i < n; ++i)
    rotate_chw(in.data() + i * c * h * w, out.data() + i * c * h * w, c, h, w, degrees[size_t(i)] * kPi / 180, zin, zout);
  return nd::array(out, x.shape());
}

}  // namespace

Rotate::Rotate(double d, bool zi, bool zo) : degrees(d), zoom_in(zi), zoom_out(zo) {
  if (zi && zo) fail("transforms", "Rotate: zoom_in and zoom_out cannot both be true");
}
NDArray Rotate::operator()(const NDArray& x) const {
  int64_t n = x.ndim() == 4 ? x.shape()[0] : 1;
  return rotate_all(x, std::vector<double>(size_t(n), degrees), zoom_in, zoom_out, "Rotate");
}

RandomRotation::RandomRotation(std::pair<double, double> l, bool zi, bool zo, double p)
    : limits(l), zoom_in(zi), zoom_out(zo), proba(p) {
  if (l.first > l.second) fail("transforms", "RandomRotation: angle_limits must be an ordered (low, high) pair");
  if (p < 0 || p > 1) fail("transforms", "RandomRotation: rotate_with_proba must be in [0, 1], got ", p);
  if (zi && zo) fail("transforms", "RandomRotation: zoom_in and zoom_out cannot both be true");
}
NDArray RandomRotation::operator()(const NDArray& x) const {
  if (draw_uniform(0, 1) > proba) return x;
  int64_t n = x.ndim() == 4 ? x.shape()[0] : 1;
  std::vector<double> deg;
  for (int64_t i = 0; i < n; ++i) deg.push_back(draw_uniform(limits.first, limits.second));
  return rotate_all(x, deg, zoom_in, zoom_out, "RandomRotation");
}

CropResize::CropResize(int64_t x, int64_t y, int64_t width, int64_t height, std::optional<std::pair<int64_t, int64_t>> s)
    : x0(x), y0(y), w(width), h(height), size(s) {
  if (x < 0 || y < 0 || width < 1 || height < 1)
    fail("transforms", "CropResize: x, y must be >= 0 and width, height >= 1");
}
NDArray CropResize::operator()(const NDArray& img) const {
  if (img.ndim() != 3 && img.ndim() != 4)
    fail("transforms", "CropResize: expects (H, W, C) or (N, H, W, C), got ", nd_detail::shape_str(img.shape()));
  int ha = img.ndim() == 4 ? 1 : 0;
  int64_t H = img.shape()[ha], W = img.shape()[ha + 1];
  if (x0 + w > W || y0 + h > H)
    fail("transforms", "CropResize: window x=", x0, " y=", y0, " ", w, "x", h, " exceeds the ", W, "x", H, " image");
  NDArray c = nd::slice_axis(nd::slice_axis(img, ha, y0, y0 + h), ha + 1, x0, x0 + w);
  return size ? Resize(*size)(c) : c;
}

void detail::hue_shift_rgb(float* p, int64_t n, double alpha) {
  for (int64_t i = 0; i < n; ++i, p += 3) {
    float h, l, s;
    rgb_to_hls(p[0] / 255.f, p[1] / 255.f, p[2] / 255.f, h, l, s);
    hls_to_rgb(h + float(alpha * 360), l, s, p[0], p[1], p[2]);
    for (int k = 0; k < 3; ++k) p[k] *= 255.f;
  }
}

NDArray adjust_hue(const NDArray& x, double alpha) {
  return per_hwc(x, "adjust_hue", 3, [&](int64_t, float* p, int64_t hw) { detail::hue_shift_rgb(p, hw, alpha); });
}

RandomHue::RandomHue(double h) : hue(h) {
  if (h < 0) fail("transforms", "RandomHue: hue must be >= 0, got ", h);
}
NDArray RandomHue::operator()(const NDArray& x) const {
  int64_t n = x.ndim() == 4 ? x.shape()[0] : 1;
  if (n == 1) return adjust_hue(x, draw_uniform(std::max(0.0, 1 - hue), 1 + hue));
  std::vector<NDArray> parts;
  for (int64_t i = 0; i < n; ++i) parts.push_back(adjust_hue(x[i], draw_uniform(std::max(0.0, 1 - hue), 1 + hue)));
  return nd::stack(parts, 0);
}

NDArray adjust_lighting(const NDArray& x, std::array<double, 3> a) {
  static const double eig[3][3] = {{55.46 * -0.5675, 4.794 * 0.7192, 1.148 * 0.4009},
                                   {55.46 * -0.5808, 4.794 * -0.0045, 1.148 * -0.8140},
                                   {55.46 * -0.5836, 4.794 * -0.6948, 1.148 * 0.4203}};
  double pca[3];
  for (int c = 0; c < 3; ++c) pca[c] = eig[c][0] * a[0] + eig[c][1] * a[1] + eig[c][2] * a[2];
  return per_hwc(x, "adjust_lighting", 3, [&](int64_t, float* p, int64_t hw) {
    for (int64_t i = 0; i < hw * 3; ++i) p[i] += float(pca[i % 3]);
  });
}

RandomLighting::RandomLighting(double s) : alpha_std(s) {
  if (s < 0) fail("transforms", "RandomLighting: alpha_std must be >= 0, got ", s);
}
NDArray RandomLighting::operator()(const NDArray& x) const {
  auto draw = [&]() {
    std::vector<double> v = nd::random::normal(0, alpha_std, {3}, DType::f64).to_vector<double>();
    return std::array<double, 3>{v[0], v[1], v[2]};
  };
  if (alpha_std == 0) return x;
  int64_t n = x.ndim() == 4 ? x.shape()[0] : 1;
  if (n == 1) return adjust_lighting(x, draw());
  std::vector<NDArray> parts;
  for (int64_t i = 0; i < n; ++i) parts.push_back(adjust_lighting(x[i], draw()));
  return nd::stack(parts, 0);
}

RandomApply::RandomApply(std::vector<Transform> transforms, double prob) : ts(std::move(transforms)), p(prob) {
  if (p < 0 || p > 1) fail("transforms", "RandomApply: p must be in [0, 1], got ", p);
}
NDArray RandomApply::operator()(const NDArray& x) const {
  if (p < draw_uniform(0, 1)) return x;
  return ts(x);
}

}  // namespace hgc::gluon::data::transforms
