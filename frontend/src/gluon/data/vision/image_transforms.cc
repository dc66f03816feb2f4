// Image transforms on host images (H, W, C), one image at a time: geometry (resize, crops,
// flips) and color jitter. They run before ToTensor on the data-loading side, where Gluon
// uses OpenCV per image, so plain loops over a float copy are the honest equivalent; the
// random parameters come from the global generator (nd::random) so a seed fixes them.
#include <algorithm>
#include <cmath>

#include "hgc/base/error.h"
#include "hgc/frontend/gluon/data/vision/transforms.h"
#include "gluon/data/vision/hue.h"
#include "nd/detail.h"

namespace hgc::gluon::data::transforms {
namespace {

struct Image {
  int64_t h = 0, w = 0, c = 0;
  std::vector<float> v;  // (h, w, c)
  float at(int64_t y, int64_t x, int64_t k) const { return v[(y * w + x) * c + k]; }
};

// Calls fn on every image of (H, W, C) or (N, H, W, C) and reassembles the results (each of
// one shape) in x's dtype.
template <class Fn>
NDArray per_image(const NDArray& x, const char* what, Fn fn) {
  if (x.ndim() != 3 && x.ndim() != 4)
    fail("transforms", what, ": expects (H, W, C) or (N, H, W, C), got ", nd_detail::shape_str(x.shape()));
  bool batched = x.ndim() == 4;
  const auto& s = x.shape();
  int64_t n = batched ? s[0] : 1, h = s[batched], w = s[batched + 1], c = s[batched + 2];
  std::vector<float> all = x.to_vector<float>();
  std::vector<float> out;
  int64_t oh = -1, ow = -1;
  for (int64_t i = 0; i < n; ++i) {
    Image im{h, w, c, std::vector<float>(all.begin() + i * h * w * c, all.begin() + (i + 1) * h * w * c)};
    Image r = fn(std::move(im));
    if (oh >= 0 && (r.h != oh || r.w != ow)) fail("transforms", what, ": images of one batch came out in different sizes");
    oh = r.h, ow = r.w;
    out.insert(out.end(), r.v.begin(), r.v.end());
  }
  if (!dtype_is_float(x.dtype()))
    for (float& f : out) f = std::round(std::clamp(f, 0.0f, x.dtype() == DType::u8 ? 255.0f : 3.4e38f));
  std::vector<int64_t> shape = batched ? std::vector<int64_t>{n, oh, ow, c} : std::vector<int64_t>{oh, ow, c};
  return nd::array(out, shape, x.dtype());
}

// Bilinear, pixel centers aligned (OpenCV's INTER_LINEAR).
Image resize(const Image& im, int64_t oh, int64_t ow) {
  Image r{oh, ow, im.c, std::vector<float>(static_cast<size_t>(oh * ow * im.c))};
  double sy = double(im.h) / oh, sx = double(im.w) / ow;
  for (int64_t y = 0; y < oh; ++y) {
    double fy = std::clamp((y + 0.5) * sy - 0.5, 0.0, double(im.h - 1));
    int64_t y0 = static_cast<int64_t>(fy), y1 = std::min(y0 + 1, im.h - 1);
    double ay = fy - y0;
    for (int64_t x = 0; x < ow; ++x) {
      double fx = std::clamp((x + 0.5) * sx - 0.5, 0.0, double(im.w - 1));
      int64_t x0 = static_cast<int64_t>(fx), x1 = std::min(x0 + 1, im.w - 1);
      double ax = fx - x0;
      for (int64_t k = 0; k < im.c; ++k)
        r.v[(y * ow + x) * im.c + k] = static_cast<float>(
            (1 - ay) * ((1 - ax) * im.at(y0, x0, k) + ax * im.at(y0, x1, k)) +
            ay * ((1 - ax) * im.at(y1, x0, k) + ax * im.at(y1, x1, k)));
    }
  }
  return r;
}

Image crop(const Image& im, int64_t y0, int64_t x0, int64_t ch, int64_t cw) {
  Image r{ch, cw, im.c, {}};
  r.v.reserve(static_cast<size_t>(ch * cw * im.c));
  for (int64_t y = 0; y < ch; ++y)
    for (int64_t x = 0; x < cw; ++x)
      for (int64_t k = 0; k < im.c; ++k) r.v.push_back(im.at(y0 + y, x0 + x, k));
  return r;
}

double draw_uniform(double lo, double hi) { return nd::random::uniform(lo, hi, {1}, DType::f64).asscalar<double>(); }

float gray(const Image& im, int64_t p) {
  const float* px = &im.v[p * im.c];
  return im.c == 3 ? 0.299f * px[0] + 0.587f * px[1] + 0.114f * px[2] : px[0];
}

Image brightness(Image im, double b) {
  float a = static_cast<float>(draw_uniform(std::max(0.0, 1 - b), 1 + b));
  for (float& f : im.v) f *= a;
  return im;
}
Image contrast(Image im, double c) {
  float a = static_cast<float>(draw_uniform(std::max(0.0, 1 - c), 1 + c));
  double m = 0;
  for (int64_t p = 0; p < im.h * im.w; ++p) m += gray(im, p);
  float g = static_cast<float>(m / std::max<int64_t>(1, im.h * im.w));
  for (float& f : im.v) f = f * a + g * (1 - a);
  return im;
}
Image saturation(Image im, double s) {
  float a = static_cast<float>(draw_uniform(std::max(0.0, 1 - s), 1 + s));
  for (int64_t p = 0; p < im.h * im.w; ++p) {
    float g = gray(im, p);
    for (int64_t k = 0; k < im.c; ++k) im.v[p * im.c + k] = im.v[p * im.c + k] * a + g * (1 - a);
  }
  return im;
}

void check_size(int64_t w, int64_t h, const char* what) {
  if (w < 1 || h < 1) fail("transforms", what, ": size must be positive, got (", w, ", ", h, ")");
}

}  // namespace

NDArray Resize::operator()(const NDArray& x) const {
  check_size(w, h, "Resize");
  return per_image(x, "Resize", [&](Image im) {
    int64_t oh = h, ow = w;
    if (keep_ratio && w == h) {  // the shorter side becomes `size`
      if (im.h < im.w) oh = w, ow = static_cast<int64_t>(std::lround(double(im.w) * w / im.h));
      else ow = w, oh = static_cast<int64_t>(std::lround(double(im.h) * w / im.w));
    }
    return resize(im, oh, ow);
  });
}

NDArray CenterCrop::operator()(const NDArray& x) const {
  check_size(w, h, "CenterCrop");
  return per_image(x, "CenterCrop", [&](Image im) {
    if (im.h < h || im.w < w) {
      double s = std::max(double(h) / im.h, double(w) / im.w);
      im = resize(im, std::max(h, int64_t(std::ceil(im.h * s))), std::max(w, int64_t(std::ceil(im.w * s))));
    }
    return crop(im, (im.h - h) / 2, (im.w - w) / 2, h, w);
  });
}

NDArray RandomResizedCrop::operator()(const NDArray& x) const {
  check_size(w, h, "RandomResizedCrop");
  if (!(scale.first > 0 && scale.first <= scale.second && scale.second <= 1))
    fail("transforms", "RandomResizedCrop: scale must satisfy 0 < lo <= hi <= 1");
  if (!(ratio.first > 0 && ratio.first <= ratio.second)) fail("transforms", "RandomResizedCrop: ratio must satisfy 0 < lo <= hi");
  return per_image(x, "RandomResizedCrop", [&](Image im) {
    double area = double(im.h) * im.w;
    for (int attempt = 0; attempt < 10; ++attempt) {
      double target = area * draw_uniform(scale.first, scale.second);
      double ar = std::exp(draw_uniform(std::log(ratio.first), std::log(ratio.second)));
      int64_t cw = std::lround(std::sqrt(target * ar)), ch = std::lround(std::sqrt(target / ar));
      if (cw >= 1 && ch >= 1 && cw <= im.w && ch <= im.h) {
        int64_t x0 = std::min<int64_t>(im.w - cw, static_cast<int64_t>(draw_uniform(0, 1) * (im.w - cw + 1)));
        int64_t y0 = std::min<int64_t>(im.h - ch, static_cast<int64_t>(draw_uniform(0, 1) * (im.h - ch + 1)));
        return resize(crop(im, y0, x0, ch, cw), h, w);
      }
    }
    int64_t side = std::min(im.h, im.w);
    return resize(crop(im, (im.h - side) / 2, (im.w - side) / 2, side, side), h, w);
  });
}

NDArray RandomFlipLeftRight::operator()(const NDArray& x) const {
  return per_image(x, "RandomFlipLeftRight", [&](Image im) {
    if (draw_uniform(0, 1) >= 0.5) return im;
    Image r = im;
    for (int64_t y = 0; y < im.h; ++y)
      for (int64_t xx = 0; xx < im.w; ++xx)
        for (int64_t k = 0; k < im.c; ++k) r.v[(y * im.w + xx) * im.c + k] = im.at(y, im.w - 1 - xx, k);
    return r;
  });
}

NDArray RandomFlipTopBottom::operator()(const NDArray& x) const {
  return per_image(x, "RandomFlipTopBottom", [&](Image im) {
    if (draw_uniform(0, 1) >= 0.5) return im;
    Image r = im;
    for (int64_t y = 0; y < im.h; ++y)
      for (int64_t xx = 0; xx < im.w; ++xx)
        for (int64_t k = 0; k < im.c; ++k) r.v[(y * im.w + xx) * im.c + k] = im.at(im.h - 1 - y, xx, k);
    return r;
  });
}

NDArray RandomBrightness::operator()(const NDArray& x) const {
  return per_image(x, "RandomBrightness", [&](Image im) { return transforms::brightness(std::move(im), this->brightness); });
}
NDArray RandomContrast::operator()(const NDArray& x) const {
  return per_image(x, "RandomContrast", [&](Image im) { return transforms::contrast(std::move(im), this->contrast); });
}
NDArray RandomSaturation::operator()(const NDArray& x) const {
  return per_image(x, "RandomSaturation", [&](Image im) { return transforms::saturation(std::move(im), this->saturation); });
}

RandomColorJitter::RandomColorJitter(double b, double c, double s, double h)
    : brightness(b), contrast(c), saturation(s), hue(h) {
  if (b < 0 || c < 0 || s < 0 || h < 0) fail("transforms", "RandomColorJitter: jitter amounts must be >= 0");
}

NDArray RandomColorJitter::operator()(const NDArray& x) const {
  return per_image(x, "RandomColorJitter", [&](Image im) {
    int order[4] = {0, 1, 2, 3};
    for (int i = 3; i > 0; --i) std::swap(order[i], order[static_cast<int>(draw_uniform(0, 1) * (i + 1)) % (i + 1)]);
    for (int o : order) {
      if (o == 0 && brightness > 0) im = transforms::brightness(std::move(im), brightness);
      if (o == 1 && contrast > 0) im = transforms::contrast(std::move(im), contrast);
      if (o == 2 && saturation > 0) im = transforms::saturation(std::move(im), saturation);
      if (o == 3 && hue > 0 && im.c == 3) detail::hue_shift_rgb(im.v.data(), im.h * im.w, draw_uniform(-hue, hue));
    }
    return im;
  });
}

}  // namespace hgc::gluon::data::transforms
