// Reference kernels: numpy-broadcasting binaries, the explicit expanders (broadcast_axis,
// broadcast_to, broadcast_like), where, and the reductions (sum .. nanprod, norm, argmax,
// argmin, argmax_channel). Output shapes always come from inference; these loops only map
// each output (or input) element to its partners.
#include <cmath>
#include <limits>

#include "reference/ref_kernels.h"

namespace hgc::ref {
namespace {

// out[idx] = f(lhs[idx'], rhs[idx'']) where size-1 (or missing leading) dims broadcast.
void broadcast_binary(Ctx& c, double (*f)(double, double)) {
  const Arr &l = c.in[0], &r = c.in[1];
  Arr& o = c.out[0];
  int64_t k = 0;
  for (Odometer it(o.shape); it.valid(); it.next(), ++k)
    o.v[k] = f(l.v[broadcast_offset(it.idx, l.shape)], r.v[broadcast_offset(it.idx, r.shape)]);
}

// broadcast_axis / broadcast_to / broadcast_like: input dims of size 1 repeat.
void expand(Ctx& c) {
  const Arr& x = c.in[0];
  Arr& o = c.out[0];
  if (x.ndim() != o.ndim()) c.fail("input and output ranks differ");
  int64_t k = 0;
  for (Odometer it(o.shape); it.valid(); it.next(), ++k) o.v[k] = x.v[broadcast_offset(it.idx, x.shape)];
}

// where(cond, x, y): cond has x's shape, or is 1-D and picks whole rows of x or y.
void where(Ctx& c) {
  const Arr &cond = c.in[0], &x = c.in[1], &y = c.in[2];
  Arr& o = c.out[0];
  bool rows = cond.shape != x.shape;
  if (rows && (cond.ndim() != 1 || x.ndim() < 1 || cond.shape[0] != x.shape[0]))
    c.fail("condition must have x's shape or be 1-D of length x.shape[0]");
  int64_t row = x.shape.empty() || x.shape[0] == 0 ? 1 : x.numel() / x.shape[0];
  for (int64_t i = 0; i < o.numel(); ++i) {
    double cv = rows ? cond.v[i / row] : cond.v[i];
    o.v[i] = cv != 0 ? x.v[i] : y.v[i];
  }
}

// Which input axes a sum/mean/... reduces: None or () means all, even with exclude.
std::vector<bool> reduced_axes(const Ctx& c, int ndim, bool has_exclude) {
  auto axis = c.a.opt_tuple("axis");
  bool exclude = has_exclude && c.a.b("exclude");
  std::vector<bool> red(ndim, !axis || axis->empty());
  if (axis && !axis->empty()) {
    std::vector<bool> listed(ndim, false);
    for (int64_t a : *axis) listed[c.axis(a, ndim)] = true;
    for (int d = 0; d < ndim; ++d) red[d] = listed[d] != exclude;
  }
  return red;
}

enum class Red { Sum, Mean, Max, Min, Prod, NanSum, NanProd, Norm1, Norm2 };

// Reduces c.in[0] over the chosen axes into c.out[0]. The output, with or without
// keepdims, is laid out like the input with every reduced dim set to 1, so each input
// element's destination is its broadcast offset into that kept-dims shape.
void reduce(Ctx& c, Red kind, bool has_exclude) {
  const Arr& x = c.in[0];
  Arr& o = c.out[0];
  std::vector<bool> red = reduced_axes(c, x.ndim(), has_exclude);
  Dims kept = x.shape;
  int64_t count = 1;
  for (int d = 0; d < x.ndim(); ++d)
    if (red[d]) count *= kept[d], kept[d] = 1;
  if (numel_of(kept) != o.numel()) c.fail("reduced size does not match the inferred output");

  double init = 0;
  if (kind == Red::Max) init = -std::numeric_limits<double>::infinity();
  if (kind == Red::Min) init = std::numeric_limits<double>::infinity();
  if (kind == Red::Prod || kind == Red::NanProd) init = 1;
  for (double& v : o.v) v = init;

  int64_t k = 0;
  for (Odometer it(x.shape); it.valid(); it.next(), ++k) {
    double v = x.v[k];
    double& acc = o.v[broadcast_offset(it.idx, kept)];
    switch (kind) {
      case Red::Sum:
      case Red::Mean: acc += v; break;
      case Red::Max: acc = (v > acc || std::isnan(v)) ? v : acc; break;
      case Red::Min: acc = (v < acc || std::isnan(v)) ? v : acc; break;
      case Red::Prod: acc *= v; break;
      case Red::NanSum: acc += std::isnan(v) ? 0.0 : v; break;
      case Red::NanProd: acc *= std::isnan(v) ? 1.0 : v; break;
      case Red::Norm1: acc += std::fabs(v); break;
      case Red::Norm2: acc += v * v; break;
    }
  }
  if (kind == Red::Mean)
    for (double& v : o.v) v /= static_cast<double>(count);
  if (kind == Red::Norm2)
    for (double& v : o.v) v = std::sqrt(v);
}

// argmax/argmin along one axis, or over the flattened input when `axis` is nullopt; the
// index of the first extreme is returned as a value of the output dtype (MXNet 1.x).
void arg_reduce(Ctx& c, std::optional<int64_t> axis, bool is_max) {
  const Arr& x = c.in[0];
  Arr& o = c.out[0];
  Dims flat{x.numel()};
  AxisView v(axis ? x.shape : flat, axis ? c.axis(*axis, x.ndim()) : 0);
  if (v.outer * v.inner != o.numel()) c.fail("argument reduction does not match the inferred output");
  for (int64_t a = 0; a < v.outer; ++a)
    for (int64_t i = 0; i < v.inner; ++i) {
      int64_t best = 0;
      for (int64_t j = 1; j < v.len; ++j) {
        double cand = x.v[v.at(a, j, i)], cur = x.v[v.at(a, best, i)];
        if (is_max ? cand > cur : cand < cur) best = j;
      }
      o.v[a * v.inner + i] = static_cast<double>(best);
    }
}

}  // namespace

void add_broadcast_kernels(KernelTable& t) {
  const std::map<std::string, std::string> names = {
      {"broadcast_add", "add"}, {"broadcast_sub", "sub"}, {"broadcast_mul", "mul"},
      {"broadcast_div", "div"}, {"broadcast_mod", "mod"}, {"broadcast_power", "power"},
      {"broadcast_maximum", "maximum"}, {"broadcast_minimum", "minimum"},
      {"broadcast_hypot", "hypot"}, {"broadcast_equal", "equal"},
      {"broadcast_not_equal", "not_equal"}, {"broadcast_greater", "greater"},
      {"broadcast_greater_equal", "greater_equal"}, {"broadcast_lesser", "lesser"},
      {"broadcast_lesser_equal", "lesser_equal"}, {"broadcast_logical_and", "logical_and"},
      {"broadcast_logical_or", "logical_or"}, {"broadcast_logical_xor", "logical_xor"}};
  for (const auto& [name, fn] : names) {
    auto f = binary_fns().at(fn);
    t[name] = [f](Ctx& c) { broadcast_binary(c, f); };
  }
  for (const char* name : {"broadcast_axis", "broadcast_to", "broadcast_like"}) t[name] = expand;
  t["where"] = where;

  const std::map<std::string, Red> reductions = {
      {"sum", Red::Sum}, {"mean", Red::Mean}, {"max", Red::Max}, {"min", Red::Min},
      {"prod", Red::Prod}, {"nansum", Red::NanSum}, {"nanprod", Red::NanProd}};
  for (const auto& [name, kind] : reductions) {
    Red k = kind;
    t[name] = [k](Ctx& c) { reduce(c, k, true); };
  }
  t["norm"] = [](Ctx& c) { reduce(c, c.a.i("ord") == 1 ? Red::Norm1 : Red::Norm2, false); };
  t["argmax"] = [](Ctx& c) { arg_reduce(c, c.a.opt_i("axis"), true); };
  t["argmin"] = [](Ctx& c) { arg_reduce(c, c.a.opt_i("axis"), false); };
  t["argmax_channel"] = [](Ctx& c) { arg_reduce(c, 1, true); };
}

}  // namespace hgc::ref
