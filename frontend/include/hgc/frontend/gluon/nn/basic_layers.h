// Layers (gluon.nn): Dense, Activation, Dropout, Flatten. Options structs with chained
// setters take Gluon's names and defaults.
//
//   using namespace hgc::gluon;
//   auto fc = std::make_shared<nn::Dense>(nn::DenseOptions(256).activation("relu"));
//   fc->weight->shape();   // {256, 0}: in_units deferred to the first forward
//   std::cout << *fc;      // Dense(None -> 256, Activation(relu))
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "hgc/frontend/gluon/block.h"

namespace hgc::gluon::nn {

// MXNet's Activation act_type: relu, sigmoid, tanh, softrelu, softsign.
class Activation : public HybridBlock {
 public:
  explicit Activation(std::string act_type, BlockArgs args = {});
  NDArray hybrid_forward(const NDArray& x) override;
  std::string repr() const override { return "Activation(" + act_ + ")"; }
  const std::string& act_type() const { return act_; }

 private:
  std::string act_;
};

struct DenseOptions {
  explicit DenseOptions(int64_t units) : units_(units) {}
  int64_t units_;
  std::string activation_;  // empty: linear
  bool use_bias_ = true, flatten_ = true;
  int64_t in_units_ = 0;  // 0: from the first input
  DType dtype_ = DType::f32;
  std::shared_ptr<Initializer> weight_initializer_, bias_initializer_ = init::create("zeros");
  DenseOptions& activation(std::string a) { activation_ = std::move(a); return *this; }
  DenseOptions& use_bias(bool b) { use_bias_ = b; return *this; }
  DenseOptions& flatten(bool f) { flatten_ = f; return *this; }
  DenseOptions& in_units(int64_t n) { in_units_ = n; return *this; }
  DenseOptions& dtype(DType d) { dtype_ = d; return *this; }
  DenseOptions& weight_initializer(const Initializer& i) { weight_initializer_ = i.clone(); return *this; }
  DenseOptions& bias_initializer(const Initializer& i) { bias_initializer_ = i.clone(); return *this; }
};

// y = act(x . W^T + b), W of shape (units, in_units); flatten: x is (batch, ...) -> 2-D.
class Dense : public HybridBlock {
 public:
  explicit Dense(DenseOptions opts, BlockArgs args = {});
  NDArray hybrid_forward(const NDArray& x) override;
  std::string repr() const override;
  const DenseOptions& options() const { return opts_; }
  std::shared_ptr<Parameter> weight, bias;  // bias null without use_bias

 private:
  DenseOptions opts_;
  std::shared_ptr<Activation> act_;
};

// Training mode: zeroes elements with probability `rate` and scales the rest by 1/(1-rate)
// (one mask shared along `axes`); predict mode: the identity.
class Dropout : public HybridBlock {
 public:
  explicit Dropout(double rate, std::vector<int64_t> axes = {}, BlockArgs args = {});
  NDArray hybrid_forward(const NDArray& x) override;
  std::string repr() const override;

 private:
  double rate_;
  std::vector<int64_t> axes_;
};

// (batch, ...) -> (batch, prod(...)).
class Flatten : public HybridBlock {
 public:
  explicit Flatten(BlockArgs args = {}) : HybridBlock("flatten", std::move(args)) {}
  NDArray hybrid_forward(const NDArray& x) override;
  std::string repr() const override { return "Flatten"; }
};

}  // namespace hgc::gluon::nn
