// Gradient rules of the reduce family: sum, mean, prod, max/min, the softmax family
// (softmax, log_softmax, softmin, SoftmaxActivation) and argmax/argmin (zero).
#include <algorithm>

#include "autograd/grad_rules.h"
#include "hgc/base/error.h"
#include "hgc/frontend/nd/op.h"
#include "nd/detail.h"

namespace hgc::grad {

using nd_detail::call;
using nd_detail::normalize_axis;

void register_reduce_rules(RuleTable& t) {
  t.add("sum", [](const GradCtx& c) -> Grads {
    return {expand_like(c.og[0], c.in[0], reduced_axes(c.attrs, c.in[0].ndim()))};
  });
  t.add("mean", [](const GradCtx& c) -> Grads {
    std::vector<int64_t> axes = reduced_axes(c.attrs, c.in[0].ndim());
    const NDArray& x = c.in[0];
    if (!axes.empty() && x.is_symbolic() && c.og[0].is_symbolic()) {
      // Traced: the count is summed from ones over the reduced axes of a one-element-wide
      // slice of x, so a batch axis among them stays symbolic (a baked `/ n` would make the
      // gradient graph size-specific).
      NDArray one = x;
      for (int64_t d = 0; d < x.ndim(); ++d)
        if (std::find(axes.begin(), axes.end(), d) == axes.end() && x.shape()[d] != 1)
          one = one.slice_axis(static_cast<int>(d), 0, 1);
      NDArray count = nd::sum(nd::ones_like(one), axes, true);
      return {expand_like(c.og[0], x, axes) / count};
    }
    double n = 1;
    for (int64_t a : axes) n *= static_cast<double>(x.shape()[a]);
    return {expand_to(c.og[0] / n, x.shape(), axes)};
  });
  // prod: d/dx_i = prod / x_i (MXNet's rule too; undefined where x_i == 0).
  t.add("prod", [](const GradCtx& c) -> Grads {
    std::vector<int64_t> axes = reduced_axes(c.attrs, c.in[0].ndim());
    const std::vector<int64_t>& s = c.in[0].shape();
    return {expand_to(c.og[0], s, axes) * expand_to(c.out[0], s, axes) / c.in[0]};
  });
  // max/min: the gradient goes to every position equal to the extreme (MXNet does the same).
  for (const char* op : {"max", "min"})
    t.add(op, [](const GradCtx& c) -> Grads {
      std::vector<int64_t> axes = reduced_axes(c.attrs, c.in[0].ndim());
      NDArray y = expand_to(c.out[0], c.in[0].shape(), axes);
      return {expand_to(c.og[0], c.in[0].shape(), axes) * (c.in[0] == y)};
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
  for (const char* op : {"argmax", "argmin", "argmax_channel"}) t.zero(op);
  // norm: g * x / y (ord 2; 0 where y is 0), g * sign(x) (ord 1), y expanded over the axes.
  t.add("norm", [](const GradCtx& c) -> Grads {
    const NDArray& x = c.in[0];
    std::vector<int64_t> axes;
    if (!c.attrs.is_none("axis")) axes = c.attrs.tuple("axis");
    if (axes.empty())
      for (int d = 0; d < x.ndim(); ++d) axes.push_back(d);
    for (int64_t& a : axes) a = normalize_axis(a, x.ndim(), "norm axis");
    NDArray g = expand_to(c.og[0], x.shape(), axes);
    if (c.attrs.i("ord") == 1) return {g * nd::sign(x)};
    NDArray y = expand_to(c.out[0], x.shape(), axes);
    return {nd::where(y, g * x / nd::where(y, y, nd::ones_like(y)), nd::zeros_like(x))};
  });
}

}  // namespace hgc::grad
