// MXNet 1.9's remaining optimizers (DCASGD, FTML, LARS, LBSGD, SGLD, the ccSGD alias) and the
// Updater that applies an optimizer to (index, grad, weight) triples, as kvstore does.
//
//   using namespace hgc::gluon;
//   auto opt = std::make_shared<optim::FTML>(optim::OptimizerOptions().lr(0.0025));
//   optim::Updater upd = optim::get_updater(opt);
//   upd(0, grad, weight);   // weight updated in place, state kept under index 0
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "hgc/frontend/optim/optimizer.h"

namespace hgc::gluon::optim {

// [DEPRECATED in MXNet] the same as SGD (name() is "sgd").
class ccSGD : public SGD {
 public:
  explicit ccSGD(OptimizerOptions o = {}, double momentum = 0) : SGD(std::move(o), momentum) {}
};

// Delay-compensated ASGD (Zheng et al.): g = clip(rescale * grad); mom = momentum mom - lr (g +
// wd weight + lamda g^2 (weight - previous_weight)) (momentum 0: mom is that step alone);
// previous_weight = weight; weight += mom. State: mom, previous_weight (a copy of the weight).
class DCASGD : public Optimizer {
 public:
  explicit DCASGD(OptimizerOptions o = {}, double momentum = 0, double lamda = 0.04)
      : Optimizer(std::move(o)), momentum_(momentum), lamda_(lamda) {}
  std::string name() const override { return "dcasgd"; }
  std::vector<NDArray> create_state(const NDArray& weight) const override;

 protected:
  void apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& state, double lr, double wd, int64_t t) override;

 private:
  double momentum_, lamda_;
};

// Follow the Moving Leader (Zheng & Kwok), MXNet's ftml_update: g = clip(rescale * grad + wd
// weight); v = beta2 v + (1 - beta2) g^2; d_t = (1 - beta1^t) / lr (sqrt(v / (1 - beta2^t)) +
// epsilon); z = beta1 z + (1 - beta1) g - (d_t - beta1 d) weight; d = d_t; weight = -z / d_t.
class FTML : public Optimizer {
 public:
  explicit FTML(OptimizerOptions o = OptimizerOptions().lr(0.0025), double beta1 = 0.6, double beta2 = 0.999,
                double epsilon = 1e-8)
      : Optimizer(std::move(o)), beta1_(beta1), beta2_(beta2), eps_(epsilon) {}
  std::string name() const override { return "ftml"; }
  std::vector<NDArray> create_state(const NDArray& weight) const override;  // d, v, z

 protected:
  void apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& state, double lr, double wd, int64_t t) override;

 private:
  double beta1_, beta2_, eps_;
};

// Layer-wise adaptive rate scaling (You et al.): lr' = lr * eta |w| / (|rescale * grad| + wd
// |w| + eps) (lr' = lr when either norm is 0), then SGD with momentum at lr'. With
// momentum_correction the momentum is scaled by lr / (the previous step's lr) when the
// schedule changes the rate.
class LARS : public Optimizer {
 public:
  explicit LARS(OptimizerOptions o = {}, double momentum = 0, double eta = 0.001, double eps = 0,
                bool momentum_correction = true)
      : Optimizer(std::move(o)), momentum_(momentum), eta_(eta), eps_(eps), correction_(momentum_correction) {}
  std::string name() const override { return "lars"; }
  std::vector<NDArray> create_state(const NDArray& weight) const override;

 protected:
  void apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& state, double lr, double wd, int64_t t) override;

 private:
  double momentum_, eta_, eps_;
  bool correction_;
  double last_lr_ = 0;
};

struct LBSGDOptions {
  double momentum = 0;
  std::string warmup_strategy = "linear";  // linear, power2, sqrt or lars
  int64_t warmup_epochs = 5, batch_scale = 1, updates_per_epoch = 32, begin_epoch = 0;
  LBSGDOptions& mom(double v) { momentum = v; return *this; }
  LBSGDOptions& strategy(std::string s) { warmup_strategy = std::move(s); return *this; }
  LBSGDOptions& scale(int64_t v) { batch_scale = v; return *this; }
  LBSGDOptions& warmup(int64_t epochs, int64_t per_epoch) { warmup_epochs = epochs, updates_per_epoch = per_epoch; return *this; }
};

// Large-batch SGD (MXNet's LBSGD): gradients are summed over batch_scale calls; every
// batch_scale-th call (counting begin_epoch * updates_per_epoch calls as done) applies SGD
// (with momentum) to the mean at lr * mult, where mult warms up from 1 to batch_scale over
// warmup_epochs * updates_per_epoch calls (linear, power2, sqrt) or is the clipped LARS ratio
// sqrt(|w|^2 / (|g|^2 + wd |w|^2)) in [0.01, 100] ("lars"). Other calls leave the weight.
class LBSGD : public Optimizer {
 public:
  explicit LBSGD(OptimizerOptions o = {}, LBSGDOptions l = {});
  std::string name() const override { return "lbsgd"; }
  std::vector<NDArray> create_state(const NDArray& weight) const override;  // [mom,] cum_grad
  double lbmult(int64_t num_cums) const;

 protected:
  void apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& state, double lr, double wd, int64_t t) override;

 private:
  LBSGDOptions l_;
};

// Stochastic gradient Langevin dynamics (Welling & Teh): g = clip(rescale * grad); weight +=
// -lr / 2 (g + wd weight) + N(0, sqrt(lr)) noise drawn from the global generator.
class SGLD : public Optimizer {
 public:
  explicit SGLD(OptimizerOptions o = {}) : Optimizer(std::move(o)) {}
  std::string name() const override { return "sgld"; }
  std::vector<NDArray> create_state(const NDArray&) const override { return {}; }

 protected:
  void apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& state, double lr, double wd, int64_t t) override;
};

// MXNet's optimizer.Updater: updater(index, grad, weight) runs the optimizer's update, keeping
// the per-index state in the optimizer.
class Updater {
 public:
  explicit Updater(std::shared_ptr<Optimizer> optimizer);
  void operator()(size_t index, const NDArray& grad, NDArray weight);
  // The list form: indices, grads and weights of equal length.
  void operator()(const std::vector<size_t>& indices, const std::vector<NDArray>& grads, std::vector<NDArray> weights);
  Optimizer& optimizer() const { return *opt_; }

 private:
  std::shared_ptr<Optimizer> opt_;
};

Updater get_updater(std::shared_ptr<Optimizer> optimizer);

// The optimizers above by name ("dcasgd", "ftml", "lars", "lbsgd", "sgld", "ccsgd"), keys as
// their constructors' arguments; every other name goes to optim::create.
std::unique_ptr<Optimizer> create_extra(const std::string& name, const std::map<std::string, double>& params = {});

}  // namespace hgc::gluon::optim
