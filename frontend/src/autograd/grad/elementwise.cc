// Gradient rules of the elementwise family: unary math, same-shape binaries, *_scalar ops,
// clip, Cast, add_n, where, and the ops with a zero gradient (rounding, comparisons).
// Rules are written with nd:: ops (one registered op per call) so they run on the same
// kernels as forward and trace into IR unchanged.
#include <cmath>

#include "autograd/grad_rules.h"
#include "hgc/base/error.h"
#include "hgc/frontend/nd/op.h"
#include "nd/detail.h"

namespace hgc::grad {

using nd_detail::call;
using nd_detail::normalize_axis;

namespace {

NDArray mask_pos(const NDArray& x) { return x > 0.0; }

// Registers rules for binary ops from their kind's gradient (binary_grads()).
void binaries(RuleTable& t, const std::vector<std::pair<const char*, const char*>>& ops) {
  for (const auto& [op, kind] : ops) {
    BinaryGrad f = binary_grads().at(kind);
    t.add(op, [f](const GradCtx& c) -> Grads {
      auto [da, db] = f(c.in[0], c.in[1], c.out[0], c.og[0]);
      return {unbroadcast(da, c.in[0].shape()), unbroadcast(db, c.in[1].shape())};
    });
  }
}

}  // namespace

void register_elementwise_rules(RuleTable& t) {
  // d/dx of y = f(x) as a function of x, y and g.
  auto un = [&](const char* op, std::function<NDArray(const NDArray& x, const NDArray& y, const NDArray& g)> f) {
    t.add(op, [f](const GradCtx& c) -> Grads { return {f(c.in[0], c.out[0], c.og[0])}; });
  };
  un("negative", [](auto&, auto&, auto& g) { return -g; });
  un("_copy", [](auto&, auto&, auto& g) { return g; });
  un("exp", [](auto&, auto& y, auto& g) { return g * y; });
  un("expm1", [](auto&, auto& y, auto& g) { return g * (y + 1.0); });
  un("log", [](auto& x, auto&, auto& g) { return g / x; });
  un("log1p", [](auto& x, auto&, auto& g) { return g / (x + 1.0); });
  un("log2", [](auto& x, auto&, auto& g) { return g / (x * std::log(2.0)); });
  un("log10", [](auto& x, auto&, auto& g) { return g / (x * std::log(10.0)); });
  un("sqrt", [](auto&, auto& y, auto& g) { return g * 0.5 / y; });
  un("rsqrt", [](auto&, auto& y, auto& g) { return g * -0.5 * y * y * y; });
  un("square", [](auto& x, auto&, auto& g) { return g * 2.0 * x; });
  un("reciprocal", [](auto&, auto& y, auto& g) { return -(g * y * y); });
  un("abs", [](auto& x, auto&, auto& g) { return g * nd::sign(x); });
  un("sigmoid", [](auto&, auto& y, auto& g) { return g * y * (1.0 - y); });
  un("tanh", [](auto&, auto& y, auto& g) { return g * (1.0 - y * y); });
  un("relu", [](auto& x, auto&, auto& g) { return g * mask_pos(x); });
  un("softsign", [](auto& x, auto&, auto& g) { return g / nd::square(nd::abs(x) + 1.0); });
  un("sin", [](auto& x, auto&, auto& g) { return g * nd::cos(x); });
  un("cos", [](auto& x, auto&, auto& g) { return -(g * nd::sin(x)); });
  un("sinh", [](auto& x, auto&, auto& g) { return g * nd::cosh(x); });
  un("cosh", [](auto& x, auto&, auto& g) { return g * nd::sinh(x); });
  un("erf", [](auto& x, auto&, auto& g) { return g * (2.0 / std::sqrt(M_PI)) * nd::exp(-nd::square(x)); });
  un("cbrt", [](auto&, auto& y, auto& g) { return g / (y * y * 3.0); });
  un("rcbrt", [](auto&, auto& y, auto& g) { return g * nd::square(nd::square(y)) * (-1.0 / 3); });  // -x^(-4/3)/3
  un("tan", [](auto&, auto& y, auto& g) { return g * (y * y + 1.0); });
  un("arcsin", [](auto& x, auto&, auto& g) { return g * nd::rsqrt(1.0 - x * x); });
  un("arccos", [](auto& x, auto&, auto& g) { return -(g * nd::rsqrt(1.0 - x * x)); });
  un("arctan", [](auto& x, auto&, auto& g) { return g / (x * x + 1.0); });
  un("arcsinh", [](auto& x, auto&, auto& g) { return g * nd::rsqrt(x * x + 1.0); });
  un("arccosh", [](auto& x, auto&, auto& g) { return g * nd::rsqrt(x * x - 1.0); });
  un("arctanh", [](auto& x, auto&, auto& g) { return g / (1.0 - x * x); });
  un("degrees", [](auto&, auto&, auto& g) { return g * (180.0 / M_PI); });
  un("radians", [](auto&, auto&, auto& g) { return g * (M_PI / 180.0); });
  un("_contrib_div_sqrt_dim", [](auto& x, auto&, auto& g) { return g / std::sqrt(double(x.shape().back())); });
  // MXNet's make_loss: the gradient is ones whatever flows in (the output is the loss).
  un("make_loss", [](auto& x, auto&, auto&) { return nd::ones_like(x); });
  t.add("hard_sigmoid", [](const GradCtx& c) -> Grads {
    double alpha = c.attrs.f("alpha");
    NDArray z = c.in[0] * alpha + c.attrs.f("beta");
    return {c.og[0] * alpha * (z > 0.0) * (z < 1.0)};
  });
  t.add("clip", [](const GradCtx& c) -> Grads {
    const NDArray& x = c.in[0];
    return {c.og[0] * (x >= c.attrs.f("a_min")) * (x <= c.attrs.f("a_max"))};
  });
  t.add("Cast", [](const GradCtx& c) -> Grads { return {c.og[0].astype(c.in[0].dtype())}; });
  for (const char* op : {"sign", "floor", "ceil", "round", "rint", "fix", "trunc", "logical_not", "BlockGrad",
                         "_equal", "_not_equal", "_greater", "_greater_equal", "_lesser", "_lesser_equal",
                         "_equal_scalar", "_not_equal_scalar", "_greater_scalar", "_greater_equal_scalar",
                         "_lesser_scalar", "_lesser_equal_scalar",
                         "_logical_and", "_logical_or", "_logical_xor", "_logical_and_scalar", "_logical_or_scalar",
                         "_logical_xor_scalar"})
    t.zero(op);

  binaries(t, {{"elemwise_add", "add"}, {"elemwise_sub", "sub"}, {"elemwise_mul", "mul"}, {"elemwise_div", "div"},
               {"_maximum", "maximum"}, {"_minimum", "minimum"}, {"_power", "power"}, {"_hypot", "hypot"},
               {"_mod", "mod"}});
  t.add("add_n", [](const GradCtx& c) -> Grads { return Grads(c.in.size(), c.og[0]); });

  auto sc = [&](const char* op, std::function<NDArray(const NDArray& x, const NDArray& y, const NDArray& g, double s)> f) {
    t.add(op, [f](const GradCtx& c) -> Grads { return {f(c.in[0], c.out[0], c.og[0], c.attrs.f("scalar"))}; });
  };
  sc("_plus_scalar", [](auto&, auto&, auto& g, double) { return g; });
  sc("_minus_scalar", [](auto&, auto&, auto& g, double) { return g; });
  sc("_rminus_scalar", [](auto&, auto&, auto& g, double) { return -g; });
  sc("_mul_scalar", [](auto&, auto&, auto& g, double s) { return g * s; });
  sc("_div_scalar", [](auto&, auto&, auto& g, double s) { return g / s; });
  sc("_rdiv_scalar", [](auto& x, auto& y, auto& g, double) { return -(g * y / x); });
  sc("_power_scalar", [](auto& x, auto&, auto& g, double s) { return g * s * nd::power(x, s - 1); });
  sc("_rpower_scalar", [](auto&, auto& y, auto& g, double s) { return g * y * std::log(s); });
  sc("_maximum_scalar", [](auto& x, auto&, auto& g, double s) { return g * (x >= s); });
  sc("_minimum_scalar", [](auto& x, auto&, auto& g, double s) { return g * (x <= s); });
  // MXNet's mod_grad and rmod_grad: d(x mod s)/dx = 1, d(s mod x)/dx = -floor(s / x).
  sc("_mod_scalar", [](auto&, auto&, auto& g, double) { return g; });
  sc("_rmod_scalar", [](auto& x, auto&, auto& g, double s) { return -(g * nd::floor(s / x)); });
  sc("_hypot_scalar", [](auto& x, auto& y, auto& g, double) { return g * x / y; });
  t.add("where", [](const GradCtx& c) -> Grads {
    NDArray z = nd::zeros_like(c.og[0]);
    return {NDArray(), nd::where(c.in[0], c.og[0], z), nd::where(c.in[0], z, c.og[0])};
  });
  un("erfinv", [](auto&, auto& y, auto& g) { return g * (std::sqrt(M_PI) / 2) * nd::exp(nd::square(y)); });
  // MXNet's gamma_grad and gammaln_grad: Gamma(x) psi(x) and psi(x).
  un("gamma", [](auto& x, auto& y, auto& g) { return g * y * nd::op("_hgc_digamma", {}, {x}); });
  un("gammaln", [](auto& x, auto&, auto& g) { return g * nd::op("_hgc_digamma", {}, {x}); });
}

}  // namespace hgc::grad
