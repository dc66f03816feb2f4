// Gradient rules of the nn_norm family in the form the ops compute them: LayerNorm,
// BatchNorm (with its moving statistics as constants), L2Normalization, InstanceNorm and
// GroupNorm.
#include "autograd/grad_rules.h"
#include "hgc/base/error.h"
#include "hgc/frontend/nd/op.h"
#include "nd/detail.h"

namespace hgc::grad {

using nd_detail::call;
using nd_detail::normalize_axis;

namespace {

// A per-channel vector (C,) shaped to broadcast along `axis` of a rank-`ndim` array.
NDArray along(const NDArray& v, int axis, int ndim) {
  std::vector<int64_t> s(ndim, 1);
  s[axis] = v.size();
  return v.reshape(s);
}

}  // namespace

void register_nn_norm_rules(RuleTable& t) {
  // y = (x - mean) / sqrt(var + eps) * gamma + beta over `axis`.
  t.add("LayerNorm", [](const GradCtx& c) -> Grads {
    const NDArray &x = c.in[0], &gamma = c.in[1], &g = c.og[0];
    int ax = normalize_axis(c.attrs.i("axis"), x.ndim(), "LayerNorm axis");
    std::vector<int64_t> red{ax}, others = all_but(x.ndim(), {ax});
    NDArray xc = x - nd::mean(x, red, true);
    NDArray rstd = nd::rsqrt(nd::mean(xc * xc, red, true) + c.attrs.f("eps"));
    NDArray xhat = xc * rstd;
    NDArray gh = g * along(gamma, ax, x.ndim());
    NDArray dx = rstd * (gh - nd::mean(gh, red, true) - xhat * nd::mean(gh * xhat, red, true));
    return {dx, nd::sum(g * xhat, others), nd::sum(g, others)};
  });
  // The op normalizes with moving_mean/moving_var (MXNet's predict mode; Gluon's BatchNorm
  // block computes batch statistics itself in training), so they are constants here.
  t.add("BatchNorm", [](const GradCtx& c) -> Grads {
    const NDArray &x = c.in[0], &g = c.og[0];
    int ax = normalize_axis(c.attrs.i("axis"), x.ndim(), "BatchNorm axis");
    std::vector<int64_t> others = all_but(x.ndim(), {ax});
    NDArray rstd = along(nd::rsqrt(c.in[4] + c.attrs.f("eps")), ax, x.ndim());
    NDArray xhat = (x - along(c.in[3], ax, x.ndim())) * rstd;
    bool fix = c.attrs.b("fix_gamma");
    NDArray scale = fix ? rstd : rstd * along(c.in[1], ax, x.ndim());
    NDArray dgamma = fix ? nd::zeros_like(c.in[1]) : nd::sum(g * xhat, others);
    return {g * scale, dgamma, nd::sum(g, others), NDArray(), NDArray()};
  });
  // y = x / n, n = sqrt(sum x^2 + eps) over the mode's axes: dx = (g - y * sum(g * y)) / n.
  t.add("L2Normalization", [](const GradCtx& c) -> Grads {
    const NDArray &x = c.in[0], &y = c.out[0], &g = c.og[0];
    const std::string& mode = c.attrs.s("mode");
    std::vector<int64_t> red;
    for (int64_t i = 1; i < x.ndim(); ++i)
      if (mode == "instance" || (mode == "channel" && i == 1) || (mode == "spatial" && i > 1)) red.push_back(i);
    NDArray n = nd::sqrt(nd::sum(x * x, red, true) + c.attrs.f("eps"));
    return {(g - y * nd::sum(g * y, red, true)) / n};
  });
  // InstanceNorm / GroupNorm: LayerNorm's rule over dims 2.. of x seen as (N, C, S...) or
  // (N, G, C/G * S...); gamma and beta are per dim 1 (channel or group).
  auto moments_rule = [](bool grouped) {
    return [grouped](const GradCtx& c) -> Grads {
      const NDArray &x = c.in[0], &gamma = c.in[1];
      int64_t groups = grouped ? c.attrs.i("num_groups") : x.shape()[1];
      std::vector<int64_t> s{x.shape()[0], groups, -1};
      if (!grouped) {  // keep the spatial dims as they are
        s = x.shape();
        if (x.ndim() == 2) s.push_back(1);
      }
      NDArray xs = x.reshape(s), g = c.og[0].reshape(s);
      int nd_ = xs.ndim();
      std::vector<int64_t> red;
      for (int d = 2; d < nd_; ++d) red.push_back(d);
      NDArray xc = xs - nd::mean(xs, red, true);
      NDArray rstd = nd::rsqrt(nd::mean(xc * xc, red, true) + c.attrs.f("eps"));
      NDArray xhat = xc * rstd;
      NDArray gh = g * along(gamma, 1, nd_);
      NDArray dx = rstd * (gh - nd::mean(gh, red, true) - xhat * nd::mean(gh * xhat, red, true));
      std::vector<int64_t> others = all_but(nd_, {1});
      return {dx.reshape(x.shape()), nd::sum(g * xhat, others), nd::sum(g, others)};
    };
  };
  t.add("InstanceNorm", moments_rule(false));
  t.add("GroupNorm", moments_rule(true));
}

}  // namespace hgc::grad
