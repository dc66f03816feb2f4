// The integer forms of the elementwise expressions (elementwise_util.h; a helper file: it
// registers nothing). MXNet computes int8/uint8/int32/int64 arithmetic in the integer type
// itself: division truncates (C semantics), mod takes the divisor's sign (mshadow's mod),
// x / 0 and x mod 0 give 0 here rather than trapping, and ops without an integer meaning
// (exp, sqrt, hypot, ...) fail naming the op and dtype.
#include <set>

#include "elementwise_util.h"
#include "hgc/base/error.h"

namespace hgc::lower {
namespace {

using S = ScalarBuilder;

bool is_unsigned(DType t) {
  return t == DType::u8 || t == DType::u16 || t == DType::u32 || t == DType::u64 || t == DType::boolean;
}
// Signed or unsigned spelling of an integer predicate ("slt" / "ult").
std::string pred(S& b, const std::string& p) { return (is_unsigned(b.type()) ? "u" : "s") + p; }
// arith.maxsi / arith.maxui (and min).
std::string extreme(S& b, const std::string& op, const std::string& x, const std::string& y) {
  return b.raw("arith." + op + (is_unsigned(b.type()) ? "ui " : "si ") + x + ", " + y + " : " + b.ty());
}
std::string cmp(S& b, const std::string& p, const std::string& x, const std::string& y) {
  bool eq = p == "eq" || p == "ne";
  return b.raw("arith.cmpi " + (eq ? p : pred(b, p)) + ", " + x + ", " + y + " : " + b.ty());
}
std::string flag(S& b, const std::string& i1) { return b.select(i1, b.constant(1), b.constant(0)); }

// x / y and x mod y with y == 0 guarded (LLVM's division by zero is undefined and traps on x86).
std::string safe_div(S& b, const std::string& op, const std::string& x, const std::string& y) {
  auto zero = b.constant(0);
  auto is0 = cmp(b, "eq", y, zero);
  auto r = b.raw("arith." + op + (is_unsigned(b.type()) ? "ui " : "si ") + x + ", " + b.select(is0, b.constant(1), y) + " : " +
                 b.ty());
  return b.select(is0, zero, r);
}
std::string int_mod(S& b, const std::string& x, const std::string& y) {
  auto r = safe_div(b, "rem", x, y);
  if (is_unsigned(b.type())) return r;
  auto zero = b.constant(0);
  auto fix = b.raw("arith.andi " + cmp(b, "ne", r, zero) + ", " +
                   b.raw("arith.xori " + cmp(b, "lt", r, zero) + ", " + cmp(b, "lt", y, zero) + " : i1") + " : i1");
  return b.select(fix, b.binary("arith.addi", r, y), r);
}
// Through float64, as MXNet's std::pow on integer operands.
std::string int_power(S& b, const std::string& x, const std::string& y) {
  std::string to = is_unsigned(b.type()) ? "arith.uitofp " : "arith.sitofp ";
  auto fx = b.raw(to + x + " : " + b.ty() + " to f64"), fy = b.raw(to + y + " : " + b.ty() + " to f64");
  auto p = b.raw("math.powf " + fx + ", " + fy + " : f64");
  return b.raw((is_unsigned(b.type()) ? "arith.fptoui " : "arith.fptosi ") + p + " : f64 to " + b.ty());
}
std::string logical(S& b, const std::string& op, const std::string& x, const std::string& y) {
  auto zero = b.constant(0);
  return flag(b, b.raw(op + " " + cmp(b, "ne", x, zero) + ", " + cmp(b, "ne", y, zero) + " : i1"));
}

const std::map<std::string, UnaryExpr>& int_unary_exprs() {
  auto same = [](S&, const std::string& x) { return x; };
  static const std::map<std::string, UnaryExpr> m = {
      {"negative", [](S& b, auto x) { return b.binary("arith.subi", b.constant(0), x); }},
      // A select, not math.absi: the GPU pipeline has no conversion for math.absi.
      {"abs", [](S& b, auto x) {
         if (is_unsigned(b.type())) return std::string(x);
         return b.select(cmp(b, "lt", x, b.constant(0)), b.binary("arith.subi", b.constant(0), x), x);
       }},
      {"square", [](S& b, auto x) { return b.binary("arith.muli", x, x); }},
      {"sign", [](S& b, auto x) {
         auto z = b.constant(0);
         return b.select(cmp(b, "gt", x, z), b.constant(1), b.select(cmp(b, "lt", x, z), b.constant(-1), z));
       }},
      {"relu", [](S& b, auto x) { return extreme(b, "max", x, b.constant(0)); }},
      {"logical_not", [](S& b, auto x) { return flag(b, cmp(b, "eq", x, b.constant(0))); }},
      {"floor", same}, {"ceil", same}, {"round", same}, {"rint", same}, {"fix", same}, {"trunc", same},
      {"_copy", same}, {"BlockGrad", same}, {"make_loss", same},
  };
  return m;
}

const std::map<std::string, BinaryExpr>& int_binary_exprs() {
  static const std::map<std::string, BinaryExpr> m = {
      {"add", [](S& b, auto x, auto y) { return b.binary("arith.addi", x, y); }},
      {"sub", [](S& b, auto x, auto y) { return b.binary("arith.subi", x, y); }},
      {"mul", [](S& b, auto x, auto y) { return b.binary("arith.muli", x, y); }},
      {"div", [](S& b, auto x, auto y) { return safe_div(b, "div", x, y); }},
      {"mod", [](S& b, auto x, auto y) { return int_mod(b, x, y); }},
      {"power", [](S& b, auto x, auto y) { return int_power(b, x, y); }},
      {"maximum", [](S& b, auto x, auto y) { return extreme(b, "max", x, y); }},
      {"minimum", [](S& b, auto x, auto y) { return extreme(b, "min", x, y); }},
      {"equal", [](S& b, auto x, auto y) { return flag(b, cmp(b, "eq", x, y)); }},
      {"not_equal", [](S& b, auto x, auto y) { return flag(b, cmp(b, "ne", x, y)); }},
      {"greater", [](S& b, auto x, auto y) { return flag(b, cmp(b, "gt", x, y)); }},
      {"greater_equal", [](S& b, auto x, auto y) { return flag(b, cmp(b, "ge", x, y)); }},
      {"lesser", [](S& b, auto x, auto y) { return flag(b, cmp(b, "lt", x, y)); }},
      {"lesser_equal", [](S& b, auto x, auto y) { return flag(b, cmp(b, "le", x, y)); }},
      {"logical_and", [](S& b, auto x, auto y) { return logical(b, "arith.andi", x, y); }},
      {"logical_or", [](S& b, auto x, auto y) { return logical(b, "arith.ori", x, y); }},
      {"logical_xor", [](S& b, auto x, auto y) { return logical(b, "arith.xori", x, y); }},
  };
  return m;
}

// Bool tensors (ONNX And/Or/Xor/Not, comparisons of masks) take the logical ops, comparisons,
// maximum/minimum and copies, whose results stay 0/1; arithmetic on them is rejected.
bool int_type(DType t, const std::string& kind) {
  static const std::set<std::string> on_bool = {"logical_and", "logical_or", "logical_xor", "logical_not", "equal",
                                                "not_equal", "maximum", "minimum", "_copy", "BlockGrad", "make_loss"};
  return !dtype_is_float(t) && (t != DType::boolean || on_bool.count(kind));
}

}  // namespace

UnaryExpr unary_expr_for(const NodeCtx& c, const std::string& name) {
  DType t = c.out_types[0];
  if (dtype_is_float(t)) return unary_exprs().at(name);
  auto it = int_unary_exprs().find(name);
  if (!int_type(t, name) || it == int_unary_exprs().end())
    c.error(name + " has no integer form (dtype " + dtype_name(t) + "); cast to a float type first");
  return it->second;
}

BinaryExpr binary_expr_for(const NodeCtx& c, const std::string& kind) {
  DType t = c.out_types[0];
  if (dtype_is_float(t)) return binary_exprs().at(kind);
  auto it = int_binary_exprs().find(kind);
  if (!int_type(t, kind) || it == int_binary_exprs().end())
    c.error(kind + " has no integer form (dtype " + dtype_name(t) + "); cast to a float type first");
  if (c.in_types.size() > 1 && !c.scalar_input && c.in_types[1] != t && c.in_types[1] != DType::unknown)
    c.error("operands of different dtypes (" + dtype_name(c.in_types[0]) + ", " + dtype_name(c.in_types[1]) + ")");
  return it->second;
}

KernelFn unary_named(const std::string& name) {
  return [name](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    UnaryExpr e = unary_expr_for(c, name);
    w.result(0, w.elementwise({ins[0]}, outs[0], c.out_types[0], [&](ScalarBuilder& b, auto& a) { return e(b, a[0]); }));
  };
}

KernelFn binary_named(const std::string& kind) {
  return [kind](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    BinaryExpr e = binary_expr_for(c, kind);
    w.result(0, w.elementwise({ins[0], ins[1]}, outs[0], c.out_types[0],
                              [&](ScalarBuilder& b, auto& a) { return e(b, a[0], a[1]); }));
  };
}

}  // namespace hgc::lower
