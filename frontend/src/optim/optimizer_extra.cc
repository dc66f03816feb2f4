// The update rules of optimizer_extra.h, op by op on whole NDArrays as in optimizer_more.cc,
// following MXNet 1.9's python/mxnet/optimizer/optimizer.py and its *_update kernels.
#include "hgc/frontend/optim/optimizer_extra.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "hgc/base/error.h"
#include "nd/detail.h"

namespace hgc::gluon::optim {
namespace {

NDArray clipped(const OptimizerOptions& o, const NDArray& x) {
  if (!o.clip_gradient || *o.clip_gradient < 0) return x;
  return nd::clip(x, -*o.clip_gradient, *o.clip_gradient);
}
void put(NDArray& dst, const NDArray& v, const char* what) { nd_detail::write_into(dst, v, what); }
double norm2(const NDArray& x) { return nd::norm(x).asscalar<double>(); }

}  // namespace

std::vector<NDArray> DCASGD::create_state(const NDArray& w) const {
  return {nd::zeros_like(w), w.copy()};
}
void DCASGD::apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& st, double lr, double wd, int64_t) {
  NDArray g = clipped(opts_, grad * opts_.rescale_grad);
  NDArray step = -lr * (g + wd * weight + lamda_ * g * g * (weight - st[1]));
  NDArray mom = momentum_ != 0 ? momentum_ * st[0] + step : step;
  put(st[0], mom, "dcasgd mom");
  put(st[1], weight, "dcasgd previous_weight");
  put(weight, weight + mom, "dcasgd weight");
}

std::vector<NDArray> FTML::create_state(const NDArray& w) const {
  return {nd::zeros_like(w), nd::zeros_like(w), nd::zeros_like(w)};
}
void FTML::apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& st, double lr, double wd, int64_t t) {
  NDArray g = clipped(opts_, grad * opts_.rescale_grad + wd * weight);
  put(st[1], beta2_ * st[1] + (1 - beta2_) * nd::square(g), "ftml v");
  NDArray d_t = (1 - std::pow(beta1_, double(t))) / lr * (nd::sqrt(st[1] / (1 - std::pow(beta2_, double(t)))) + eps_);
  put(st[2], beta1_ * st[2] + (1 - beta1_) * g - (d_t - beta1_ * st[0]) * weight, "ftml z");
  put(st[0], d_t, "ftml d");
  put(weight, -st[2] / d_t, "ftml weight");
}

std::vector<NDArray> LARS::create_state(const NDArray& w) const {
  if (momentum_ == 0) return {};
  return {nd::zeros_like(w)};
}
void LARS::apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& st, double lr, double wd, int64_t) {
  double w_norm = norm2(weight), g_norm = norm2(grad * opts_.rescale_grad);
  double scale = w_norm > 0 && g_norm > 0 ? eta_ * w_norm / (g_norm + wd * w_norm + eps_) : 1.0;
  double mom = momentum_;
  if (correction_ && last_lr_ != 0) mom *= lr / last_lr_;
  last_lr_ = lr;
  double lr_l = lr * scale;
  NDArray g = clipped(opts_, grad * opts_.rescale_grad) + wd * weight;
  if (momentum_ == 0) {
    put(weight, weight - lr_l * g, "lars weight");
    return;
  }
  put(st[0], mom * st[0] - lr_l * g, "lars momentum");
  put(weight, weight + st[0], "lars weight");
}

LBSGD::LBSGD(OptimizerOptions o, LBSGDOptions l) : Optimizer(std::move(o)), l_(std::move(l)) {
  const std::string& s = l_.warmup_strategy;
  if (s != "linear" && s != "power2" && s != "sqrt" && s != "lars")
    fail("optimizer", "lbsgd: warmup_strategy must be linear, power2, sqrt or lars, got '", s, "'");
  if (l_.batch_scale < 1) fail("optimizer", "lbsgd: batch_scale must be >= 1, got ", l_.batch_scale);
}
std::vector<NDArray> LBSGD::create_state(const NDArray& w) const {
  if (l_.momentum != 0) return {nd::zeros_like(w), nd::zeros_like(w)};
  return {nd::zeros_like(w)};
}
double LBSGD::lbmult(int64_t nup) const {
  double nwup = double(l_.warmup_epochs * l_.updates_per_epoch), maxmult = double(l_.batch_scale), n = double(nup);
  if (n >= nwup) return maxmult;
  if (nwup <= 1) return 1.0;
  if (l_.warmup_strategy == "linear") return 1.0 + (maxmult - 1) * n / nwup;
  if (l_.warmup_strategy == "power2") return 1.0 + (maxmult - 1) * (n * n) / (nwup * nwup);
  if (l_.warmup_strategy == "sqrt") return 1.0 + (maxmult - 1) * std::sqrt(n / nwup);
  return 1.0;
}
void LBSGD::apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& st, double lr, double wd, int64_t t) {
  NDArray& cum = st.back();
  put(cum, cum + grad, "lbsgd cum_grad");
  int64_t num_cums = l_.begin_epoch * l_.updates_per_epoch + t;
  if (num_cums % l_.batch_scale != 0) return;  // MXNet: an sgd_update at lr 0
  NDArray g = cum / double(l_.batch_scale);
  double mult;
  if (l_.warmup_strategy == "lars") {
    double w2 = nd::sum(weight * weight).asscalar<double>(), g2 = nd::sum(g * g).asscalar<double>();
    mult = std::clamp(std::sqrt(w2 / (g2 + wd * w2 + 1e-18)), 0.01, 100.0);
  } else {
    mult = lbmult(num_cums);
  }
  double lr_b = lr * mult;
  NDArray step = clipped(opts_, g * opts_.rescale_grad) + wd * weight;
  if (l_.momentum != 0) {
    put(st[0], l_.momentum * st[0] - lr_b * step, "lbsgd momentum");
    put(weight, weight + st[0], "lbsgd weight");
  } else {
    put(weight, weight - lr_b * step, "lbsgd weight");
  }
  put(cum, nd::zeros_like(cum), "lbsgd cum_grad reset");
}

void SGLD::apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>&, double lr, double wd, int64_t) {
  NDArray g = clipped(opts_, grad * opts_.rescale_grad);
  NDArray noise = nd::random::normal(0, std::sqrt(lr), weight.shape(), weight.dtype());
  put(weight, weight - lr / 2 * (g + wd * weight) + noise, "sgld weight");
}

// ---- Updater ----

Updater::Updater(std::shared_ptr<Optimizer> optimizer) : opt_(std::move(optimizer)) {
  if (!opt_) fail("optimizer", "Updater: the optimizer is null");
}
void Updater::operator()(size_t index, const NDArray& grad, NDArray weight) { opt_->update(index, weight, grad); }
void Updater::operator()(const std::vector<size_t>& indices, const std::vector<NDArray>& grads,
                         std::vector<NDArray> weights) {
  if (indices.size() != grads.size() || grads.size() != weights.size())
    fail("optimizer", "Updater: ", indices.size(), " indices, ", grads.size(), " gradients and ", weights.size(),
         " weights differ in number");
  for (size_t i = 0; i < indices.size(); ++i) opt_->update(indices[i], weights[i], grads[i]);
}
Updater get_updater(std::shared_ptr<Optimizer> optimizer) { return Updater(std::move(optimizer)); }

std::unique_ptr<Optimizer> create_extra(const std::string& name, const std::map<std::string, double>& params) {
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  if (n != "dcasgd" && n != "ftml" && n != "lars" && n != "lbsgd" && n != "sgld" && n != "ccsgd")
    return create(name, params);
  if (n == "ccsgd") return create("sgd", params);
  OptimizerOptions o;
  o.learning_rate = n == "ftml" ? 0.0025 : 0.01;
  std::map<std::string, double> extra;
  for (const auto& [k, v] : params) {
    if (k == "learning_rate" || k == "lr") o.learning_rate = v;
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
  if (n == "dcasgd") {
    double m = take("momentum", 0);
    r = std::make_unique<DCASGD>(o, m, take("lamda", 0.04));
  } else if (n == "ftml") {
    double b1 = take("beta1", 0.6), b2 = take("beta2", 0.999);
    r = std::make_unique<FTML>(o, b1, b2, take("epsilon", 1e-8));
  } else if (n == "lars") {
    double m = take("momentum", 0), eta = take("eta", 0.001), eps = take("eps", 0);
    r = std::make_unique<LARS>(o, m, eta, eps, take("momentum_correction", 1) != 0);
  } else if (n == "lbsgd") {
    LBSGDOptions l;
    l.momentum = take("momentum", 0);
    l.warmup_epochs = int64_t(take("warmup_epochs", 5)), l.batch_scale = int64_t(take("batch_scale", 1));
    l.updates_per_epoch = int64_t(take("updates_per_epoch", 32)), l.begin_epoch = int64_t(take("begin_epoch", 0));
    r = std::make_unique<LBSGD>(o, l);
  } else {
    r = std::make_unique<SGLD>(o);
  }
  if (!extra.empty()) fail("optimizer", name, ": unknown option '", extra.begin()->first, "'");
  return r;
}

}  // namespace hgc::gluon::optim
