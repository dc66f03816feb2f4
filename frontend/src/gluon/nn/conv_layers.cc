// gluon.nn Conv1D, Conv2D, Conv2DTranspose and the 2-D pooling layers over the Convolution,
// Deconvolution and Pooling ops.
#include "hgc/frontend/gluon/nn/conv_layers.h"

#include "hgc/frontend/nd/op.h"
#include "hgc/base/error.h"

namespace hgc::gluon::nn {
namespace {
std::string tup(const std::vector<int64_t>& v) {
  std::string r = "(";
  for (size_t i = 0; i < v.size(); ++i) r += (i ? ", " : "") + std::to_string(v[i]);
  return r + (v.size() == 1 ? ",)" : ")");
}
void check2(const std::vector<int64_t>& v, const char* what) {
  if (v.size() != 2) fail("gluon", "Conv2D/Pool2D: ", what, " needs 2 values, got ", tup(v));
}
void check_groups(const char* layer, int64_t channels, int64_t groups) {
  if (groups < 1 || channels % groups) fail("gluon", layer, ": channels ", channels, " is not a multiple of groups ", groups);
}

// The weight (of shape `w`), bias and activation child every convolution layer makes, with
// Gluon's names (weight, bias, <act>_).
template <class Opts>
void conv_parts(HybridBlock& block, const Opts& o, ParamOptions w, std::shared_ptr<Parameter>& weight,
                std::shared_ptr<Parameter>& bias, std::shared_ptr<Activation>& act) {
  if (o.weight_initializer_) w.init(*o.weight_initializer_);
  weight = block.params().get("weight", w);
  if (o.use_bias_) {
    ParamOptions b = ParamOptions().shape({o.channels_});
    if (o.bias_initializer_) b.init(*o.bias_initializer_);
    bias = block.params().get("bias", b);
  }
  if (!o.activation_.empty())
    act = block.register_child(std::make_shared<Activation>(o.activation_, BlockArgs().prefix(o.activation_ + "_")), "act");
}
}  // namespace

Conv2D::Conv2D(Conv2DOptions opts, BlockArgs args) : HybridBlock("conv", std::move(args)), opts_(std::move(opts)) {
  check2(opts_.kernel_size_, "kernel_size");
  check2(opts_.strides_, "strides");
  check2(opts_.padding_, "padding");
  check2(opts_.dilation_, "dilation");
  check_groups("Conv2D", opts_.channels_, opts_.groups_);
  auto scope = name_scope();
  ParamOptions w = ParamOptions().shape({opts_.channels_, opts_.in_channels_ / opts_.groups_, opts_.kernel_size_[0],
                                         opts_.kernel_size_[1]});
  conv_parts(*this, opts_, w, weight, bias, act_);
}

NDArray Conv2D::hybrid_forward(const NDArray& x) {
  AttrMap a{{"kernel", opts_.kernel_size_}, {"stride", opts_.strides_}, {"dilate", opts_.dilation_},
            {"pad", opts_.padding_}, {"num_filter", opts_.channels_}, {"num_group", opts_.groups_},
            {"no_bias", !opts_.use_bias_}, {"layout", std::string("NCHW")}};
  std::vector<NDArray> ins{x, weight->data()};
  if (bias) ins.push_back(bias->data());
  NDArray y = nd::op("Convolution", a, ins, "fwd");
  return act_ ? (*act_)(y) : y;
}

std::string Conv2D::repr() const {
  const auto& s = weight->shape();
  std::string in = s[1] ? std::to_string(s[1] * opts_.groups_) : "None";
  std::string r = "Conv2D(" + in + " -> " + std::to_string(opts_.channels_) + ", kernel_size=" + tup(opts_.kernel_size_) +
                  ", stride=" + tup(opts_.strides_);
  if (opts_.padding_ != std::vector<int64_t>{0, 0}) r += ", padding=" + tup(opts_.padding_);
  if (opts_.dilation_ != std::vector<int64_t>{1, 1}) r += ", dilation=" + tup(opts_.dilation_);
  if (opts_.groups_ != 1) r += ", groups=" + std::to_string(opts_.groups_);
  if (!bias) r += ", bias=False";
  if (act_) r += ", " + act_->repr();
  return r + ")";
}

Conv1D::Conv1D(Conv1DOptions opts, BlockArgs args) : HybridBlock("conv", std::move(args)), opts_(std::move(opts)) {
  if (opts_.kernel_size_ < 1 || opts_.strides_ < 1 || opts_.dilation_ < 1 || opts_.padding_ < 0)
    fail("gluon", "Conv1D: kernel_size, strides and dilation must be >= 1 and padding >= 0, got kernel_size=",
         opts_.kernel_size_, ", strides=", opts_.strides_, ", dilation=", opts_.dilation_, ", padding=", opts_.padding_);
  check_groups("Conv1D", opts_.channels_, opts_.groups_);
  auto scope = name_scope();
  ParamOptions w = ParamOptions().shape({opts_.channels_, opts_.in_channels_ / opts_.groups_, opts_.kernel_size_});
  conv_parts(*this, opts_, w, weight, bias, act_);
}

NDArray Conv1D::hybrid_forward(const NDArray& x) {
  if (x.ndim() != 3) fail("gluon", "Conv1D '", name(), "': input must be (batch, channels, width), got ", x.ndim(), "-D");
  using V = std::vector<int64_t>;
  AttrMap a{{"kernel", V{opts_.kernel_size_}}, {"stride", V{opts_.strides_}}, {"dilate", V{opts_.dilation_}},
            {"pad", V{opts_.padding_}}, {"num_filter", opts_.channels_}, {"num_group", opts_.groups_},
            {"no_bias", !opts_.use_bias_}, {"layout", std::string("NCW")}};
  std::vector<NDArray> ins{x, weight->data()};
  if (bias) ins.push_back(bias->data());
  NDArray y = nd::op("Convolution", a, ins, "fwd");
  return act_ ? (*act_)(y) : y;
}

std::string Conv1D::repr() const {
  const auto& s = weight->shape();
  std::string in = s[1] ? std::to_string(s[1] * opts_.groups_) : "None";
  std::string r = "Conv1D(" + in + " -> " + std::to_string(opts_.channels_) + ", kernel_size=" +
                  tup({opts_.kernel_size_}) + ", stride=" + tup({opts_.strides_});
  if (opts_.padding_ != 0) r += ", padding=" + tup({opts_.padding_});
  if (opts_.dilation_ != 1) r += ", dilation=" + tup({opts_.dilation_});
  if (opts_.groups_ != 1) r += ", groups=" + std::to_string(opts_.groups_);
  if (!bias) r += ", bias=False";
  if (act_) r += ", " + act_->repr();
  return r + ")";
}

Conv2DTranspose::Conv2DTranspose(Conv2DOptions opts, BlockArgs args)
    : HybridBlock("conv", std::move(args)), opts_(std::move(opts)) {
  check2(opts_.kernel_size_, "kernel_size");
  check2(opts_.strides_, "strides");
  check2(opts_.padding_, "padding");
  check2(opts_.dilation_, "dilation");
  check2(opts_.output_padding_, "output_padding");
  check_groups("Conv2DTranspose", opts_.channels_, opts_.groups_);
  auto scope = name_scope();
  ParamOptions w = ParamOptions().shape({opts_.in_channels_, opts_.channels_ / opts_.groups_, opts_.kernel_size_[0],
                                         opts_.kernel_size_[1]});
  conv_parts(*this, opts_, w, weight, bias, act_);
}

NDArray Conv2DTranspose::hybrid_forward(const NDArray& x) {
  AttrMap a{{"kernel", opts_.kernel_size_}, {"stride", opts_.strides_}, {"dilate", opts_.dilation_},
            {"pad", opts_.padding_}, {"adj", opts_.output_padding_}, {"num_filter", opts_.channels_},
            {"num_group", opts_.groups_}, {"no_bias", !opts_.use_bias_}, {"layout", std::string("NCHW")}};
  std::vector<NDArray> ins{x, weight->data()};
  if (bias) ins.push_back(bias->data());
  NDArray y = nd::op("Deconvolution", a, ins, "fwd");
  return act_ ? (*act_)(y) : y;
}

std::string Conv2DTranspose::repr() const {
  const auto& s = weight->shape();
  std::string in = s[0] ? std::to_string(s[0]) : "None";
  std::string r = "Conv2DTranspose(" + in + " -> " + std::to_string(opts_.channels_) +
                  ", kernel_size=" + tup(opts_.kernel_size_) + ", stride=" + tup(opts_.strides_);
  if (opts_.padding_ != std::vector<int64_t>{0, 0}) r += ", padding=" + tup(opts_.padding_);
  if (opts_.output_padding_ != std::vector<int64_t>{0, 0}) r += ", output_padding=" + tup(opts_.output_padding_);
  if (opts_.dilation_ != std::vector<int64_t>{1, 1}) r += ", dilation=" + tup(opts_.dilation_);
  if (opts_.groups_ != 1) r += ", groups=" + std::to_string(opts_.groups_);
  if (!bias) r += ", bias=False";
  if (act_) r += ", " + act_->repr();
  return r + ")";
}

Pool2D::Pool2D(const std::string& hint, std::string pool_type, bool global, Pool2DOptions opts, BlockArgs args)
    : HybridBlock(hint, std::move(args)), type_(std::move(pool_type)), global_(global), opts_(std::move(opts)) {
  if (opts_.strides_.empty()) opts_.strides_ = opts_.pool_size_;
  check2(opts_.pool_size_, "pool_size");
  check2(opts_.strides_, "strides");
  check2(opts_.padding_, "padding");
}

NDArray Pool2D::hybrid_forward(const NDArray& x) {
  AttrMap a{{"kernel", opts_.pool_size_}, {"pool_type", type_}, {"global_pool", global_},
            {"pooling_convention", std::string(opts_.ceil_mode_ ? "full" : "valid")}};
  if (!global_) {
    a["stride"] = opts_.strides_;
    a["pad"] = opts_.padding_;
  }
  if (type_ == "avg" && !opts_.count_include_pad_) a["count_include_pad"] = false;
  return nd::op("Pooling", a, {x}, "fwd");
}

std::string Pool2D::repr() const {
  return type_name() + "(size=" + tup(opts_.pool_size_) + ", stride=" + tup(opts_.strides_) + ", padding=" +
         tup(opts_.padding_) + ", ceil_mode=" + (opts_.ceil_mode_ ? "True" : "False") +
         ", global_pool=" + (global_ ? "True" : "False") + ", pool_type=" + type_ + ", layout=NCHW)";
}

}  // namespace hgc::gluon::nn
