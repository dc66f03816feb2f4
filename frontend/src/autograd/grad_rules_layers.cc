// Gradient rules of the loss heads (SoftmaxOutput, *RegressionOutput), norms in the form the
// ops compute them (LayerNorm, BatchNorm with its moving statistics, L2Normalization), the
// legacy softmaxes, take, SequenceMask and the remaining movement ops (stack, split, slice,
// slice_like). Written with registered ops.
#include <algorithm>
#include <cmath>
#include <optional>
#include <sstream>

#include "autograd/grad_rules.h"
#include "hgc/frontend/nd/op.h"
#include "hgc/base/error.h"
#include "nd/detail.h"

namespace hgc::grad {
namespace {

using nd_detail::call;
using nd_detail::normalize_axis;

std::vector<int64_t> all_but(int ndim, const std::vector<int64_t>& keep) {
  std::vector<int64_t> r;
  for (int64_t i = 0; i < ndim; ++i)
    if (std::find(keep.begin(), keep.end(), i) == keep.end()) r.push_back(i);
  return r;
}

// A per-channel vector (C,) shaped to broadcast along `axis` of a rank-`ndim` array.
NDArray along(const NDArray& v, int axis, int ndim) {
  std::vector<int64_t> s(ndim, 1);
  s[axis] = v.size();
  return v.reshape(s);
}

// `x` with zeros around it to the extent `full` along `axis`, x starting at `begin`.
NDArray pad_axis(const NDArray& x, int axis, int64_t begin, int64_t full) {
  int64_t len = x.shape()[axis];
  std::vector<NDArray> parts;
  auto zeros = [&](int64_t n) {
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

// ---- loss heads: the gradient of the loss they stand for, not of their forward value ----

// MXNet's SoftmaxOutput backward: (softmax - target) * grad_scale, target the one-hot label
// (smoothed by smooth_alpha) or the label itself when it has data's shape; use_ignore zeroes
// rows labelled ignore_label; normalization batch/valid divides by the batch or the valid
// label count. The head's own output gradient is ignored unless out_grad.
Grads softmax_output_grad(const GradCtx& c) {
  const NDArray &x = c.in[0], &label = c.in[1], &y = c.out[0];
  const AttrView& a = c.attrs;
  bool multi = a.b("multi_output");
  NDArray grad;
  NDArray mask;  // 1 for labels that count (shaped like label)
  if (!multi && label.shape() == x.shape()) {
    grad = y - label;
  } else {
    int64_t classes = multi ? x.shape()[1] : a.b("preserve_shape") ? x.shape().back() : x.size() / x.shape()[0];
    std::vector<int64_t> lshape;  // data's shape without the class axis
    if (multi) {
      lshape = x.shape();
      lshape.erase(lshape.begin() + 1);
    } else if (a.b("preserve_shape")) {
      lshape.assign(x.shape().begin(), x.shape().end() - 1);
    } else {
      lshape = {x.shape()[0]};
    }
    NDArray lab = label.reshape(lshape);
    NDArray target = nd::one_hot(lab, classes, 1, 0, x.dtype());  // (lshape..., classes)
    double alpha = a.f("smooth_alpha");
    if (alpha != 0) target = target * (1 - alpha - alpha / (classes - 1)) + alpha / (classes - 1);
    if (multi) {  // classes back to axis 1
      std::vector<int64_t> perm{0, target.ndim() - 1};
      for (int i = 1; i < target.ndim() - 1; ++i) perm.push_back(i);
      target = nd::transpose(target, perm);
    }
    grad = y - target.reshape(y.shape());
    if (a.b("use_ignore")) {
      mask = (lab != a.f("ignore_label")).astype(x.dtype());
      // Broadcast the per-label mask over the class axis of y's layout.
      std::vector<int64_t> ms(y.ndim(), 1);
      if (multi) {
        ms = y.shape();
        ms[1] = 1;
      } else if (a.b("preserve_shape")) {
        ms = y.shape();
        ms.back() = 1;
      } else {
        ms[0] = y.shape()[0];
      }
      grad = grad * mask.reshape(ms);
    } else {
      mask = nd::ones(lshape, x.dtype());
    }
  }
  const std::string& norm = a.s("normalization");
  double scale = a.f("grad_scale");
  if (norm == "batch") scale /= static_cast<double>(x.shape()[0]);
  if (a.b("out_grad")) grad = grad * c.og[0];
  if (norm == "valid" && mask.defined()) grad = grad / nd::maximum(nd::sum(mask), 1.0).reshape({1});
  return {scale == 1 ? grad : grad * scale, NDArray()};
}

void loss_rules(RuleTable& t) {
  t.add("SoftmaxOutput", softmax_output_grad);
  // (out - label) (sign of it for MAE) * grad_scale / outputs per example, as MXNet's
  // regression_output-inl.h; Logistic's out is the sigmoid.
  for (const char* op : {"LinearRegressionOutput", "LogisticRegressionOutput", "MAERegressionOutput"}) {
    bool mae = std::string(op) == "MAERegressionOutput";
    t.add(op, [mae](const GradCtx& c) -> Grads {
      const NDArray &y = c.out[0], &label = c.in[1];
      double per_example = static_cast<double>(label.size()) / static_cast<double>(label.shape()[0]);
      NDArray d = y - label.reshape(y.shape());
      if (mae) d = nd::sign(d);
      return {d * (c.attrs.f("grad_scale") / per_example), NDArray()};
    });
  }
}

// ---- norms ----

void norm_rules(RuleTable& t) {
  // y = (x - mean) / sqrt(var + eps) * gamma + beta over `axis`.
  t.add("LayerNorm", [](const GradCtx& c) -> Grads {
    const NDArray &x = c.in[0], &gamma = c.in[1], &g = c.og[0];
    int ax = normalize_axis(c.attrs.i("axis"), x.ndim(), "LayerNorm axis");
    std::vector<int64_t> red{ax}, others = all_but(x.ndim(), {ax});
    NDArray xc = x - nd::mean(x, red, true);
    NDArray rstd = nd::rsqrt(nd::mean(xc * xc, red, true) + c.attrs.f("eps"));
    NDArray xhat = xc * rstd;
    NDArray gh = g * along(gamma, ax, x.ndim());
    NDArray dx = rstd * (gh - nd::mean(gh, red, true) - xhat * nd::mean(gh * xhat, red, true));
    return {dx, nd::sum(g * xhat, others), nd::sum(g, others)};
  });
  // The op normalizes with moving_mean/moving_var (MXNet's predict mode; Gluon's BatchNorm
  // block computes batch statistics itself in training), so they are constants here.
  t.add("BatchNorm", [](const GradCtx& c) -> Grads {
    const NDArray &x = c.in[0], &g = c.og[0];
    int ax = normalize_axis(c.attrs.i("axis"), x.ndim(), "BatchNorm axis");
    std::vector<int64_t> others = all_but(x.ndim(), {ax});
    NDArray rstd = along(nd::rsqrt(c.in[4] + c.attrs.f("eps")), ax, x.ndim());
    NDArray xhat = (x - along(c.in[3], ax, x.ndim())) * rstd;
    bool fix = c.attrs.b("fix_gamma");
    NDArray scale = fix ? rstd : rstd * along(c.in[1], ax, x.ndim());
    NDArray dgamma = fix ? nd::zeros_like(c.in[1]) : nd::sum(g * xhat, others);
    return {g * scale, dgamma, nd::sum(g, others), NDArray(), NDArray()};
  });
  // y = x / n, n = sqrt(sum x^2 + eps) over the mode's axes: dx = (g - y * sum(g * y)) / n.
  t.add("L2Normalization", [](const GradCtx& c) -> Grads {
    const NDArray &x = c.in[0], &y = c.out[0], &g = c.og[0];
    const std::string& mode = c.attrs.s("mode");
    std::vector<int64_t> red;
    for (int64_t i = 1; i < x.ndim(); ++i)
      if (mode == "instance" || (mode == "channel" && i == 1) || (mode == "spatial" && i > 1)) red.push_back(i);
    NDArray n = nd::sqrt(nd::sum(x * x, red, true) + c.attrs.f("eps"));
    return {(g - y * nd::sum(g * y, red, true)) / n};
  });
  auto softmax_back = [](const NDArray& y, const NDArray& g, const std::vector<int64_t>& axes) {
    return y * (g - nd::sum(g * y, axes, true));
  };
  t.add("softmin", [softmax_back](const GradCtx& c) -> Grads {
    if (c.attrs.op().attr_spec("use_length") && !c.attrs.is_none("use_length") && c.attrs.b("use_length"))
      fail("autograd", "softmin: no gradient rule with use_length yet");
    int ax = normalize_axis(c.attrs.i("axis"), c.in[0].ndim(), "softmin");
    double temp = c.attrs.is_none("temperature") ? 1.0 : c.attrs.f("temperature");
    return {softmax_back(c.out[0], c.og[0], {ax}) * (-1.0 / temp)};
  });
  t.add("SoftmaxActivation", [softmax_back](const GradCtx& c) -> Grads {
    int nd = c.in[0].ndim();
    std::vector<int64_t> axes = c.attrs.s("mode") == "channel" ? std::vector<int64_t>{1} : all_but(nd, {0});
    if (nd == 1) axes = {0};
    return {softmax_back(c.out[0], c.og[0], axes)};
  });
}

// ---- gathers and masks ----

void gather_rules(RuleTable& t) {
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
  // Masked positions were overwritten with `value`: they get no gradient.
  t.add("SequenceMask", [](const GradCtx& c) -> Grads {
    if (!c.attrs.b("use_sequence_length")) return {c.og[0]};
    AttrMap a{{"use_sequence_length", true}, {"value", 0.0}, {"axis", c.attrs.i("axis")}};
    return {call("SequenceMask", a, {c.og[0], c.in[1]}), NDArray()};
  });
}

// ---- movement ----

void movement_more_rules(RuleTable& t) {
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
}

}  // namespace

void register_layer_rules(RuleTable& t) {
  loss_rules(t);
  norm_rules(t);
  gather_rules(t);
  movement_more_rules(t);
}

}  // namespace hgc::grad
