// Activation layers beyond nn::Activation (gluon.nn.activations): LeakyReLU, PReLU, ELU,
// SELU, GELU — each the LeakyReLU op with its act_type.
//
//   auto act = std::make_shared<nn::LeakyReLU>(0.1);
//   NDArray y = (*act)(x);                 // x > 0 ? x : 0.1 * x
//   std::make_shared<nn::PReLU>();          // a learned slope, initialized to 0.25
#pragma once
#include "hgc/frontend/gluon/block.h"

namespace hgc::gluon::nn {

class LeakyReLU : public HybridBlock {
 public:
  explicit LeakyReLU(double alpha, BlockArgs args = {});
  NDArray hybrid_forward(const NDArray& x) override;
  std::string repr() const override;

 private:
  double alpha_;
};

// Learned slope(s) `alpha` of shape (in_channels,); in_channels 1 shares one slope.
class PReLU : public HybridBlock {
 public:
  explicit PReLU(int64_t in_channels = 1, BlockArgs args = {});
  NDArray hybrid_forward(const NDArray& x) override;
  std::string repr() const override { return "PReLU"; }
  std::shared_ptr<Parameter> alpha;
};

// x > 0 ? x : alpha * (exp(x) - 1).
class ELU : public HybridBlock {
 public:
  explicit ELU(double alpha = 1.0, BlockArgs args = {});
  NDArray hybrid_forward(const NDArray& x) override;
  std::string repr() const override;

 private:
  double alpha_;
};

class SELU : public HybridBlock {
 public:
  explicit SELU(BlockArgs args = {}) : HybridBlock("selu", std::move(args)) {}
  NDArray hybrid_forward(const NDArray& x) override;
  std::string repr() const override { return "SELU"; }
};

// The erf form: 0.5 x (1 + erf(x / sqrt(2))).
class GELU : public HybridBlock {
 public:
  explicit GELU(BlockArgs args = {}) : HybridBlock("gelu", std::move(args)) {}
  NDArray hybrid_forward(const NDArray& x) override;
  std::string repr() const override { return "GELU"; }
};

}  // namespace hgc::gluon::nn
