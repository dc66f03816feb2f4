// The op lists of AMP (amp.h): names from MXNet 1.9's symbol_bf16.py, the parts that name ops
// hgc has or that MXNet models use; an op on no list is treated as float32.
#include "hgc/passes/amp.h"

namespace hgc {

AmpLists AmpLists::bfloat16() {
  AmpLists l;
  l.low_precision = {"Convolution", "FullyConnected",
                     // hgc: the gradient graph's GEMMs of the two above (and user dots, as autocast)
                     "dot", "batch_dot", "_hgc_conv_data_grad", "_hgc_conv_weight_grad"};
  // MXNet lists BatchNorm here (float32 statistics beside bfloat16 data); hgc's BatchNorm
  // kernel takes one element type, so it stays float32 (on no list) for now.
  l.follow = {"abs", "_add", "clip", "Concat", "concat", "LRN", "Pooling", "relu",
              "shuffle", "_shuffle", "sqrt", "square", "tanh",
              // CONDITIONAL_FP32_FUNCS' ops with their other attribute values
              "Activation", "LeakyReLU",
              // hgc: views and copies move bits only
              "Reshape", "reshape", "Flatten", "flatten", "expand_dims", "squeeze", "transpose", "SwapAxis",
              "swapaxes", "slice", "slice_axis", "_copy", "identity", "BlockGrad", "stop_gradient"};
  l.conditional_fp32 = {{"Activation", "act_type", {"softrelu"}}, {"LeakyReLU", "act_type", {"elu", "selu"}}};
  l.fp32_params = {{"BatchNorm", {"gamma", "beta", "moving_mean", "moving_var"}},
                   {"BatchNormWithReLU", {"gamma", "beta", "moving_mean", "moving_var"}}};
  l.widest = {"_Plus", "_plus", "_Minus", "_sub", "_Mul", "_Div", "_div", "_Mod", "_Not_Equal", "_Equal", "_equal",
              "_Greater", "_greater", "_Greater_Equal", "_greater_equal", "_Lesser", "_Lesser_Equal", "_lesser",
              "_lesser_equal", "_Logical_And", "_Logical_Or", "_Logical_Xor", "_logical_and", "_logical_or",
              "_logical_xor", "_maximum", "_minimum", "_minus", "_mod", "_mul", "_not_equal", "ElementWiseSum",
              "add_n", "broadcast_add", "broadcast_plus", "broadcast_div", "broadcast_equal", "broadcast_greater",
              "broadcast_greater_equal", "broadcast_lesser", "broadcast_lesser_equal", "broadcast_logical_and",
              "broadcast_logical_or", "broadcast_logical_xor", "broadcast_maximum", "broadcast_minimum",
              "broadcast_minus", "broadcast_mod", "broadcast_not_equal", "broadcast_sub", "elemwise_add",
              "elemwise_div", "elemwise_mul", "elemwise_sub", "stack", "_Maximum", "_Minimum", "where"};
  l.fp32 = {"Deconvolution", "RNN", "Cast", "cast", "Crop", "Dropout", "Embedding", "Pad", "SequenceLast",
            "SequenceMask", "SequenceReverse", "SliceChannel", "UpSampling", "_contrib_AdaptiveAvgPooling2D",
            "_contrib_BilinearResize2D", "_contrib_div_sqrt_dim", "_contrib_dequantize", "_contrib_quantize",
            "_contrib_quantize_v2", "_contrib_requantize", "argmax", "argmin", "broadcast_axis", "broadcast_like",
            "broadcast_to", "erf", "one_hot", "pick", "sigmoid", "softsign", "take", "tile", "exp", "expm1", "log",
            "log10", "log2", "log1p", "broadcast_power", "reciprocal", "_rdiv_scalar", "rsqrt", "_power",
            "_power_scalar", "_rpower_scalar", "_hypot", "sum", "sum_axis", "nansum", "prod", "nanprod", "mean",
            "norm", "softmin", "moments", "gamma", "gammaln", "SoftmaxOutput", "softmax", "Softmax", "log_softmax",
            "InstanceNorm", "LayerNorm", "GroupNorm", "L2Normalization", "SoftmaxActivation",
            "LinearRegressionOutput", "LogisticRegressionOutput", "MAERegressionOutput", "softmax_cross_entropy",
            "smooth_l1", "MakeLoss", "make_loss", "CTCLoss", "ctc_loss", "_div_scalar", "_mul_scalar",
            "_plus_scalar", "_minus_scalar", "_rminus_scalar", "_maximum_scalar", "_minimum_scalar"};
  return l;
}

}  // namespace hgc
