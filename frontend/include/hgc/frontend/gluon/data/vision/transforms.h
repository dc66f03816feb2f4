// Image transforms (gluon.data.vision.transforms) on whole arrays, for one sample or a batch,
// and a dataset wrapper that applies one to a field (Dataset.transform_first).
//
//   using namespace hgc::gluon::data;
//   transforms::Compose t({transforms::ToTensor(), transforms::Normalize({0.286}, {0.353})});
//   auto ds = std::make_shared<TransformDataset>(raw, t);   // field 0: images (N, 28, 28, 1) u8
//   DataLoader loader(ds, DataLoaderOptions(64));           // batch[0]: (64, 1, 28, 28) f32
#pragma once
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "hgc/frontend/gluon/data/data.h"

namespace hgc::gluon::data {

namespace transforms {

// Maps a sample's field, or the same field of a whole batch (a leading batch axis), to a new
// array.
using Transform = std::function<NDArray(const NDArray&)>;

// (H, W, C) or (N, H, W, C) of any dtype (u8 images: 0..255) to float32 (C, H, W) or
// (N, C, H, W) scaled by 1/255 into [0, 1].
struct ToTensor {
  NDArray operator()(const NDArray& x) const;
};

// (x - mean[c]) / std[c] per channel of (C, H, W) or (N, C, H, W) float data; one value for
// mean or std applies to every channel.
struct Normalize {
  Normalize(std::vector<double> mean, std::vector<double> std);
  NDArray operator()(const NDArray& x) const;
  std::vector<double> mean, std;
};

// ---- image transforms on (H, W, C) or (N, H, W, C) arrays of any dtype, before ToTensor
// (Gluon runs them per image with OpenCV; here plain host loops over each image, and a batch
// axis gets one random draw per image from the global generator, nd::random::seed). The
// result keeps the input's dtype (integer types rounded and clipped). ----

// Bilinear resize to (height, width) (Gluon's Resize(size): an int is a square, a pair is
// (width, height)); keep_ratio scales the shorter side to `size` when one value is given.
struct Resize {
  explicit Resize(int64_t size, bool keep_ratio = false) : w(size), h(size), keep_ratio(keep_ratio) {}
  explicit Resize(std::pair<int64_t, int64_t> width_height) : w(width_height.first), h(width_height.second) {}
  NDArray operator()(const NDArray& x) const;
  int64_t w, h;
  bool keep_ratio = false;
};

// The centered (height, width) window (Gluon's CenterCrop(size), size as (width, height)); an
// image smaller than the window is first resized up to cover it, as Gluon does.
struct CenterCrop {
  explicit CenterCrop(int64_t size) : w(size), h(size) {}
  CenterCrop(int64_t width, int64_t height) : w(width), h(height) {}
  NDArray operator()(const NDArray& x) const;
  int64_t w, h;
};

// A random window with area in scale * image area and aspect ratio (w/h) in `ratio`
// (log-uniform), resized to (height, width); after 10 failed draws, the centered largest
// window (Gluon's RandomResizedCrop(size, scale=(0.08, 1.0), ratio=(3/4, 4/3))).
struct RandomResizedCrop {
  explicit RandomResizedCrop(int64_t size, std::pair<double, double> scale = {0.08, 1.0},
                             std::pair<double, double> ratio = {3.0 / 4.0, 4.0 / 3.0})
      : w(size), h(size), scale(scale), ratio(ratio) {}
  NDArray operator()(const NDArray& x) const;
  int64_t w, h;
  std::pair<double, double> scale, ratio;
};

// Mirrors each image along W with probability 1/2.
struct RandomFlipLeftRight {
  NDArray operator()(const NDArray& x) const;
};
// Mirrors each image along H with probability 1/2.
struct RandomFlipTopBottom {
  NDArray operator()(const NDArray& x) const;
};

// x * alpha, alpha uniform in [max(0, 1 - brightness), 1 + brightness].
struct RandomBrightness {
  explicit RandomBrightness(double b) : brightness(b) {}
  NDArray operator()(const NDArray& x) const;
  double brightness;
};
// x * alpha + (1 - alpha) * mean gray level of the image (luma 0.299 R + 0.587 G + 0.114 B;
// one channel: the value itself).
struct RandomContrast {
  explicit RandomContrast(double c) : contrast(c) {}
  NDArray operator()(const NDArray& x) const;
  double contrast;
};
// x * alpha + (1 - alpha) * the pixel's gray level.
struct RandomSaturation {
  explicit RandomSaturation(double s) : saturation(s) {}
  NDArray operator()(const NDArray& x) const;
  double saturation;
};
// Brightness, contrast, saturation and hue jitter in a random order (Gluon's
// RandomColorJitter; hue: an HLS rotation by alpha turns, alpha uniform in [-hue, hue], on
// 3-channel images — one channel is left as it is, as in MXNet).
struct RandomColorJitter {
  RandomColorJitter(double brightness = 0, double contrast = 0, double saturation = 0, double hue = 0);
  NDArray operator()(const NDArray& x) const;
  double brightness, contrast, saturation, hue = 0;
};

// A converted copy (Gluon's Cast(dtype='float32')).
struct Cast {
  explicit Cast(DType dtype = DType::f32) : dtype(dtype) {}
  NDArray operator()(const NDArray& x) const { return x.astype(dtype); }
  DType dtype;
};

// The transforms in order.
struct Compose {
  explicit Compose(std::vector<Transform> ts) : ts(std::move(ts)) {}
  NDArray operator()(const NDArray& x) const;
  std::vector<Transform> ts;
};

}  // namespace transforms

// A dataset whose field `field` goes through `fn`, per sample in get() and once per batch in
// batch() (so fn sees the batch axis there, as ToTensor and Normalize expect).
class TransformDataset : public Dataset {
 public:
  TransformDataset(std::shared_ptr<const Dataset> base, transforms::Transform fn, size_t field = 0);
  int64_t size() const override { return base_->size(); }
  std::vector<NDArray> get(int64_t i) const override;
  std::vector<NDArray> batch(const std::vector<int64_t>& indices) const override;

 private:
  std::vector<NDArray> apply(std::vector<NDArray> fields) const;
  std::shared_ptr<const Dataset> base_;
  transforms::Transform fn_;
  size_t field_;
};

}  // namespace hgc::gluon::data
