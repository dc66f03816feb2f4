// The differentiable ops with no gradient rule yet, each with the reason. A backward through
// one fails quoting the reason; test_autograd_gradcheck.cc requires every registry op with
// inputs to have a finite-difference-checked rule, a zero gradient or an entry here. Keep it
// short: an entry is a debt, not a policy.
#include "autograd/grad_rules.h"

namespace hgc::grad {

void register_missing(RuleTable& t) {
  // No CPU lowering yet, so there is no forward to differentiate; the rule to add with one
  // is given.
  t.missing("nansum", "no lowering yet; rule: the expanded g where x is not NaN");
  t.missing("nanprod", "no lowering yet; rule: the expanded g * y / x where x is not NaN");
  t.missing("_hgc_digamma", "needs trigamma (g * psi'(x)): second derivatives of gamma/gammaln are not supported");
  t.missing("RNN", "the fused RNN is expanded into differentiable ops (expand_rnn pass) only when compiled");
  t.missing("_backward_Pooling", "second derivatives of pooling are not supported");
  t.missing("_hgc_conv_data_grad", "a gradient op of Convolution: second derivatives of convolution are not supported");
  t.missing("_hgc_conv_weight_grad", "a gradient op of Convolution: second derivatives of convolution are not supported");
  for (const char* op : {"_contrib_quantize_v2", "_contrib_dequantize", "_contrib_requantize", "_sg_mkldnn_conv",
                         "_sg_mkldnn_fully_connected", "_contrib_quantized_pooling", "_contrib_quantized_flatten",
                         "_contrib_quantized_act", "_contrib_quantized_elemwise_add", "_contrib_quantized_concat"})
    t.missing(op, "int8 inference only (MXNet gives these zero gradients; training runs in float32)");
  t.missing("_hgc_fused", "a compiler kernel group, made after gradients are built; never recorded");
}

}  // namespace hgc::grad
