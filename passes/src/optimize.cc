// The simplification pipeline (optimize_graph) and its pass list.
//
// Order, and why:
//  1. dce             drop dead code first, so no later pass spends work on it;
//  2. simplify        remove Dropout (predict mode), neutral scalars, transposes and reshapes,
//                     which exposes more constant subgraphs and conv -> BatchNorm pairs;
//  3. constant-fold   evaluate constant subgraphs (source ops; frozen parameters in
//                     predict mode) through the evaluator;
//  4. fold-batchnorm  fold predict-mode BatchNorms into their Convolution/FullyConnected;
//  5. cse             merge what is now identical (after folding, more nodes compare equal).
// optimize_graph re-infers first (from the variables' current shapes) and runs the list with
// the verifier after every pass; each pass re-infers and keeps the heads' shapes.
#include "hgc/passes/simplify.h"

namespace hgc {

std::vector<std::unique_ptr<Pass>> make_optimize_passes(const SimplifyOptions& opts, TensorMap* params,
                                                        Evaluator eval) {
  std::vector<std::unique_ptr<Pass>> v;
  if (opts.dce) v.push_back(make_dce_pass());
  if (opts.simplify) v.push_back(make_simplify_pass(AlgebraOptions().train(opts.training)));
  if (opts.fold_constants && eval && params)
    v.push_back(make_constant_fold_pass(std::move(eval), params,
                                        ConstantFoldOptions().params(!opts.training)));
  if (opts.fold_batchnorm && params && !opts.training) v.push_back(make_fold_batchnorm_pass(params));
  if (opts.cse) v.push_back(make_cse_pass());
  return v;
}

void optimize_graph(Graph& g, const SimplifyOptions& opts, TensorMap* params, Evaluator eval) {
  InferOptions io = variable_infer_options(g);
  PassManager pm;
  pm.add(make_infer_pass(io));
  for (auto& p : make_optimize_passes(opts, params, std::move(eval))) pm.add(std::move(p));
  pm.run(g);
}

}  // namespace hgc
