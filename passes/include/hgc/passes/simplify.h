// Graph simplification: dead-code elimination, common-subexpression elimination, constant
// folding, algebraic simplification and BatchNorm folding, each a pass, plus a pipeline.
//
//   std::map<std::string, HostTensor> params = ...;      // name -> tensor (frozen weights)
//   Evaluator eval = [](const Node& n, const std::vector<HostTensor>& in) {
//     return invoke_typed(n.op->name, n.attrs, in);      // compiler/: the same kernels
//   };
//   optimize_graph(g, SimplifyOptions(), &params, eval);  // g is inferred and verifies again
//   auto exe = compile(g);  // bind every variable of g from `params` (+ the data inputs)
//
// or pass by pass: `pm.add(make_cse_pass());`, `hgc dump --after=cse`.
//
// Every pass requires and provides ShapesInferred (it re-infers from the variables' current
// shapes and dtypes), keeps the heads' shapes, leaves the nodes in topological order, and
// removes the nodes (and the parameter, aux-state and constant variables) that its own rewrite
// made dead; dead code that was there before is the `dce` pass's business. Graph inputs
// (variables in no parameter or aux slot) are never removed: the caller may still bind them.
//
// Tensors travel in one side table, `std::map<std::string, HostTensor>`, by variable name:
// frozen parameters go in, folded constants and folded BatchNorm weights come out. A variable
// that carries a folded value has `hidden["__const__"] == "1"` (and a `__shape__` hint) so a
// compiler or a JSON round trip knows to bind it from the table.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hgc/ir/graph.h"
#include "hgc/passes/pass.h"
#include "hgc/base/tensor.h"

namespace hgc {

using TensorMap = std::map<std::string, HostTensor>;

// Runs one node on concrete inputs (one tensor per input, in order) and returns all its
// outputs. The compiler supplies one built on invoke_typed, so folding uses the same kernels
// as compiled code. An hgc::Error it throws leaves that node unfolded.
using Evaluator = std::function<std::vector<HostTensor>(const Node&, const std::vector<HostTensor>&)>;

// ---- dce ----------------------------------------------------------------------------------
// Removes every node no head depends on. Unreachable variables go too when they are
// parameters, aux states or folded constants; graph inputs stay. Returns the nodes removed.
int dce(Graph& g);
std::unique_ptr<Pass> make_dce_pass();

// ---- cse ----------------------------------------------------------------------------------
// Merges nodes with the same op, attributes (defaults filled in) and inputs into the first
// one. Never merges variables, unknown ops, or random, stateful or aux-state ops (two Dropout
// nodes draw two masks). Returns the nodes merged away.
int cse(Graph& g);
std::unique_ptr<Pass> make_cse_pass();

// ---- constant-fold ------------------------------------------------------------------------
struct ConstantFoldOptions {
  // Variables named in the tensor map are frozen constants (predict mode). When false, only
  // source ops (_zeros, _arange, ...) and earlier folded constants are constant.
  bool fold_params = true;
  // Values larger than this are not folded (nor anything computed from them).
  std::size_t max_bytes = std::size_t{64} << 20;

  ConstantFoldOptions& params(bool on) { fold_params = on; return *this; }
  ConstantFoldOptions& max_size(std::size_t bytes) { max_bytes = bytes; return *this; }
};
struct FoldResult {
  int folded_nodes = 0;                 // op nodes evaluated away
  std::vector<std::string> constants;  // the new `<node>_const` variables (now in the map)
};
// Evaluates, at compile time, every op whose inputs are all constant and replaces each value
// that non-constant code (or a head) reads with a new variable `<node>_const` whose tensor is
// added to `tensors`. Throws hgc::Error when a frozen tensor's shape or dtype disagrees with
// its variable, or the evaluator's outputs disagree with the inferred ones.
FoldResult constant_fold(Graph& g, const Evaluator& eval, TensorMap& tensors,
                         const ConstantFoldOptions& opts = {});
// `tensors` must outlive the pass; it is read (frozen parameters) and written (constants).
std::unique_ptr<Pass> make_constant_fold_pass(Evaluator eval, TensorMap* tensors,
                                              ConstantFoldOptions opts = {});

// ---- simplify -----------------------------------------------------------------------------
struct AlgebraOptions {
  // Training mode keeps Dropout (and every other training-only op).
  bool training = false;
  AlgebraOptions& train(bool on) { training = on; return *this; }
};
// Algebraic simplification to a fixed point: neutral scalar ops (x*1, x/1, x+0, x-0), chains
// of scalar ops, transpose pairs, Reshape chains, identity reshapes/transposes, and (predict
// mode) training-only ops. Returns the number of rewrites.
int simplify(Graph& g, const AlgebraOptions& opts = {});
std::unique_ptr<Pass> make_simplify_pass(AlgebraOptions opts = {});

// ---- fold-batchnorm -----------------------------------------------------------------------
// Folds a predict-mode BatchNorm into the Convolution/FullyConnected that feeds it alone, when
// every tensor involved is in `params`: new weights `<weight>_bnfold` and bias `<bias>_bnfold`
// (created when the layer had no_bias) are added to `params`; the BatchNorm disappears.
// Returns the BatchNorms folded.
int fold_batchnorm(Graph& g, TensorMap& params);
std::unique_ptr<Pass> make_fold_batchnorm_pass(TensorMap* params);

// ---- pipeline -----------------------------------------------------------------------------
struct SimplifyOptions {
  bool dce = true, cse = true, fold_constants = true, simplify = true, fold_batchnorm = true;
  // Training mode: Dropout stays, BatchNorm uses batch statistics (no folding), parameters
  // are not frozen (only source ops are folded).
  bool training = false;

  SimplifyOptions& use_dce(bool on) { dce = on; return *this; }
  SimplifyOptions& use_cse(bool on) { cse = on; return *this; }
  SimplifyOptions& use_constant_folding(bool on) { fold_constants = on; return *this; }
  SimplifyOptions& use_simplify(bool on) { simplify = on; return *this; }
  SimplifyOptions& use_batchnorm_folding(bool on) { fold_batchnorm = on; return *this; }
  SimplifyOptions& train(bool on) { training = on; return *this; }
};

// The passes of the pipeline in order: dce, simplify, constant-fold (needs `eval` and
// `params`), fold-batchnorm (needs `params`; predict mode), cse. Disabled or impossible ones
// are left out. `params` must outlive the passes.
std::vector<std::unique_ptr<Pass>> make_optimize_passes(const SimplifyOptions& opts,
                                                        TensorMap* params, Evaluator eval);

// Re-infers `g` from its variables' current shapes, runs the pipeline with the verifier after
// every pass, and leaves `g` inferred. `params` (nullable) holds the frozen parameters and
// receives the new tensors; without it no BatchNorm is folded and nothing is constant-folded
// (folded values would have nowhere to go). `eval` (nullable) enables constant folding.
void optimize_graph(Graph& g, const SimplifyOptions& opts, TensorMap* params, Evaluator eval);

}  // namespace hgc
