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

#include "hgc/ir/graph.h"
#include "hgc/runtime/executable.h"

namespace hgc {

// Every knob of compilation, in one place (DESIGN.md: typed options, not env vars).
struct CompileOptions {
  int opt_level = 3;                 // LLVM -O level
  std::string target_cpu = "native";  // or an LLVM CPU name such as "x86-64-v3"
  bool memory_cache = true;          // reuse JIT modules of identical kernel text in-process
  // On-disk kernel cache (object code, shared by processes; see kernel_cache.h). Empty
  // cache_dir: DiskCache::global()'s folder ($HGC_CACHE_DIR, else the user's cache folder).
  bool disk_cache = true;
  bool fuse = true;                  // kernel groups (operation folding), passes/fuse.h
  bool optimize = true;              // DCE, CSE, simplification; with frozen tensors also
                                     // constant and BatchNorm folding (passes/simplify.h)
  bool plan_memory = true;           // arena reuse and in-place writes, passes/memory_plan.h
  // The caller passes output buffers that are also input buffers (an optimizer updating its
  // weights in place): kernels then compute into temporaries before writing their outputs.
  bool outputs_alias_inputs = false;
  std::string cache_dir;

  CompileOptions& opt(int level) { opt_level = level; return *this; }
  CompileOptions& cpu(std::string name) { target_cpu = std::move(name); return *this; }
  CompileOptions& cache(bool on) { memory_cache = on; return *this; }
  CompileOptions& disk(bool on) { disk_cache = on; return *this; }
  CompileOptions& fusion(bool on) { fuse = on; return *this; }
  CompileOptions& simplify(bool on) { optimize = on; return *this; }
  CompileOptions& plan(bool on) { plan_memory = on; return *this; }
  CompileOptions& aliasing(bool on) { outputs_alias_inputs = on; return *this; }
  CompileOptions& cache_folder(std::string dir) { cache_dir = std::move(dir); return *this; }
};

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
