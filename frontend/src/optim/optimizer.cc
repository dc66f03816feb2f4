// The optimizers' shared bookkeeping (update counts, lazily created state, the schedule) and
// create() by name; the update rules are in optimizer_rules.cc.
#include "hgc/frontend/optim/optimizer.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "hgc/base/error.h"
#include "nd/detail.h"

namespace hgc::gluon::optim {

// ---- bookkeeping ----

bool Optimizer::update(size_t index, NDArray weight, const NDArray& grad, double lr_mult, double wd_mult,
                       const NDArray& copy) {
  if (grad.shape() != weight.shape())
    fail("optimizer", name(), ": gradient shape ", nd_detail::shape_str(grad.shape()), " differs from weight shape ",
         nd_detail::shape_str(weight.shape()));
  int64_t t = ++counts_[index];
  num_update_ = std::max(num_update_, t);
  auto it = state_.find(index);
  if (it == state_.end()) it = state_.emplace(index, create_state(weight)).first;
  low_ = {copy, false};
  apply(weight, grad, it->second, learning_rate() * lr_mult, opts_.wd * wd_mult, t);
  bool wrote = low_.written;
  low_ = {};
  return wrote;
}

double Optimizer::learning_rate() const {
  return opts_.lr_scheduler ? (*opts_.lr_scheduler)(num_update_) : opts_.learning_rate;
}

void Optimizer::set_learning_rate(double lr) {
  if (opts_.lr_scheduler)
    fail("optimizer", name(), ": an lr_scheduler (", opts_.lr_scheduler->name(),
         ") owns the learning rate; set_learning_rate cannot change it");
  opts_.learning_rate = lr;
}

int64_t Optimizer::update_count(size_t index) const {
  auto it = counts_.find(index);
  return it == counts_.end() ? 0 : it->second;
}

const std::vector<NDArray>* Optimizer::state(size_t index) const {
  auto it = state_.find(index);
  return it == state_.end() ? nullptr : &it->second;
}

void Optimizer::check_state(const NDArray& weight, const std::vector<NDArray>& state, int64_t count,
                            const std::string& what) const {
  size_t want = create_state(weight).size();
  if (state.size() != want)
    fail("optimizer", name(), ": ", what, " has ", state.size(), " state arrays, ", name(), " keeps ", want);
  for (const NDArray& s : state)
    if (s.shape() != weight.shape() || s.dtype() != weight.dtype())
      fail("optimizer", name(), ": ", what, " state is ", nd_detail::shape_str(s.shape()), " ", dtype_name(s.dtype()),
           " but the weight is ", nd_detail::shape_str(weight.shape()), " ", dtype_name(weight.dtype()));
  if (count < 1) fail("optimizer", name(), ": ", what, " update count must be >= 1, got ", count);
}

void Optimizer::set_state(size_t index, const NDArray& weight, std::vector<NDArray> state, int64_t count,
                          const std::string& what) {
  check_state(weight, state, count, what);
  state_[index] = std::move(state);
  counts_[index] = count;
}

void Optimizer::reset_states() {
  state_.clear();
  counts_.clear();
  num_update_ = 0;
}

// ---- by name ----

std::unique_ptr<Optimizer> create(const std::string& name, const std::map<std::string, double>& params,
                                  std::shared_ptr<lr_scheduler::LRScheduler> lr_scheduler) {
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  OptimizerOptions o;
  std::map<std::string, double> extra;
  bool lr_given = false;
  for (const auto& [k, v] : params) {
    if (k == "learning_rate" || k == "lr") o.learning_rate = v, lr_given = true;
    else if (k == "wd") o.wd = v;
    else if (k == "rescale_grad") o.rescale_grad = v;
    else if (k == "clip_gradient") o.clip_gradient = v;
    else if (k == "use_fused_step") o.use_fused_step = v != 0;
    else extra[k] = v;
  }
  auto take = [&](const char* k, double d) {
    auto it = extra.find(k);
    if (it == extra.end()) return d;
    double v = it->second;
    extra.erase(it);
    return v;
  };
  auto flag = [&](const char* k, bool d) {
    double v = take(k, d ? 1 : 0);
    if (v != 0 && v != 1) fail("optimizer", name, ": option '", k, "' is a flag (0 or 1), got ", v);
    return v == 1;
  };
  // MXNet's default rate is 0.01 except where the optimizer's constructor says otherwise.
  if (!lr_given && (n == "adam" || n == "adamw" || n == "rmsprop" || n == "nadam" || n == "lamb")) o.learning_rate = 0.001;
  if (!lr_given && n == "adamax") o.learning_rate = 0.002;
  if (!lr_given && n == "ftrl") o.learning_rate = 0.1;
  if (lr_scheduler) {
    if (lr_given) lr_scheduler->set_base_lr(o.learning_rate);
    o.learning_rate = lr_scheduler->base_lr();
    o.lr_scheduler = std::move(lr_scheduler);
  }
  std::unique_ptr<Optimizer> r;
  if (n == "sgd") {
    r = std::make_unique<SGD>(o, take("momentum", 0));
  } else if (n == "nag") {
    r = std::make_unique<NAG>(o, take("momentum", 0));
  } else if (n == "adam") {
    r = std::make_unique<Adam>(o, take("beta1", 0.9), take("beta2", 0.999), take("epsilon", 1e-8));
  } else if (n == "adamw") {
    double b1 = take("beta1", 0.9), b2 = take("beta2", 0.999), eps = take("epsilon", 1e-6);
    r = std::make_unique<AdamW>(o, b1, b2, eps, flag("correct_bias", true));
  } else if (n == "rmsprop") {
    RMSPropOptions ro;
    ro.gamma1 = take("gamma1", 0.9), ro.gamma2 = take("gamma2", 0.9), ro.epsilon = take("epsilon", 1e-8);
    ro.centered = flag("centered", false);
    if (extra.count("clip_weights")) ro.clip_weights = take("clip_weights", 0);
    r = std::make_unique<RMSProp>(o, ro);
  } else if (n == "adagrad") {
    r = std::make_unique<AdaGrad>(o, take("eps", 1e-7));
  } else if (n == "adadelta") {
    double rho = take("rho", 0.9);
    r = std::make_unique<AdaDelta>(o, rho, take("epsilon", 1e-5));
  } else if (n == "adamax") {
    double b1 = take("beta1", 0.9);
    r = std::make_unique<Adamax>(o, b1, take("beta2", 0.999));
  } else if (n == "nadam") {
    double b1 = take("beta1", 0.9), b2 = take("beta2", 0.999), eps = take("epsilon", 1e-8);
    r = std::make_unique<Nadam>(o, b1, b2, eps, take("schedule_decay", 0.004));
  } else if (n == "signum") {
    double m = take("momentum", 0.9);
    r = std::make_unique<Signum>(o, m, take("wd_lh", 0.0));
  } else if (n == "ftrl") {
    double l1 = take("lamda1", 0.01);
    r = std::make_unique<Ftrl>(o, l1, take("beta", 1.0));
  } else if (n == "lamb") {
    double b1 = take("beta1", 0.9), b2 = take("beta2", 0.999), eps = take("epsilon", 1e-6);
    std::optional<double> lo, hi;
    if (extra.count("lower_bound")) lo = take("lower_bound", 0);
    if (extra.count("upper_bound")) hi = take("upper_bound", 0);
    r = std::make_unique<LAMB>(o, b1, b2, eps, lo, hi, flag("bias_correction", true));
  } else {
    fail("optimizer", "unknown optimizer '", name,
         "' (known: sgd, nag, adam, adamw, rmsprop, adagrad, adadelta, adamax, nadam, signum, ftrl, lamb)");
  }
  if (!extra.empty()) fail("optimizer", name, ": unknown option '", extra.begin()->first, "'");
  return r;
}

}  // namespace hgc::gluon::optim
