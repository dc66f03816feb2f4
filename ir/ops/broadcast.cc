// Broadcasting ops: numpy-style binaries (broadcast_add, ...) and the explicit expanders
// broadcast_axis / broadcast_to / broadcast_like. Names and attributes follow MXNet 1.9
// (src/operator/tensor/elemwise_binary_broadcast_op_*.cc, broadcast_reduce_op{.h,_value.cc}).
#include <string>
#include <vector>

#include "families.h"

namespace hgc::ops {
namespace {

// {name, aliases...}. Comparisons return 0/1 in the input dtype (MXNet 1.x ElemwiseType).
const std::vector<Names> kBroadcastBinary = {
    {"broadcast_add", "broadcast_plus"}, {"broadcast_sub", "broadcast_minus"},
    {"broadcast_mul"}, {"broadcast_div"}, {"broadcast_mod"}, {"broadcast_power"},
    {"broadcast_maximum"}, {"broadcast_minimum"}, {"broadcast_hypot"},
    {"broadcast_equal"}, {"broadcast_not_equal"},
    {"broadcast_greater"}, {"broadcast_greater_equal"},
    {"broadcast_lesser"}, {"broadcast_lesser_equal"},
    {"broadcast_logical_and"}, {"broadcast_logical_or"}, {"broadcast_logical_xor"},
};

int axis_of(const ShapeCtx& c, int64_t axis, int ndim, const std::string& what) {
  int64_t a = axis < 0 ? axis + ndim : axis;
  if (a < 0 || a >= ndim)
    c.error(what + " " + std::to_string(axis) + " is out of range for rank " +
            std::to_string(ndim));
  return static_cast<int>(a);
}

// broadcast_axis: the input must be 1 at every listed axis (so an unknown input dim there
// is completed to 1); the output has `size[i]` there.
bool broadcast_axis_shape(ShapeCtx& c) {
  const auto& axes = c.attrs.tuple("axis");
  const auto& sizes = c.attrs.tuple("size");
  if (axes.size() != sizes.size())
    c.error("axis has " + std::to_string(axes.size()) + " entries but size has " +
            std::to_string(sizes.size()));
  Shape in = c.in[0];
  if (!in.rank_known()) return false;
  Shape out = in;
  for (size_t i = 0; i < axes.size(); ++i) {
    int a = axis_of(c, axes[i], in.ndim(), "axis");
    if (in[a] >= 0 && in[a] != 1)
      c.error("input " + in.str() + " has size " + std::to_string(in[a]) + " at axis " +
              std::to_string(a) + "; broadcasting needs size 1");
    if (sizes[i] <= 0) c.error("size " + std::to_string(sizes[i]) + " must be positive");
    in[a] = 1;
    out[a] = sizes[i];
  }
  c.assign_in(0, in);
  c.assign_out(0, out);
  return c.out[0].known();
}

// broadcast_to: a target dim of 0 keeps the input's dim.
bool broadcast_to_shape(ShapeCtx& c) {
  const auto& target = c.attrs.tuple("shape");
  const Shape& in = c.in[0];
  if (!in.rank_known()) return false;
  if (in.ndim() != static_cast<int>(target.size()))
    c.error("cannot broadcast " + in.str() + " to " + Shape(target).str() + ": ranks differ");
  Shape out = Shape::of_rank(in.ndim());
  for (int i = 0; i < in.ndim(); ++i) {
    if (target[i] <= 0) {
      out[i] = in[i];
    } else {
      if (in[i] >= 0 && in[i] != 1 && in[i] != target[i])
        c.error("cannot broadcast " + in.str() + " to " + Shape(target).str());
      out[i] = target[i];
    }
  }
  c.assign_out(0, out);
  return c.out[0].known();
}

// broadcast_like: without axes, lhs takes rhs's shape (same rank, lhs dims 1 or equal);
// with axes, lhs dim lhs_axes[i] (which must be 1) becomes rhs dim rhs_axes[i].
bool broadcast_like_shape(ShapeCtx& c) {
  const Shape& lhs = c.in[0];
  const Shape& rhs = c.in[1];
  if (!lhs.rank_known() || !rhs.rank_known()) return false;
  auto lhs_axes = c.attrs.opt_tuple("lhs_axes");
  auto rhs_axes = c.attrs.opt_tuple("rhs_axes");
  Shape out = lhs;
  if (!lhs_axes || !rhs_axes) {
    if (lhs.ndim() != rhs.ndim())
      c.error("cannot broadcast " + lhs.str() + " like " + rhs.str() + ": ranks differ");
    for (int i = 0; i < lhs.ndim(); ++i) {
      if (lhs[i] >= 0 && rhs[i] >= 0 && lhs[i] != 1 && lhs[i] != rhs[i])
        c.error("cannot broadcast " + lhs.str() + " like " + rhs.str());
      // An unknown rhs dim only tells us the output when lhs is not 1 there.
      out[i] = rhs[i] >= 0 ? rhs[i] : (lhs[i] == 1 ? Shape::kUnknownDim : lhs[i]);
    }
  } else {
    if (lhs_axes->size() != rhs_axes->size())
      c.error("lhs_axes and rhs_axes have different lengths");
    if (lhs_axes->empty()) c.error("empty lhs_axes/rhs_axes are not allowed");
    Shape need = lhs;  // lhs must be 1 at each lhs axis, which may complete it
    for (size_t i = 0; i < lhs_axes->size(); ++i) {
      int from = axis_of(c, (*lhs_axes)[i], lhs.ndim(), "lhs_axes entry");
      int to = axis_of(c, (*rhs_axes)[i], rhs.ndim(), "rhs_axes entry");
      if (lhs[from] >= 0 && lhs[from] != 1)
        c.error("lhs " + lhs.str() + " has size " + std::to_string(lhs[from]) + " at axis " +
                std::to_string(from) + "; broadcasting needs size 1");
      need[from] = 1;
      out[from] = rhs[to];
    }
    c.assign_in(0, need);
  }
  c.assign_out(0, out);
  return c.out[0].known();
}

}  // namespace

void register_broadcast(OpRegistry& r) {
  for (const Names& n : kBroadcastBinary) {
    OpBuilder b = r.add(n[0]);
    for (size_t i = 1; i < n.size(); ++i) b.alias(n[i]);
    b.binary().traits(kBroadcast).shape(rules::broadcast_shape);
  }

  // The expanders are movement (each output element reads one input element), so they are
  // kInjective rather than kBroadcast, which passes read as "numpy-broadcasting binary".
  r.add("broadcast_axis")
      .alias("broadcast_axes")
      .unary()
      .attr(AttrSpec::int_tuple("axis").def(std::vector<int64_t>{}))
      .attr(AttrSpec::int_tuple("size").def(std::vector<int64_t>{}))
      .traits(kInjective)
      .shape(broadcast_axis_shape);

  r.add("broadcast_to")
      .unary()
      .attr(AttrSpec::int_tuple("shape").def(std::vector<int64_t>{}))
      .traits(kInjective)
      .shape(broadcast_to_shape);

  // The output takes lhs's dtype; rhs only lends its shape.
  r.add("broadcast_like")
      .binary()
      .attr(AttrSpec::int_tuple("lhs_axes").opt())
      .attr(AttrSpec::int_tuple("rhs_axes").opt())
      .traits(kInjective)
      .shape(broadcast_like_shape)
      .type([](TypeCtx& c) {
        DType t = c.in[0] != DType::unknown ? c.in[0] : c.out[0];
        if (t == DType::unknown) return false;
        if (c.out[0] != DType::unknown && c.out[0] != t)
          c.error("output dtype " + dtype_name(c.out[0]) + " vs lhs " + dtype_name(t));
        c.in[0] = c.out[0] = t;
        return true;
      });
}

}  // namespace hgc::ops
