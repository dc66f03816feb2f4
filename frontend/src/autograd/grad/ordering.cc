// Gradient rules of the ordering family: topk's values and sort scatter the gradient back
// to the positions they took (MXNet's _backward_topk); indices and masks carry none.
#include "autograd/grad_rules.h"
#include "hgc/base/error.h"
#include "hgc/frontend/nd/op.h"
#include "nd/detail.h"

namespace hgc::grad {

using nd_detail::normalize_axis;

namespace {

// g (x's shape with the axis cut to k) added back at x's positions `idx` along the axis:
// sum over k of one_hot(idx, n) * g, the one_hot axis moved into the axis's place.
NDArray scatter_back(const NDArray& x, const NDArray& idx, const NDArray& g, const AttrView& a) {
  if (a.is_none("axis")) {
    NDArray oh = nd::one_hot(idx.reshape({-1}), x.size(), 1, 0, x.dtype());  // (k, n)
    return nd::sum(oh * g.reshape({-1, 1}), {0}).reshape(x.shape());
  }
  int ax = normalize_axis(a.i("axis"), x.ndim(), "ordering axis");
  NDArray oh = nd::one_hot(idx, x.shape()[ax], 1, 0, x.dtype());  // g's shape + (n)
  NDArray s = nd::sum(oh * g.expand_dims(g.ndim()), {ax});       // x's shape less the axis + (n)
  std::vector<int64_t> perm;
  for (int d = 0; d < x.ndim() - 1; ++d) perm.push_back(d);
  perm.insert(perm.begin() + ax, x.ndim() - 1);
  return nd::transpose(s, perm);
}

}  // namespace

void register_ordering_rules(RuleTable& t) {
  t.add("topk", [](const GradCtx& c) -> Grads {
    const std::string& ret = c.attrs.s("ret_typ");
    if (ret == "indices" || ret == "mask" || !c.og[0].defined()) return {nd::zeros_like(c.in[0])};
    AttrMap a;
    a["ret_typ"] = std::string("indices");
    a["k"] = c.attrs.i("k");
    a["is_ascend"] = c.attrs.b("is_ascend");
    if (!c.attrs.is_none("axis")) a["axis"] = c.attrs.i("axis");
    else a["axis"] = AttrValue(std::monostate{});
    NDArray idx = ret == "both" ? c.out[1] : nd::op("topk", a, {c.in[0]});
    return {scatter_back(c.in[0], idx.astype(c.in[0].dtype()), c.og[0], c.attrs)};
  });
  t.add("sort", [](const GradCtx& c) -> Grads {
    AttrMap a{{"is_ascend", c.attrs.b("is_ascend")}};
    if (!c.attrs.is_none("axis")) a["axis"] = c.attrs.i("axis");
    else a["axis"] = AttrValue(std::monostate{});
    NDArray idx = nd::op("argsort", a, {c.in[0]});
    return {scatter_back(c.in[0], idx.astype(c.in[0].dtype()), c.og[0], c.attrs)};
  });
  t.zero("argsort");
}

}  // namespace hgc::grad
