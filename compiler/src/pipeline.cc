// The one graph pipeline (pipeline.h). Why this order: RNN expansion first, so the fused RNN's
// primitive ops are simplified, folded and fused like any others; simplification before fusion
// (optimize.cc says why within it); fusion last, because the kernel groups it forms are what
// the planner lowers.
#include "hgc/compiler/pipeline.h"

#include "hgc/compiler/compile.h"
#include "hgc/compiler/imperative.h"
#include "hgc/passes/amp.h"
#include "hgc/passes/expand_rnn.h"
#include "hgc/passes/fuse.h"
#include "hgc/passes/simplify.h"
#include "lowering.h"

namespace hgc {

bool gemm_head(const Node& n) {
  if (!n.op || !n.op->has(kGemm) || n.out_shapes.size() != 1) return false;
  const lower::Lowering* l = lower::LoweringTable::global().find(*n.op);
  return l && l->kind == lower::Kind::Library;
}

std::vector<std::unique_ptr<Pass>> compile_passes(const CompileOptions& opts, TensorMap* frozen, FuseReport* report) {
  std::vector<std::unique_ptr<Pass>> v;
  v.push_back(make_expand_rnn_pass());
  // Before simplification: the casts it inserts are CSE'd, folded into frozen weights and fused.
  if (opts.amp != DType::unknown) v.push_back(make_amp_pass(AmpOptions().target_dtype(opts.amp)));
  if (opts.optimize) {
    Evaluator eval;
    if (frozen) eval = [](const Node& n, const std::vector<HostTensor>& in) { return invoke_typed(n.op->name, n.attrs, in); };
    for (auto& p : make_optimize_passes(SimplifyOptions(), frozen, eval)) v.push_back(std::move(p));
  }
  if (opts.fuse) {
    FuseOptions fo;
    fo.fusible = fusible;
    fo.gemm_head = gemm_head;
    // Graphs whose outputs overwrite their inputs are the optimizer updates (fused_update.cc):
    // there every rule becomes one multi-output kernel over all its arrays and scalars (Adam
    // with clipping: 17 members, 14 inputs), one pass over the weights and states. Other
    // graphs keep single-output groups for now (their golden dumps and plans assume them).
    if (opts.outputs_alias_inputs) {
      fo.multi_output = true;
      fo.max_members = 32;
      fo.max_inputs = 16;
    }
    // oneDNN's bfloat16 matmul writes float32 as well (cpu only; library_bf16.h).
    if (opts.target == Target::cpu)
      fo.gemm_widens = [](const Node& n) {
        return n.op && (n.op->name == "FullyConnected" || n.op->name == "dot" || n.op->name == "batch_dot");
      };
    v.push_back(make_fuse_pass(fo, report));
  }
  return v;
}

void run_compile_passes(Graph& g, const CompileOptions& opts, TensorMap* frozen, FuseReport* report) {
  InferOptions io = variable_infer_options(g);
  PassManager pm;
  pm.add(make_infer_pass(io));
  for (auto& p : compile_passes(opts, frozen, report)) pm.add(std::move(p));
  pm.run(g);
}

}  // namespace hgc
