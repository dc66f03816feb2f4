// Gradient rules of elementwise math, broadcasting binaries, *_scalar ops and reductions,
// plus the rule table and its helpers. Rules are written with nd:: ops (one registered op
// per call) so they run on the same kernels as forward and trace into IR unchanged.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "autograd/grad_rules.h"
#include "hgc/base/error.h"
#include "nd/detail.h"

namespace hgc::grad {

const RuleTable& RuleTable::global() {
  static const RuleTable t = [] {
    RuleTable r;
    register_math_rules(r);
    register_nn_rules(r);
    register_layer_rules(r);
    register_missing(r);
    return r;
  }();
  return t;
}

void RuleTable::add(const std::string& op, GradFn fn) {
  const OpDef& d = OpRegistry::global().get(op);  // canonical name, so aliases resolve
  rules_[d.name] = std::move(fn);
}
void RuleTable::zero(const std::string& op) { zero_[OpRegistry::global().get(op).name] = true; }

void RuleTable::missing(const std::string& op, std::string reason) {
  const OpDef& d = OpRegistry::global().get(op);
  if (rules_.count(d.name) || zero_.count(d.name))
    fail("autograd", "internal: '", op, "' is on the missing-gradient list but has a rule");
  missing_[d.name] = std::move(reason);
}

const std::string* RuleTable::missing_reason(const OpDef& op) const {
  auto it = missing_.find(op.name);
  return it == missing_.end() ? nullptr : &it->second;
}

std::vector<std::string> RuleTable::zero_ops() const {
  std::vector<std::string> r;
  for (const auto& [k, v] : zero_) r.push_back(k);
  return r;
}

const GradFn* RuleTable::find(const OpDef& op) const {
  auto it = rules_.find(op.name);
  return it == rules_.end() ? nullptr : &it->second;
}

std::vector<std::string> RuleTable::ops() const {
  std::vector<std::string> r;
  for (const auto& [k, v] : rules_) r.push_back(k);
  return r;
}

NDArray unbroadcast(const NDArray& g, const std::vector<int64_t>& shape) {
  if (g.shape() == shape) return g;
  int lead = g.ndim() - static_cast<int>(shape.size());
  std::vector<int64_t> axes;
  for (int i = 0; i < g.ndim(); ++i)
    if (i < lead || (shape[i - lead] == 1 && g.shape()[i] != 1)) axes.push_back(i);
  NDArray s = axes.empty() ? g : nd::sum(g, axes, true);
  return s.reshape(shape.empty() ? std::vector<int64_t>{1} : shape);
}

NDArray expand_to(const NDArray& g, const std::vector<int64_t>& x_shape, const std::vector<int64_t>& axes) {
  std::vector<int64_t> kept = x_shape;
  for (int64_t a : axes) kept[a] = 1;
  NDArray k = g.shape() == kept ? g : g.reshape(kept);
  return k.shape() == x_shape ? k : nd::broadcast_to(k, x_shape);
}

std::vector<int64_t> reduced_axes(const AttrView& a, int ndim) {
  std::vector<int64_t> r;
  if (a.is_none("axis")) {  // MXNet: no axis reduces everything, exclude or not
    for (int64_t i = 0; i < ndim; ++i) r.push_back(i);
    return r;
  }
  std::vector<int64_t> named;
  for (int64_t ax : a.tuple("axis")) named.push_back(nd_detail::normalize_axis(ax, ndim, "reduction axis"));
  bool exclude = a.op().attr_spec("exclude") && a.b("exclude");
  for (int64_t i = 0; i < ndim; ++i)
    if ((std::find(named.begin(), named.end(), i) != named.end()) != exclude) r.push_back(i);
  return r;
}

namespace {

NDArray mask_pos(const NDArray& x) { return x > 0.0; }

void unary_rules(RuleTable& t) {
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
                         "argmax", "argmin", "one_hot", "_equal", "_not_equal", "_greater", "_greater_equal",
                         "_lesser", "_lesser_equal", "broadcast_equal", "broadcast_not_equal", "broadcast_greater",
                         "broadcast_greater_equal", "broadcast_lesser", "broadcast_lesser_equal", "_equal_scalar",
                         "_not_equal_scalar", "_greater_scalar", "_greater_equal_scalar", "_lesser_scalar",
                         "_lesser_equal_scalar", "_mod", "broadcast_mod", "_mod_scalar", "_rmod_scalar",
                         "_logical_and", "_logical_or", "_logical_xor", "_logical_and_scalar", "_logical_or_scalar",
                         "_logical_xor_scalar", "broadcast_logical_and", "broadcast_logical_or",
                         "broadcast_logical_xor", "argmax_channel", "zeros_like", "ones_like", "shape_array",
                         "size_array"})
    t.zero(op);
}

void binary_rules(RuleTable& t) {
  // (da, db) of y = f(a, b) before un-broadcasting.
  using Bin = std::function<std::pair<NDArray, NDArray>(const NDArray&, const NDArray&, const NDArray&, const NDArray&)>;
  auto bin = [&](std::initializer_list<const char*> ops, Bin f) {
    for (const char* op : ops)
      t.add(op, [f](const GradCtx& c) -> Grads {
        auto [da, db] = f(c.in[0], c.in[1], c.out[0], c.og[0]);
        return {unbroadcast(da, c.in[0].shape()), unbroadcast(db, c.in[1].shape())};
      });
  };
  bin({"elemwise_add", "broadcast_add"}, [](auto&, auto&, auto&, auto& g) { return std::pair{g, g}; });
  bin({"elemwise_sub", "broadcast_sub"}, [](auto&, auto&, auto&, auto& g) { return std::pair{g, -g}; });
  bin({"elemwise_mul", "broadcast_mul"}, [](auto& a, auto& b, auto&, auto& g) { return std::pair{g * b, g * a}; });
  bin({"elemwise_div", "broadcast_div"},
      [](auto&, auto& b, auto& y, auto& g) { NDArray gb = g / b; return std::pair{gb, -(gb * y)}; });
  bin({"_maximum", "broadcast_maximum"}, [](auto& a, auto& b, auto&, auto& g) {
    NDArray m = a >= b;  // ties go to the left operand, as MXNet's ge mask
    return std::pair{g * m, g * (1.0 - m)};
  });
  bin({"_minimum", "broadcast_minimum"}, [](auto& a, auto& b, auto&, auto& g) {
    NDArray m = a <= b;
    return std::pair{g * m, g * (1.0 - m)};
  });
  bin({"_power", "broadcast_power"}, [](auto& a, auto& b, auto& y, auto& g) {
    return std::pair{g * b * nd::power(a, b - 1.0), g * y * nd::log(a)};
  });
  bin({"_hypot", "broadcast_hypot"}, [](auto& a, auto& b, auto& y, auto& g) {
    NDArray gy = g / y;
    return std::pair{gy * a, gy * b};
  });
  t.add("add_n", [](const GradCtx& c) -> Grads { return Grads(c.in.size(), c.og[0]); });
}

void scalar_rules(RuleTable& t) {
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
  sc("_hypot_scalar", [](auto& x, auto& y, auto& g, double) { return g * x / y; });
}

void reduce_rules(RuleTable& t) {
  t.add("sum", [](const GradCtx& c) -> Grads {
    return {expand_to(c.og[0], c.in[0].shape(), reduced_axes(c.attrs, c.in[0].ndim()))};
  });
  t.add("mean", [](const GradCtx& c) -> Grads {
    std::vector<int64_t> axes = reduced_axes(c.attrs, c.in[0].ndim());
    double n = 1;
    for (int64_t a : axes) n *= static_cast<double>(c.in[0].shape()[a]);
    return {expand_to(c.og[0] / n, c.in[0].shape(), axes)};
  });
  // prod: d/dx_i = prod / x_i (MXNet's rule too; undefined where x_i == 0).
  t.add("prod", [](const GradCtx& c) -> Grads {
    std::vector<int64_t> axes = reduced_axes(c.attrs, c.in[0].ndim());
    const std::vector<int64_t>& s = c.in[0].shape();
    return {expand_to(c.og[0], s, axes) * expand_to(c.out[0], s, axes) / c.in[0]};
  });
  // max/min: the gradient goes to every position equal to the extreme (MXNet does the same).
  for (const char* op : {"max", "min"})
    t.add(op, [](const GradCtx& c) -> Grads {
      std::vector<int64_t> axes = reduced_axes(c.attrs, c.in[0].ndim());
      NDArray y = expand_to(c.out[0], c.in[0].shape(), axes);
      return {expand_to(c.og[0], c.in[0].shape(), axes) * (c.in[0] == y)};
    });
}

}  // namespace

void register_math_rules(RuleTable& t) {
  unary_rules(t);
  binary_rules(t);
  scalar_rules(t);
  reduce_rules(t);
}

}  // namespace hgc::grad
