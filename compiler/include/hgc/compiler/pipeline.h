// The graph pipeline, defined once: the passes compile(), plan_aot(), explain(), emit_mlir(),
// gpu::compile_to_ptx() and `hgc dump --after=<pass>` run, in this order:
//
//   expand-rnn      MXNet's fused RNN op as primitive ops (the compiler lowers no RNN node)
//   amp             casts for mixed precision                (passes/amp.h; with options.amp)
//   dce, simplify, constant-fold, fold-batchnorm, cse     (passes/simplify.h; with options.optimize)
//   fuse            kernel groups incl. GEMM epilogues   (passes/fuse.h; with options.fuse)
//
//   PassManager pm;
//   pm.add(make_infer_pass(io));                       // callers infer first, as they need
//   for (auto& p : compile_passes(CompileOptions(), &params)) pm.add(std::move(p));
//   pm.print_after("fuse", &std::cout).run(g);         // the groups compile() makes
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hgc/base/compile_options.h"
#include "hgc/base/tensor.h"
#include "hgc/passes/pass.h"

namespace hgc {

struct FuseReport;

// The pipeline's passes for `opts`. `frozen` (may be null: nothing is frozen) holds the
// parameters baked in as constants; it is read and receives folded constants and must
// outlive the passes. `report` (may be null) receives the fusion report.
std::vector<std::unique_ptr<Pass>> compile_passes(const CompileOptions& opts,
                                                  std::map<std::string, HostTensor>* frozen = nullptr,
                                                  FuseReport* report = nullptr);

// Runs compile_passes on `g` after re-inferring it from its variables' current shapes.
void run_compile_passes(Graph& g, const CompileOptions& opts, std::map<std::string, HostTensor>* frozen = nullptr,
                        FuseReport* report = nullptr);

}  // namespace hgc
