// Reductions (sum, mean, max, min, prod, nansum, nanprod, norm, argmax, argmin,
// argmax_channel) and the softmax family. Attributes follow MXNet 1.9
// (src/operator/tensor/broadcast_reduce_op.h, src/operator/nn/softmax-inl.h,
// softmax_activation-inl.h).
//
// Shapes use MXNet's legacy (non-numpy) semantics: reducing over every axis without
// keepdims gives shape (1,), never a 0-d scalar, because legacy MXNet had no 0-d arrays
// (its ndim 0 meant "unknown"). Graphs exported from MXNet 1.x rely on that (1,).
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "families.h"

namespace hgc::ops {
namespace {

int axis_of(const ShapeCtx& c, int64_t axis, int ndim) {
  int64_t a = axis < 0 ? axis + ndim : axis;
  if (a < 0 || a >= ndim)
    c.error("axis " + std::to_string(axis) + " is out of range for input rank " +
            std::to_string(ndim));
  return static_cast<int>(a);
}

// MXNet's ReduceAxesShapeImpl. `axis` None or () reduces everything (even with exclude).
Shape reduce_axes_shape(const ShapeCtx& c, const Shape& in,
                        const std::optional<std::vector<int64_t>>& axis, bool keepdims,
                        bool exclude) {
  const int n = in.ndim();
  if (!axis || axis->empty())
    return keepdims ? Shape(std::vector<int64_t>(n, 1)) : Shape{1};
  std::vector<int> axes;
  for (int64_t a : *axis) axes.push_back(axis_of(c, a, n));
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end())
    c.error("reduction axes " + Shape(*axis).str() + " have duplicates");
  auto listed = [&](int i) { return std::binary_search(axes.begin(), axes.end(), i); };
  std::vector<int64_t> out;
  for (int i = 0; i < n; ++i) {
    bool reduced = listed(i) != exclude;
    if (!reduced) out.push_back(in[i]);
    else if (keepdims) out.push_back(1);
  }
  if (out.empty()) out.push_back(1);  // legacy (1,) instead of a 0-d scalar
  return Shape(out);
}

// MXNet's ReduceAxisShapeImpl (argmax/argmin): one optional axis; None, or a 1-D input,
// reduces everything.
Shape reduce_axis_shape(const ShapeCtx& c, const Shape& in, std::optional<int64_t> axis,
                        bool keepdims) {
  const int n = in.ndim();
  if (!axis || n == 1) return keepdims ? Shape(std::vector<int64_t>(n, 1)) : Shape{1};
  int a = axis_of(c, *axis, n);
  Shape out = in;
  if (keepdims) out[a] = 1;
  else out.dims().erase(out.dims().begin() + a);
  if (out.ndim() == 0) out = Shape{1};
  return out;
}

bool reduce_shape(ShapeCtx& c) {
  if (!c.in[0].rank_known()) return false;
  c.assign_out(0, reduce_axes_shape(c, c.in[0], c.attrs.opt_tuple("axis"),
                                    c.attrs.b("keepdims"), c.attrs.b("exclude")));
  return c.out[0].known();
}

bool norm_shape(ShapeCtx& c) {
  int64_t ord = c.attrs.i("ord");
  if (ord != 1 && ord != 2) c.error("ord=" + std::to_string(ord) + " is not supported (1 or 2)");
  if (!c.in[0].rank_known()) return false;
  c.assign_out(0, reduce_axes_shape(c, c.in[0], c.attrs.opt_tuple("axis"),
                                    c.attrs.b("keepdims"), false));
  return c.out[0].known();
}

bool arg_reduce_shape(ShapeCtx& c) {
  if (!c.in[0].rank_known()) return false;
  c.assign_out(0, reduce_axis_shape(c, c.in[0], c.attrs.opt_i("axis"), c.attrs.b("keepdims")));
  return c.out[0].known();
}

// Output dtype `t` when an attribute forces one; the input stays free.
bool forced_type(TypeCtx& c, DType t) {
  if (c.out[0] != DType::unknown && c.out[0] != t)
    c.error("output dtype " + dtype_name(c.out[0]) + ", expected " + dtype_name(t));
  c.out[0] = t;
  return true;
}

// Input 0 and output 0 share a dtype; other inputs (softmax's length) are left free.
bool data_type(TypeCtx& c) {
  DType t = c.in[0] != DType::unknown ? c.in[0] : c.out[0];
  if (t == DType::unknown) return false;
  if (c.out[0] != DType::unknown && c.out[0] != t)
    c.error("dtypes disagree: " + dtype_name(t) + " vs " + dtype_name(c.out[0]));
  c.in[0] = c.out[0] = t;
  return true;
}

DType attr_dtype(const TypeCtx& c, const std::string& name) {
  auto t = dtype_from_name(c.attrs.s(name));
  if (!t) c.error("attribute '" + name + "' is not a dtype: " + c.attrs.s(name));
  return *t;
}

bool uses_length(const AttrView& a) { return !a.is_none("use_length") && a.b("use_length"); }

// softmax/log_softmax/softmin: output has data's shape. With use_length (softmax only),
// `length` has data's shape without the softmax axis ((1,) for 1-D data).
bool softmax_shape(ShapeCtx& c) {
  Shape s = c.in[0];
  if (!Shape::merge(s, c.out[0])) c.error("output " + c.out[0].str() + " vs data " + s.str());
  c.in[0] = s;
  c.assign_out(0, s);
  if (!s.rank_known()) return false;
  int axis = axis_of(c, c.attrs.i("axis"), s.ndim());
  if (c.in.size() > 1) {
    Shape len = s;
    len.dims().erase(len.dims().begin() + axis);
    if (len.ndim() == 0) len = Shape{1};
    c.assign_in(1, len);
  }
  return s.known();
}

// dtype=None: the output follows data; otherwise the output is `dtype` and an unknown data
// dtype takes it too (SoftmaxOpType).
bool softmax_type(TypeCtx& c) {
  if (c.attrs.is_none("dtype")) return data_type(c);
  forced_type(c, attr_dtype(c, "dtype"));
  if (c.in[0] == DType::unknown) c.in[0] = c.out[0];
  return true;
}

void softmax_attrs(OpBuilder& b) {
  b.attr(AttrSpec::integer("axis").def(int64_t(-1)))
      .attr(AttrSpec::real("temperature").opt())
      .attr(AttrSpec::one_of("dtype", {"float16", "float32", "float64"}).opt())
      .attr(AttrSpec::boolean("use_length").def(false).none_ok());
}

}  // namespace

void register_reduce(OpRegistry& r) {
  const std::vector<Names> reductions = {
      {"sum", "sum_axis"}, {"mean"}, {"max", "max_axis"}, {"min", "min_axis"},
      {"prod"}, {"nansum"}, {"nanprod"}};
  for (const Names& n : reductions) {
    OpBuilder b = r.add(n[0]);
    for (size_t i = 1; i < n.size(); ++i) b.alias(n[i]);
    b.unary()
        .attr(AttrSpec::int_tuple("axis").opt())
        .attr(AttrSpec::boolean("keepdims").def(false))
        .attr(AttrSpec::boolean("exclude").def(false))
        .traits(kReduce)
        .shape(reduce_shape);
  }

  r.add("norm")
      .unary()
      .attr(AttrSpec::integer("ord").def(int64_t(2)))
      .attr(AttrSpec::int_tuple("axis").opt())
      .attr(AttrSpec::one_of("out_dtype",
                             {"float16", "float32", "float64", "int64", "int32", "int8"})
                .opt())
      .attr(AttrSpec::boolean("keepdims").def(false))
      .traits(kReduce)
      .shape(norm_shape)
      .type([](TypeCtx& c) {
        if (c.attrs.is_none("out_dtype")) return rules::same_type(c);
        return forced_type(c, attr_dtype(c, "out_dtype"));
      });

  // MXNet 1.x returns the indices as values of the input's dtype (ElemwiseType<1, 1>), so
  // float32 data gives float32 indices; the default same_type rule is exactly that.
  for (const char* name : {"argmax", "argmin"})
    r.add(name)
        .unary()
        .attr(AttrSpec::integer("axis").opt())
        .attr(AttrSpec::boolean("keepdims").def(false))
        .traits(kReduce)
        .shape(arg_reduce_shape);

  // Legacy argmax over axis 1 with no attributes: (N, C, ...) -> (N, ...).
  r.add("argmax_channel").unary().traits(kReduce).shape([](ShapeCtx& c) {
    if (!c.in[0].rank_known()) return false;
    c.assign_out(0, reduce_axis_shape(c, c.in[0], 1, false));
    return c.out[0].known();
  });

  // Only softmax reads use_length as "take a second input"; log_softmax and softmin accept
  // the attribute (shared SoftmaxParam) but always have one input, as in MXNet 1.9.
  OpBuilder softmax = r.add("softmax");
  softmax_attrs(softmax);
  softmax
      .inputs([](const AttrView& a) {
        return uses_length(a) ? Names{"data", "length"} : Names{"data"};
      })
      .shape(softmax_shape)
      .type(softmax_type);
  for (const char* name : {"log_softmax", "softmin"}) {
    OpBuilder b = r.add(name);
    softmax_attrs(b);
    b.unary().shape(softmax_shape).type(softmax_type);
  }

  // Legacy softmax over the flattened instance, or over axis 1 per position ("channel",
  // which needs rank >= 3).
  r.add("SoftmaxActivation")
      .unary()
      .attr(AttrSpec::one_of("mode", {"instance", "channel"}).def(std::string("instance")))
      .shape([](ShapeCtx& c) {
        if (c.in[0].rank_known() && c.attrs.s("mode") == "channel" && c.in[0].ndim() < 3)
          c.error("mode=channel needs an input of rank >= 3, got " + c.in[0].str());
        return rules::same_shape(c);
      });
}

}  // namespace hgc::ops
