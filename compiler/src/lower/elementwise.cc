// Lowering records of the elementwise family: which expression each op applies.
#include <cmath>

#include "../lowering.h"
#include "elementwise_util.h"
#include "hgc/base/error.h"

namespace hgc::lower {
namespace {

// MLIR conversion op between two element types.
std::string convert(ScalarBuilder& b, const std::string& x, DType from, DType to) {
  if (from == to) return x;
  std::string f = elem_type(from), t = elem_type(to);
  bool ff = dtype_is_float(from), tf = dtype_is_float(to);
  auto bits = [](DType d) { return dtype_size(d) * 8; };
  bool from_unsigned = from == DType::u8 || from == DType::u16 || from == DType::u32 ||
                       from == DType::u64 || from == DType::boolean;
  bool to_unsigned = to == DType::u8 || to == DType::u16 || to == DType::u32 || to == DType::u64;
  std::string op;
  if (ff && tf) op = bits(to) > bits(from) ? "arith.extf" : "arith.truncf";
  else if (ff) op = to_unsigned ? "arith.fptoui" : "arith.fptosi";
  else if (tf) op = from_unsigned ? "arith.uitofp" : "arith.sitofp";
  else if (bits(to) == bits(from)) return x;
  else op = bits(to) > bits(from) ? (from_unsigned ? "arith.extui" : "arith.extsi") : "arith.trunci";
  if (to == DType::boolean && !ff) {  // bool is "x != 0", not truncation
    return b.raw("arith.extui " + b.raw("arith.cmpi ne, " + x + ", " + b.raw("arith.constant 0 : " + f) + " : " + f) + " : i1 to i8");
  }
  return b.raw(op + " " + x + " : " + f + " to " + t);
}

// x op scalar (or scalar op x): the scalar a constant of the code, or, with scalar_input, read
// once from the trailing 0-d input before the loop.
KernelFn scalar(std::string kind, bool reversed) {
  return [kind, reversed](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    BinaryExpr e = binary_expr_for(c, kind);
    std::string k;
    if (c.scalar_input) {
      k = w.fresh();
      w.body() << "  " << k << " = tensor.extract " << ins[1] << "[] : " << tensor_type({}, c.out_types[0]) << "\n";
    }
    w.result(0, w.elementwise({ins[0]}, outs[0], c.out_types[0], [&](ScalarBuilder& b, auto& a) {
      std::string v = c.scalar_input ? k : b.constant(c.attrs.f("scalar"));
      // An int tensor with a float scalar (is_int=False) computes in the float64 output.
      std::string x = convert(b, a[0], c.in_types[0], c.out_types[0]);
      return reversed ? e(b, v, x) : e(b, x, v);
    }));
  };
}

}  // namespace

void register_elementwise(LoweringTable& t) {
  for (const auto& [name, e] : unary_exprs())
    if (OpRegistry::global().find(name) && OpRegistry::global().get(name).name == name) t.poly_kernel(name, unary_named(name));

  const std::vector<std::pair<const char*, const char*>> binaries = {
      {"elemwise_add", "add"}, {"elemwise_sub", "sub"}, {"elemwise_mul", "mul"}, {"elemwise_div", "div"},
      {"_mod", "mod"}, {"_power", "power"}, {"_hypot", "hypot"}, {"_maximum", "maximum"},
      {"_minimum", "minimum"}, {"_equal", "equal"}, {"_not_equal", "not_equal"}, {"_greater", "greater"},
      {"_greater_equal", "greater_equal"}, {"_lesser", "lesser"}, {"_lesser_equal", "lesser_equal"},
      {"_logical_and", "logical_and"}, {"_logical_or", "logical_or"}, {"_logical_xor", "logical_xor"}};
  for (const auto& [op, kind] : binaries) t.poly_kernel(op, binary_named(kind));

  const std::vector<std::tuple<const char*, const char*, bool>> scalars = {
      {"_plus_scalar", "add", false}, {"_minus_scalar", "sub", false}, {"_rminus_scalar", "sub", true},
      {"_mul_scalar", "mul", false}, {"_div_scalar", "div", false}, {"_rdiv_scalar", "div", true},
      {"_mod_scalar", "mod", false}, {"_rmod_scalar", "mod", true}, {"_power_scalar", "power", false},
      {"_rpower_scalar", "power", true}, {"_maximum_scalar", "maximum", false},
      {"_minimum_scalar", "minimum", false}, {"_hypot_scalar", "hypot", false},
      {"_equal_scalar", "equal", false}, {"_not_equal_scalar", "not_equal", false},
      {"_greater_scalar", "greater", false}, {"_greater_equal_scalar", "greater_equal", false},
      {"_lesser_scalar", "lesser", false}, {"_lesser_equal_scalar", "lesser_equal", false},
      {"_logical_and_scalar", "logical_and", false}, {"_logical_or_scalar", "logical_or", false},
      {"_logical_xor_scalar", "logical_xor", false}};
  for (const auto& [op, kind, rev] : scalars) t.scalar_kernel(op, scalar(kind, rev));

  t.poly_kernel("clip", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    double lo = c.attrs.f("a_min"), hi = c.attrs.f("a_max");
    BinaryExpr mx = binary_expr_for(c, "maximum"), mn = binary_expr_for(c, "minimum");
    w.result(0, w.elementwise({ins[0]}, outs[0], c.out_types[0], [&](ScalarBuilder& b, auto& a) {
      return mn(b, mx(b, a[0], b.constant(lo)), b.constant(hi));
    }));
  });
  t.poly_kernel("hard_sigmoid", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    require_float(c);
    double al = c.attrs.f("alpha"), be = c.attrs.f("beta");
    w.result(0, w.elementwise({ins[0]}, outs[0], c.out_types[0], [&](ScalarBuilder& b, auto& a) {
      auto v = b.binary("arith.addf", b.binary("arith.mulf", a[0], b.constant(al)), b.constant(be));
      return b.binary("arith.minimumf", b.binary("arith.maximumf", v, b.constant(0)), b.constant(1));
    }));
  });
  t.kernel("_contrib_div_sqrt_dim", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    require_float(c);
    double scale = 1.0 / std::sqrt(static_cast<double>(c.in_shapes[0].back()));
    w.result(0, w.elementwise({ins[0]}, outs[0], c.out_types[0], [&](ScalarBuilder& b, auto& a) {
      return b.binary("arith.mulf", a[0], b.constant(scale));
    }));
  });
  t.poly_kernel("Cast", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    w.result(0, w.elementwise({ins[0]}, outs[0], c.out_types[0], [&](ScalarBuilder& b, auto& a) {
      return convert(b, a[0], c.in_types[0], c.out_types[0]);
    }));
  });
  // Not shape-polymorphic: a 1-D condition follows dim 0, which row splitting cannot see.
  t.kernel("where", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    const Dims& out = c.out_shapes[0];
    // A 1-D condition selects whole rows (MXNet): it follows dim 0, not numpy alignment.
    std::string cmap = c.in_shapes[0].size() == 1 && out.size() > 1 ? affine_map(out.size(), {"d0"})
                                                                     : broadcast_map(c.in_shapes[0], out);
    std::vector<std::string> its(out.size(), "parallel");
    DType ct = c.in_types[0];
    w.result(0, w.generic({ins[0], ins[1], ins[2]}, {cmap, broadcast_map(c.in_shapes[1], out), broadcast_map(c.in_shapes[2], out)},
                          outs[0], "", its, c.out_types[0], [&](ScalarBuilder& b, auto& a) {
                            std::string zero = dtype_is_float(ct) ? b.raw("arith.constant 0.0 : " + elem_type(ct))
                                                                  : b.raw("arith.constant 0 : " + elem_type(ct));
                            std::string nz = dtype_is_float(ct)
                                                 ? b.raw("arith.cmpf une, " + a[0] + ", " + zero + " : " + elem_type(ct))
                                                 : b.raw("arith.cmpi ne, " + a[0] + ", " + zero + " : " + elem_type(ct));
                            return b.select(nz, a[1], a[2]);
                          }));
  });
  t.poly_kernel("add_n", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    BinaryExpr add = binary_expr_for(c, "add");
    w.result(0, w.elementwise(ins, outs[0], c.out_types[0], [&](ScalarBuilder& b, auto& a) {
      std::string s = a[0];
      for (size_t i = 1; i < a.size(); ++i) s = add(b, s, a[i]);
      return s;
    }));
  });
}

}  // namespace hgc::lower
