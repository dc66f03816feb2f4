// Gradient rules of the nn_conv family: Convolution (through its two gradient ops),
// Deconvolution (im2col/col2im GEMMs), Pooling (through _backward_Pooling), im2col/col2im.
#include "autograd/grad_rules.h"
#include "hgc/base/error.h"
#include "hgc/frontend/nd/op.h"
#include "nd/detail.h"

namespace hgc::grad {

using nd_detail::call;
using nd_detail::normalize_axis;

namespace {

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

}  // namespace

void register_nn_conv_rules(RuleTable& t) {
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
}

}  // namespace hgc::grad
