// Gradient rules of the nn family: FullyConnected, Activation, LeakyReLU, Dropout,
// Embedding, Flatten, SequenceMask and the loss heads (SoftmaxOutput, *RegressionOutput),
// whose rule is the gradient of the loss they stand for, not of their forward value.
#include "autograd/grad_rules.h"
#include "hgc/base/error.h"
#include "hgc/frontend/nd/op.h"
#include "nd/detail.h"

namespace hgc::grad {

using nd_detail::call;
using nd_detail::normalize_axis;

namespace {

// The activation derivative shared by Activation and the unary ops, from x, y and g.
NDArray activation_grad(const std::string& act, const GradCtx& c) {
  const NDArray &x = c.in[0], &y = c.out[0], &g = c.og[0];
  if (act == "relu") return g * (x > 0.0);
  if (act == "sigmoid") return g * y * (1.0 - y);
  if (act == "tanh") return g * (1.0 - y * y);
  if (act == "softrelu") return g * nd::sigmoid(x);  // d/dx log(1 + e^x)
  if (act == "softsign") return g / nd::square(nd::abs(x) + 1.0);
  if (act == "log_sigmoid") return g * nd::sigmoid(-x);
  if (act == "mish") {  // y = x tanh(softplus(x)): dy/dx = t + x (1 - t^2) sigmoid(x)
    NDArray t = nd::tanh(nd::log1p(nd::exp(x)));
    return g * (t + x * (1.0 - t * t) * nd::sigmoid(x));
  }
  fail("autograd", c.def.name, ": no gradient rule for act_type '", act, "' yet");
}

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

}  // namespace

void register_nn_rules(RuleTable& t) {
  // y = x W^T + b over x's rows (flatten: x as (N, -1); else the last axis is the feature one).
  t.add("FullyConnected", [](const GradCtx& c) -> Grads {
    const NDArray &x = c.in[0], &w = c.in[1];
    int64_t hidden = c.attrs.i("num_hidden");
    // Reshapes name no batch (or sequence) size, so that a traced gradient graph serves every
    // size of those axes (issue 19): 0 copies the input's dim, and N-D dot keeps the leading axes.
    bool flatten = c.attrs.b("flatten");
    int64_t rank = static_cast<int64_t>(x.shape().size());
    NDArray x2 = flatten ? x.reshape({0, -1}) : x.reshape({-1, x.shape().back()});
    NDArray g2 = reshape_to(c.og[0], {-1, hidden});
    NDArray dx;
    if (!flatten && rank > 2) dx = nd::dot(c.og[0], w);
    else {
      dx = nd::dot(g2, w);
      if (rank > 2) {
        std::vector<int64_t> back{0};
        back.insert(back.end(), x.shape().begin() + 1, x.shape().end());
        dx = dx.reshape(back);
      }
    }
    Grads r{dx, nd::dot(g2, x2, true, false)};
    if (!c.attrs.b("no_bias")) r.push_back(nd::sum(g2, {0}));
    return r;
  });
  t.add("Activation", [](const GradCtx& c) -> Grads { return {activation_grad(c.attrs.s("act_type"), c)}; });
  t.add("LeakyReLU", [](const GradCtx& c) -> Grads {
    const std::string& act = c.attrs.s("act_type");
    const NDArray &x = c.in[0], &g = c.og[0];
    double slope = c.attrs.f("slope");
    if (act == "leaky") {
      NDArray pos = x > 0.0;
      return {g * (pos * (1.0 - slope) + slope)};
    }
    if (act == "elu") {  // y = x (x > 0), slope (e^x - 1) else: dy/dx = y + slope on the negative side
      NDArray pos = x > 0.0;
      return {g * (pos + (1.0 - pos) * (c.out[0] + slope))};
    }
    fail("autograd", "LeakyReLU: no gradient rule for act_type '", act, "' yet (leaky and elu have one)");
  });
  // The imperative Dropout block draws its mask with ops (x * keep: taped like any product);
  // the Dropout op itself lowers to the identity (predict mode), so its gradient is too.
  t.add("Dropout", [](const GradCtx& c) -> Grads { return {c.og[0]}; });
  // Rows of the weight gathered by index: the weight gradient scatters rows back, written as
  // one_hot(indices)^T . g (no scatter-add op has a lowering).
  t.add("Embedding", [](const GradCtx& c) -> Grads {
    int64_t in_dim = c.attrs.i("input_dim"), out_dim = c.attrs.i("output_dim");
    NDArray oh = nd::one_hot(c.in[0].reshape({-1}), in_dim, 1, 0, c.og[0].dtype());
    return {NDArray(), nd::dot(oh, reshape_to(c.og[0], {-1, out_dim}), true, false)};
  });
  t.add("Flatten", [](const GradCtx& c) -> Grads { return {reshape_back(c.og[0], c.in[0])}; });
  // Masked positions were overwritten with `value`: they get no gradient.
  t.add("SequenceMask", [](const GradCtx& c) -> Grads {
    if (!c.attrs.b("use_sequence_length")) return {c.og[0]};
    AttrMap a{{"use_sequence_length", true}, {"value", 0.0}, {"axis", c.attrs.i("axis")}};
    return {call("SequenceMask", a, {c.og[0], c.in[1]}), NDArray()};
  });
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
  // count_sketch: each data element went, times s[i], to bucket h[i], so its gradient is
  // s[i] * g[..., h[i]] (zero when h[i] fell outside the buckets). As in MXNet, the hash
  // tables h and s are constants.
  t.add("_contrib_count_sketch", [](const GradCtx& c) -> Grads {
    const NDArray &h = c.in[1], &s = c.in[2], &g = c.og[0];
    int last = g.ndim() - 1;
    double k = static_cast<double>(c.attrs.i("out_dim"));
    NDArray scale = s * ((h > -1.0) * (h < k)).astype(s.dtype());
    if (scale.dtype() != g.dtype()) scale = scale.astype(g.dtype());
    return {nd::take(g, h.reshape({-1}), last) * scale, NDArray(), NDArray()};
  });
}

}  // namespace hgc::grad
