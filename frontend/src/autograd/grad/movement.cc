// Gradient rules of the movement family: reshapes, transposes, joins and splits move the
// gradient back the inverse way; shape_array/size_array have none.
#include "autograd/grad_rules.h"
#include "hgc/base/error.h"
#include "hgc/frontend/nd/op.h"
#include "nd/detail.h"

namespace hgc::grad {

using nd_detail::call;
using nd_detail::normalize_axis;

void register_movement_rules(RuleTable& t) {
  // Traced (a compiled gradient graph): reshape_like reads the shape off the input, so no
  // size is baked into the graph (dynamic axes).
  for (const char* op : {"Reshape", "_np_reshape", "expand_dims", "squeeze", "reshape_like"})
    t.add(op, [](const GradCtx& c) -> Grads {
      Grads r{reshape_back(c.og[0], c.in[0])};
      if (c.in.size() > 1) r.push_back(NDArray());  // reshape_like's rhs only lends its shape
      return r;
    });
  t.add("transpose", [](const GradCtx& c) -> Grads {
    std::vector<int64_t> axes = c.attrs.is_none("axes") ? std::vector<int64_t>{} : c.attrs.tuple("axes");
    if (axes.empty()) return {nd::transpose(c.og[0])};  // reversal is its own inverse
    std::vector<int64_t> inv(axes.size());
    for (size_t i = 0; i < axes.size(); ++i) inv[normalize_axis(axes[i], c.in[0].ndim(), "transpose")] = int64_t(i);
    return {nd::transpose(c.og[0], inv)};
  });
  t.add("SwapAxis", [](const GradCtx& c) -> Grads {
    return {nd::swapaxes(c.og[0], int(c.attrs.i("dim1")), int(c.attrs.i("dim2")))};
  });
  t.add("Concat", [](const GradCtx& c) -> Grads {
    int ax = normalize_axis(c.attrs.i("dim"), c.in[0].ndim(), "Concat");
    Grads r;
    int64_t off = 0;
    for (const NDArray& x : c.in) {
      r.push_back(c.og[0].slice_axis(ax, off, off + x.shape()[ax]));
      off += x.shape()[ax];
    }
    return r;
  });
  t.add("stack", [](const GradCtx& c) -> Grads {
    int ax = normalize_axis(c.attrs.i("axis"), c.og[0].ndim(), "stack axis");
    Grads r;
    for (size_t k = 0; k < c.in.size(); ++k)
      r.push_back(c.og[0].slice_axis(ax, int64_t(k), int64_t(k) + 1).reshape(c.in[k].shape()));
    return r;
  });
  // The output gradients joined back; outputs without one contribute zeros.
  t.add("SliceChannel", [](const GradCtx& c) -> Grads {
    const NDArray& x = c.in[0];
    int ax = normalize_axis(c.attrs.i("axis"), x.ndim(), "SliceChannel axis");
    int64_t k = c.attrs.i("num_outputs");
    std::vector<int64_t> part = x.shape();
    part[ax] /= k;
    std::vector<NDArray> parts;
    for (int64_t i = 0; i < k; ++i) {
      const NDArray* g = static_cast<size_t>(i) < c.og.size() && c.og[i].defined() ? &c.og[i] : nullptr;
      parts.push_back(g ? g->reshape(part) : nd::zeros(part, x.dtype()));
    }
    return {parts.size() == 1 ? parts[0] : nd::concat(parts, ax)};
  });
  for (const char* op : {"shape_array", "size_array"}) t.zero(op);
  // tile: g seen as (reps0, x0, reps1, x1, ...) (x right-aligned with reps) summed over
  // the reps axes.
  t.add("tile", [](const GradCtx& c) -> Grads {
    const std::vector<int64_t>& xs = c.in[0].shape();
    const std::vector<int64_t>& os = c.og[0].shape();
    int n = static_cast<int>(os.size()), r = static_cast<int>(xs.size());
    std::vector<int64_t> split, red;
    for (int j = 0; j < n; ++j) {
      int64_t x = j >= n - r ? xs[j - (n - r)] : 1;
      int64_t reps = x == 0 ? 0 : os[j] / x;
      red.push_back(static_cast<int64_t>(split.size()));
      split.push_back(reps);
      split.push_back(x);
    }
    return {nd::sum(c.og[0].reshape(split), red).reshape(xs)};
  });
  // repeat: g seen as (..., x_axis, repeats, ...) summed over the repeats axis.
  t.add("repeat", [](const GradCtx& c) -> Grads {
    const std::vector<int64_t>& xs = c.in[0].shape();
    int64_t reps = c.attrs.i("repeats");
    if (reps == 0) return {nd::zeros(xs, c.in[0].dtype())};
    std::vector<int64_t> split;
    int64_t at;
    if (auto ax = c.attrs.opt_i("axis")) {
      int a = normalize_axis(*ax, c.in[0].ndim(), "repeat axis");
      split = xs;
      split.insert(split.begin() + a + 1, reps);
      at = a + 1;
    } else {
      split = {c.in[0].size(), reps};
      at = 1;
    }
    return {nd::sum(c.og[0].reshape(split), {at}).reshape(xs)};
  });
  t.add("reverse", [](const GradCtx& c) -> Grads {
    return {nd::op("reverse", {{"axis", c.attrs.tuple("axis")}}, {c.og[0]})};
  });
  t.add("depth_to_space", [](const GradCtx& c) -> Grads {
    return {nd::op("space_to_depth", {{"block_size", c.attrs.i("block_size")}}, {c.og[0]})};
  });
  t.add("space_to_depth", [](const GradCtx& c) -> Grads {
    return {nd::op("depth_to_space", {{"block_size", c.attrs.i("block_size")}}, {c.og[0]})};
  });
}

}  // namespace hgc::grad
