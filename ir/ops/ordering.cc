// The ordering ops topk, sort and argsort, with MXNet 1.9's attributes and defaults
// (src/operator/tensor/ordering_op-inl.h: TopKParam, SortParam, ArgSortParam).
//
// topk's ret_typ picks the outputs: "value" (the k values), "indices" (their positions, as
// `dtype`), "both" (values, then indices) or "mask" (data's shape, 1 at the top k). axis
// None works on the flattened data; k < 1 sorts the whole axis.
#include "families.h"
#include "nn_movement_util.h"

namespace hgc::ops {
namespace {

// The axis the op sorts along, -1 for None (the flattened data).
int sort_axis(const ShapeCtx& c, int ndim) {
  if (c.attrs.is_none("axis")) return -1;
  return util::axis(c, c.attrs.i("axis"), ndim);
}

int64_t top_count(const AttrView& a, int64_t len) {
  if (!a.op().attr_spec("k")) return len;
  int64_t k = a.i("k");
  return k < 1 || k > len ? (k > len ? -2 : len) : k;
}

// Output 0 (and 1 with ret_typ both): data's shape with the axis cut to k; the flattened
// data gives (k,). mask keeps data's shape.
bool ordering_shape(ShapeCtx& c) {
  const Shape& d = c.in[0];
  if (!d.known()) return false;
  int ax = sort_axis(c, d.ndim());
  int64_t len = ax < 0 ? util::prod(d, 0, d.ndim()) : d[ax];
  int64_t k = top_count(c.attrs, len);
  if (k == -2) c.error("k=" + std::to_string(c.attrs.i("k")) + " is larger than the axis length " + std::to_string(len));
  bool mask = c.attrs.op().attr_spec("ret_typ") && c.attrs.s("ret_typ") == "mask";
  Shape o = mask ? d : ax < 0 ? Shape{k} : util::splice(d, ax, ax + 1, {k});
  for (size_t i = 0; i < c.out.size(); ++i) c.assign_out(static_cast<int>(i), o);
  return true;
}

DType attr_dtype(const TypeCtx& c) {
  auto t = dtype_from_name(c.attrs.s("dtype"));
  if (!t) c.error("dtype " + c.attrs.s("dtype") + " is not a dtype");
  return *t;
}

void set_out(TypeCtx& c, size_t i, DType t) {
  if (c.out[i] != DType::unknown && c.out[i] != t)
    c.error("output " + std::to_string(i) + " dtype " + dtype_name(c.out[i]) + ", expected " + dtype_name(t));
  c.out[i] = t;
}

}  // namespace

void register_ordering(OpRegistry& r) {
  auto topk_outputs = [](const AttrView& a) { return a.s("ret_typ") == "both" ? 2 : 1; };
  r.add("topk")
      .unary()
      .attr(AttrSpec::integer("axis").def(int64_t(-1)).none_ok())
      .attr(AttrSpec::integer("k").def(int64_t(1)))
      .attr(AttrSpec::one_of("ret_typ", {"value", "indices", "mask", "both"}).def(std::string("indices")))
      .attr(AttrSpec::boolean("is_ascend").def(false))
      .attr(AttrSpec::one_of("dtype", {"uint8", "int32", "int64", "float16", "float32", "float64"})
                .def(std::string("float32")))
      .outputs(topk_outputs, topk_outputs)
      .output_names([](const AttrView& a) { return a.s("ret_typ") == "both" ? Names{"value", "indices"} : Names{"output"}; })
      .shape(ordering_shape)
      .type([](TypeCtx& c) {
        DType d = c.in[0];
        if (d == DType::unknown) return false;
        const std::string& rt = c.attrs.s("ret_typ");
        set_out(c, 0, rt == "indices" ? attr_dtype(c) : d);
        if (rt == "both") set_out(c, 1, attr_dtype(c));
        return true;
      });
  r.add("sort")
      .unary()
      .attr(AttrSpec::integer("axis").def(int64_t(-1)).none_ok())
      .attr(AttrSpec::boolean("is_ascend").def(true))
      .shape(ordering_shape)
      .type([](TypeCtx& c) {
        if (c.in[0] == DType::unknown) return false;
        set_out(c, 0, c.in[0]);
        return true;
      });
  r.add("argsort")
      .unary()
      .attr(AttrSpec::integer("axis").def(int64_t(-1)).none_ok())
      .attr(AttrSpec::boolean("is_ascend").def(true))
      .attr(AttrSpec::one_of("dtype", {"uint8", "int32", "int64", "float16", "float32", "float64"})
                .def(std::string("float32")))
      .shape(ordering_shape)
      .type([](TypeCtx& c) {
        if (c.in[0] == DType::unknown) return false;
        set_out(c, 0, attr_dtype(c));
        return true;
      });
}

}  // namespace hgc::ops
