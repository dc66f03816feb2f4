// Per-sample normalization layers (gluon.nn.basic_layers InstanceNorm and GroupNorm, MXNet
// 1.9 names, parameters and defaults). Unlike BatchNorm they keep no running statistics: the
// moments come from each sample (per channel, or per group of channels) in training and
// predict mode alike, so one forward serves both.
//
//   auto in = std::make_shared<nn::InstanceNorm>();                          // axis 1, in_channels deferred
//   auto gn = std::make_shared<nn::GroupNorm>(nn::GroupNormOptions(4));      // gamma/beta: (4,)
//   NDArray y = (*in)(x);                                                    // x: (N, C, H, W)
#pragma once
#include <memory>

#include "hgc/frontend/gluon/block.h"
#include "hgc/frontend/init/initializer.h"

namespace hgc::gluon::nn {

// InstanceNorm(axis=1, epsilon=1e-5, center=True, scale=False, beta_initializer='zeros',
// gamma_initializer='ones', in_channels=0). Note MXNet's scale defaults to False here.
struct InstanceNormOptions {
  int axis_ = 1;
  double epsilon_ = 1e-5;
  bool center_ = true, scale_ = false;
  std::shared_ptr<Initializer> beta_initializer_ = init::create("zeros"), gamma_initializer_ = init::create("ones");
  int64_t in_channels_ = 0;
  InstanceNormOptions& axis(int a) { axis_ = a; return *this; }
  InstanceNormOptions& epsilon(double e) { epsilon_ = e; return *this; }
  InstanceNormOptions& center(bool c) { center_ = c; return *this; }
  InstanceNormOptions& scale(bool s) { scale_ = s; return *this; }
  InstanceNormOptions& beta_initializer(const Initializer& i) { beta_initializer_ = i.clone(); return *this; }
  InstanceNormOptions& gamma_initializer(const Initializer& i) { gamma_initializer_ = i.clone(); return *this; }
  InstanceNormOptions& in_channels(int64_t c) { in_channels_ = c; return *this; }
};

// out = (x - mean) / sqrt(var + eps) * gamma + beta, the moments over every axis but 0 and
// `axis`; gamma and beta have one entry per channel (`axis`).
class InstanceNorm : public HybridBlock {
 public:
  explicit InstanceNorm(InstanceNormOptions opts = InstanceNormOptions(), BlockArgs args = {});
  NDArray hybrid_forward(const NDArray& x) override;
  std::string repr() const override;
  std::shared_ptr<Parameter> gamma, beta;

 private:
  InstanceNormOptions opts_;
};

// GroupNorm(num_groups=1, epsilon=1e-5, center=True, scale=True, beta_initializer='zeros',
// gamma_initializer='ones').
struct GroupNormOptions {
  int64_t num_groups_ = 1;
  double epsilon_ = 1e-5;
  bool center_ = true, scale_ = true;
  std::shared_ptr<Initializer> beta_initializer_ = init::create("zeros"), gamma_initializer_ = init::create("ones");
  explicit GroupNormOptions(int64_t num_groups = 1) : num_groups_(num_groups) {}
  GroupNormOptions& num_groups(int64_t g) { num_groups_ = g; return *this; }
  GroupNormOptions& epsilon(double e) { epsilon_ = e; return *this; }
  GroupNormOptions& center(bool c) { center_ = c; return *this; }
  GroupNormOptions& scale(bool s) { scale_ = s; return *this; }
  GroupNormOptions& beta_initializer(const Initializer& i) { beta_initializer_ = i.clone(); return *this; }
  GroupNormOptions& gamma_initializer(const Initializer& i) { gamma_initializer_ = i.clone(); return *this; }
};

// x (N, C, ...) seen as (N, G, C/G * ...): each group normalized over its channels and
// spatial dims. As in MXNet 1.x, gamma and beta have one entry per group (shape (G,)).
class GroupNorm : public HybridBlock {
 public:
  explicit GroupNorm(GroupNormOptions opts = GroupNormOptions(), BlockArgs args = {});
  NDArray hybrid_forward(const NDArray& x) override;
  std::string repr() const override;
  std::shared_ptr<Parameter> gamma, beta;

 private:
  GroupNormOptions opts_;
};

}  // namespace hgc::gluon::nn
