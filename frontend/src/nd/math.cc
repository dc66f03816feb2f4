// NDArray operators and nd:: math, reductions, linear algebra and movement: each is one
// registered op through nd_detail::call (hgc::invoke), or a few of them where an op has no
// lowering of its own yet (argmax/argmin are composed from lowered ops).
#include <cmath>

#include "hgc/base/error.h"
#include "nd/detail.h"

namespace hgc {

using nd_detail::call;

namespace {

NDArray binary(const char* kind, const NDArray& a, const NDArray& b) {
  return call(std::string("broadcast_") + kind, {}, {a, b});
}
NDArray scalar(const char* op, const NDArray& a, double s) { return call(op, {{"scalar", s}}, {a}); }

}  // namespace

// ---- operators ----
#define HGC_ND_BINARY_OP(SYM, KIND, SCALAR_OP, RSCALAR_OP)                                       \
  NDArray operator SYM(const NDArray& a, const NDArray& b) { return binary(KIND, a, b); }       \
  NDArray operator SYM(const NDArray& a, double s) { return scalar(SCALAR_OP, a, s); }           \
  NDArray operator SYM(double s, const NDArray& a) { return scalar(RSCALAR_OP, a, s); }
HGC_ND_BINARY_OP(+, "add", "_plus_scalar", "_plus_scalar")
HGC_ND_BINARY_OP(-, "sub", "_minus_scalar", "_rminus_scalar")
HGC_ND_BINARY_OP(*, "mul", "_mul_scalar", "_mul_scalar")
HGC_ND_BINARY_OP(/, "div", "_div_scalar", "_rdiv_scalar")
HGC_ND_BINARY_OP(%, "mod", "_mod_scalar", "_rmod_scalar")
// s < a is a > s: the reversed comparison is the mirrored op.
HGC_ND_BINARY_OP(==, "equal", "_equal_scalar", "_equal_scalar")
HGC_ND_BINARY_OP(!=, "not_equal", "_not_equal_scalar", "_not_equal_scalar")
HGC_ND_BINARY_OP(<, "lesser", "_lesser_scalar", "_greater_scalar")
HGC_ND_BINARY_OP(>, "greater", "_greater_scalar", "_lesser_scalar")
HGC_ND_BINARY_OP(<=, "lesser_equal", "_lesser_equal_scalar", "_greater_equal_scalar")
HGC_ND_BINARY_OP(>=, "greater_equal", "_greater_equal_scalar", "_lesser_equal_scalar")
#undef HGC_ND_BINARY_OP

NDArray operator-(const NDArray& a) { return call("negative", {}, {a}); }

namespace nd {

// ---- elementwise math ----
#define HGC_ND_UNARY(name) \
  NDArray name(const NDArray& x) { return call(#name, {}, {x}); }
HGC_ND_UNARY(exp) HGC_ND_UNARY(expm1) HGC_ND_UNARY(log) HGC_ND_UNARY(log1p) HGC_ND_UNARY(log2)
HGC_ND_UNARY(log10) HGC_ND_UNARY(sqrt) HGC_ND_UNARY(rsqrt) HGC_ND_UNARY(cbrt) HGC_ND_UNARY(square)
HGC_ND_UNARY(reciprocal) HGC_ND_UNARY(abs) HGC_ND_UNARY(negative) HGC_ND_UNARY(sign) HGC_ND_UNARY(floor)
HGC_ND_UNARY(ceil) HGC_ND_UNARY(round) HGC_ND_UNARY(rint) HGC_ND_UNARY(fix) HGC_ND_UNARY(trunc)
HGC_ND_UNARY(sigmoid) HGC_ND_UNARY(tanh) HGC_ND_UNARY(relu) HGC_ND_UNARY(softsign) HGC_ND_UNARY(erf)
HGC_ND_UNARY(sin) HGC_ND_UNARY(cos) HGC_ND_UNARY(tan) HGC_ND_UNARY(arcsin) HGC_ND_UNARY(arccos)
HGC_ND_UNARY(arctan) HGC_ND_UNARY(sinh) HGC_ND_UNARY(cosh) HGC_ND_UNARY(arcsinh) HGC_ND_UNARY(arccosh)
HGC_ND_UNARY(arctanh) HGC_ND_UNARY(degrees) HGC_ND_UNARY(radians) HGC_ND_UNARY(logical_not)
#undef HGC_ND_UNARY

NDArray maximum(const NDArray& a, const NDArray& b) { return binary("maximum", a, b); }
NDArray minimum(const NDArray& a, const NDArray& b) { return binary("minimum", a, b); }
NDArray maximum(const NDArray& a, double s) { return scalar("_maximum_scalar", a, s); }
NDArray minimum(const NDArray& a, double s) { return scalar("_minimum_scalar", a, s); }
NDArray power(const NDArray& a, const NDArray& b) { return binary("power", a, b); }
NDArray power(const NDArray& a, double s) { return scalar("_power_scalar", a, s); }
NDArray power(double s, const NDArray& a) { return scalar("_rpower_scalar", a, s); }

NDArray clip(const NDArray& x, double a_min, double a_max) {
  return call("clip", {{"a_min", a_min}, {"a_max", a_max}}, {x});
}

NDArray where(const NDArray& condition, const NDArray& x, const NDArray& y) {
  return call("where", {}, {condition, x, y});
}

NDArray softmax(const NDArray& x, int axis) { return call("softmax", {{"axis", int64_t(axis)}}, {x}); }
NDArray log_softmax(const NDArray& x, int axis) { return call("log_softmax", {{"axis", int64_t(axis)}}, {x}); }

// ---- reductions ----
namespace {
NDArray reduce(const char* op, const NDArray& x, const std::vector<int64_t>& axis, bool keepdims, bool exclude) {
  AttrMap a{{"keepdims", keepdims}, {"exclude", exclude}};
  if (!axis.empty()) a["axis"] = axis;
  return call(op, a, {x});
}

// argmax/argmin have no lowering: the first position holding the extreme value is
//   min over axis of (position + n * (x != extreme)),
// which only needs max/min, comparisons, _arange and broadcast arithmetic.
NDArray arg_reduce(const char* extreme, const NDArray& x, std::optional<int> axis, bool keepdims) {
  std::string what = std::string("arg") + extreme;
  if (axis) nd_detail::normalize_axis(*axis, x.ndim(), what);  // a bad axis fails even for 1-D
  // MXNet: no axis (or a 1-D input) means over the flattened array, giving shape (1,).
  bool flat = !axis || x.ndim() == 1;
  NDArray v = flat ? x.reshape({-1}) : x;
  int ax = flat ? 0 : nd_detail::normalize_axis(*axis, x.ndim(), what);
  int64_t n = v.shape()[ax];
  NDArray best = reduce(extreme, v, {ax}, true, false);
  std::vector<int64_t> pos_shape(v.ndim(), 1);
  pos_shape[ax] = n;
  NDArray pos = arange(0, static_cast<double>(n), 1, v.dtype()).reshape(pos_shape);
  NDArray candidates = (v != best) * static_cast<double>(n) + pos;
  NDArray r = reduce("min", candidates, {ax}, keepdims && !flat, false);
  return flat && keepdims ? r.reshape(std::vector<int64_t>(x.ndim(), 1)) : r;
}
}  // namespace

NDArray sum(const NDArray& x, const std::vector<int64_t>& axis, bool keepdims, bool exclude) {
  return reduce("sum", x, axis, keepdims, exclude);
}
NDArray mean(const NDArray& x, const std::vector<int64_t>& axis, bool keepdims, bool exclude) {
  return reduce("mean", x, axis, keepdims, exclude);
}
NDArray max(const NDArray& x, const std::vector<int64_t>& axis, bool keepdims, bool exclude) {
  return reduce("max", x, axis, keepdims, exclude);
}
NDArray min(const NDArray& x, const std::vector<int64_t>& axis, bool keepdims, bool exclude) {
  return reduce("min", x, axis, keepdims, exclude);
}
NDArray prod(const NDArray& x, const std::vector<int64_t>& axis, bool keepdims, bool exclude) {
  return reduce("prod", x, axis, keepdims, exclude);
}
NDArray argmax(const NDArray& x, std::optional<int> axis, bool keepdims) { return arg_reduce("max", x, axis, keepdims); }
NDArray argmin(const NDArray& x, std::optional<int> axis, bool keepdims) { return arg_reduce("min", x, axis, keepdims); }

NDArray norm(const NDArray& x) { return call("norm", {}, {x}); }

// ---- linear algebra ----
NDArray dot(const NDArray& a, const NDArray& b, bool transpose_a, bool transpose_b) {
  return call("dot", {{"transpose_a", transpose_a}, {"transpose_b", transpose_b}}, {a, b});
}
NDArray batch_dot(const NDArray& a, const NDArray& b, bool transpose_a, bool transpose_b) {
  return call("batch_dot", {{"transpose_a", transpose_a}, {"transpose_b", transpose_b}}, {a, b});
}

// ---- shape and movement ----
NDArray reshape(const NDArray& x, const std::vector<int64_t>& shape, bool reverse) { return x.reshape(shape, reverse); }
NDArray transpose(const NDArray& x, const std::vector<int64_t>& axes) { return x.transpose(axes); }
NDArray swapaxes(const NDArray& x, int dim1, int dim2) {
  return call("SwapAxis", {{"dim1", int64_t(dim1)}, {"dim2", int64_t(dim2)}}, {x});
}
NDArray expand_dims(const NDArray& x, int axis) { return x.expand_dims(axis); }
NDArray squeeze(const NDArray& x, const std::vector<int64_t>& axis) { return x.squeeze(axis); }
NDArray flatten(const NDArray& x) { return x.flatten(); }
NDArray slice_axis(const NDArray& x, int axis, int64_t begin, std::optional<int64_t> end) {
  return x.slice_axis(axis, begin, end);
}

NDArray concat(const std::vector<NDArray>& xs, int dim) {
  if (xs.empty()) fail("ndarray", "concat: no arrays to join");
  return call("Concat", {{"num_args", int64_t(xs.size())}, {"dim", int64_t(dim)}}, xs);
}

NDArray stack(const std::vector<NDArray>& xs, int axis) {
  if (xs.empty()) fail("ndarray", "stack: no arrays to join");
  for (const NDArray& x : xs)
    if (x.shape() != xs[0].shape())
      fail("ndarray", "stack: shapes differ: ", nd_detail::shape_str(xs[0].shape()), " vs ",
           nd_detail::shape_str(x.shape()));
  int ax = nd_detail::normalize_axis(axis, xs[0].ndim() + 1, "stack");
  return call("stack", {{"axis", int64_t(ax)}, {"num_args", int64_t(xs.size())}}, xs);
}

NDArray broadcast_to(const NDArray& x, const std::vector<int64_t>& shape) {
  if (x.ndim() > static_cast<int>(shape.size()))
    fail("ndarray", "broadcast_to: cannot broadcast ", nd_detail::shape_str(x.shape()), " to ",
         nd_detail::shape_str(shape), ": the target has fewer dims");
  if (x.shape() == shape) return x;
  // broadcast_to wants equal ranks; numpy aligns on the right, so pad with leading 1s (a view).
  std::vector<int64_t> padded(shape.size() - x.ndim(), 1);
  padded.insert(padded.end(), x.shape().begin(), x.shape().end());
  NDArray p = padded == x.shape() ? x : x.reshape(padded);
  if (padded == shape) return p;
  return call("broadcast_to", {{"shape", shape}}, {p});
}

NDArray one_hot(const NDArray& indices, int64_t depth, double on_value, double off_value, DType dtype) {
  return call("one_hot",
              {{"depth", depth}, {"on_value", on_value}, {"off_value", off_value}, {"dtype", dtype_name(dtype)}},
              {indices});
}

NDArray take(const NDArray& a, const NDArray& indices, int axis, bool wrap) {
  return call("take", {{"axis", int64_t(axis)}, {"mode", std::string(wrap ? "wrap" : "clip")}}, {a, indices});
}

}  // namespace nd
}  // namespace hgc
