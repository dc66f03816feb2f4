// ToTensor, Normalize and Compose as a few whole-array ops (cast, scale, transpose,
// broadcast arithmetic); TransformDataset applies one to a field.
#include "hgc/frontend/gluon/data/vision/transforms.h"

#include "hgc/base/error.h"
#include "nd/detail.h"

namespace hgc::gluon::data {
namespace transforms {

NDArray ToTensor::operator()(const NDArray& x) const {
  if (x.ndim() != 3 && x.ndim() != 4)
    fail("transforms", "ToTensor: expects (H, W, C) or (N, H, W, C), got ", nd_detail::shape_str(x.shape()));
  NDArray f = x.astype(DType::f32) / 255.0;
  return x.ndim() == 3 ? nd::transpose(f, {2, 0, 1}) : nd::transpose(f, {0, 3, 1, 2});
}

Normalize::Normalize(std::vector<double> m, std::vector<double> s) : mean(std::move(m)), std(std::move(s)) {
  if (mean.empty() || std.empty()) fail("transforms", "Normalize: mean and std need at least one value");
  for (double v : std)
    if (v == 0) fail("transforms", "Normalize: std must not be 0");
}

NDArray Normalize::operator()(const NDArray& x) const {
  if (x.ndim() != 3 && x.ndim() != 4)
    fail("transforms", "Normalize: expects (C, H, W) or (N, C, H, W), got ", nd_detail::shape_str(x.shape()));
  int64_t c = x.shape()[x.ndim() - 3];
  auto per_channel = [&](const std::vector<double>& v, const char* what) {
    if (v.size() != 1 && static_cast<int64_t>(v.size()) != c)
      fail("transforms", "Normalize: ", v.size(), " ", what, " values for ", c, " channels");
    std::vector<float> f(static_cast<size_t>(c));
    for (int64_t i = 0; i < c; ++i) f[i] = static_cast<float>(v.size() == 1 ? v[0] : v[i]);
    return nd::array(f, {c, 1, 1}, x.dtype());  // broadcasts over H, W (and N)
  };
  return (x - per_channel(mean, "mean")) / per_channel(std, "std");
}

NDArray Compose::operator()(const NDArray& x) const {
  NDArray y = x;
  for (const Transform& t : ts) y = t(y);
  return y;
}

}  // namespace transforms

TransformDataset::TransformDataset(std::shared_ptr<const Dataset> base, transforms::Transform fn, size_t field)
    : base_(std::move(base)), fn_(std::move(fn)), field_(field) {
  if (!base_) fail("data", "TransformDataset needs a dataset");
  if (!fn_) fail("data", "TransformDataset needs a transform");
}

std::vector<NDArray> TransformDataset::apply(std::vector<NDArray> fields) const {
  if (field_ >= fields.size())
    fail("data", "TransformDataset: field ", field_, " of a sample with ", fields.size(), " fields");
  fields[field_] = fn_(fields[field_]);
  return fields;
}

std::vector<NDArray> TransformDataset::get(int64_t i) const { return apply(base_->get(i)); }

std::vector<NDArray> TransformDataset::batch(const std::vector<int64_t>& indices) const {
  return apply(base_->batch(indices));
}

}  // namespace hgc::gluon::data
