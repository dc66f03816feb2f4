// Reference kernels of the elementwise family: unary math, same-shape binaries, the
// `_*_scalar` family, clip, Cast, add_n and where. Scalar formulas follow
// MXNet 1.9's src/operator/mshadow_op.h, including its less obvious choices (rint rounds
// halves down, mod takes the divisor's sign, softrelu saturates above 20).
#include <cmath>
#include <limits>
#include <numbers>

#include "reference/ref_kernels.h"

namespace hgc::ref {
namespace {

using Fn1 = double (*)(double);
using Fn2 = double (*)(double, double);

// erf^-1 by Newton's method from Winitzki's closed-form guess; three steps reach double
// precision over (-1, 1), which is all an oracle needs.
double erfinv(double y) {
  if (y <= -1.0 || y >= 1.0) {
    if (y == -1.0 || y == 1.0) return std::copysign(std::numeric_limits<double>::infinity(), y);
    return std::numeric_limits<double>::quiet_NaN();
  }
  const double a = 0.147, ln = std::log(1.0 - y * y);
  const double t = 2.0 / (std::numbers::pi * a) + ln / 2.0;
  double x = std::copysign(std::sqrt(std::sqrt(t * t - ln / a) - t), y);
  for (int i = 0; i < 3; ++i)
    x -= (std::erf(x) - y) / (2.0 / std::sqrt(std::numbers::pi) * std::exp(-x * x));
  return x;
}

// MXNet's rint: the nearer of floor and ceil, ties going to floor (2.5 -> 2, -2.5 -> -3).
// psi(x): the recurrence up to x >= 10, then the asymptotic series (Abramowitz & Stegun
// 6.3.18); reflection below 0.5.
double digamma(double x) {
  if (x < 0.5) return digamma(1 - x) - std::numbers::pi / std::tan(std::numbers::pi * x);
  double r = 0;
  while (x < 10) r -= 1 / x, x += 1;
  double f = 1 / (x * x);
  return r + std::log(x) - 0.5 / x - f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f / 132))));
}

double mx_rint(double a) {
  double f = std::floor(a), c = std::ceil(a);
  return (a - f) <= (c - a) ? f : c;
}

// MXNet's mod: the result takes the divisor's sign (Python's %), and x mod 0 is 0.
double mx_mod(double a, double b) {
  if (b == 0) return 0;
  double r = std::fmod(a, b);
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

double b2d(bool b) { return b ? 1.0 : 0.0; }

const std::map<std::string, Fn1>& unary_fns() {
  static const std::map<std::string, Fn1> m = {
      {"exp", [](double x) { return std::exp(x); }},
      {"expm1", [](double x) { return std::expm1(x); }},
      {"log", [](double x) { return std::log(x); }},
      {"log1p", [](double x) { return std::log1p(x); }},
      {"log2", [](double x) { return std::log2(x); }},
      {"log10", [](double x) { return std::log10(x); }},
      {"sqrt", [](double x) { return std::sqrt(x); }},
      {"rsqrt", [](double x) { return 1.0 / std::sqrt(x); }},
      {"cbrt", [](double x) { return std::cbrt(x); }},
      {"rcbrt", [](double x) { return 1.0 / std::cbrt(x); }},
      {"square", [](double x) { return x * x; }},
      {"reciprocal", [](double x) { return 1.0 / x; }},
      {"abs", [](double x) { return std::fabs(x); }},
      {"negative", [](double x) { return -x; }},
      {"sign", [](double x) { return x > 0 ? 1.0 : x < 0 ? -1.0 : 0.0; }},
      {"floor", [](double x) { return std::floor(x); }},
      {"ceil", [](double x) { return std::ceil(x); }},
      {"round", [](double x) { return std::round(x); }},  // halves away from zero
      {"rint", mx_rint},
      {"fix", [](double x) { return std::trunc(x); }},
      {"trunc", [](double x) { return std::trunc(x); }},
      {"sigmoid", sigmoid},
      {"tanh", [](double x) { return std::tanh(x); }},
      {"relu", [](double x) { return std::isnan(x) ? x : x > 0 ? x : 0.0; }},
      {"softsign", [](double x) { return x / (1.0 + std::fabs(x)); }},
      {"erf", [](double x) { return std::erf(x); }},
      {"erfinv", erfinv},
      {"gamma", [](double x) { return std::tgamma(x); }},
      {"gammaln", [](double x) { return std::lgamma(x); }},
      {"_hgc_digamma", digamma},
      {"sin", [](double x) { return std::sin(x); }},
      {"cos", [](double x) { return std::cos(x); }},
      {"tan", [](double x) { return std::tan(x); }},
      {"arcsin", [](double x) { return std::asin(x); }},
      {"arccos", [](double x) { return std::acos(x); }},
      {"arctan", [](double x) { return std::atan(x); }},
      {"sinh", [](double x) { return std::sinh(x); }},
      {"cosh", [](double x) { return std::cosh(x); }},
      {"arcsinh", [](double x) { return std::asinh(x); }},
      {"arccosh", [](double x) { return std::acosh(x); }},
      {"arctanh", [](double x) { return std::atanh(x); }},
      {"degrees", [](double x) { return x * 180.0 / std::numbers::pi; }},
      {"radians", [](double x) { return x * std::numbers::pi / 180.0; }},
      {"logical_not", [](double x) { return b2d(x == 0); }},
      {"_copy", [](double x) { return x; }},
      {"BlockGrad", [](double x) { return x; }},
      {"make_loss", [](double x) { return x; }},
  };
  return m;
}

}  // namespace

const std::map<std::string, Fn2>& binary_fns() {
  static const std::map<std::string, Fn2> m = {
      {"add", [](double a, double b) { return a + b; }},
      {"sub", [](double a, double b) { return a - b; }},
      {"mul", [](double a, double b) { return a * b; }},
      {"div", [](double a, double b) { return a / b; }},
      {"mod", mx_mod},
      {"power", [](double a, double b) { return std::pow(a, b); }},
      {"hypot", [](double a, double b) { return std::hypot(a, b); }},
      {"maximum", [](double a, double b) { return a > b ? a : b; }},
      {"minimum", [](double a, double b) { return a < b ? a : b; }},
      {"equal", [](double a, double b) { return b2d(a == b); }},
      {"not_equal", [](double a, double b) { return b2d(a != b); }},
      {"greater", [](double a, double b) { return b2d(a > b); }},
      {"greater_equal", [](double a, double b) { return b2d(a >= b); }},
      {"lesser", [](double a, double b) { return b2d(a < b); }},
      {"lesser_equal", [](double a, double b) { return b2d(a <= b); }},
      {"logical_and", [](double a, double b) { return b2d(a != 0 && b != 0); }},
      {"logical_or", [](double a, double b) { return b2d(a != 0 || b != 0); }},
      {"logical_xor", [](double a, double b) { return b2d((a != 0) != (b != 0)); }},
  };
  return m;
}

namespace {

bool is_float(DType t) { return dtype_is_float(t); }

void unary(Ctx& c, Fn1 f) {
  for (int64_t i = 0; i < c.out[0].numel(); ++i) c.out[0].v[i] = f(c.in[0].v[i]);
}

void same_shape_binary(Ctx& c, Fn2 f) {
  if (c.in[0].shape != c.in[1].shape) c.fail("operands differ in shape");
  for (int64_t i = 0; i < c.out[0].numel(); ++i) c.out[0].v[i] = f(c.in[0].v[i], c.in[1].v[i]);
}

// _foo_scalar computes foo(x, scalar); _rfoo_scalar computes foo(scalar, x).
void scalar_op(Ctx& c, Fn2 f, bool reversed) {
  double s = c.a.f("scalar");
  // An integer tensor with an integer scalar computes in the integer type (MXNet casts the
  // scalar to DType), so a fractional scalar marked is_int is truncated first.
  if (!is_float(c.in_dtypes[0]) && !is_float(c.out_dtypes[0])) s = std::trunc(s);
  for (int64_t i = 0; i < c.out[0].numel(); ++i) {
    double x = c.in[0].v[i];
    c.out[0].v[i] = reversed ? f(s, x) : f(x, s);
  }
}

// where(cond, x, y): cond has x's shape, or is 1-D and picks whole rows of x or y.
void where(Ctx& c) {
  const Arr &cond = c.in[0], &x = c.in[1], &y = c.in[2];
  Arr& o = c.out[0];
  bool rows = cond.shape != x.shape;
  if (rows && (cond.ndim() != 1 || x.ndim() < 1 || cond.shape[0] != x.shape[0]))
    c.fail("condition must have x's shape or be 1-D of length x.shape[0]");
  int64_t row = x.shape.empty() || x.shape[0] == 0 ? 1 : x.numel() / x.shape[0];
  for (int64_t i = 0; i < o.numel(); ++i) {
    double cv = rows ? cond.v[i / row] : cond.v[i];
    o.v[i] = cv != 0 ? x.v[i] : y.v[i];
  }
}

}  // namespace

void add_elementwise_kernels(KernelTable& t) {
  for (const auto& [name, f] : unary_fns()) {
    Fn1 fn = f;
    t.add(name, [fn](Ctx& c) { unary(c, fn); });
  }
  // out = x / sqrt(x.shape[-1]) (the transformer's attention scaling).
  t.add("_contrib_div_sqrt_dim", [](Ctx& c) {
    double d = std::sqrt(static_cast<double>(c.in[0].shape.back()));
    for (int64_t i = 0; i < c.out[0].numel(); ++i) c.out[0].v[i] = c.in[0].v[i] / d;
  });
  t.add("hard_sigmoid", [](Ctx& c) {
    double alpha = c.a.f("alpha"), beta = c.a.f("beta");
    for (int64_t i = 0; i < c.out[0].numel(); ++i)
      c.out[0].v[i] = std::max(0.0, std::min(1.0, alpha * c.in[0].v[i] + beta));
  });

  // elemwise_add .. elemwise_div and the underscore-named same-shape binaries.
  const std::map<std::string, std::string> same_shape = {
      {"elemwise_add", "add"}, {"elemwise_sub", "sub"}, {"elemwise_mul", "mul"},
      {"elemwise_div", "div"}};
  for (const auto& [name, fn_name] : same_shape) {
    Fn2 f = binary_fns().at(fn_name);
    t.add(name, [f](Ctx& c) { same_shape_binary(c, f); });
  }
  for (const auto& [fn_name, f] : binary_fns()) {
    if (same_shape.count("elemwise_" + fn_name)) continue;
    Fn2 fn = f;
    t.add("_" + fn_name, [fn](Ctx& c) { same_shape_binary(c, fn); });
  }

  // _plus_scalar/_minus_scalar are spelled differently from add/sub.
  const std::map<std::string, std::string> scalar_names = {{"plus", "add"}, {"minus", "sub"}};
  for (const auto& [fn_name, f] : binary_fns()) {
    std::string base = fn_name;
    for (const auto& [spelled, fn] : scalar_names)
      if (fn == fn_name) base = spelled;
    Fn2 fn = f;
    t.add("_" + base + "_scalar", [fn](Ctx& c) { scalar_op(c, fn, false); });
    if (fn_name == "sub" || fn_name == "div" || fn_name == "mod" || fn_name == "power")
      t.add("_r" + base + "_scalar", [fn](Ctx& c) { scalar_op(c, fn, true); });
  }

  t.add("clip", [](Ctx& c) {
    double lo = c.a.f("a_min"), hi = c.a.f("a_max");
    for (int64_t i = 0; i < c.out[0].numel(); ++i) {
      double x = c.in[0].v[i];
      c.out[0].v[i] = x > hi ? hi : x < lo ? lo : x;
    }
  });
  // The driver's store does the conversion (truncation toward zero for integer targets).
  t.add("Cast", [](Ctx& c) { c.out[0].v = c.in[0].v; });
  t.add("add_n", [](Ctx& c) {
    for (const Arr& x : c.in) {
      if (x.shape != c.out[0].shape) c.fail("addends differ in shape");
      for (int64_t i = 0; i < x.numel(); ++i) c.out[0].v[i] += x.v[i];
    }
  });
  t.add("where", where);
}

}  // namespace hgc::ref
