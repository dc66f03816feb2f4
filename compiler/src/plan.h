// Graph -> Executable steps (compiler-internal): every node of a prepared graph becomes a
// buffer set and a step (a generated kernel, a view, a library call, or a GEMM with its
// fused epilogue), then the memory planner lays the intermediates out in one arena.
//
//   Plan p = plan_steps(prepared, StepPlanOptions::from(opts).with_frozen(&tensors));
//   p.module     // the MLIR text of the distinct kernels ("k0", "k1", ...)
//   p.exe        // steps and buffers; kernels are bound by the caller after the JIT
#pragma once
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "hgc/base/compile_options.h"
#include "hgc/base/tensor.h"
#include "hgc/ir/graph.h"
#include "hgc/runtime/executable.h"

namespace hgc {

struct Plan {
  std::shared_ptr<Executable> exe = std::make_shared<Executable>();
  std::string module;
  std::vector<std::pair<size_t, std::string>> kernel_steps;  // step index, kernel name
  std::unordered_map<std::string, std::string> unique;       // kernel text -> kernel name
  std::string plan_table;                                    // the arena layout, for explain()
  // With StepPlanOptions::symbolic: kernels that kept the concrete shapes (their lowering
  // reads a symbolic dim's value), so their text changes with the size.
  std::vector<std::string> specialized;
};

struct StepPlanOptions {
  // Kernel text and layout only (AOT, explain, emit_mlir): library calls get no handle.
  bool module_only = false;
  // Arena with reuse and in-place writes; else one block per buffer (explain's baseline).
  bool reuse_memory = true;
  // Tensors baked into the executable as constants, by variable name (may be null).
  const std::map<std::string, HostTensor>* frozen = nullptr;
  // The GPU path: every kernel with the graph's shapes, nothing split across cores.
  bool static_shapes = false;
  // The caller's output buffers may be its input buffers (CompileOptions::outputs_alias_inputs).
  bool aliasing = false;
  // The same prepared graph with symbolic dims (ids <= -2; compiler/include/hgc/compiler/
  // dynamic.h): kernels are written over it where their lowering allows, so their text is the
  // same for every size (may be null: every kernel with the graph's shapes).
  const Graph* symbolic = nullptr;

  static StepPlanOptions from(const CompileOptions& o) {
    StepPlanOptions s;
    s.reuse_memory = o.plan_memory;
    s.aliasing = o.outputs_alias_inputs;
    return s;
  }
  StepPlanOptions& only_module(bool on) { module_only = on; return *this; }
  StepPlanOptions& reuse(bool on) { reuse_memory = on; return *this; }
  StepPlanOptions& with_frozen(const std::map<std::string, HostTensor>* f) { frozen = f; return *this; }
  StepPlanOptions& static_kernels(bool on) { static_shapes = on; return *this; }
  StepPlanOptions& with_symbolic(const Graph* g) { symbolic = g; return *this; }
};

class JitModule;
// The JIT module of `text` through the in-memory and disk caches (compile.cc).
std::shared_ptr<JitModule> jit_module_cached(const std::string& text, const std::vector<std::string>& kernels,
                                             const CompileOptions& o);

// `g` must have inferred, fully known shapes (prepare() has run).
Plan plan_steps(const Graph& g, const StepPlanOptions& opts);

}  // namespace hgc
