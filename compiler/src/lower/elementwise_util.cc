// The elementwise scalar expressions (elementwise_util.h): every elementwise op is a scalar
// expression applied by one linalg.generic over the output's iteration space, inputs read
// through numpy broadcasting maps. The expression table is what fusion chains into
// multi-op kernels.
#include <cmath>
#include <functional>

#include "elementwise_util.h"
#include "hgc/base/error.h"

namespace hgc::lower {
namespace {

using S = ScalarBuilder;
using A = const std::vector<std::string>&;

std::string sigmoid(S& b, const std::string& x) {
  auto e = b.unary("math.exp", b.unary("arith.negf", x));
  return b.binary("arith.divf", b.constant(1), b.binary("arith.addf", b.constant(1), e));
}
// log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|)).
std::string softrelu(S& b, const std::string& x) {
  auto m = b.binary("arith.maximumf", x, b.constant(0));
  auto e = b.unary("math.exp", b.unary("arith.negf", b.unary("math.absf", x)));
  return b.binary("arith.addf", m, b.unary("math.log1p", e));
}
std::string where_pos(S& b, const std::string& x, const std::string& pos, const std::string& neg) {
  return b.select(b.cmp_i1("ogt", x, b.constant(0)), pos, neg);
}
std::string elu(S& b, const std::string& x, double alpha) {
  auto em1 = b.binary("arith.subf", b.unary("math.exp", x), b.constant(1));
  return where_pos(b, x, x, b.binary("arith.mulf", b.constant(alpha), em1));
}
std::string gelu(S& b, const std::string& x) {  // MXNet: 0.5 x (1 + erf(x / sqrt(2)))
  auto e = b.unary("math.erf", b.binary("arith.mulf", x, b.constant(M_SQRT1_2)));
  auto h = b.binary("arith.mulf", b.constant(0.5), x);
  return b.binary("arith.mulf", h, b.binary("arith.addf", b.constant(1), e));
}
// atan2(x, sqrt(1 - x^2)): MLIR's asin/acos polynomials lose 1e-2 near |x| = 1.
std::string asin_expr(S& b, const std::string& x) {
  auto c = b.unary("math.sqrt", b.binary("arith.subf", b.constant(1), b.binary("arith.mulf", x, x)));
  return b.binary("math.atan2", x, c);
}
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluLambda = 1.0507009873554804934193349852946;

// mshadow's mod: the result takes the divisor's sign; x mod 0 = 0.
std::string py_mod(S& b, const std::string& x, const std::string& y) {
  auto r = b.binary("arith.remf", x, y);
  auto zero = b.constant(0);
  auto fix = b.raw("arith.ori " + b.cmp_i1("olt", r, zero) + ", " + b.cmp_i1("ogt", r, zero) + " : i1");
  auto diff = b.raw("arith.xori " + b.cmp_i1("olt", r, zero) + ", " + b.cmp_i1("olt", y, zero) + " : i1");
  auto adj = b.select(b.raw("arith.andi " + fix + ", " + diff + " : i1"), b.binary("arith.addf", r, y), r);
  return b.select(b.cmp_i1("oeq", y, zero), zero, adj);
}

// ---- special functions the math dialect lacks (MXNet: erfinv, gamma, gammaln) ----

// p0 + w * (p1 + w * (...)) with `c` listed from the highest power down.
std::string horner(S& b, const std::string& w, const std::vector<double>& c) {
  std::string p = b.constant(c[0]);
  for (size_t i = 1; i < c.size(); ++i) p = b.binary("arith.addf", b.constant(c[i]), b.binary("arith.mulf", p, w));
  return p;
}

// erfinv: Giles' single-precision approximation ("Approximating the erfinv function", GPU
// Gems 2011), then two Newton steps on erf(r) = x, which take it to double precision;
// +-1 map to +-inf and |x| > 1 to NaN.
std::string erfinv(S& b, const std::string& x) {
  auto one = b.constant(1);
  auto w = b.unary("arith.negf", b.unary("math.log", b.binary("arith.mulf", b.binary("arith.subf", one, x),
                                                                  b.binary("arith.addf", one, x))));
  auto central = horner(b, b.binary("arith.subf", w, b.constant(2.5)),
                        {2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                         -0.00125372503, -0.00417768164, 0.246640727, 1.50140941});
  auto tail = horner(b, b.binary("arith.subf", b.unary("math.sqrt", w), b.constant(3)),
                     {-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
                      -0.0076224613, 0.00943887047, 1.00167406, 2.83297682});
  auto r = b.binary("arith.mulf", b.select(b.cmp_i1("olt", w, b.constant(5)), central, tail), x);
  for (int step = 0; step < 2; ++step) {
    auto err = b.binary("arith.subf", b.unary("math.erf", r), x);
    auto slope = b.binary("arith.mulf", b.constant(2 / std::sqrt(M_PI)),
                          b.unary("math.exp", b.unary("arith.negf", b.binary("arith.mulf", r, r))));
    r = b.binary("arith.subf", r, b.binary("arith.divf", err, slope));
  }
  auto ax = b.unary("math.absf", x);
  // A select, not math.copysign: the NVVM lowering has no copysign.
  auto inf = b.select(b.cmp_i1("olt", x, b.constant(0)), b.constant(-INFINITY), b.constant(INFINITY));
  r = b.select(b.cmp_i1("oeq", ax, one), inf, r);
  return b.select(b.cmp_i1("ogt", ax, one), b.constant(NAN), r);
}

// log Gamma(z) for z >= 0.5 by Lanczos' series (g = 7, 9 terms; ~1e-15 relative).
std::string lanczos_lgamma(S& b, const std::string& z0) {
  static const double p[] = {0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
                             -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
                             1.5056327351493116e-7};
  auto z = b.binary("arith.subf", z0, b.constant(1));
  std::string a = b.constant(p[0]);
  for (int i = 1; i < 9; ++i)
    a = b.binary("arith.addf", a, b.binary("arith.divf", b.constant(p[i]), b.binary("arith.addf", z, b.constant(i))));
  auto t = b.binary("arith.addf", z, b.constant(7.5));
  auto r = b.binary("arith.mulf", b.binary("arith.addf", z, b.constant(0.5)), b.unary("math.log", t));
  r = b.binary("arith.subf", r, t);
  return b.binary("arith.addf", b.binary("arith.addf", r, b.constant(0.5 * std::log(2 * M_PI))), b.unary("math.log", a));
}

// Series and polynomial approximations on half floats run in float32 with float32
// constants: Lanczos' coefficients rounded to 8 bits put Gamma off by a few percent.
std::string in_f32(S& b, const std::string& x, const std::function<std::string(S&, const std::string&)>& f) {
  if (b.type() != DType::bf16 && b.type() != DType::f16) return f(b, x);
  S w = b.retyped(DType::f32);
  auto r = f(w, w.raw("arith.extf " + x + " : " + b.ty() + " to f32"));
  return b.raw("arith.truncf " + r + " : f32 to " + b.ty());
}

// gamma / gammaln with the reflection formula below 0.5: Gamma(z) Gamma(1 - z) = pi / sin(pi z).
std::string gamma_fn(S& b, const std::string& x, bool log) {
  auto refl = b.cmp_i1("olt", x, b.constant(0.5));
  auto z = b.select(refl, b.binary("arith.subf", b.constant(1), x), x);
  auto lg = lanczos_lgamma(b, z);
  auto s = b.unary("math.sin", b.binary("arith.mulf", b.constant(M_PI), x));
  if (log) {
    auto lr = b.binary("arith.subf", b.unary("math.log", b.binary("arith.divf", b.constant(M_PI), b.unary("math.absf", s))), lg);
    return b.select(refl, lr, lg);
  }
  auto g = b.unary("math.exp", lg);
  auto gr = b.binary("arith.divf", b.constant(M_PI), b.binary("arith.mulf", s, g));
  return b.select(refl, gr, g);
}

// digamma: psi(z) = psi(z + 6) - sum_{k<6} 1 / (z + k) lifts z to >= 6.5, where the
// asymptotic series ln w - 1/(2w) - sum B_2n / (2n w^2n) is good to ~1e-13; below 0.5 the
// reflection psi(x) = psi(1 - x) - pi / tan(pi x). Poles (0, -1, ...) give +-inf or NaN.
std::string digamma(S& b, const std::string& x) {
  auto one = b.constant(1);
  auto refl = b.cmp_i1("olt", x, b.constant(0.5));
  auto z = b.select(refl, b.binary("arith.subf", one, x), x);
  std::string shift = b.constant(0);
  for (int k = 0; k < 6; ++k)
    shift = b.binary("arith.addf", shift, b.binary("arith.divf", one, b.binary("arith.addf", z, b.constant(k))));
  auto w = b.binary("arith.addf", z, b.constant(6));
  auto iw2 = b.binary("arith.divf", one, b.binary("arith.mulf", w, w));
  // -1/12 + iw2 (1/120 + iw2 (-1/252 + iw2 (1/240 + iw2 (-1/132))))
  auto tail = b.binary("arith.mulf", iw2, horner(b, iw2, {-1.0 / 132, 1.0 / 240, -1.0 / 252, 1.0 / 120, -1.0 / 12}));
  auto psi = b.binary("arith.subf", b.unary("math.log", w), b.binary("arith.divf", b.constant(0.5), w));
  psi = b.binary("arith.subf", b.binary("arith.addf", psi, tail), shift);
  auto pix = b.binary("arith.mulf", b.constant(M_PI), x);
  auto cot = b.binary("arith.divf", b.unary("math.cos", pix), b.unary("math.sin", pix));
  return b.select(refl, b.binary("arith.subf", psi, b.binary("arith.mulf", b.constant(M_PI), cot)), psi);
}

std::string logical(S& b, const std::string& op, const std::string& x, const std::string& y) {
  auto zero = b.constant(0);
  auto bx = b.cmp_i1("une", x, zero), by = b.cmp_i1("une", y, zero);
  auto r = b.raw(op + " " + bx + ", " + by + " : i1");
  return b.select(r, b.constant(1), zero);
}

}  // namespace

const std::map<std::string, UnaryExpr>& unary_exprs() {
  static const std::map<std::string, UnaryExpr> m = {
      {"relu", [](S& b, auto x) { return b.binary("arith.maximumf", x, b.constant(0)); }},
      {"sigmoid", [](S& b, auto x) { return sigmoid(b, x); }},
      {"tanh", [](S& b, auto x) { return b.unary("math.tanh", x); }},
      {"softrelu", [](S& b, auto x) { return softrelu(b, x); }},
      {"softsign", [](S& b, auto x) {
         return b.binary("arith.divf", x, b.binary("arith.addf", b.constant(1), b.unary("math.absf", x)));
       }},
      {"log_sigmoid", [](S& b, auto x) { return b.unary("arith.negf", softrelu(b, b.unary("arith.negf", x))); }},
      {"mish", [](S& b, auto x) { return b.binary("arith.mulf", x, b.unary("math.tanh", softrelu(b, x))); }},
      {"exp", [](S& b, auto x) { return b.unary("math.exp", x); }},
      {"expm1", [](S& b, auto x) { return b.unary("math.expm1", x); }},
      {"log", [](S& b, auto x) { return b.unary("math.log", x); }},
      {"log1p", [](S& b, auto x) { return b.unary("math.log1p", x); }},
      {"log2", [](S& b, auto x) { return b.unary("math.log2", x); }},
      {"log10", [](S& b, auto x) { return b.unary("math.log10", x); }},
      {"sqrt", [](S& b, auto x) { return b.unary("math.sqrt", x); }},
      {"rsqrt", [](S& b, auto x) { return b.unary("math.rsqrt", x); }},
      {"cbrt", [](S& b, auto x) { return b.unary("math.cbrt", x); }},
      {"rcbrt", [](S& b, auto x) { return b.binary("arith.divf", b.constant(1), b.unary("math.cbrt", x)); }},
      {"square", [](S& b, auto x) { return b.binary("arith.mulf", x, x); }},
      {"reciprocal", [](S& b, auto x) { return b.binary("arith.divf", b.constant(1), x); }},
      {"abs", [](S& b, auto x) { return b.unary("math.absf", x); }},
      {"negative", [](S& b, auto x) { return b.unary("arith.negf", x); }},
      {"sign", [](S& b, auto x) {
         auto z = b.constant(0);
         return b.select(b.cmp_i1("ogt", x, z), b.constant(1), b.select(b.cmp_i1("olt", x, z), b.constant(-1), z));
       }},
      {"floor", [](S& b, auto x) { return b.unary("math.floor", x); }},
      {"ceil", [](S& b, auto x) { return b.unary("math.ceil", x); }},
      {"round", [](S& b, auto x) { return b.unary("math.round", x); }},
      {"rint", [](S& b, auto x) { return b.unary("math.roundeven", x); }},
      {"fix", [](S& b, auto x) { return b.unary("math.trunc", x); }},
      {"trunc", [](S& b, auto x) { return b.unary("math.trunc", x); }},
      {"erf", [](S& b, auto x) { return b.unary("math.erf", x); }},
      {"erfinv", [](S& b, auto x) { return in_f32(b, x, [](S& w, auto v) { return erfinv(w, v); }); }},
      {"gamma", [](S& b, auto x) { return in_f32(b, x, [](S& w, auto v) { return gamma_fn(w, v, false); }); }},
      {"gammaln", [](S& b, auto x) { return in_f32(b, x, [](S& w, auto v) { return gamma_fn(w, v, true); }); }},
      {"_hgc_digamma", [](S& b, auto x) { return in_f32(b, x, [](S& w, auto v) { return digamma(w, v); }); }},
      {"sin", [](S& b, auto x) { return b.unary("math.sin", x); }},
      {"cos", [](S& b, auto x) { return b.unary("math.cos", x); }},
      {"tan", [](S& b, auto x) { return b.unary("math.tan", x); }},
      {"arcsin", [](S& b, auto x) { return asin_expr(b, x); }},
      {"arccos", [](S& b, auto x) { return b.binary("arith.subf", b.constant(M_PI / 2), asin_expr(b, x)); }},
      {"arctan", [](S& b, auto x) { return b.unary("math.atan", x); }},
      {"sinh", [](S& b, auto x) { return b.unary("math.sinh", x); }},
      {"cosh", [](S& b, auto x) { return b.unary("math.cosh", x); }},
      {"arcsinh", [](S& b, auto x) { return b.unary("math.asinh", x); }},
      {"arccosh", [](S& b, auto x) { return b.unary("math.acosh", x); }},
      {"arctanh", [](S& b, auto x) { return b.unary("math.atanh", x); }},
      {"degrees", [](S& b, auto x) { return b.binary("arith.mulf", x, b.constant(180.0 / M_PI)); }},
      {"radians", [](S& b, auto x) { return b.binary("arith.mulf", x, b.constant(M_PI / 180.0)); }},
      {"logical_not", [](S& b, auto x) { return b.compare("oeq", x, b.constant(0)); }},
      {"_copy", [](S&, auto x) { return x; }},
      {"BlockGrad", [](S&, auto x) { return x; }},
      {"make_loss", [](S&, auto x) { return x; }},
      {"gelu", [](S& b, auto x) { return gelu(b, x); }},
      {"selu", [](S& b, auto x) { return b.binary("arith.mulf", b.constant(kSeluLambda), elu(b, x, kSeluAlpha)); }},
  };
  return m;
}

const std::map<std::string, BinaryExpr>& binary_exprs() {
  static const std::map<std::string, BinaryExpr> m = {
      {"add", [](S& b, auto x, auto y) { return b.binary("arith.addf", x, y); }},
      {"sub", [](S& b, auto x, auto y) { return b.binary("arith.subf", x, y); }},
      {"mul", [](S& b, auto x, auto y) { return b.binary("arith.mulf", x, y); }},
      {"div", [](S& b, auto x, auto y) { return b.binary("arith.divf", x, y); }},
      {"mod", [](S& b, auto x, auto y) { return py_mod(b, x, y); }},
      {"power", [](S& b, auto x, auto y) { return b.binary("math.powf", x, y); }},
      {"maximum", [](S& b, auto x, auto y) { return b.binary("arith.maximumf", x, y); }},
      {"minimum", [](S& b, auto x, auto y) { return b.binary("arith.minimumf", x, y); }},
      {"hypot", [](S& b, auto x, auto y) {
         return b.unary("math.sqrt", b.binary("arith.addf", b.binary("arith.mulf", x, x), b.binary("arith.mulf", y, y)));
       }},
      {"equal", [](S& b, auto x, auto y) { return b.compare("oeq", x, y); }},
      {"not_equal", [](S& b, auto x, auto y) { return b.compare("une", x, y); }},
      {"greater", [](S& b, auto x, auto y) { return b.compare("ogt", x, y); }},
      {"greater_equal", [](S& b, auto x, auto y) { return b.compare("oge", x, y); }},
      {"lesser", [](S& b, auto x, auto y) { return b.compare("olt", x, y); }},
      {"lesser_equal", [](S& b, auto x, auto y) { return b.compare("ole", x, y); }},
      {"logical_and", [](S& b, auto x, auto y) { return logical(b, "arith.andi", x, y); }},
      {"logical_or", [](S& b, auto x, auto y) { return logical(b, "arith.ori", x, y); }},
      {"logical_xor", [](S& b, auto x, auto y) { return logical(b, "arith.xori", x, y); }},
  };
  return m;
}

std::string activation_expr(S& b, const std::string& act, const std::string& x) {
  return unary_exprs().at(act)(b, x);
}

std::string leaky_expr(S& b, const AttrView& a, const std::string& x, const std::string& gamma) {
  const std::string& t = a.s("act_type");
  double slope = a.f("slope");
  if (t == "leaky") return where_pos(b, x, x, b.binary("arith.mulf", b.constant(slope), x));
  if (t == "prelu") return where_pos(b, x, x, b.binary("arith.mulf", gamma, x));
  if (t == "rrelu") {  // predict mode: the mean of the sampling range
    double s = (a.f("lower_bound") + a.f("upper_bound")) / 2;
    return where_pos(b, x, x, b.binary("arith.mulf", b.constant(s), x));
  }
  if (t == "elu") return elu(b, x, slope);
  if (t == "selu") return b.binary("arith.mulf", b.constant(kSeluLambda), elu(b, x, kSeluAlpha));
  if (t == "gelu") return gelu(b, x);
  fail("compiler", a.where(), ": LeakyReLU act_type ", t, " has no lowering");
}

void require_float(const NodeCtx& c) {
  if (!dtype_is_float(c.out_types[0]))
    c.error("elementwise code is generated for floating-point types; got " + dtype_name(c.out_types[0]));
}

KernelFn unary(UnaryExpr e) {
  return [e](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    require_float(c);
    w.result(0, w.elementwise({ins[0]}, outs[0], c.out_types[0], [&](ScalarBuilder& b, auto& a) { return e(b, a[0]); }));
  };
}

KernelFn binary(BinaryExpr e) {
  return [e](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    require_float(c);
    w.result(0, w.elementwise({ins[0], ins[1]}, outs[0], c.out_types[0],
                              [&](ScalarBuilder& b, auto& a) { return e(b, a[0], a[1]); }));
  };
}

}  // namespace hgc::lower
