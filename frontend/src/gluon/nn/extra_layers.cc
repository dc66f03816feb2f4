// The layers of nn/extra_layers.h, each written with registered ops (so they trace, compile
// and differentiate as any other layer).
#include "hgc/frontend/gluon/nn/extra_layers.h"

#include <sstream>

#include "hgc/base/error.h"
#include "hgc/frontend/nd/array_ops.h"
#include "hgc/frontend/nd/op.h"

namespace hgc::gluon::nn {

Lambda::Lambda(std::function<NDArray(const NDArray&)> fn, std::string label, BlockArgs args)
    : Block("lambda", std::move(args)), fn_(std::move(fn)), label_(std::move(label)) {
  if (!fn_) fail("gluon", "Lambda '", name(), "': the function is empty");
}

NDArray Swish::hybrid_forward(const NDArray& x) { return x * nd::sigmoid(beta_ * x); }
std::string Swish::repr() const {
  std::ostringstream os;
  os << "Swish(beta=" << beta_ << ")";
  return os.str();
}

NDArray BatchNormReLU::hybrid_forward(const NDArray& x) { return nd::relu(BatchNorm::hybrid_forward(x)); }
std::string BatchNormReLU::repr() const { return "BatchNormReLU" + BatchNorm::repr().substr(9); }

ReflectionPad2D::ReflectionPad2D(int64_t padding, BlockArgs args)
    : ReflectionPad2D(std::array<int64_t, 4>{padding, padding, padding, padding}, std::move(args)) {}
ReflectionPad2D::ReflectionPad2D(std::array<int64_t, 4> padding, BlockArgs args)
    : HybridBlock("reflectionpad2d", std::move(args)), pad_(padding) {
  for (int64_t p : pad_)
    if (p < 0) fail("gluon", "ReflectionPad2D: padding must be >= 0, got ", p);
}

namespace {
// Reflects `lo` and `hi` entries (edge excluded) onto both ends of `axis`.
NDArray reflect_axis(const NDArray& x, int axis, int64_t lo, int64_t hi, const std::string& who) {
  int64_t n = x.shape()[axis];
  if (lo >= n || hi >= n)
    fail("gluon", who, ": padding (", lo, ", ", hi, ") must be smaller than the axis size ", n);
  std::vector<NDArray> parts;
  if (lo) parts.push_back(nd::reverse(nd::slice_axis(x, axis, 1, lo + 1), {axis}));
  parts.push_back(x);
  if (hi) parts.push_back(nd::reverse(nd::slice_axis(x, axis, n - 1 - hi, n - 1), {axis}));
  return parts.size() == 1 ? x : nd::concat(parts, axis);
}
}  // namespace

NDArray ReflectionPad2D::hybrid_forward(const NDArray& x) {
  if (x.ndim() != 4) fail("gluon", "ReflectionPad2D '", name(), "': input must be (N, C, H, W), got ", x.ndim(), "-D");
  return reflect_axis(reflect_axis(x, 2, pad_[0], pad_[1], name()), 3, pad_[2], pad_[3], name());
}
std::string ReflectionPad2D::repr() const {
  std::ostringstream os;
  os << "ReflectionPad2D(padding=(" << pad_[0] << ", " << pad_[1] << ", " << pad_[2] << ", " << pad_[3] << "))";
  return os.str();
}

Conv1DTranspose::Conv1DTranspose(Conv1DOptions opts, int64_t output_padding, BlockArgs args)
    : HybridBlock("conv", std::move(args)), opts_(std::move(opts)), output_padding_(output_padding) {
  if (opts_.kernel_size_ < 1 || opts_.strides_ < 1 || opts_.dilation_ < 1 || opts_.padding_ < 0 || output_padding_ < 0)
    fail("gluon", "Conv1DTranspose: kernel_size, strides and dilation must be >= 1, padding and output_padding >= 0");
  if (opts_.groups_ < 1 || opts_.channels_ % opts_.groups_)
    fail("gluon", "Conv1DTranspose: channels ", opts_.channels_, " is not a multiple of groups ", opts_.groups_);
  auto scope = name_scope();
  ParamOptions w = ParamOptions().shape({opts_.in_channels_, opts_.channels_ / opts_.groups_, opts_.kernel_size_});
  if (opts_.weight_initializer_) w.init(*opts_.weight_initializer_);
  weight = params().get("weight", w);
  if (opts_.use_bias_) {
    ParamOptions b = ParamOptions().shape({opts_.channels_});
    if (opts_.bias_initializer_) b.init(*opts_.bias_initializer_);
    bias = params().get("bias", b);
  }
  if (!opts_.activation_.empty())
    act_ = register_child(std::make_shared<Activation>(opts_.activation_, BlockArgs().prefix(opts_.activation_ + "_")), "act");
}

NDArray Conv1DTranspose::hybrid_forward(const NDArray& x) {
  if (x.ndim() != 3) fail("gluon", "Conv1DTranspose '", name(), "': input must be (batch, channels, width), got ", x.ndim(), "-D");
  using V = std::vector<int64_t>;
  AttrMap a{{"kernel", V{opts_.kernel_size_}}, {"stride", V{opts_.strides_}}, {"dilate", V{opts_.dilation_}},
            {"pad", V{opts_.padding_}}, {"adj", V{output_padding_}}, {"num_filter", opts_.channels_},
            {"num_group", opts_.groups_}, {"no_bias", !opts_.use_bias_}, {"layout", std::string("NCW")}};
  std::vector<NDArray> ins{x, weight->data()};
  if (bias) ins.push_back(bias->data());
  NDArray y = nd::op("Deconvolution", a, ins, "fwd");
  return act_ ? (*act_)(y) : y;
}
std::string Conv1DTranspose::repr() const {
  const auto& s = weight->shape();
  std::string in = s[0] ? std::to_string(s[0]) : "None";
  return "Conv1DTranspose(" + in + " -> " + std::to_string(opts_.channels_) + ", kernel_size=(" +
         std::to_string(opts_.kernel_size_) + ",), stride=(" + std::to_string(opts_.strides_) + ",))";
}

}  // namespace hgc::gluon::nn
