// mx.nd's spatial resizing ops on NCHW arrays (MXNet 1.9 names and defaults): UpSampling,
// the legacy Crop, contrib.BilinearResize2D and contrib.AdaptiveAvgPooling2D. Each is one
// registered op (record, kernel, reference and gradient rule in the nn_resize family).
//
//   NDArray u = nd::UpSampling({x}, 2);                                   // nearest, (N, C, 2H, 2W)
//   NDArray f = nd::UpSampling({p5, p4}, 2, "nearest", 0, "sum");          // FPN-style merge
//   NDArray b = nd::UpSampling({x, weight}, 2, "bilinear", C);            // depthwise deconvolution
//   NDArray c = nd::Crop(x, {24, 24}, {4, 4});                            // h_w at offset (y, x)
//   NDArray r = nd::contrib::BilinearResize2D(x, nd::contrib::BilinearResize2DOptions().height(64).width(64));
//   NDArray p = nd::contrib::AdaptiveAvgPooling2D(x, {7, 7});
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "hgc/frontend/nd/ndarray.h"

namespace hgc::nd {

// sample_type "nearest" (args: 1..n arrays, concatenated or summed per multi_input_mode) or
// "bilinear" (args: data and a (C, 1, k, k) weight with k = 2 * scale - scale % 2, and
// num_filter = C).
NDArray UpSampling(const std::vector<NDArray>& args, int64_t scale, const std::string& sample_type = "nearest",
                   int64_t num_filter = 0, const std::string& multi_input_mode = "concat");
// Crops H and W to h_w, at `offset` (y, x) or centered.
NDArray Crop(const NDArray& data, const std::vector<int64_t>& h_w, const std::vector<int64_t>& offset = {0, 0},
             bool center_crop = false);
// Crops H and W to crop_like's.
NDArray Crop(const NDArray& data, const NDArray& crop_like, const std::vector<int64_t>& offset = {0, 0},
             bool center_crop = false);

namespace contrib {

// _contrib_BilinearResize2D's attributes, MXNet's defaults.
struct BilinearResize2DOptions {
  int64_t height_ = 1, width_ = 1;
  std::optional<double> scale_height_, scale_width_;
  std::string mode_ = "size";  // size, odd_scale, like, to_even_down, to_even_up, to_odd_down, to_odd_up
  bool align_corners_ = true;
  BilinearResize2DOptions& height(int64_t v) { height_ = v; return *this; }
  BilinearResize2DOptions& width(int64_t v) { width_ = v; return *this; }
  BilinearResize2DOptions& scale_height(double v) { scale_height_ = v; return *this; }
  BilinearResize2DOptions& scale_width(double v) { scale_width_ = v; return *this; }
  BilinearResize2DOptions& mode(std::string v) { mode_ = std::move(v); return *this; }
  BilinearResize2DOptions& align_corners(bool v) { align_corners_ = v; return *this; }
};

NDArray BilinearResize2D(const NDArray& data, const BilinearResize2DOptions& o = {});
// mode "like": resized to like's H and W.
NDArray BilinearResize2D(const NDArray& data, const NDArray& like, BilinearResize2DOptions o = {});
// output_size: () -> 1x1, (s) -> s x s, (h, w).
NDArray AdaptiveAvgPooling2D(const NDArray& data, const std::vector<int64_t>& output_size = {});

}  // namespace contrib
}  // namespace hgc::nd
