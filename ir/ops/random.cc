// Random sampling: _random_uniform/_random_normal (parameters as attributes), their _like
// forms (the shape of an input) and _sample_uniform/_sample_normal (per-element parameter
// tensors, MXNet's multisample ops). Attributes follow MXNet 1.9
// (src/operator/random/sample_op.h, multisample_op.h).
//
// Unlike MXNet, whose random ops read an implicit per-device resource, each op here takes
// one extra trailing input "seed": an int64 tensor of shape (1,) drawn from hgc's global
// generator for every call (hgc::nd::random::seed makes runs reproducible). The numbers are
// a counter-based function of (seed, element index) computed inside the kernel (see
// compiler/src/lower/random.cc), so a hybridized forward that feeds a fresh seed draws fresh
// noise each run, and re-running a graph with the same seed (the gradient graph replaying a
// forward) gives the same noise. kRandom keeps the ops out of CSE, constant folding and
// fusion; the seed is a graph input, never a constant.
#include <string>
#include <vector>

#include "families.h"

namespace hgc::ops {
namespace {

// The seed input: int64 of shape (1,).
bool seed_type(TypeCtx& c, size_t i) {
  if (c.in[i] != DType::unknown && c.in[i] != DType::i64)
    c.error("input 'seed' must be int64, got " + dtype_name(c.in[i]));
  c.in[i] = DType::i64;
  return true;
}

DType dtype_attr(const TypeCtx& c, DType none) {
  std::string s = c.attrs.s("dtype");
  if (s == "None") return none;
  auto t = dtype_from_name(s);
  if (!t || !dtype_is_float(*t)) c.error("dtype must be a float type (float16, float32, float64), got " + s);
  return *t;
}

void set_out(TypeCtx& c, DType t) {
  if (c.out[0] != DType::unknown && c.out[0] != t)
    c.error("output dtype " + dtype_name(c.out[0]) + ", expected " + dtype_name(t));
  c.out[0] = t;
}

// _random_*: the `shape` attribute (MXNet's legacy InitShape: a 0 dim is unknown).
bool shape_attr_shape(ShapeCtx& c) {
  c.assign_in(0, Shape{1});
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

// _random_*_like: the data's shape.
bool like_shape(ShapeCtx& c) {
  c.assign_in(1, Shape{1});
  if (!c.in[0].known()) return false;
  c.assign_out(0, c.in[0]);
  return true;
}

// _sample_*: the parameters' shape followed by `shape` (samples per parameter element).
bool sample_shape(ShapeCtx& c) {
  c.assign_in(2, Shape{1});
  if (c.in[0].known() && c.in[1].known() && c.in[0] != c.in[1])
    c.error("the parameter inputs must have one shape, got " + c.in[0].str() + " and " + c.in[1].str());
  const Shape& p = c.in[0].known() ? c.in[0] : c.in[1];
  if (!p.known()) return false;
  c.assign_in(0, p);
  c.assign_in(1, p);
  std::vector<int64_t> s = p.dims();
  for (int64_t d : c.attrs.tuple("shape")) {
    if (d <= 0) c.error("shape " + format_attr(c.attrs.tuple("shape")) + " must have positive dims");
    s.push_back(d);
  }
  c.assign_out(0, Shape(s));
  return true;
}

}  // namespace

void register_random(OpRegistry& r) {
  struct Dist {
    const char* name;
    const char* p0;
    double d0;
    const char* p1;
    double d1;
  };
  for (Dist d : {Dist{"uniform", "low", 0.0, "high", 1.0}, Dist{"normal", "loc", 0.0, "scale", 1.0}}) {
    std::string n = d.name;
    r.add("_random_" + n)
        .alias("random_" + n)
        .inputs(Names{"seed"})
        .attr(AttrSpec::real(d.p0).def(d.d0))
        .attr(AttrSpec::real(d.p1).def(d.d1))
        .attr(AttrSpec::int_tuple("shape").def(std::vector<int64_t>{}))
        .attr(AttrSpec::string("ctx").def(std::string("")))
        .attr(AttrSpec::string("dtype").def(std::string("None")))
        .traits(kRandom)
        .shape(shape_attr_shape)
        .type([](TypeCtx& c) {
          seed_type(c, 0);
          set_out(c, dtype_attr(c, DType::f32));
          return true;
        });
    r.add("_random_" + n + "_like")
        .alias("random_" + n + "_like")
        .inputs(Names{"data", "seed"})
        .attr(AttrSpec::real(d.p0).def(d.d0))
        .attr(AttrSpec::real(d.p1).def(d.d1))
        .traits(kRandom)
        .shape(like_shape)
        .type([](TypeCtx& c) {
          seed_type(c, 1);
          if (c.in[0] == DType::unknown) return false;
          if (!dtype_is_float(c.in[0])) c.error("data must have a float dtype, got " + dtype_name(c.in[0]));
          set_out(c, c.in[0]);
          return true;
        });
    r.add("_sample_" + n)
        .alias("sample_" + n)
        .inputs(Names{d.p0, d.p1, "seed"})
        .attr(AttrSpec::int_tuple("shape").def(std::vector<int64_t>{}))
        .attr(AttrSpec::string("dtype").def(std::string("None")))
        .traits(kRandom)
        .shape(sample_shape)
        .type([](TypeCtx& c) {
          seed_type(c, 2);
          DType p = c.in[0] != DType::unknown ? c.in[0] : c.in[1];
          if (p == DType::unknown) return false;
          if (!dtype_is_float(p)) c.error("the parameters must have a float dtype, got " + dtype_name(p));
          c.in[0] = c.in[1] = p;
          set_out(c, dtype_attr(c, p));
          return true;
        });
  }
}

}  // namespace hgc::ops
