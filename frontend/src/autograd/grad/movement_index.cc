// Gradient rules of the movement_index family: slices pad the gradient back with zeros,
// take scatters it back as one_hot(indices)^T . g.
#include <algorithm>
#include <optional>
#include <sstream>

#include "autograd/grad_rules.h"
#include "hgc/base/error.h"
#include "hgc/frontend/nd/op.h"
#include "nd/detail.h"

namespace hgc::grad {

using nd_detail::call;
using nd_detail::normalize_axis;

namespace {

// `x` with zeros around it to the extent `full` along `axis`, x starting at `begin`.
NDArray pad_axis(const NDArray& x, int axis, int64_t begin, int64_t full) {
  int64_t len = x.shape()[axis];
  std::vector<NDArray> parts;
  auto zeros = [&](int64_t n) {
    // Traced: zeros_like of (a broadcast of) a slice of x, so no size of the other axes,
    // the batch among them, is baked into a constant.
    if (x.is_symbolic() && n <= len) return nd::zeros_like(x.slice_axis(axis, 0, n));
    if (x.is_symbolic() && len > 0)
      return nd::op("broadcast_axis", {{"axis", std::vector<int64_t>{axis}}, {"size", std::vector<int64_t>{n}}},
                    {nd::zeros_like(x.slice_axis(axis, 0, 1))});
    std::vector<int64_t> s = x.shape();
    s[axis] = n;
    return nd::zeros(s, x.dtype());
  };
  if (begin > 0) parts.push_back(zeros(begin));
  parts.push_back(x);
  if (begin + len < full) parts.push_back(zeros(full - begin - len));
  return parts.size() == 1 ? x : nd::concat(parts, axis);
}

// slice's begin/step strings, "(1, None)" -> {1, nullopt} (the op keeps them as text).
std::vector<std::optional<int64_t>> int_or_none_tuple(std::string t) {
  std::vector<std::optional<int64_t>> r;
  for (char& ch : t)
    if (ch == '(' || ch == ')' || ch == '[' || ch == ']' || ch == ',') ch = ' ';
  std::istringstream in(t);
  for (std::string w; in >> w;) r.push_back(w == "None" ? std::nullopt : std::optional<int64_t>(std::stoll(w)));
  return r;
}

}  // namespace

void register_movement_index_rules(RuleTable& t) {
  // The slice's gradient padded with zeros back to the input's extent, by Concat.
  t.add("slice_axis", [](const GradCtx& c) -> Grads {
    const NDArray& x = c.in[0];
    int ax = normalize_axis(c.attrs.i("axis"), x.ndim(), "slice_axis");
    int64_t n = x.shape()[ax], b = c.attrs.i("begin");
    if (b < 0) b += n;
    int64_t e = b + c.out[0].shape()[ax];
    std::vector<NDArray> parts;
    auto zeros = [&](int64_t len) {
      // Traced: zeros_like of a slice (of the output gradient where it is long enough, else
      // of x), so the other axes' sizes, the batch among them, are not baked into a constant.
      const NDArray& g = c.og[0];
      if (g.is_symbolic() && len <= g.shape()[ax]) return nd::zeros_like(g.slice_axis(ax, 0, len));
      if (x.is_symbolic()) return nd::zeros_like(x.slice_axis(ax, 0, len));
      std::vector<int64_t> s = x.shape();
      s[ax] = len;
      return nd::zeros(s, c.og[0].dtype());
    };
    if (b > 0) parts.push_back(zeros(b));
    parts.push_back(c.og[0]);
    if (e < n) parts.push_back(zeros(n - e));
    return {parts.size() == 1 ? parts[0] : nd::concat(parts, ax)};
  });
  // slice with unit steps: g padded with zeros back to x's extent, axis by axis.
  t.add("slice", [](const GradCtx& c) -> Grads {
    const NDArray& x = c.in[0];
    std::vector<std::optional<int64_t>> begin = int_or_none_tuple(c.attrs.s("begin"));
    for (const auto& s : int_or_none_tuple(c.attrs.is_none("step") ? "()" : c.attrs.s("step")))
      if (s && *s != 1) fail("autograd", "slice: gradients exist for unit steps only (use slice_axis)");
    NDArray g = c.og[0];
    for (int d = 0; d < x.ndim(); ++d) {
      int64_t n = x.shape()[d], b = d < static_cast<int>(begin.size()) ? begin[d].value_or(0) : 0;
      if (b < 0) b = std::max<int64_t>(b + n, 0);
      if (g.shape()[d] != n) g = pad_axis(g, d, b, n);
    }
    return {g};
  });
  // slice_like cuts x to the start of like's extent on the chosen axes; like gets nothing.
  t.add("slice_like", [](const GradCtx& c) -> Grads {
    const NDArray& x = c.in[0];
    NDArray g = c.og[0];
    for (int d = 0; d < x.ndim(); ++d)
      if (g.shape()[d] != x.shape()[d]) g = pad_axis(g, d, 0, x.shape()[d]);
    return {g, NDArray()};
  });
  // Rows scattered back as one_hot(indices)^T . g along the taken axis (moved to the front).
  t.add("take", [](const GradCtx& c) -> Grads {
    const NDArray &a = c.in[0], &idx = c.in[1];
    int ax = normalize_axis(c.attrs.i("axis"), a.ndim(), "take axis");
    int64_t n = a.shape()[ax];
    NDArray i = idx.reshape({-1}).astype(a.dtype());
    if (c.attrs.s("mode") == "wrap") i = i - nd::floor(i / double(n)) * double(n);
    else i = nd::clip(i, 0, double(n - 1));
    // g: a's shape with axis ax replaced by idx's shape; bring those dims to the front.
    std::vector<int64_t> gs = c.og[0].shape();
    int k = idx.ndim();
    std::vector<int64_t> perm;
    for (int d = ax; d < ax + k; ++d) perm.push_back(d);
    for (int d = 0; d < static_cast<int>(gs.size()); ++d)
      if (d < ax || d >= ax + k) perm.push_back(d);
    NDArray g2 = nd::transpose(c.og[0], perm).reshape({i.size(), -1});
    NDArray rows = nd::dot(nd::one_hot(i, n, 1, 0, a.dtype()), g2, true, false);  // (n, rest)
    std::vector<int64_t> moved{n};
    for (int d = 0; d < a.ndim(); ++d)
      if (d != ax) moved.push_back(a.shape()[d]);
    NDArray r = rows.reshape(moved);
    std::vector<int64_t> back;
    for (int d = 1; d <= ax; ++d) back.push_back(d);
    back.insert(back.begin() + ax, 0);
    for (int d = ax + 1; d < a.ndim(); ++d) back.push_back(d);
    return {ax == 0 ? r : nd::transpose(r, back), NDArray()};
  });
  // pick: g scattered to the picked position along the axis: one_hot(index) * g.
  t.add("pick", [](const GradCtx& c) -> Grads {
    const NDArray &x = c.in[0], &idx = c.in[1];
    if (c.attrs.is_none("axis")) fail("autograd", "pick: gradients need an axis");
    int ax = normalize_axis(c.attrs.i("axis"), x.ndim(), "pick axis");
    int64_t n = x.shape()[ax];
    NDArray i = idx.astype(x.dtype());
    if (c.attrs.s("mode") == "wrap") i = i - nd::floor(i / double(n)) * double(n);
    else i = nd::clip(i, 0, double(n - 1));
    std::vector<int64_t> kept = x.shape();  // x's shape with the axis as 1
    kept[ax] = 1;
    NDArray oh = nd::one_hot(i.reshape(kept), n, 1, 0, x.dtype());  // kept + (n)
    // Move the one_hot axis into the axis's place (the kept size-1 axis drops out).
    std::vector<int64_t> perm;
    for (int d = 0; d < x.ndim(); ++d) perm.push_back(d == ax ? x.ndim() : d);
    perm.push_back(ax);
    NDArray mask = nd::transpose(oh, perm).reshape(x.shape());
    return {mask * c.og[0].reshape(kept), NDArray()};
  });
  // gather_nd: the M index rows made one flat index into data's first M dims, then the rows
  // of g scattered back as one_hot(flat)^T . g (as take's).
  t.add("gather_nd", [](const GradCtx& c) -> Grads {
    const NDArray &x = c.in[0], &idx = c.in[1];
    int64_t m = idx.shape()[0], y = idx.size() / std::max<int64_t>(1, m), lead = 1, rest = 1;
    for (int d = 0; d < x.ndim(); ++d) (d < m ? lead : rest) *= x.shape()[d];
    NDArray rows = idx.astype(x.dtype()).reshape({m, y});
    NDArray flat = nd::zeros({y}, x.dtype());
    for (int64_t d = 0; d < m; ++d) {
      double dim = double(x.shape()[d]);
      NDArray r = rows.slice_axis(0, d, d + 1).reshape({y});
      r = r - nd::floor(r / dim) * dim;  // negative indices count from the end
      flat = flat * dim + r;
    }
    NDArray g2 = c.og[0].reshape({y, rest});
    NDArray back = nd::dot(nd::one_hot(flat, lead, 1, 0, x.dtype()), g2, true, false);  // (lead, rest)
    return {back.reshape(x.shape()), NDArray()};
  });
}

}  // namespace hgc::grad
