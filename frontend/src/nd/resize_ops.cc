// The nn_resize family's nd functions: one registered op call each.
#include "hgc/frontend/nd/resize_ops.h"

#include "nd/detail.h"

namespace hgc::nd {

using nd_detail::call;

NDArray UpSampling(const std::vector<NDArray>& args, int64_t scale, const std::string& sample_type, int64_t num_filter,
                   const std::string& multi_input_mode) {
  return call("UpSampling",
              {{"scale", scale}, {"sample_type", sample_type}, {"num_filter", num_filter},
               {"multi_input_mode", multi_input_mode}, {"num_args", static_cast<int64_t>(args.size())}},
              args);
}

NDArray Crop(const NDArray& data, const std::vector<int64_t>& h_w, const std::vector<int64_t>& offset, bool center_crop) {
  return call("Crop", {{"num_args", int64_t(1)}, {"h_w", h_w}, {"offset", offset}, {"center_crop", center_crop}}, {data});
}

NDArray Crop(const NDArray& data, const NDArray& crop_like, const std::vector<int64_t>& offset, bool center_crop) {
  return call("Crop", {{"num_args", int64_t(2)}, {"offset", offset}, {"center_crop", center_crop}}, {data, crop_like});
}

namespace contrib {

namespace {
AttrMap resize_attrs(const BilinearResize2DOptions& o) {
  AttrMap a{{"height", o.height_}, {"width", o.width_}, {"mode", o.mode_}, {"align_corners", o.align_corners_}};
  if (o.scale_height_) a["scale_height"] = *o.scale_height_;
  if (o.scale_width_) a["scale_width"] = *o.scale_width_;
  return a;
}
}  // namespace

NDArray BilinearResize2D(const NDArray& data, const BilinearResize2DOptions& o) {
  return call("_contrib_BilinearResize2D", resize_attrs(o), {data});
}

NDArray BilinearResize2D(const NDArray& data, const NDArray& like, BilinearResize2DOptions o) {
  o.mode("like");
  return call("_contrib_BilinearResize2D", resize_attrs(o), {data, like});
}

NDArray AdaptiveAvgPooling2D(const NDArray& data, const std::vector<int64_t>& output_size) {
  return call("_contrib_AdaptiveAvgPooling2D", {{"output_size", output_size}}, {data});
}

}  // namespace contrib
}  // namespace hgc::nd
