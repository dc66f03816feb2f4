// Optimizers and Trainer (mx.optimizer, gluon.Trainer). Every update is a handful of NDArray
// ops on whole arrays (compiled kernels through invoke), written back into the parameter's
// own buffer, never a scalar loop.
//
//   using namespace hgc::gluon;
//   Trainer trainer(net->collect_params(), "sgd", {{"learning_rate", 0.1}, {"momentum", 0.9}});
//   for (auto& batch : loader) {
//     NDArray l;
//     { auto rec = autograd::record();  l = loss(net(batch[0]), batch[1]); }
//     l.backward();
//     trainer.step(batch_size);          // gradients rescaled by 1 / batch_size
//   }
//   auto opt = optim::create("adam", {{"learning_rate", 1e-3}});   // or optim::Adam(...)
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hgc/frontend/ndarray.h"
#include "hgc/frontend/parameter.h"

namespace hgc::gluon {
namespace optim {

// Hyper-parameters shared by every optimizer, with MXNet's names and defaults.
struct OptimizerOptions {
  double learning_rate = 0.01;
  double wd = 0;
  double rescale_grad = 1;
  std::optional<double> clip_gradient;  // None: no clipping

  // Chained setters, as the design's options structs have.
  OptimizerOptions& lr(double v) { learning_rate = v; return *this; }
  OptimizerOptions& weight_decay(double v) { wd = v; return *this; }
  OptimizerOptions& rescale(double v) { rescale_grad = v; return *this; }
  OptimizerOptions& clip(double v) { clip_gradient = v; return *this; }
};

class Optimizer {
 public:
  explicit Optimizer(OptimizerOptions o) : opts_(o) {}
  virtual ~Optimizer() = default;
  // Updates `weight` in place from `grad`; `index` keys this parameter's state (momentum...).
  // lr_mult and wd_mult scale the learning rate and weight decay for this parameter.
  virtual void update(size_t index, NDArray weight, const NDArray& grad, double lr_mult = 1, double wd_mult = 1) = 0;
  double learning_rate() const { return opts_.learning_rate; }
  void set_learning_rate(double lr) { opts_.learning_rate = lr; }
  double rescale_grad() const { return opts_.rescale_grad; }
  void set_rescale_grad(double r) { opts_.rescale_grad = r; }
  const OptimizerOptions& options() const { return opts_; }
  virtual std::string name() const = 0;

 protected:
  // rescale_grad * grad, clipped to [-clip_gradient, clip_gradient] when set.
  NDArray prepared(const NDArray& grad) const;
  OptimizerOptions opts_;
  std::map<size_t, std::vector<NDArray>> state_;
};

// weight -= lr * (grad + wd * weight), or with momentum:
// mom = momentum * mom - lr * (grad + wd * weight); weight += mom.
class SGD : public Optimizer {
 public:
  explicit SGD(OptimizerOptions o = {}, double momentum = 0) : Optimizer(o), momentum_(momentum) {}
  void update(size_t index, NDArray weight, const NDArray& grad, double lr_mult, double wd_mult) override;
  std::string name() const override { return "sgd"; }

 private:
  double momentum_;
};

// Kingma & Ba with MXNet's bias correction folded into the step size.
class Adam : public Optimizer {
 public:
  explicit Adam(OptimizerOptions o = OptimizerOptions().lr(0.001), double beta1 = 0.9, double beta2 = 0.999,
                double epsilon = 1e-8)
      : Optimizer(o), beta1_(beta1), beta2_(beta2), epsilon_(epsilon) {}
  void update(size_t index, NDArray weight, const NDArray& grad, double lr_mult, double wd_mult) override;
  std::string name() const override { return "adam"; }

 private:
  double beta1_, beta2_, epsilon_;
  std::map<size_t, int64_t> steps_;
};

// By MXNet name ("sgd", "adam"); keys: learning_rate, wd, rescale_grad, clip_gradient,
// momentum (sgd), beta1, beta2, epsilon (adam). Unknown names or keys throw.
std::unique_ptr<Optimizer> create(const std::string& name, const std::map<std::string, double>& params = {});

}  // namespace optim

// gluon.Trainer: applies an optimizer to a set of parameters after backward.
class Trainer {
 public:
  Trainer(const ParameterDict& params, const std::string& optimizer,
          const std::map<std::string, double>& optimizer_params = {});
  Trainer(const ParameterDict& params, std::unique_ptr<optim::Optimizer> optimizer);
  // One update of every parameter with a gradient, gradients scaled by 1 / batch_size.
  void step(double batch_size);
  double learning_rate() const { return opt_->learning_rate(); }
  void set_learning_rate(double lr) { opt_->set_learning_rate(lr); }
  optim::Optimizer& optimizer() { return *opt_; }
  // Zeroes every gradient (for grad_req "add").
  void zero_grad();

 private:
  std::vector<std::shared_ptr<Parameter>> params_;
  std::unique_ptr<optim::Optimizer> opt_;
  double scale_;  // the optimizer's own rescale_grad, before 1 / batch_size
};

}  // namespace hgc::gluon
