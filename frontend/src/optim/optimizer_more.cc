// AdaDelta, Adamax, Nadam, Signum, Ftrl and LAMB with MXNet 1.9's update formulas
// (python/mxnet/optimizer/optimizer.py and the *_update kernels), written op by op on whole
// NDArrays: the state arrays are updated in place, then the weight.
#include <cmath>

#include "hgc/frontend/optim/optimizer.h"
#include "nd/detail.h"

namespace hgc::gluon::optim {
namespace {

std::vector<NDArray> zeros_n(const NDArray& w, size_t n) {
  std::vector<NDArray> r;
  for (size_t i = 0; i < n; ++i) r.push_back(nd::zeros_like(w));
  return r;
}

// clip(x) to +-clip_gradient when set.
NDArray clipped(const OptimizerOptions& o, const NDArray& x) {
  if (!o.clip_gradient || *o.clip_gradient < 0) return x;
  return nd::clip(x, -*o.clip_gradient, *o.clip_gradient);
}

void put(NDArray& dst, const NDArray& v, const char* what) { nd_detail::write_into(dst, v, what); }

}  // namespace

std::vector<NDArray> AdaDelta::create_state(const NDArray& w) const { return zeros_n(w, 2); }
void AdaDelta::apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& st, double, double wd, int64_t) {
  NDArray g = clipped(opts_, grad * opts_.rescale_grad);
  put(st[0], rho_ * st[0] + (1 - rho_) * nd::square(g), "adadelta acc_g");
  NDArray delta = nd::sqrt(st[1] + eps_) / nd::sqrt(st[0] + eps_) * g;
  put(st[1], rho_ * st[1] + (1 - rho_) * nd::square(delta), "adadelta acc_delta");
  put(weight, weight - (delta + wd * weight), "adadelta weight");
}

std::vector<NDArray> Adamax::create_state(const NDArray& w) const { return zeros_n(w, 2); }
void Adamax::apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& st, double lr, double wd, int64_t t) {
  double lr_t = lr / (1 - std::pow(beta1_, double(t)));
  NDArray g = clipped(opts_, grad * opts_.rescale_grad + wd * weight);
  put(st[0], beta1_ * st[0] + (1 - beta1_) * g, "adamax m");
  put(st[1], nd::maximum(beta2_ * st[1], nd::abs(g)), "adamax u");
  put(weight, weight - lr_t * st[0] / st[1], "adamax weight");
}

std::vector<NDArray> Nadam::create_state(const NDArray& w) const { return zeros_n(w, 2); }
void Nadam::apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& st, double lr, double wd, int64_t t) {
  NDArray g = clipped(opts_, grad * opts_.rescale_grad + wd * weight);
  double mom_t = beta1_ * (1 - 0.5 * std::pow(0.96, double(t) * decay_));
  double mom_t1 = beta1_ * (1 - 0.5 * std::pow(0.96, double(t + 1) * decay_));
  m_schedule_ *= mom_t;
  double m_schedule_next = m_schedule_ * mom_t1;
  put(st[0], beta1_ * st[0] + (1 - beta1_) * g, "nadam m");
  put(st[1], beta2_ * st[1] + (1 - beta2_) * nd::square(g), "nadam v");
  NDArray g_prime = g / (1 - m_schedule_), m_prime = st[0] / (1 - m_schedule_next);
  NDArray v_prime = st[1] / (1 - std::pow(beta2_, double(t)));
  NDArray m_bar = (1 - mom_t) * g_prime + mom_t1 * m_prime;
  put(weight, weight - lr * m_bar / (nd::sqrt(v_prime) + eps_), "nadam weight");
}

std::vector<NDArray> Signum::create_state(const NDArray& w) const { return zeros_n(w, momentum_ != 0 ? 1 : 0); }
void Signum::apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& st, double lr, double wd, int64_t) {
  NDArray g = clipped(opts_, grad * opts_.rescale_grad);
  if (momentum_ != 0) {
    put(st[0], momentum_ * st[0] - (1 - momentum_) * (wd * weight + g), "signum momentum");
    put(weight, (1 - lr * wd_lh_) * weight + lr * nd::sign(st[0]), "signum weight");
  } else {
    put(weight, (1 - lr * wd) * weight - lr * nd::sign(g), "signsgd weight");
  }
}

std::vector<NDArray> Ftrl::create_state(const NDArray& w) const { return zeros_n(w, 2); }
void Ftrl::apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& st, double lr, double wd, int64_t) {
  NDArray g = clipped(opts_, grad * opts_.rescale_grad);
  NDArray& z = st[0];
  NDArray& n = st[1];
  put(z, z + g - (nd::sqrt(n + nd::square(g)) - nd::sqrt(n)) * weight / lr, "ftrl z");
  put(n, n + nd::square(g), "ftrl n");
  NDArray w = (nd::sign(z) * lamda1_ - z) / ((beta_ + nd::sqrt(n)) / lr + wd) * (nd::abs(z) > lamda1_);
  put(weight, w, "ftrl weight");
}

std::vector<NDArray> LAMB::create_state(const NDArray& w) const { return zeros_n(w, 2); }
void LAMB::apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& st, double lr, double wd, int64_t t) {
  NDArray g = clipped(opts_, grad * opts_.rescale_grad);
  put(st[0], beta1_ * st[0] + (1 - beta1_) * g, "lamb m");
  put(st[1], beta2_ * st[1] + (1 - beta2_) * nd::square(g), "lamb v");
  NDArray m = st[0], v = st[1];
  if (bias_correction_) m = m / (1 - std::pow(beta1_, double(t))), v = v / (1 - std::pow(beta2_, double(t)));
  NDArray u = m / (nd::sqrt(v) + eps_) + wd * weight;
  double r1 = nd::norm(weight).asscalar<double>(), r2 = nd::norm(u).asscalar<double>();
  if (lower_) r1 = std::max(r1, *lower_);
  if (upper_) r1 = std::min(r1, *upper_);
  double ratio = r1 > 0 && r2 > 0 ? r1 / r2 : 1.0;
  put(weight, weight - lr * ratio * u, "lamb weight");
}

}  // namespace hgc::gluon::optim
