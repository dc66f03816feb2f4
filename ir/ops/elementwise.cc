// Elementwise ops: unary math, same-shape binaries, the `_*_scalar` family, clip, Cast,
// where and add_n. Names, aliases and attribute schemas follow MXNet 1.9
// (src/operator/tensor/elemwise_*.cc, control_flow_op.cc, contrib/transformer.cc).
#include <string>
#include <vector>

#include "families.h"

namespace hgc::ops {
namespace {

// Attribute-free unary ops: {name, aliases...}. MXNet registers `_copy` and `add_n` as the
// primary names ("identity" / "ElementWiseSum" are its aliases); both spellings resolve.
const std::vector<Names> kUnary = {
    {"exp"}, {"expm1"}, {"log"}, {"log1p"}, {"log2"}, {"log10"},
    {"sqrt"}, {"rsqrt"}, {"cbrt"}, {"rcbrt"}, {"square"}, {"reciprocal"},
    {"abs"}, {"negative"}, {"sign"},
    {"floor"}, {"ceil"}, {"round"}, {"rint"}, {"fix"}, {"trunc"},
    {"sigmoid"}, {"tanh"}, {"relu"}, {"softsign"},
    {"erf"}, {"erfinv"}, {"gamma"}, {"gammaln"},
    {"sin"}, {"cos"}, {"tan"}, {"arcsin"}, {"arccos"}, {"arctan"},
    {"sinh"}, {"cosh"}, {"arcsinh"}, {"arccosh"}, {"arctanh"},
    {"degrees"}, {"radians"}, {"logical_not"},
    {"_copy", "identity"}, {"BlockGrad", "stop_gradient"},
    // out = data / sqrt(data.shape[-1]); the scale is read from the shape at run time.
    {"_contrib_div_sqrt_dim"},
    // psi(x) = d/dx log Gamma(x): not an MXNet op (MXNet computes it inside gamma's and
    // gammaln's backward kernels); here the gradient rules of gamma/gammaln call it.
    {"_hgc_digamma"},
};

// Same-shape binaries (MXNET_OPERATOR_REGISTER_BINARY): inputs lhs, rhs. The comparison
// ones return 0/1 in the input dtype, as MXNet 1.x does (no bool outputs).
const std::vector<Names> kBinary = {
    {"elemwise_add", "_add", "_plus", "_Plus"},
    {"elemwise_sub", "_sub", "_minus", "_Minus"},
    {"elemwise_mul", "_mul", "_Mul"},
    {"elemwise_div", "_div", "_Div"},
    {"_mod", "_Mod"}, {"_power", "_Power"}, {"_hypot", "_Hypot"},
    {"_maximum", "_Maximum"}, {"_minimum", "_Minimum"},
    {"_equal", "_Equal"}, {"_not_equal", "_Not_Equal"},
    {"_greater", "_Greater"}, {"_greater_equal", "_Greater_Equal"},
    {"_lesser", "_Lesser"}, {"_lesser_equal", "_Lesser_Equal"},
    {"_logical_and", "_Logical_And"}, {"_logical_or", "_Logical_Or"},
    {"_logical_xor", "_Logical_Xor"},
};

// Tensor-scalar binaries (MXNET_OPERATOR_REGISTER_BINARY_SCALAR, NumpyBinaryScalarParam).
const std::vector<Names> kScalar = {
    {"_plus_scalar", "_PlusScalar"}, {"_minus_scalar", "_MinusScalar"},
    {"_rminus_scalar", "_RMinusScalar"}, {"_mul_scalar", "_MulScalar"},
    {"_div_scalar", "_DivScalar"}, {"_rdiv_scalar", "_RDivScalar"},
    {"_mod_scalar", "_ModScalar"}, {"_rmod_scalar", "_RModScalar"},
    {"_power_scalar", "_PowerScalar"}, {"_rpower_scalar", "_RPowerScalar"},
    {"_maximum_scalar", "_MaximumScalar"}, {"_minimum_scalar", "_MinimumScalar"},
    {"_hypot_scalar", "_HypotScalar"},
    {"_equal_scalar", "_EqualScalar"}, {"_not_equal_scalar", "_NotEqualScalar"},
    {"_greater_scalar", "_GreaterScalar"}, {"_greater_equal_scalar", "_GreaterEqualScalar"},
    {"_lesser_scalar", "_LesserScalar"}, {"_lesser_equal_scalar", "_LesserEqualScalar"},
    {"_logical_and_scalar", "_LogicalAndScalar"}, {"_logical_or_scalar", "_LogicalOrScalar"},
    {"_logical_xor_scalar", "_LogicalXorScalar"},
};

OpBuilder add(OpRegistry& r, const Names& names) {
  OpBuilder b = r.add(names[0]);
  for (size_t i = 1; i < names.size(); ++i) b.alias(names[i]);
  return b;
}

// Assigns an output dtype, refusing to overwrite a different one.
void set_out_type(TypeCtx& c, int i, DType t) {
  if (c.out[i] != DType::unknown && c.out[i] != t)
    c.error("output " + std::to_string(i) + " has dtype " + dtype_name(c.out[i]) +
            ", expected " + dtype_name(t));
  c.out[i] = t;
}

// Unifies the dtypes of the listed inputs and output 0; others stay free (index inputs).
bool unify_types(TypeCtx& c, std::initializer_list<int> inputs) {
  DType t = c.out[0];
  for (int i : inputs) {
    if (c.in[i] == DType::unknown) continue;
    if (t != DType::unknown && t != c.in[i])
      c.error("dtypes disagree: " + dtype_name(t) + " vs " + dtype_name(c.in[i]));
    t = c.in[i];
  }
  if (t == DType::unknown) return false;
  for (int i : inputs) c.in[i] = t;
  c.out[0] = t;
  return true;
}

bool is_integer(DType t) {
  return t != DType::unknown && t != DType::boolean && !dtype_is_float(t);
}

// MXNet 1.9's NumpyBinaryScalarType: an int tensor with a float scalar (is_int=False) gives
// float64, a bool tensor gives int64/float64; otherwise the output keeps the input dtype.
bool scalar_type(TypeCtx& c) {
  bool scalar_is_int = c.attrs.b("is_int");
  if (is_integer(c.in[0]) && !scalar_is_int) {
    set_out_type(c, 0, DType::f64);
    return true;
  }
  if (c.in[0] == DType::boolean) {
    set_out_type(c, 0, scalar_is_int ? DType::i64 : DType::f64);
    return true;
  }
  return unify_types(c, {0});
}

DType dtype_attr(const TypeCtx& c, const std::string& name) {
  auto t = dtype_from_name(c.attrs.s(name));
  if (!t) c.error("attribute '" + name + "' is not a dtype: " + c.attrs.s(name));
  return *t;
}

// add_n needs at least one addend (MXNet: num_args lower bound 1).
bool sum_shape(ShapeCtx& c) {
  if (c.in.empty()) c.error("num_args must be at least 1");
  return rules::same_shape(c);
}

// where(condition, x, y): x, y and the output share a shape; the condition has that shape
// too, or is 1-D with length x.shape[0] and selects whole rows (MXNet's WhereOpShape).
bool where_shape(ShapeCtx& c) {
  Shape t = c.in[1];
  if (!Shape::merge(t, c.in[2]))
    c.error("x " + c.in[1].str() + " and y " + c.in[2].str() + " differ");
  if (!Shape::merge(t, c.out[0])) c.error("output " + c.out[0].str() + " vs x " + t.str());
  Shape& cond = c.in[0];
  if (!t.rank_known() && cond.rank_known() && cond.ndim() != 1) t = cond;  // must match
  c.assign_in(1, t);
  c.assign_in(2, t);
  c.assign_out(0, t);
  if (!cond.rank_known() || !t.rank_known()) return false;
  if (cond.ndim() == t.ndim()) {
    if (!Shape::merge(t, cond))
      c.error("condition " + cond.str() + " must have the shape of x " + t.str());
    for (int i : {1, 2}) c.in[i] = t;
    c.in[0] = t;
    c.out[0] = t;
  } else if (cond.ndim() == 1 && t.ndim() >= 1) {
    if (cond[0] >= 0 && t[0] >= 0 && cond[0] != t[0])
      c.error("1-D condition " + cond.str() + " must have length x.shape[0] = " +
              std::to_string(t[0]));
    if (cond[0] < 0) cond[0] = t[0];
    if (t[0] < 0 && cond[0] >= 0) {
      t[0] = cond[0];
      for (int i : {1, 2}) c.in[i] = t;
      c.out[0] = t;
    }
  } else {
    c.error("condition " + cond.str() + " must have the shape of x " + t.str() +
            " or be 1-D of length x.shape[0]");
  }
  return c.out[0].known() && cond.known();
}

}  // namespace

void register_elementwise(OpRegistry& r) {
  const uint32_t ew = kElementwise | kInplace;

  for (const Names& n : kUnary) add(r, n).unary().traits(ew).shape(rules::same_shape);

  // Forward is identity; the gradient is ones (the "loss" is the input itself).
  r.add("make_loss").unary().traits(ew | kLoss).shape(rules::same_shape);

  // max(0, min(1, alpha * x + beta)), HardSigmoidParam.
  r.add("hard_sigmoid")
      .unary()
      .attr(AttrSpec::real("alpha").def(0.2))
      .attr(AttrSpec::real("beta").def(0.5))
      .traits(ew)
      .shape(rules::same_shape);

  for (const Names& n : kBinary) add(r, n).binary().traits(ew).shape(rules::same_shape);

  add(r, {"add_n", "ElementWiseSum"})
      .variadic("num_args")
      .attr(AttrSpec::integer("num_args"))
      .traits(ew)
      .shape(sum_shape);

  // is_int defaults to True (MXNet 1.8+); files from older versions omit it.
  for (const Names& n : kScalar)
    add(r, n)
        .unary()
        .attr(AttrSpec::real("scalar").def(1.0))
        .attr(AttrSpec::boolean("is_int").def(true))
        .traits(ew)
        .shape(rules::same_shape)
        .type(scalar_type);

  r.add("clip")
      .unary()
      .attr(AttrSpec::real("a_min"))
      .attr(AttrSpec::real("a_max"))
      .traits(ew)
      .shape(rules::same_shape);

  // The output dtype comes from the attribute; the input may be anything. Not in-place:
  // element sizes may differ.
  add(r, {"Cast", "cast"})
      .unary()
      .attr(AttrSpec::dtype("dtype"))
      .traits(kElementwise)
      .shape(rules::same_shape)
      .type([](TypeCtx& c) {
        set_out_type(c, 0, dtype_attr(c, "dtype"));
        return true;
      });

  // No kElementwise: a 1-D condition is read per row, not per element.
  r.add("where")
      .inputs(Names{"condition", "x", "y"})
      .shape(where_shape)
      .type([](TypeCtx& c) { return unify_types(c, {1, 2}); });
}

}  // namespace hgc::ops
