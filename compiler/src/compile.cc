// Graph -> Executable. One buffer per value, one step per node, one JIT module for all
// kernels of the graph; the intermediates share one arena laid out by the memory planner.
#include "hgc/compiler/compile.h"

#include <algorithm>
#include <functional>
#include <map>
#include <mutex>
#include <unordered_map>

#include "hgc/compiler/gpu.h"
#include "hgc/compiler/jit.h"
#include "hgc/compiler/kernel_cache.h"
#include "hgc/base/error.h"
#include "hgc/passes/fuse.h"
#include "hgc/compiler/imperative.h"
#include "hgc/passes/memory_plan.h"
#include "hgc/passes/simplify.h"
#include "hgc/compiler/pipeline.h"
#include "lowering.h"
#include "plan.h"

namespace hgc {
namespace {

using lower::Dims;

}  // namespace

// JIT modules by (options, module text): a graph compiled twice in one process reuses code.
// Behind it, the disk cache (compile_kernels): a graph compiled by an earlier process loads
// its object code instead of compiling it.
std::shared_ptr<JitModule> jit_module_cached(const std::string& text, const std::vector<std::string>& kernels,
                                      const CompileOptions& o) {
  static std::mutex mu;
  static std::unordered_map<std::string, std::weak_ptr<JitModule>> cache;
  // Prebuilt modules (compile_kernels) and JIT'ed ones kept apart when prebuilt ones are off.
  std::string key = std::to_string(o.opt_level) + "|" + o.target_cpu + (prebuilt_kernels_enabled() ? "|" : "|jit|") + text;
  if (o.memory_cache) {
    std::lock_guard<std::mutex> lock(mu);
    if (auto it = cache.find(key); it != cache.end())
      if (auto m = it->second.lock()) return m;
  }
  auto m = compile_kernels(text, kernels, o);
  if (o.memory_cache) {
    std::lock_guard<std::mutex> lock(mu);
    cache[key] = m;
  }
  return m;
}

namespace {
std::shared_ptr<JitModule> jit_cached(const std::string& text, const std::vector<std::string>& kernels,
                                      const CompileOptions& o) {
  return jit_module_cached(text, kernels, o);
}
}  // namespace

bool fusible(const Node& n) {
  if (!n.op || n.op->has(kRandom)) return false;
  const lower::Lowering* l = lower::LoweringTable::global().find(*n.op);
  return l && l->kind == lower::Kind::Kernel;
}

Graph prepare(const Graph& g, const CompileOptions& opts, FuseReport* report, TensorMap* frozen) {
  Graph out = g;
  run_compile_passes(out, opts, frozen, report);
  return out;
}

namespace {

// Each kernel of the module once, in first-use order.
std::vector<std::string> kernel_names(const Plan& p) {
  std::vector<std::string> kernels;
  for (const auto& [step, name] : p.kernel_steps)
    if (std::find(kernels.begin(), kernels.end(), name) == kernels.end()) kernels.push_back(name);
  return kernels;
}

// Variables the optimizer removed or baked in may still be passed by name: ignored.
void note_ignored_inputs(const Graph& original, Executable& e) {
  for (int id : original.variable_ids())
    if (e.input_index(original.nodes[id].name) < 0) e.ignored_inputs.insert(original.nodes[id].name);
}

std::shared_ptr<const Executable> finish(const Graph& original, Plan p, const CompileOptions& opts) {
  if (!p.module.empty()) {
    auto jm = jit_cached(p.module, kernel_names(p), opts);
    for (const auto& [step, name] : p.kernel_steps) p.exe->steps[step].kernel = jm->lookup(name);
    p.exe->code = jm;
  }
  note_ignored_inputs(original, *p.exe);
  return p.exe;
}

}  // namespace

std::shared_ptr<const Executable> compile(const Graph& graph, const CompileOptions& opts) {
  Graph g = prepare(graph, opts);
  return finish(graph, plan_steps(g, StepPlanOptions::from(opts)), opts);
}

std::shared_ptr<const Executable> compile(const Graph& graph, const CompileOptions& opts, const TensorMap& frozen) {
  TensorMap tensors = frozen;
  Graph g = prepare(graph, opts, nullptr, &tensors);
  return finish(graph, plan_steps(g, StepPlanOptions::from(opts).with_frozen(&tensors)), opts);
}

AotPlan plan_aot(const Graph& graph, const CompileOptions& opts, const TensorMap& frozen) {
  TensorMap tensors = frozen;
  Graph g = prepare(graph, opts, nullptr, &tensors);
  Plan p = plan_steps(g, StepPlanOptions::from(opts).with_frozen(&tensors));
  note_ignored_inputs(graph, *p.exe);
  return {p.exe, p.module, kernel_names(p)};
}

Explanation explain(const Graph& graph, const CompileOptions& opts, const TensorMap* frozen) {
  Explanation x;
  x.nodes_before = static_cast<int>(graph.nodes.size());
  TensorMap tensors = frozen ? *frozen : TensorMap();
  FuseReport rep;
  Graph g = prepare(graph, opts, &rep, frozen ? &tensors : nullptr);
  x.nodes_after = static_cast<int>(g.nodes.size());
  for (const Node& n : graph.nodes) x.kernels_before += fusible(n) ? 1 : 0;
  x.kernels_after = opts.fuse ? rep.kernels_after : x.kernels_before;
  for (const auto& grp : rep.groups) x.groups.push_back({grp.name, grp.members});
  x.borders = rep.borders;
  for (const Node& n : g.nodes)
    if (n.is_variable() && n.hidden.count("__const__") && tensors.count(n.name))
      x.folded_constant_bytes += static_cast<int64_t>(tensors.at(n.name).nbytes());
  Plan p = plan_steps(g, StepPlanOptions::from(opts).only_module(true).with_frozen(frozen ? &tensors : nullptr));
  x.steps = static_cast<int>(p.exe->steps.size());
  x.unique_kernels = static_cast<int>(p.unique.size());
  x.naive_arena_bytes = p.exe->naive_arena_bytes;
  x.unfused_naive_arena_bytes =
      plan_steps(graph, StepPlanOptions::from(opts).only_module(true).reuse(false).with_frozen(frozen)).exe->naive_arena_bytes;
  x.planned_arena_bytes = p.exe->arena_bytes;
  x.plan_table = p.plan_table;
  return x;
}

namespace gpu {

std::vector<GpuKernel> lower_module_to_ptx_cached(const std::string& text, const GpuOptions& gopts,
                                                  const CompileOptions& opts) {
  DiskCache* dc = nullptr;
  if (opts.disk_cache) dc = opts.cache_dir.empty() ? &DiskCache::global() : &DiskCache::at(opts.cache_dir);
  if (!dc || !dc->enabled()) return lower_module_to_ptx(text, gopts);
  std::string key = "gpu-ptx|" + compiler_version() + "|" + toolkit_path(gopts) + "|" +
                    std::to_string(gopts.threads_per_block) + "|" + (gopts.block_reductions ? "block" : "thread");
  for (const std::string& c : gopts.chips) key += "|" + c;
  key += "\n" + text;
  if (std::optional<std::string> bytes = dc->get(key)) {
    try {
      return load_gpu_kernels(*bytes, dc->path_for(key));
    } catch (const Error&) {
      dc->discard(key);
    }
  }
  std::vector<GpuKernel> kernels = lower_module_to_ptx(text, gopts);
  dc->put(key, save_gpu_kernels(kernels));
  return kernels;
}

GpuPlan compile_to_ptx(const Graph& graph, const CompileOptions& opts, const TensorMap& frozen) {
  return compile_to_ptx(graph, opts, opts.gpu, frozen);
}

GpuPlan compile_to_ptx(const Graph& graph, const CompileOptions& opts, const GpuOptions& gopts, const TensorMap& frozen) {
  TensorMap tensors = frozen;
  TensorMap* fz = frozen.empty() ? nullptr : &tensors;
  Graph g = prepare(graph, opts, nullptr, fz);
  Plan p = plan_steps(g, StepPlanOptions::from(opts).with_frozen(fz).static_kernels(true));
  note_ignored_inputs(graph, *p.exe);
  GpuPlan out;
  // Convolutions: a generated direct-convolution kernel per distinct call (no cuDNN here).
  std::map<std::vector<int64_t>, std::string> convs;
  for (size_t i = 0; i < p.exe->steps.size(); ++i) {
    const LibraryCall& c = p.exe->steps[i].call;
    if (c.kind != "convolution") continue;
    auto [it, fresh] = convs.emplace(c.params, "conv" + std::to_string(convs.size()));
    if (fresh) p.module += convolution_kernel(it->second, c.params) + "\n";
    out.library_kernels[i] = it->second;
  }
  out.exe = p.exe;
  out.mlir = p.module;
  out.chips = gopts.chips;
  if (!p.module.empty()) out.kernels = lower_module_to_ptx_cached(p.module, gopts, opts);
  return out;
}

}  // namespace gpu

std::string emit_mlir(const Graph& g, const CompileOptions& opts) {
  return plan_steps(prepare(g, opts), StepPlanOptions::from(opts).only_module(true)).module;
}

}  // namespace hgc
