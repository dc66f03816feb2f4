// Graph -> Executable: every node becomes a generated kernel (MLIR -> LLVM, JIT), a view of
// its input, or a library call; the kernels of one graph share one JIT module.
//
//   Graph g = load_json_file("mlp-symbol.json");
//   infer(g, {{{"data", Shape{1, 512}}}});
//   auto exe = compile(g, CompileOptions().opt(3));
//   auto out = exe->run({{"data", x}, {"dense0_weight", w0}, ...});
#pragma once
#include <map>
#include <memory>
#include <string>

#include "hgc/base/compile_options.h"
#include "hgc/ir/graph.h"
#include "hgc/runtime/executable.h"

namespace hgc {

// `g` must have inferred, fully known shapes. Inputs of the executable are the graph's
// variables in node order (data, parameters and aux states alike). Throws hgc::Error naming
// the node and op for anything that has no lowering.
std::shared_ptr<const Executable> compile(const Graph& g, const CompileOptions& opts = {});
// With frozen tensors (parameters and aux states by variable name, predict mode): they are
// baked into the executable as constants, and constant and BatchNorm folding use them; the
// executable's inputs are what remains (the data).
std::shared_ptr<const Executable> compile(const Graph& g, const CompileOptions& opts,
                                          const std::map<std::string, HostTensor>& frozen);

// What `hgc compile` builds a standalone program from: the executable compile(g, opts,
// frozen) would return, minus the machine code (each kernel step names its kernel in
// Step::kernel_name, Step::kernel is null), plus the MLIR module of those kernels and their
// names, for compile_to_object (jit.h). Nothing is JIT-compiled.
struct AotPlan {
  std::shared_ptr<Executable> exe;
  std::string mlir;
  std::vector<std::string> kernels;  // each once, in first-use order
};
AotPlan plan_aot(const Graph& g, const CompileOptions& opts, const std::map<std::string, HostTensor>& frozen);
// The same for input dims of any size: `raw` is the model's graph (its inference is redone),
// `io` its variables' shapes with Shape::kUnknownDim on the dynamic axes (`hgc compile --shape
// data=?x784`). The plan is the one at some sizes, with Executable::dynamic set: its buffer
// dims and library-call parameters as polynomials of the `?` dims (runtime/dynamic_plan.h),
// fitted over a grid of sizes and checked at one more. Throws hgc::Error("compile") naming
// what cannot follow the size (a kernel that reads a dynamic dim's value, a graph or plan whose
// structure changes with it) — those models need fixed sizes.
struct InferOptions;
AotPlan plan_aot_dynamic(const Graph& raw, const InferOptions& io, const CompileOptions& opts,
                         const std::map<std::string, HostTensor>& frozen);

// Whether a node may join a kernel group: its lowering is a generated kernel and it draws
// no random numbers (the predicate the fusion pass is given).
bool fusible(const Node& n);

// The graph compile() lowers: `g` after the compiler's own passes (fusion when enabled).
// `frozen` (may be null) is read and receives folded constants.
Graph prepare(const Graph& g, const CompileOptions& opts, struct FuseReport* report = nullptr,
              std::map<std::string, HostTensor>* frozen = nullptr);

// What `hgc dump --explain` shows: kernels before/after fusion, the groups and where fusion
// stopped, the arena without and with planning, bytes folded into constants.
struct Explanation {
  int nodes_before = 0, nodes_after = 0;
  int kernels_before = 0, kernels_after = 0, unique_kernels = 0, steps = 0;
  std::vector<std::pair<std::string, std::vector<std::string>>> groups;
  std::vector<std::pair<std::string, std::string>> borders;
  int64_t unfused_naive_arena_bytes = 0;  // the original graph, one buffer per value
  int64_t naive_arena_bytes = 0, planned_arena_bytes = 0, folded_constant_bytes = 0;
  std::string plan_table;
};
Explanation explain(const Graph& g, const CompileOptions& opts = {},
                    const std::map<std::string, HostTensor>* frozen = nullptr);

// The MLIR module compile() would JIT (for `hgc dump`/`hgc compile --emit=mlir`).
std::string emit_mlir(const Graph& g, const CompileOptions& opts = {});

}  // namespace hgc
