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
