// Elementwise lowerings: every op here is a scalar expression applied by one linalg.generic
// over the output's iteration space, inputs read through numpy broadcasting maps. The
// expression table is what the fusion pass will chain into multi-op kernels.
#include <cmath>

#include "elementwise.h"
#include "hgc/ir/error.h"

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
      {"sin", [](S& b, auto x) { return b.unary("math.sin", x); }},
      {"cos", [](S& b, auto x) { return b.unary("math.cos", x); }},
      {"tan", [](S& b, auto x) { return b.unary("math.tan", x); }},
      // atan(x / sqrt(1 - x^2)): MLIR's asin/acos polynomials lose 1e-2 near |x| = 1.
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

}  // namespace hgc::lower
