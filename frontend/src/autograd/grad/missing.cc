// The differentiable ops with no gradient rule yet, each with the reason. A backward through
// one fails quoting the reason; test_autograd_gradcheck.cc requires every registry op with
// inputs to have a finite-difference-checked rule, a zero gradient or an entry here. Keep it
// short: an entry is a debt, not a policy.
#include "autograd/grad_rules.h"

namespace hgc::grad {

void register_missing(RuleTable& t) {
  // No CPU lowering yet, so there is no forward to differentiate; the rule to add with one
  // is given.
  t.missing("erfinv", "no lowering yet; rule: g * sqrt(pi)/2 * exp(y^2)");
  t.missing("pick", "no lowering yet; rule: g at the picked position along the axis (one_hot(index) * g)");
  t.missing("tile", "no lowering yet; rule: g viewed as (reps0, x0, reps1, x1, ...) summed over the reps axes");
  t.missing("repeat", "no lowering yet; rule: g as (..., x_axis, repeats, ...) summed over the repeats axis");
  t.missing("norm", "no lowering yet (nd::norm composes sqrt(sum(x^2))); rule: g * x / y (ord 2), g * sign(x) (ord 1)");
  t.missing("nansum", "no lowering yet; rule: the expanded g where x is not NaN");
  t.missing("nanprod", "no lowering yet; rule: the expanded g * y / x where x is not NaN");
  t.missing("reverse", "no lowering yet; rule: reverse(g) over the same axes");
  t.missing("depth_to_space", "no lowering yet; rule: space_to_depth(g), the inverse permutation");
  t.missing("space_to_depth", "no lowering yet; rule: depth_to_space(g), the inverse permutation");
  t.missing("gamma", "needs digamma, which has no op yet");
  t.missing("gammaln", "needs digamma, which has no op yet");
  t.missing("gather_nd", "needs scatter_nd (a scatter-add op with a lowering)");
  t.missing("InstanceNorm", "not written yet; normalize with mean/var ops for a differentiable form");
  t.missing("GroupNorm", "not written yet; normalize with mean/var ops for a differentiable form");
  t.missing("RNN", "the fused RNN is expanded into differentiable ops (expand_rnn pass) only when compiled");
  t.missing("_backward_Pooling", "second derivatives of pooling are not supported");
  t.missing("_hgc_conv_data_grad", "a gradient op of Convolution: second derivatives of convolution are not supported");
  t.missing("_hgc_conv_weight_grad", "a gradient op of Convolution: second derivatives of convolution are not supported");
  t.missing("_hgc_fused", "a compiler kernel group, made after gradients are built; never recorded");
}

}  // namespace hgc::grad
