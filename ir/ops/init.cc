// Tensor creation: _zeros, _ones, _full, _arange, _eye (no data inputs), zeros_like,
// ones_like and one_hot. Attributes follow MXNet 1.9 (src/operator/tensor/init_op.h,
// indexing_op.h). `ctx` only matters to imperative MXNet calls; it is kept for round trips.
#include <cmath>
#include <string>
#include <vector>

#include "families.h"

namespace hgc::ops {
namespace {

DType attr_dtype(const TypeCtx& c, const std::string& name) {
  auto t = dtype_from_name(c.attrs.s(name));
  if (!t) c.error("attribute '" + name + "' is not a dtype: " + c.attrs.s(name));
  return *t;
}

// The output dtype is the `dtype` attribute; inputs (one_hot's indices) stay free.
bool dtype_from_attr(TypeCtx& c) {
  DType t = attr_dtype(c, "dtype");
  if (c.out[0] != DType::unknown && c.out[0] != t)
    c.error("output dtype " + dtype_name(c.out[0]) + ", expected " + dtype_name(t));
  c.out[0] = t;
  return true;
}

// MXNet's InitShape in legacy (non-numpy) mode: a 0 dim is unknown and an empty shape is an
// unknown shape; a consumer may complete either (e.g. `_zeros(shape=(0, 4))` as an RNN
// begin state whose batch size comes from the data).
bool init_shape(ShapeCtx& c) {
  const auto& dims = c.attrs.tuple("shape");
  if (dims.empty()) return c.out[0].known();
  std::vector<int64_t> s;
  for (int64_t d : dims) {
    if (d < 0) c.error("shape " + format_attr(dims) + " has a negative dim");
    s.push_back(d == 0 ? Shape::kUnknownDim : d);
  }
  c.assign_out(0, Shape(s));
  return c.out[0].known();
}

// MXNet's RangeShape: ceil((stop - start) / step) * repeat elements; with stop None the
// range is [0, start) (RangeParamParser), unless infer_range leaves it to the consumers.
bool arange_shape(ShapeCtx& c) {
  double start = c.attrs.f("start"), step = c.attrs.f("step");
  std::optional<double> stop = c.attrs.opt_f("stop");
  int64_t repeat = c.attrs.i("repeat");
  if (step == 0) c.error("step must not be 0");
  if (repeat <= 0) c.error("repeat must be positive, got " + std::to_string(repeat));
  if (!stop) {
    if (c.attrs.b("infer_range")) return c.out[0].known();
    stop = start;
    start = 0;
  }
  if (step > 0 ? !(start < *stop) : !(start > *stop))
    c.error("invalid range (start, stop, step) = (" + format_attr(start) + ", " +
            format_attr(*stop) + ", " + format_attr(step) + ")");
  double n = std::ceil((*stop - start) / step) * static_cast<double>(repeat);
  if (!(n < 9e18)) c.error("range is too long");
  c.assign_out(0, Shape{static_cast<int64_t>(n)});
  return true;
}

// MXNet's InitEyeShape: (N, M) with M = 0 meaning N.
bool eye_shape(ShapeCtx& c) {
  int64_t n = c.attrs.i("N"), m = c.attrs.i("M");
  if (n < 0 || m < 0) c.error("N and M must be non-negative");
  c.assign_out(0, Shape{n, m > 0 ? m : n});
  return true;
}

// indices.shape + (depth,); unknown index dims stay unknown in the output.
bool one_hot_shape(ShapeCtx& c) {
  int64_t depth = c.attrs.i("depth");
  if (depth < 0) c.error("depth must be non-negative, got " + std::to_string(depth));
  if (!c.in[0].rank_known()) return false;
  Shape out = c.in[0];
  out.dims().push_back(depth);
  c.assign_out(0, out);
  return c.out[0].known();
}

void init_attrs(OpBuilder& b) {
  b.attr(AttrSpec::int_tuple("shape").def(std::vector<int64_t>{}))
      .attr(AttrSpec::string("ctx").def(std::string("")))
      .attr(AttrSpec::dtype("dtype").def(std::string("float32")));
}

}  // namespace

void register_init(OpRegistry& r) {
  for (const char* name : {"_zeros", "_ones"}) {
    OpBuilder b = r.add(name);
    b.inputs(Names{});
    init_attrs(b);
    b.traits(kSource).shape(init_shape).type(dtype_from_attr);
  }

  OpBuilder full = r.add("_full");
  full.inputs(Names{});
  init_attrs(full);
  full.attr(AttrSpec::real("value")).traits(kSource).shape(init_shape).type(dtype_from_attr);

  r.add("_arange")
      .inputs(Names{})
      .attr(AttrSpec::real("start"))
      .attr(AttrSpec::real("stop").opt())
      .attr(AttrSpec::real("step").def(1.0))
      .attr(AttrSpec::integer("repeat").def(int64_t(1)))
      .attr(AttrSpec::boolean("infer_range").def(false))
      .attr(AttrSpec::string("ctx").def(std::string("")))
      .attr(AttrSpec::dtype("dtype").def(std::string("float32")))
      .traits(kSource)
      .shape(arange_shape)
      .type(dtype_from_attr);

  // k shifts the diagonal; it does not change the shape.
  r.add("_eye")
      .inputs(Names{})
      .attr(AttrSpec::integer("N"))
      .attr(AttrSpec::integer("M").def(int64_t(0)))
      .attr(AttrSpec::integer("k").def(int64_t(0)))
      .attr(AttrSpec::string("ctx").def(std::string("")))
      .attr(AttrSpec::dtype("dtype").def(std::string("float32")))
      .traits(kSource)
      .shape(eye_shape)
      .type(dtype_from_attr);

  // The values ignore the input, so every output element trivially depends on "its" input
  // element: elementwise, and fusable as such.
  for (const char* name : {"zeros_like", "ones_like"})
    r.add(name).unary().traits(kElementwise).shape(rules::same_shape);

  // Indices may have any dtype (they are cast to integers); the output has `dtype`.
  r.add("one_hot")
      .inputs(Names{"indices"})
      .attr(AttrSpec::integer("depth"))
      .attr(AttrSpec::real("on_value").def(1.0))
      .attr(AttrSpec::real("off_value").def(0.0))
      .attr(AttrSpec::dtype("dtype").def(std::string("float32")))
      .shape(one_hot_shape)
      .type(dtype_from_attr);
}

}  // namespace hgc::ops
