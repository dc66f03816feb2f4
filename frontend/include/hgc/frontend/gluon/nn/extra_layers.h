// More gluon.nn layers: Lambda (a function as a Block), Swish, BatchNormReLU,
// ReflectionPad2D and Conv1DTranspose.
//
//   auto pad = std::make_shared<nn::ReflectionPad2D>(1);          // (N, C, H, W) -> (N, C, H+2, W+2)
//   auto up = std::make_shared<nn::Conv1DTranspose>(nn::Conv1DOptions(8, 4).strides(2));
//   auto f = std::make_shared<nn::Lambda>([](const NDArray& x) { return nd::tanh(x); }, "tanh");
#pragma once
#include <array>
#include <functional>
#include <memory>
#include <string>

#include "hgc/frontend/gluon/nn/conv_layers.h"
#include "hgc/frontend/gluon/nn/norm_layers.h"

namespace hgc::gluon::nn {

// A function as a (non-hybrid) Block (gluon.nn.Lambda): any C++ code, run imperatively.
class Lambda : public Block {
 public:
  explicit Lambda(std::function<NDArray(const NDArray&)> fn, std::string label = "<lambda>", BlockArgs args = {});
  NDArray forward(const NDArray& x) override { return fn_(x); }
  std::string repr() const override { return "Lambda(" + label_ + ")"; }

 private:
  std::function<NDArray(const NDArray&)> fn_;
  std::string label_;
};

// x * sigmoid(beta * x) (Ramachandran et al.).
class Swish : public HybridBlock {
 public:
  explicit Swish(double beta = 1.0, BlockArgs args = {}) : HybridBlock("swish", std::move(args)), beta_(beta) {}
  NDArray hybrid_forward(const NDArray& x) override;
  std::string repr() const override;

 private:
  double beta_;
};

// BatchNorm followed by relu (MXNet's fused BatchNormReLU; here the two ops, which the
// compiler fuses into one kernel group).
class BatchNormReLU : public BatchNorm {
 public:
  explicit BatchNormReLU(NormOptions opts = BatchNormOptions(), BlockArgs args = {}) : BatchNorm(opts, std::move(args)) {}
  NDArray hybrid_forward(const NDArray& x) override;
  std::string repr() const override;
};

// Reflection padding of the last two axes of (N, C, H, W): (top, bottom, left, right), the
// edge row/column not repeated (numpy's "reflect"); each pad must be < that axis's size.
class ReflectionPad2D : public HybridBlock {
 public:
  explicit ReflectionPad2D(int64_t padding = 0, BlockArgs args = {});
  explicit ReflectionPad2D(std::array<int64_t, 4> padding, BlockArgs args = {});
  NDArray hybrid_forward(const NDArray& x) override;
  std::string repr() const override;

 private:
  std::array<int64_t, 4> pad_;
};

// The 1-D transposed convolution (Deconvolution, layout NCW): weight (in_channels,
// channels / groups, k); output width strides*(W-1) + dilation*(k-1) + 1 - 2*padding +
// output_padding.
class Conv1DTranspose : public HybridBlock {
 public:
  explicit Conv1DTranspose(Conv1DOptions opts, int64_t output_padding = 0, BlockArgs args = {});
  NDArray hybrid_forward(const NDArray& x) override;
  std::string repr() const override;
  std::shared_ptr<Parameter> weight, bias;

 private:
  Conv1DOptions opts_;
  int64_t output_padding_;
  std::shared_ptr<Activation> act_;
};

}  // namespace hgc::gluon::nn
