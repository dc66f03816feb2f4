// amp: automatic mixed precision as a graph rewrite (MXNet's amp.convert_symbol /
// convert_hybrid_block, with MXNet 1.9's bfloat16 op lists).
//
//   AmpOptions o;                        // bfloat16, AmpLists::bfloat16()
//   int casts = amp_convert(g, o);       // g re-inferred; returns the Cast nodes added
//   pm.add(make_amp_pass(o));            // or as the pipeline's "amp" pass (CompileOptions::amp)
//
// Algorithm (one sweep in node order, building the new graph as it goes):
//   - an op of `low_precision` (FullyConnected, Convolution, ...) reads every float32 input
//     cast to the target type, so it runs (and outputs) in bfloat16;
//   - an op of `fp32` (softmax, norms, losses, reductions, exp/log, ...) and every op on no
//     list reads bfloat16 inputs cast back to float32;
//   - an op of `follow` (relu, pooling, reshapes, ...) runs in the type its inputs have, the
//     wider one when they are mixed; `widest` ops (elemwise_add, broadcast_mul, ...) likewise;
//   - `conditional_fp32` entries force float32 for some attribute values (Activation softrelu);
//   - graph outputs that became bfloat16 are cast back to their float32.
// Casts are shared per value, and a bfloat16 value cast to float32 and back is read directly
// (that round trip is exact). Parameters stay float32 variables: the casts of the weights are
// in the graph, so their gradients arrive in float32 (the Trainer's master weights). Applied to
// a hybridized block's training forward and to its gradient graph alike.
#pragma once
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "hgc/base/dtype.h"
#include "hgc/ir/graph.h"
#include "hgc/passes/pass.h"

namespace hgc {

struct AmpLists {
  std::set<std::string> low_precision;  // MXNet BF16_FUNCS
  std::set<std::string> follow;         // BF16_FP32_FUNCS: dtype neutral
  std::set<std::string> fp32;           // FP32_FUNCS (ops on no list are treated the same)
  std::set<std::string> widest;         // WIDEST_TYPE_CASTS
  // (op, attribute, values) that force float32: MXNet CONDITIONAL_FP32_FUNCS.
  std::vector<std::tuple<std::string, std::string, std::vector<std::string>>> conditional_fp32;
  // Inputs that stay float32 for a low-precision or follow op (BF16_USE_FP32_PARAMS).
  std::map<std::string, std::set<std::string>> fp32_params;

  // MXNet 1.9's python/mxnet/contrib/amp/lists/symbol_bf16.py, plus hgc's gradient ops of
  // the low-precision ops and dot/batch_dot (as in PyTorch's autocast: FullyConnected's
  // gradient is two dots), and the reshape-like views as `follow` (they move bits only).
  static AmpLists bfloat16();
};

struct AmpOptions {
  DType target = DType::bf16;
  AmpLists lists = AmpLists::bfloat16();
  AmpOptions& target_dtype(DType t) { target = t; return *this; }
};

// Rewrites `g` (shapes and dtypes inferred) in place; returns the number of casts added.
// Throws hgc::Error("[amp] ...") for a target other than bfloat16/float16.
int amp_convert(Graph& g, const AmpOptions& opts);
std::unique_ptr<Pass> make_amp_pass(AmpOptions opts = {});

// amp_convert on a training trace before it is split in two graphs: nodes [0, boundary) are
// the forward, the rest its gradient; `forward_heads` are the forward's outputs, g.heads the
// gradient's. Converted apart (the pipeline's amp pass on each graph), a value both use is
// saved in float32 by the forward (a cast back) and cast to bfloat16 again by the gradient
// graph; converted together, it is cast once and the forward hands over the bfloat16 copy.
// Forward heads and g.heads keep their dtypes (cast back where they became low precision:
// the forward heads' casts inside the forward, before `boundary` in the result).
struct AmpTrainingSplit {
  std::vector<std::vector<ValueRef>> map;  // old node id -> its values in the result
  int boundary = 0;                        // the forward's end in the result
  std::vector<ValueRef> forward_heads;     // the forward heads in the result
  int casts = 0;
};
AmpTrainingSplit amp_convert_training(Graph& g, const AmpOptions& opts, int boundary,
                                      const std::vector<ValueRef>& forward_heads);

}  // namespace hgc
