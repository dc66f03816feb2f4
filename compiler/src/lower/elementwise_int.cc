// Integer (and bool) versions of the elementwise expressions: wrapping arithmetic, C-style
// truncating division, Python-style modulo (the divisor's sign, as the float `mod`), signed
// or unsigned comparisons by dtype; results of comparisons are 1/0 in the operand type.
// Division and modulo by zero give 0 instead of trapping.
#include "elementwise.h"

namespace hgc::lower {
namespace {

using S = ScalarBuilder;

bool is_unsigned(DType t) {
  return t == DType::u8 || t == DType::u16 || t == DType::u32 || t == DType::u64 || t == DType::boolean;
}

std::string cmpi(S& b, const std::string& pred, const std::string& x, const std::string& y) {
  return b.raw("arith.cmpi " + pred + ", " + x + ", " + y + " : " + b.ty());
}
std::string to_int(S& b, const std::string& i1) { return b.raw("arith.extui " + i1 + " : i1 to " + b.ty()); }

std::string safe_divisor(S& b, const std::string& y) {
  return b.select(cmpi(b, "eq", y, b.constant(0)), b.constant(1), y);
}

std::string div(S& b, const std::string& x, const std::string& y) {
  bool u = is_unsigned(b.type());
  auto q = b.binary(u ? "arith.divui" : "arith.divsi", x, safe_divisor(b, y));
  return b.select(cmpi(b, "eq", y, b.constant(0)), b.constant(0), q);
}

std::string mod(S& b, const std::string& x, const std::string& y) {
  auto zero = b.constant(0);
  if (is_unsigned(b.type())) return b.select(cmpi(b, "eq", y, zero), zero, b.binary("arith.remui", x, safe_divisor(b, y)));
  auto r = b.binary("arith.remsi", x, safe_divisor(b, y));
  auto differ = b.raw("arith.xori " + cmpi(b, "slt", r, zero) + ", " + cmpi(b, "slt", y, zero) + " : i1");
  auto fix = b.raw("arith.andi " + cmpi(b, "ne", r, zero) + ", " + differ + " : i1");
  auto adj = b.select(fix, b.binary("arith.addi", r, y), r);
  return b.select(cmpi(b, "eq", y, zero), zero, adj);
}

std::string compare(S& b, const std::string& spred, const std::string& x, const std::string& y) {
  std::string p = spred;
  if (is_unsigned(b.type()) && p[0] == 's') p[0] = 'u';
  return to_int(b, cmpi(b, p, x, y));
}

std::string logical(S& b, const std::string& op, const std::string& x, const std::string& y) {
  auto zero = b.constant(0);
  return to_int(b, b.raw(op + " " + cmpi(b, "ne", x, zero) + ", " + cmpi(b, "ne", y, zero) + " : i1"));
}

}  // namespace

const std::map<std::string, UnaryExpr>& int_unary_exprs() {
  static const std::map<std::string, UnaryExpr> m = {
      {"_copy", [](S&, auto x) { return x; }},
      {"BlockGrad", [](S&, auto x) { return x; }},
      {"make_loss", [](S&, auto x) { return x; }},
      {"negative", [](S& b, auto x) { return b.binary("arith.subi", b.constant(0), x); }},
      {"abs", [](S& b, auto x) {
         if (is_unsigned(b.type())) return x;
         return b.select(cmpi(b, "slt", x, b.constant(0)), b.binary("arith.subi", b.constant(0), x), x);
       }},
      {"sign", [](S& b, auto x) {
         auto z = b.constant(0);
         auto neg = is_unsigned(b.type()) ? z : b.select(cmpi(b, "slt", x, z), b.constant(-1), z);
         return b.select(cmpi(b, is_unsigned(b.type()) ? "ugt" : "sgt", x, z), b.constant(1), neg);
       }},
      {"square", [](S& b, auto x) { return b.binary("arith.muli", x, x); }},
      {"relu", [](S& b, auto x) {
         return is_unsigned(b.type()) ? x : b.binary("arith.maxsi", x, b.constant(0));
       }},
      {"logical_not", [](S& b, auto x) { return to_int(b, cmpi(b, "eq", x, b.constant(0))); }},
  };
  return m;
}

const std::map<std::string, BinaryExpr>& int_binary_exprs() {
  static const std::map<std::string, BinaryExpr> m = {
      {"add", [](S& b, auto x, auto y) { return b.binary("arith.addi", x, y); }},
      {"sub", [](S& b, auto x, auto y) { return b.binary("arith.subi", x, y); }},
      {"mul", [](S& b, auto x, auto y) { return b.binary("arith.muli", x, y); }},
      {"div", [](S& b, auto x, auto y) { return div(b, x, y); }},
      {"mod", [](S& b, auto x, auto y) { return mod(b, x, y); }},
      {"maximum", [](S& b, auto x, auto y) { return b.binary(is_unsigned(b.type()) ? "arith.maxui" : "arith.maxsi", x, y); }},
      {"minimum", [](S& b, auto x, auto y) { return b.binary(is_unsigned(b.type()) ? "arith.minui" : "arith.minsi", x, y); }},
      {"equal", [](S& b, auto x, auto y) { return compare(b, "eq", x, y); }},
      {"not_equal", [](S& b, auto x, auto y) { return compare(b, "ne", x, y); }},
      {"greater", [](S& b, auto x, auto y) { return compare(b, "sgt", x, y); }},
      {"greater_equal", [](S& b, auto x, auto y) { return compare(b, "sge", x, y); }},
      {"lesser", [](S& b, auto x, auto y) { return compare(b, "slt", x, y); }},
      {"lesser_equal", [](S& b, auto x, auto y) { return compare(b, "sle", x, y); }},
      {"logical_and", [](S& b, auto x, auto y) { return logical(b, "arith.andi", x, y); }},
      {"logical_or", [](S& b, auto x, auto y) { return logical(b, "arith.ori", x, y); }},
      {"logical_xor", [](S& b, auto x, auto y) { return logical(b, "arith.xori", x, y); }},
  };
  return m;
}

}  // namespace hgc::lower
