// More gluon.data.vision.transforms: Rotate / RandomRotation (on float32 (C, H, W) tensors,
// after ToTensor, as MXNet's), CropResize, RandomHue, RandomLighting (AlexNet's PCA noise) and
// RandomApply.
//
//   using namespace hgc::gluon::data;
//   transforms::Compose aug({transforms::RandomApply({transforms::RandomHue(0.1)}, 0.5),
//                            transforms::RandomLighting(0.1), transforms::ToTensor(),
//                            transforms::RandomRotation({-15, 15})});
#pragma once
#include <array>
#include <optional>
#include <utility>
#include <vector>

#include "hgc/frontend/gluon/data/vision/transforms.h"

namespace hgc::gluon::data::transforms {

// Rotates float32 (C, H, W) or (N, C, H, W) images counter-clockwise by `degrees` about the
// center, bilinear, zeros outside (MXNet's image.imrotate). zoom_in scales so that no padding
// shows; zoom_out so that the whole image stays inside (not both).
struct Rotate {
  explicit Rotate(double rotation_degrees, bool zoom_in = false, bool zoom_out = false);
  NDArray operator()(const NDArray& x) const;
  double degrees;
  bool zoom_in, zoom_out;
};

// Rotate by an angle drawn uniformly from angle_limits per image, with probability
// rotate_with_proba per call (else the input unchanged).
struct RandomRotation {
  explicit RandomRotation(std::pair<double, double> angle_limits, bool zoom_in = false, bool zoom_out = false,
                          double rotate_with_proba = 1.0);
  NDArray operator()(const NDArray& x) const;
  std::pair<double, double> limits;
  bool zoom_in, zoom_out;
  double proba;
};

// Crops the (width, height) window at column x, row y of (H, W, C) or (N, H, W, C) images,
// then resizes it bilinearly to size = (width, height) when given.
struct CropResize {
  CropResize(int64_t x, int64_t y, int64_t width, int64_t height,
             std::optional<std::pair<int64_t, int64_t>> size = std::nullopt);
  NDArray operator()(const NDArray& x) const;
  int64_t x0, y0, w, h;
  std::optional<std::pair<int64_t, int64_t>> size;
};

// Shifts the hue of RGB (H, W, 3) / (N, H, W, 3) images (0..255) by alpha turns in HLS space
// (MXNet's AdjustHueImpl: h += alpha * 360); lightness and saturation are kept.
NDArray adjust_hue(const NDArray& x, double alpha);
// alpha uniform in [max(0, 1 - hue), 1 + hue] per image.
struct RandomHue {
  explicit RandomHue(double hue);
  NDArray operator()(const NDArray& x) const;
  double hue;
};

// Adds ImageNet's PCA color noise: each RGB channel += sum_j eigvec[c][j] * eigval[j] *
// alpha[j] (Krizhevsky et al.; MXNet's AdjustLightingImpl constants).
NDArray adjust_lighting(const NDArray& x, std::array<double, 3> alpha);
// alpha ~ N(0, alpha_std) per image and component.
struct RandomLighting {
  explicit RandomLighting(double alpha_std);
  NDArray operator()(const NDArray& x) const;
  double alpha_std;
};

// The transforms in order with probability p per call, else the input unchanged.
struct RandomApply {
  RandomApply(std::vector<Transform> transforms, double p = 0.5);
  NDArray operator()(const NDArray& x) const;
  Compose ts;
  double p;
};

}  // namespace hgc::gluon::data::transforms
