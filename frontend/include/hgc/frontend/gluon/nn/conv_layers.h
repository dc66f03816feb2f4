// Convolution and pooling layers (gluon.nn.conv_layers): Conv1D (NCW), Conv2D and the 2-D
// pooling layers (NCHW). No Conv3D: the Convolution op has no 3-D lowering yet.
//
//   auto conv = std::make_shared<nn::Conv2D>(nn::Conv2DOptions(20, {3, 3}).activation("relu"));
//   auto pool = std::make_shared<nn::MaxPool2D>(nn::Pool2DOptions({2, 2}));
//   NDArray y = (*pool)((*conv)(x));       // in_channels deferred to the first forward
//   std::cout << *conv;                     // Conv2D(None -> 20, kernel_size=(3, 3), stride=(1, 1), Activation(relu))
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "hgc/frontend/gluon/block.h"
#include "hgc/frontend/gluon/nn/basic_layers.h"

namespace hgc::gluon::nn {

struct Conv2DOptions {
  Conv2DOptions(int64_t channels, std::vector<int64_t> kernel_size)
      : channels_(channels), kernel_size_(std::move(kernel_size)) {}
  int64_t channels_;
  std::vector<int64_t> kernel_size_, strides_ = {1, 1}, padding_ = {0, 0}, dilation_ = {1, 1};
  std::vector<int64_t> output_padding_ = {0, 0};  // Conv2DTranspose only
  int64_t groups_ = 1, in_channels_ = 0;
  bool use_bias_ = true;
  std::string activation_;
  std::shared_ptr<Initializer> weight_initializer_, bias_initializer_ = init::create("zeros");
  Conv2DOptions& strides(std::vector<int64_t> s) { strides_ = std::move(s); return *this; }
  Conv2DOptions& padding(std::vector<int64_t> p) { padding_ = std::move(p); return *this; }
  Conv2DOptions& dilation(std::vector<int64_t> d) { dilation_ = std::move(d); return *this; }
  Conv2DOptions& output_padding(std::vector<int64_t> p) { output_padding_ = std::move(p); return *this; }
  Conv2DOptions& groups(int64_t g) { groups_ = g; return *this; }
  Conv2DOptions& in_channels(int64_t c) { in_channels_ = c; return *this; }
  Conv2DOptions& use_bias(bool b) { use_bias_ = b; return *this; }
  Conv2DOptions& activation(std::string a) { activation_ = std::move(a); return *this; }
  Conv2DOptions& weight_initializer(const Initializer& i) { weight_initializer_ = i.clone(); return *this; }
};

class Conv2D : public HybridBlock {
 public:
  explicit Conv2D(Conv2DOptions opts, BlockArgs args = {});
  NDArray hybrid_forward(const NDArray& x) override;
  std::string repr() const override;
  std::shared_ptr<Parameter> weight, bias;

 private:
  Conv2DOptions opts_;
  std::shared_ptr<Activation> act_;
};

// gluon.nn.Conv1D: (N, C, W) -> (N, channels, W'), layout NCW, weight (channels, C / groups, k).
struct Conv1DOptions {
  Conv1DOptions(int64_t channels, int64_t kernel_size) : channels_(channels), kernel_size_(kernel_size) {}
  int64_t channels_, kernel_size_, strides_ = 1, padding_ = 0, dilation_ = 1, groups_ = 1, in_channels_ = 0;
  bool use_bias_ = true;
  std::string activation_;
  std::shared_ptr<Initializer> weight_initializer_, bias_initializer_ = init::create("zeros");
  Conv1DOptions& strides(int64_t s) { strides_ = s; return *this; }
  Conv1DOptions& padding(int64_t p) { padding_ = p; return *this; }
  Conv1DOptions& dilation(int64_t d) { dilation_ = d; return *this; }
  Conv1DOptions& groups(int64_t g) { groups_ = g; return *this; }
  Conv1DOptions& in_channels(int64_t c) { in_channels_ = c; return *this; }
  Conv1DOptions& use_bias(bool b) { use_bias_ = b; return *this; }
  Conv1DOptions& activation(std::string a) { activation_ = std::move(a); return *this; }
  Conv1DOptions& weight_initializer(const Initializer& i) { weight_initializer_ = i.clone(); return *this; }
  Conv1DOptions& bias_initializer(const Initializer& i) { bias_initializer_ = i.clone(); return *this; }
};

class Conv1D : public HybridBlock {
 public:
  explicit Conv1D(Conv1DOptions opts, BlockArgs args = {});
  NDArray hybrid_forward(const NDArray& x) override;
  std::string repr() const override;
  const Conv1DOptions& options() const { return opts_; }
  std::shared_ptr<Parameter> weight, bias;

 private:
  Conv1DOptions opts_;
  std::shared_ptr<Activation> act_;
};

// The transposed convolution (MXNet's Deconvolution op): the gradient of a Conv2D with the
// same options with respect to its input, as a layer. Weight (in_channels, channels/groups,
// kh, kw); output size stride*(in-1) + dilation*(k-1) + 1 - 2*padding + output_padding.
class Conv2DTranspose : public HybridBlock {
 public:
  explicit Conv2DTranspose(Conv2DOptions opts, BlockArgs args = {});
  NDArray hybrid_forward(const NDArray& x) override;
  std::string repr() const override;
  std::shared_ptr<Parameter> weight, bias;

 private:
  Conv2DOptions opts_;
  std::shared_ptr<Activation> act_;
};

struct Pool2DOptions {
  explicit Pool2DOptions(std::vector<int64_t> pool_size = {2, 2}) : pool_size_(std::move(pool_size)) {}
  std::vector<int64_t> pool_size_, strides_, padding_ = {0, 0};  // strides empty: pool_size
  bool ceil_mode_ = false, count_include_pad_ = true;
  Pool2DOptions& strides(std::vector<int64_t> s) { strides_ = std::move(s); return *this; }
  Pool2DOptions& padding(std::vector<int64_t> p) { padding_ = std::move(p); return *this; }
  Pool2DOptions& ceil_mode(bool c) { ceil_mode_ = c; return *this; }
  Pool2DOptions& count_include_pad(bool c) { count_include_pad_ = c; return *this; }
};

// The Pooling op; MaxPool2D, AvgPool2D and the global ones set its type.
class Pool2D : public HybridBlock {
 public:
  // `hint` is Gluon's alias: "pool" for all of them (names pool0_, pool1_, ...).
  Pool2D(const std::string& hint, std::string pool_type, bool global, Pool2DOptions opts, BlockArgs args);
  NDArray hybrid_forward(const NDArray& x) override;
  std::string repr() const override;

 private:
  std::string type_;
  bool global_;
  Pool2DOptions opts_;
};

class MaxPool2D : public Pool2D {
 public:
  explicit MaxPool2D(Pool2DOptions o = Pool2DOptions(), BlockArgs a = {}) : Pool2D("pool", "max", false, std::move(o), std::move(a)) {}
};
class AvgPool2D : public Pool2D {
 public:
  explicit AvgPool2D(Pool2DOptions o = Pool2DOptions(), BlockArgs a = {}) : Pool2D("pool", "avg", false, std::move(o), std::move(a)) {}
};
class GlobalMaxPool2D : public Pool2D {
 public:
  explicit GlobalMaxPool2D(BlockArgs a = {}) : Pool2D("pool", "max", true, Pool2DOptions({1, 1}), std::move(a)) {}
};
class GlobalAvgPool2D : public Pool2D {
 public:
  explicit GlobalAvgPool2D(BlockArgs a = {}) : Pool2D("pool", "avg", true, Pool2DOptions({1, 1}), std::move(a)) {}
};

}  // namespace hgc::gluon::nn
