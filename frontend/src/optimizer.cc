// SGD, Adam and Trainer: updates as whole-array op calls (compiled kernels), written into
// the parameter's buffer so every handle of the parameter sees the new values.
#include "hgc/frontend/optimizer.h"

#include <cmath>

#include "hgc/frontend/autograd.h"
#include "hgc/ir/error.h"
#include "nd_detail.h"

namespace hgc::gluon {
namespace optim {

NDArray Optimizer::prepared(const NDArray& grad) const {
  NDArray g = opts_.rescale_grad == 1 ? grad : grad * opts_.rescale_grad;
  if (opts_.clip_gradient && *opts_.clip_gradient >= 0) g = nd::clip(g, -*opts_.clip_gradient, *opts_.clip_gradient);
  return g;
}

void SGD::update(size_t index, NDArray weight, const NDArray& grad, double lr_mult, double wd_mult) {
  double lr = opts_.learning_rate * lr_mult, wd = opts_.wd * wd_mult;
  NDArray g = prepared(grad);
  if (wd != 0) g = g + weight * wd;
  if (momentum_ == 0) {
    nd_detail::write_into(weight, weight - g * lr, "sgd update");
    return;
  }
  auto& st = state_[index];
  if (st.empty()) st.push_back(nd::zeros_like(weight));
  NDArray& mom = st[0];
  nd_detail::write_into(mom, mom * momentum_ - g * lr, "sgd momentum");
  nd_detail::write_into(weight, weight + mom, "sgd update");
}

void Adam::update(size_t index, NDArray weight, const NDArray& grad, double lr_mult, double wd_mult) {
  double lr = opts_.learning_rate * lr_mult, wd = opts_.wd * wd_mult;
  int64_t t = ++steps_[index];
  double lr_t = lr * std::sqrt(1 - std::pow(beta2_, t)) / (1 - std::pow(beta1_, t));
  // MXNet's adam_update: weight decay joins the gradient before clipping.
  NDArray g = opts_.rescale_grad == 1 ? grad : grad * opts_.rescale_grad;
  if (wd != 0) g = g + weight * wd;
  if (opts_.clip_gradient && *opts_.clip_gradient >= 0) g = nd::clip(g, -*opts_.clip_gradient, *opts_.clip_gradient);
  auto& st = state_[index];
  if (st.empty()) st = {nd::zeros_like(weight), nd::zeros_like(weight)};
  NDArray &mean = st[0], &var = st[1];
  nd_detail::write_into(mean, mean * beta1_ + g * (1 - beta1_), "adam mean");
  nd_detail::write_into(var, var * beta2_ + nd::square(g) * (1 - beta2_), "adam var");
  nd_detail::write_into(weight, weight - mean * lr_t / (nd::sqrt(var) + epsilon_), "adam update");
}

std::unique_ptr<Optimizer> create(const std::string& name, const std::map<std::string, double>& params) {
  OptimizerOptions o;
  std::map<std::string, double> extra;
  bool lr_given = false;
  for (const auto& [k, v] : params) {
    if (k == "learning_rate" || k == "lr") o.learning_rate = v, lr_given = true;
    else if (k == "wd") o.wd = v;
    else if (k == "rescale_grad") o.rescale_grad = v;
    else if (k == "clip_gradient") o.clip_gradient = v;
    else extra[k] = v;
  }
  auto take = [&](const char* k, double d) {
    auto it = extra.find(k);
    if (it == extra.end()) return d;
    double v = it->second;
    extra.erase(it);
    return v;
  };
  std::unique_ptr<Optimizer> r;
  if (name == "sgd") {
    r = std::make_unique<SGD>(o, take("momentum", 0));
  } else if (name == "adam") {
    if (!lr_given) o.learning_rate = 0.001;
    r = std::make_unique<Adam>(o, take("beta1", 0.9), take("beta2", 0.999), take("epsilon", 1e-8));
  } else {
    fail("optimizer", "unknown optimizer '", name, "' (known: sgd, adam)");
  }
  if (!extra.empty()) fail("optimizer", name, ": unknown option '", extra.begin()->first, "'");
  return r;
}

}  // namespace optim

Trainer::Trainer(const ParameterDict& params, const std::string& optimizer,
                 const std::map<std::string, double>& optimizer_params)
    : Trainer(params, optim::create(optimizer, optimizer_params)) {}

Trainer::Trainer(const ParameterDict& params, std::unique_ptr<optim::Optimizer> optimizer)
    : params_(params.values()), opt_(std::move(optimizer)), scale_(opt_->rescale_grad()) {}

void Trainer::step(double batch_size) {
  if (!(batch_size > 0)) fail("trainer", "step: batch_size must be positive, got ", batch_size);
  autograd::Scope off(false, autograd::is_training());  // updates are never taped
  opt_->set_rescale_grad(scale_ / batch_size);
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& p = params_[i];
    if (!p->has_grad()) {
      if (p->grad_req() != "null" && p->deferred())
        fail("trainer", "parameter '", p->name(), "' is not initialized yet (deferred); run a forward first");
      continue;
    }
    opt_->update(i, p->data(), p->grad(), p->lr_mult(), p->wd_mult());
  }
}

void Trainer::zero_grad() {
  for (const auto& p : params_) p->zero_grad();
}

}  // namespace hgc::gluon
