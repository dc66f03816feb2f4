// Slicing and gathers (MXNet 1.x tensor/matrix_op-inl.h slice*, tensor/indexing_op.h take and
// gather_nd, tensor/broadcast_reduce_op.h pick). Index inputs keep their own dtype.
#include <cctype>
#include <cstdlib>
#include <optional>

#include "nn_movement_util.h"

namespace hgc::ops {
namespace {

using util::known;
using OptTuple = std::vector<std::optional<int64_t>>;

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

// slice's begin/end/step are tuples whose entries may be None ("(0, None)"). They are kept as
// strings in the schema because the shared int-tuple parser reads None as -1, a valid index.
OptTuple opt_tuple(const ShapeCtx& c, const std::string& name) {
  const std::string& text = c.attrs.s(name);
  std::string t = trim(text);
  if (!t.empty() && (t.front() == '(' || t.front() == '[')) {
    if (t.size() < 2 || t.back() != (t.front() == '(' ? ')' : ']'))
      c.error(name + "='" + text + "' is not a tuple");
    t = t.substr(1, t.size() - 2);
  }
  OptTuple out;
  if (trim(t).empty()) return out;
  size_t start = 0;
  for (size_t i = 0; i <= t.size(); ++i) {
    if (i < t.size() && t[i] != ',') continue;
    std::string p = trim(t.substr(start, i - start));
    start = i + 1;
    if (p.empty() && i == t.size() && !out.empty()) break;  // "(3,)"
    if (p == "None") {
      out.push_back(std::nullopt);
      continue;
    }
    char* end = nullptr;
    long long v = std::strtoll(p.c_str(), &end, 10);
    if (p.empty() || *end != '\0') c.error(name + "='" + text + "' is not a tuple of ints/None");
    out.push_back(v);
  }
  return out;
}

// MXNet's GetIndexRange + SetSliceOpOutputDimSize for one axis of length `len`.
int64_t slice_len(int64_t len, std::optional<int64_t> ob, std::optional<int64_t> oe, int64_t s) {
  if (!known(len)) return Shape::kUnknownDim;
  if (len == 0) return 0;
  int64_t b = ob ? *ob : (s < 0 ? len - 1 : 0);
  int64_t e = oe ? *oe : (s < 0 ? -1 : len);
  if (b < 0) b += len;
  if (e < 0 && oe) e += len;
  if (b < 0 && s > 0) b = 0;
  if (b > len - 1 && s < 0) b = len - 1;
  if (b < 0 || b > len - 1) b = -1;  // empty under this step
  e = std::min(std::max<int64_t>(e, -1), len);
  if (e == b || b < 0) return 0;
  if (s > 0) return e > b ? (e - b - 1) / s + 1 : 0;
  return e < b ? (b - e - 1) / (-s) + 1 : 0;
}

bool slice_shape(ShapeCtx& c) {
  OptTuple begin = opt_tuple(c, "begin"), end = opt_tuple(c, "end"), step = opt_tuple(c, "step");
  if (begin.size() != end.size())
    c.error("begin and end must have the same length, got " + c.attrs.s("begin") + " and " +
            c.attrs.s("end"));
  if (!step.empty() && step.size() != begin.size())
    c.error("step must have the same length as begin, got " + c.attrs.s("step"));
  const Shape& d = c.in[0];
  if (!d.rank_known()) return false;
  if (d.ndim() == 0) c.error("cannot slice a scalar");
  if (static_cast<int>(begin.size()) > d.ndim())
    c.error("begin=" + c.attrs.s("begin") + " has more entries than data " + d.str() + " has dims");
  Shape o = d;
  for (size_t i = 0; i < begin.size(); ++i) {
    int64_t s = !step.empty() && step[i] ? *step[i] : 1;
    if (s == 0) c.error("step=" + c.attrs.s("step") + " has a 0 entry");
    o[static_cast<int>(i)] = slice_len(d[static_cast<int>(i)], begin[i], end[i], s);
  }
  c.assign_out(0, o);
  return o.known();
}

bool slice_axis_shape(ShapeCtx& c) {
  const Shape& d = c.in[0];
  if (!d.rank_known()) return false;
  int ax = util::axis(c, c.attrs.i("axis"), d.ndim());
  Shape o = d;
  int64_t len = d[ax];
  if (known(len) && len > 0) {
    int64_t b = c.attrs.i("begin"), ob = b;
    std::optional<int64_t> oe = c.attrs.opt_i("end");
    int64_t e = oe ? *oe : len;
    if (b < 0) b += len;
    if (e < 0) e += len;
    if (b < 0 || e > len || b >= e)
      c.error("begin=" + std::to_string(ob) + ", end=" + (oe ? std::to_string(*oe) : "None") +
              " is not a valid range of axis " + std::to_string(ax) + " of " + d.str());
    o[ax] = e - b;
  } else if (!known(len)) {
    o[ax] = Shape::kUnknownDim;
  }
  c.assign_out(0, o);
  return o.known();
}

bool slice_like_shape(ShapeCtx& c) {
  const Shape &d = c.in[0], &like = c.in[1];
  if (!d.rank_known() || !like.rank_known()) return false;
  const auto& axes = c.attrs.tuple("axes");
  std::vector<int> which;
  if (axes.empty()) {
    if (d.ndim() != like.ndim())
      c.error("without axes, data " + d.str() + " and shape_like " + like.str() +
              " must have the same rank");
    for (int i = 0; i < d.ndim(); ++i) which.push_back(i);
  } else {
    for (int64_t a : axes) {
      int ax = util::axis(c, a, d.ndim());
      if (ax >= like.ndim())
        c.error("axis " + std::to_string(a) + " is past shape_like " + like.str());
      which.push_back(ax);
    }
  }
  Shape o = d;
  for (int ax : which) {
    if (known(d[ax]) && known(like[ax]) && like[ax] > d[ax])
      c.error("shape_like " + like.str() + " exceeds data " + d.str() + " on axis " +
              std::to_string(ax));
    o[ax] = like[ax];
  }
  c.assign_out(0, o);
  return o.known();
}

// out = a.shape[:axis] + indices.shape + a.shape[axis+1:]
bool take_shape(ShapeCtx& c) {
  const Shape &a = c.in[0], &idx = c.in[1];
  if (!a.rank_known() || !idx.rank_known()) return false;
  if (a.ndim() == 0) c.error("cannot take from a scalar");
  int ax = util::axis(c, c.attrs.i("axis"), a.ndim());
  c.assign_out(0, util::splice(a, ax, ax + 1, idx.dims()));
  return c.out[0].known();
}

// Index has data's shape with the axis removed (or kept as 1 when its rank says so).
bool pick_shape(ShapeCtx& c) {
  const Shape& d = c.in[0];
  if (!d.rank_known()) return false;
  auto a = c.attrs.opt_i("axis");
  if (!a) c.error("axis=None is not supported by pick");
  int ax = util::axis(c, *a, d.ndim());
  Shape kept = d, dropped = util::splice(d, ax, ax + 1, {});
  kept[ax] = 1;
  c.assign_out(0, c.attrs.b("keepdims") ? kept : dropped);
  bool idx_kept = c.in[1].rank_known() && c.in[1].ndim() == d.ndim();
  c.assign_in(1, idx_kept ? kept : dropped);
  return c.out[0].known();
}

// indices (M, Y...) pick M leading dims of data: out = Y... + data.shape[M:]
bool gather_nd_shape(ShapeCtx& c) {
  const Shape &d = c.in[0], &idx = c.in[1];
  if (!d.rank_known() || !idx.rank_known()) return false;
  if (idx.ndim() < 2) c.error("indices must have rank >= 2, got " + idx.str());
  int64_t m = idx[0];
  if (!known(m)) return false;
  if (m > d.ndim())
    c.error("indices " + idx.str() + " index more dims than data " + d.str() + " has");
  std::vector<int64_t> o(idx.dims().begin() + 1, idx.dims().end());
  o.insert(o.end(), d.dims().begin() + m, d.dims().end());
  c.assign_out(0, Shape(o));
  return c.out[0].known();
}

}  // namespace

void register_movement_index(OpRegistry& r) {
  r.add("slice")
      .alias("crop")
      .attr(AttrSpec::string("begin"))
      .attr(AttrSpec::string("end"))
      .attr(AttrSpec::string("step").def(std::string("()")))
      .traits(kInjective)
      .shape(slice_shape);
  r.add("slice_axis")
      .attr(AttrSpec::integer("axis"))
      .attr(AttrSpec::integer("begin"))
      .attr(AttrSpec::integer("end").none_ok())
      .traits(kInjective)
      .shape(slice_axis_shape);
  r.add("slice_like")
      .attr(AttrSpec::int_tuple("axes").def(std::vector<int64_t>{}))
      .inputs(Names{"data", "shape_like"})
      .traits(kInjective)
      .shape(slice_like_shape)
      .type(util::type_like_first);
  r.add("take")
      .attr(AttrSpec::integer("axis").def(int64_t(0)))
      .attr(AttrSpec::one_of("mode", {"raise", "wrap", "clip"}).def(std::string("clip")))
      .inputs(Names{"a", "indices"})
      .traits(kInjective)
      .shape(take_shape)
      .type(util::type_like_first);
  r.add("pick")
      .alias("choose_element_0index")
      .attr(AttrSpec::integer("axis").def(int64_t(-1)).none_ok())
      .attr(AttrSpec::boolean("keepdims").def(false))
      .attr(AttrSpec::one_of("mode", {"wrap", "clip"}).def(std::string("clip")))
      .inputs(Names{"data", "index"})
      .traits(kInjective)
      .shape(pick_shape)
      .type(util::type_like_first);
  r.add("gather_nd")
      .inputs(Names{"data", "indices"})
      .traits(kInjective)
      .shape(gather_nd_shape)
      .type(util::type_like_first);
}

}  // namespace hgc::ops
