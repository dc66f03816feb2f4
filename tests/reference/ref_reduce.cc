// Reference kernels of the reduce family: the reductions (sum .. nanprod, norm, argmax,
// argmin, argmax_channel) and the softmax family: softmax, log_softmax, softmin
// (temperature, use_length) and the legacy SoftmaxActivation (MXNet 1.9
// src/operator/nn/softmax-inl.h).
#include <algorithm>
#include <cmath>
#include <limits>

#include "reference/ref_kernels.h"

namespace hgc::ref {
namespace {

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

struct SoftmaxKind {
  bool negate = false;  // softmin: softmax of -x
  bool log = false;     // log_softmax
};

// Softmax of every (o, :, i) line of `x` viewed as v; lines are cut to lengths[o*inner + i]
// when given (the rest of the line is 0, as MXNet's SoftmaxWithLength writes).
void softmax_lines(const Arr& x, Arr& out, const AxisView& v, double temperature, SoftmaxKind k,
                   const Arr* lengths = nullptr) {
  for (int64_t o = 0; o < v.outer; ++o)
    for (int64_t i = 0; i < v.inner; ++i) {
      int64_t len = v.len;
      if (lengths) len = std::clamp<int64_t>(static_cast<int64_t>(lengths->v[o * v.inner + i]), 0, v.len);
      auto val = [&](int64_t j) { return (k.negate ? -x.v[v.at(o, j, i)] : x.v[v.at(o, j, i)]); };
      double mx = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < len; ++j) mx = std::max(mx, val(j));
      double sum = 0;
      for (int64_t j = 0; j < len; ++j) sum += std::exp((val(j) - mx) / temperature);
      for (int64_t j = 0; j < v.len; ++j) {
        double& y = out.v[v.at(o, j, i)];
        if (j >= len)
          y = 0;
        else if (k.log)
          y = (val(j) - mx) / temperature - std::log(sum);
        else
          y = std::exp((val(j) - mx) / temperature) / sum;
      }
    }
}

void softmax_op(Ctx& c, SoftmaxKind k) {
  const Arr& x = c.in[0];
  int axis = c.axis(c.a.i("axis"), x.ndim());
  double temperature = c.a.opt_f("temperature").value_or(1.0);
  const Arr* lengths = c.in.size() > 1 ? &c.in[1] : nullptr;
  AxisView v(x.shape, axis);
  if (lengths && lengths->numel() != v.outer * v.inner) c.fail("length does not match data");
  softmax_lines(x, c.out[0], v, temperature, k, lengths);
}

}  // namespace

// data viewed as (n, k, rest) with the softmax over k.
void softmax_3d(const Arr& x, Arr& out, int64_t n, int64_t k) {
  AxisView v(Dims{n, k, x.numel() / std::max<int64_t>(1, n * k)}, 1);
  softmax_lines(x, out, v, 1.0, {});
}

namespace {

void softmax_activation(Ctx& c) {
  const Arr& x = c.in[0];
  int64_t n = x.shape[0];
  if (c.a.s("mode") == "channel")
    softmax_3d(x, c.out[0], n, x.shape[1]);
  else
    softmax_3d(x, c.out[0], n, n == 0 ? 0 : x.numel() / n);
}

}  // namespace

void add_reduce_kernels(KernelTable& t) {
  const std::map<std::string, Red> reductions = {
      {"sum", Red::Sum}, {"mean", Red::Mean}, {"max", Red::Max}, {"min", Red::Min},
      {"prod", Red::Prod}, {"nansum", Red::NanSum}, {"nanprod", Red::NanProd}};
  for (const auto& [name, kind] : reductions) {
    Red k = kind;
    t.add(name, [k](Ctx& c) { reduce(c, k, true); });
  }
  t.add("norm", [](Ctx& c) { reduce(c, c.a.i("ord") == 1 ? Red::Norm1 : Red::Norm2, false); });
  t.add("argmax", [](Ctx& c) { arg_reduce(c, c.a.opt_i("axis"), true); });
  t.add("argmin", [](Ctx& c) { arg_reduce(c, c.a.opt_i("axis"), false); });
  t.add("argmax_channel", [](Ctx& c) { arg_reduce(c, 1, true); });
  t.add("softmax", [](Ctx& c) { softmax_op(c, {}); });
  t.add("log_softmax", [](Ctx& c) { softmax_op(c, {false, true}); });
  t.add("softmin", [](Ctx& c) { softmax_op(c, {true, false}); });
  t.add("SoftmaxActivation", softmax_activation);
}

}  // namespace hgc::ref
