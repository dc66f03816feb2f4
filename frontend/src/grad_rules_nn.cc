// Gradient rules of layers (FullyConnected, activations, softmax, Embedding, Dropout),
// matrix products, Convolution (through its two gradient ops), Deconvolution (im2col/col2im
// GEMMs), Pooling (through _backward_Pooling) and movement ops. Each is written with
// registered ops only.
#include <numeric>

#include "grad_rules.h"
#include "hgc/ir/error.h"
#include "hgc/frontend/op.h"
#include "nd_detail.h"

namespace hgc::grad {
namespace {

using nd_detail::call;
using nd_detail::normalize_axis;

NDArray reshape_to(const NDArray& g, const std::vector<int64_t>& shape) {
  return g.shape() == shape ? g : g.reshape(shape);
}

// The activation derivative shared by Activation and the unary ops, from x, y and g.
NDArray activation_grad(const std::string& act, const GradCtx& c) {
  const NDArray &x = c.in[0], &y = c.out[0], &g = c.og[0];
  if (act == "relu") return g * (x > 0.0);
  if (act == "sigmoid") return g * y * (1.0 - y);
  if (act == "tanh") return g * (1.0 - y * y);
  if (act == "softrelu") return g * nd::sigmoid(x);  // d/dx log(1 + e^x)
  if (act == "softsign") return g / nd::square(nd::abs(x) + 1.0);
  if (act == "log_sigmoid") return g * nd::sigmoid(-x);
  fail("autograd", c.def.name, ": no gradient rule for act_type '", act, "' yet");
}

void layer_rules(RuleTable& t) {
  // y = x W^T + b over x's rows (flatten: x as (N, -1); else the last axis is the feature one).
  t.add("FullyConnected", [](const GradCtx& c) -> Grads {
    const NDArray &x = c.in[0], &w = c.in[1];
    int64_t hidden = c.attrs.i("num_hidden");
    NDArray x2 = c.attrs.b("flatten") ? x.reshape({x.shape()[0], -1}) : x.reshape({-1, x.shape().back()});
    NDArray g2 = reshape_to(c.og[0], {-1, hidden});
    Grads r{reshape_to(nd::dot(g2, w), x.shape()), nd::dot(g2, x2, true, false)};
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
  auto temperature = [](const GradCtx& c) {
    if (c.attrs.op().attr_spec("use_length") && !c.attrs.is_none("use_length") && c.attrs.b("use_length"))
      fail("autograd", c.def.name, ": no gradient rule with use_length yet");
    return c.attrs.is_none("temperature") ? 1.0 : c.attrs.f("temperature");
  };
  t.add("softmax", [temperature](const GradCtx& c) -> Grads {
    int ax = normalize_axis(c.attrs.i("axis"), c.in[0].ndim(), "softmax");
    const NDArray &y = c.out[0], &g = c.og[0];
    NDArray d = y * (g - nd::sum(g * y, {ax}, true));
    double temp = temperature(c);
    return {temp == 1 ? d : d / temp};
  });
  t.add("log_softmax", [temperature](const GradCtx& c) -> Grads {
    int ax = normalize_axis(c.attrs.i("axis"), c.in[0].ndim(), "log_softmax");
    const NDArray &y = c.out[0], &g = c.og[0];
    NDArray d = g - nd::exp(y) * nd::sum(g, {ax}, true);
    double temp = temperature(c);
    return {temp == 1 ? d : d / temp};
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
}

// The window attributes (kernel, stride, dilate, pad) of a convolution, for im2col/col2im.
AttrMap window_attrs(const AttrView& a) {
  AttrMap m{{"kernel", a.tuple("kernel")}};
  for (const char* k : {"stride", "dilate", "pad"}) m[k] = a.tuple(k);
  return m;
}

// Convolution's gradients: dx and dW by the two gradient ops (im2col + one sgemm per chunk
// of images in the runtime: dcols = W^T . dy then col2im, dW = dy . cols^T summed over the
// images), db by summing dy over everything but the channel. Separate ops, so a graph that
// needs no data gradient (the first layer) drops that one.
Grads conv_grad(const GradCtx& c) {
  const NDArray &x = c.in[0], &w = c.in[1], &g = c.og[0];
  if (!c.attrs.is_none("layout") && c.attrs.s("layout")[1] != 'C')
    fail("autograd", "Convolution: gradients exist for channel-first layouts (NCW, NCHW) only");
  int nsp = x.ndim() - 2;
  if (nsp < 1 || nsp > 2) fail("autograd", "Convolution: gradients exist for 1-D and 2-D convolutions only");
  AttrMap win = window_attrs(c.attrs);
  win["num_group"] = c.attrs.i("num_group");
  NDArray dw = call("_hgc_conv_weight_grad", win, {g, x});
  win["output_size"] = std::vector<int64_t>(x.shape().begin() + 2, x.shape().end());
  Grads r{call("_hgc_conv_data_grad", win, {g, w}), dw};
  if (!c.attrs.b("no_bias")) {
    std::vector<int64_t> axes{0};
    for (int d = 0; d < nsp; ++d) axes.push_back(2 + d);
    r.push_back(nd::sum(g, axes));
  }
  return r;
}

// Deconvolution y = col2im(cols), cols[n,g] (Og*K, L) = W[g]^T (Og*K, Cg) . x[n,g] (Cg, L) with
// the weight (C, O/G, k...) and L the input positions (col2im's blocks). So with
// dcols = im2col(dy) under the same window: dx[n,g] = W[g] . dcols[n,g] and
// dW[g] = sum_n x[n,g] . dcols[n,g]^T, again one batch_dot over N*G each.
Grads deconv_grad(const GradCtx& c) {
  const NDArray &x = c.in[0], &w = c.in[1], &g = c.og[0];
  if (!c.attrs.is_none("layout") && c.attrs.s("layout")[1] != 'C')
    fail("autograd", "Deconvolution: gradients exist for channel-first layouts (NCW, NCHW) only");
  int nsp = x.ndim() - 2;
  if (nsp < 1 || nsp > 2) fail("autograd", "Deconvolution: gradients exist for 1-D and 2-D deconvolutions only");
  int64_t n = x.shape()[0], ch = x.shape()[1], o = g.shape()[1], groups = c.attrs.i("num_group");
  int64_t taps = 1, l = 1;
  for (int d = 0; d < nsp; ++d) taps *= w.shape()[2 + d], l *= x.shape()[2 + d];
  int64_t cg = ch / groups, ogk = o / groups * taps;
  AttrMap win = window_attrs(c.attrs);
  // A target_shape fixes the padding as in the forward (MXNet's InferPad).
  std::vector<int64_t> target = c.attrs.tuple("target_shape"), pad = c.attrs.tuple("pad");
  if (pad.empty()) pad.assign(nsp, 0);
  for (int d = 0; d < nsp && !target.empty(); ++d) {
    if (target[d] <= 0) continue;
    int64_t s = c.attrs.tuple("stride").empty() ? 1 : c.attrs.tuple("stride")[d];
    int64_t dl = c.attrs.tuple("dilate").empty() ? 1 : c.attrs.tuple("dilate")[d];
    pad[d] = (s * (x.shape()[2 + d] - 1) + dl * (w.shape()[2 + d] - 1) + 1 - target[d] + 1) / 2;
  }
  win["pad"] = pad;
  NDArray dcols = nd_detail::call("im2col", win, {g}).reshape({n * groups, ogk, l});
  NDArray xg = x.reshape({n * groups, cg, l});
  NDArray wg = nd::broadcast_to(w.reshape({1, groups, cg, ogk}), {n, groups, cg, ogk}).reshape({n * groups, cg, ogk});
  NDArray dx = nd::batch_dot(wg, dcols).reshape(x.shape());
  NDArray dw = nd::sum(nd::batch_dot(xg, dcols, false, true).reshape({n, ch, ogk}), {0}).reshape(w.shape());
  Grads r{dx, dw};
  if (!c.attrs.b("no_bias")) {
    std::vector<int64_t> axes{0};
    for (int d = 0; d < nsp; ++d) axes.push_back(2 + d);
    r.push_back(nd::sum(g, axes));
  }
  return r;
}

// Every attribute the forward call set or defaulted, for the backward op that takes the same.
AttrMap attrs_of(const GradCtx& c) {
  AttrMap m;
  for (const AttrSpec& a : c.def.attrs)
    if (!c.attrs.is_none(a.name)) m[a.name] = c.attrs.get(a.name);
  return m;
}

// Pooling's gradient is MXNet's _backward_Pooling op (a gather over the input windows; max
// routes each window's gradient to its first maximum, as MXNet does).
Grads pool_grad(const GradCtx& c) {
  if (c.attrs.s("pool_type") == "lp") fail("autograd", "Pooling: pool_type=lp has no gradient yet");
  return {call("_backward_Pooling", attrs_of(c), {c.og[0], c.in[0], c.out[0]})};
}

void matmul_rules(RuleTable& t) {
  t.add("Convolution", conv_grad);
  t.add("Deconvolution", deconv_grad);
  t.add("Pooling", pool_grad);
  // im2col and col2im are each other's adjoint.
  t.add("im2col", [](const GradCtx& c) -> Grads {
    AttrMap a = window_attrs(c.attrs);
    a["output_size"] = std::vector<int64_t>(c.in[0].shape().begin() + 2, c.in[0].shape().end());
    return {call("col2im", a, {c.og[0]})};
  });
  t.add("col2im", [](const GradCtx& c) -> Grads { return {call("im2col", window_attrs(c.attrs), {c.og[0]})}; });
  // C = op(A) op(B); dA and dB from g with the transposes folded into dot's flags.
  for (const char* op : {"dot", "batch_dot"}) {
    bool batch = std::string(op) == "batch_dot";
    t.add(op, [batch](const GradCtx& c) -> Grads {
      const NDArray &a = c.in[0], &b = c.in[1], &g = c.og[0];
      bool ta = c.attrs.b("transpose_a"), tb = c.attrs.b("transpose_b");
      if (!batch && (a.ndim() != 2 || b.ndim() != 2))
        fail("autograd", "dot: gradients are implemented for 2-D operands only, got ", a.ndim(), "-D and ", b.ndim(), "-D");
      auto mm = [batch](const NDArray& p, const NDArray& q, bool tp, bool tq) {
        return batch ? nd::batch_dot(p, q, tp, tq) : nd::dot(p, q, tp, tq);
      };
      NDArray da = ta ? mm(b, g, tb, true) : mm(g, b, false, !tb);
      NDArray db = tb ? mm(g, a, true, ta) : mm(a, g, !ta, false);
      return {da, db};
    });
  }
}

void movement_rules(RuleTable& t) {
  for (const char* op : {"Reshape", "_np_reshape", "Flatten", "expand_dims", "squeeze"})
    t.add(op, [](const GradCtx& c) -> Grads { return {reshape_to(c.og[0], c.in[0].shape())}; });
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
  for (const char* op : {"broadcast_to", "broadcast_axis"})
    t.add(op, [](const GradCtx& c) -> Grads { return {unbroadcast(c.og[0], c.in[0].shape())}; });
  t.add("broadcast_like", [](const GradCtx& c) -> Grads { return {unbroadcast(c.og[0], c.in[0].shape()), NDArray()}; });
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
  // The slice's gradient padded with zeros back to the input's extent, by Concat.
  t.add("slice_axis", [](const GradCtx& c) -> Grads {
    const NDArray& x = c.in[0];
    int ax = normalize_axis(c.attrs.i("axis"), x.ndim(), "slice_axis");
    int64_t n = x.shape()[ax], b = c.attrs.i("begin");
    if (b < 0) b += n;
    int64_t e = b + c.out[0].shape()[ax];
    std::vector<NDArray> parts;
    auto zeros = [&](int64_t len) {
      std::vector<int64_t> s = x.shape();
      s[ax] = len;
      return nd::zeros(s, c.og[0].dtype());
    };
    if (b > 0) parts.push_back(zeros(b));
    parts.push_back(c.og[0]);
    if (e < n) parts.push_back(zeros(n - e));
    return {parts.size() == 1 ? parts[0] : nd::concat(parts, ax)};
  });
  t.add("where", [](const GradCtx& c) -> Grads {
    NDArray z = nd::zeros_like(c.og[0]);
    return {NDArray(), nd::where(c.in[0], c.og[0], z), nd::where(c.in[0], z, c.og[0])};
  });
}

}  // namespace

void register_nn_rules(RuleTable& t) {
  layer_rules(t);
  matmul_rules(t);
  movement_rules(t);
}

}  // namespace hgc::grad
