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
#include "lowering.h"
#include "node_ctx.h"

namespace hgc {
namespace {

using lower::Dims;

struct Plan {
  std::shared_ptr<Executable> exe = std::make_shared<Executable>();
  std::string module;
  std::vector<std::pair<size_t, std::string>> kernel_steps;  // step index, kernel name
  std::unordered_map<std::string, std::string> unique;       // kernel text -> kernel name
  std::string plan_table;                                    // the arena layout, for explain()
};

using lower::node_ctx;

// The member of a kernel group that is a library call (its GEMM head), or -1.
int library_head(const Node& n) {
  if (!n.op || !n.op->has(kSubgraph) || n.subgraphs.empty()) return -1;
  const Graph& sub = *n.subgraphs[0];
  for (size_t k = 0; k < sub.nodes.size(); ++k) {
    const Node& m = sub.nodes[k];
    if (m.is_variable() || !m.op) continue;
    const lower::Lowering* l = lower::LoweringTable::global().find(*m.op);
    if (l && l->kind == lower::Kind::Library) return static_cast<int>(k);
  }
  return -1;
}

// Large single-output shape-polymorphic kernels are worth splitting across the cores: each
// chunk is the same kernel on fewer rows (OpenBLAS threads the GEMMs itself).
constexpr int64_t kSplitMinElements = int64_t(1) << 17;
bool splittable(const lower::Lowering& l, const lower::NodeCtx& c) {
  if (!l.shape_polymorphic || c.out_shapes.size() != 1 || c.out_shapes[0].empty()) return false;
  int64_t n = 1;
  for (int64_t d : c.out_shapes[0]) n *= d;
  return n >= kSplitMinElements && c.out_shapes[0][0] >= 2;
}

// `reuse_memory`: plan the arena with reuse and in-place (else one block per buffer).
// `static_shapes` (the GPU path): every kernel with the graph's shapes, nothing split.
// `aliasing`: the caller's output buffers may be its input buffers (CompileOptions).
Plan plan(const Graph& g, bool want_module_only, bool reuse_memory = true,
          const std::map<std::string, HostTensor>* frozen = nullptr, bool static_shapes = false,
          bool aliasing = false) {
  Plan p;
  Executable& e = *p.exe;
  std::vector<std::vector<int>> buf(g.nodes.size());  // value -> buffer id
  // Per step: how many of its args it reads, and whether its output may overwrite its first
  // input (the memory planner's inplace_read).
  std::vector<std::pair<size_t, bool>> step_io;
  auto add_buffer = [&](const Node& n, int k, BufferKind kind) {
    BufferInfo b;
    b.name = k ? n.name + ":" + std::to_string(k) : n.name;
    b.shape = n.out_shapes[k].dims();
    b.dtype = n.out_dtypes[k];
    b.kind = kind;
    e.buffers.push_back(b);
    return static_cast<int>(e.buffers.size()) - 1;
  };
  const auto& table = lower::LoweringTable::global();
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    for (const Shape& s : n.out_shapes)
      if (!s.known()) fail("compiler", n.describe(), ": shape ", s.str(), " is not fully known; infer shapes first");
    if (n.is_variable() && frozen && frozen->count(n.name)) {  // baked in
      const HostTensor& t = frozen->at(n.name);
      if (t.shape() != n.out_shapes[0].dims() || t.dtype() != n.out_dtypes[0])
        fail("compiler", "frozen tensor '", n.name, "' is ", t.describe(), ", the graph has ", n.out_shapes[0].str(), " ",
             dtype_name(n.out_dtypes[0]));
      int id = add_buffer(n, 0, BufferKind::Constant);
      e.buffers[id].index = static_cast<int>(e.constants.size());
      e.constants.push_back(t);
      buf[i] = {id};
      continue;
    }
    if (n.is_variable()) {
      int id = add_buffer(n, 0, BufferKind::Input);
      e.buffers[id].index = static_cast<int>(e.input_names.size());
      e.input_names.push_back(n.name);
      e.input_buffers.push_back(id);
      buf[i] = {id};
      continue;
    }
    if (!n.op) fail("compiler", n.describe(), ": unknown op '", n.op_name, "' cannot be compiled");
    const lower::Lowering* l = table.find(*n.op);
    if (!l) fail("compiler", n.describe(), ": op ", n.op->name, " has no lowering yet");
    lower::NodeCtx c = node_ctx(g, n);
    Step step;
    step.label = n.name;
    for (const ValueRef& v : n.inputs) step.args.push_back(buf[v.node][v.index]);
    int nout = static_cast<int>(n.out_shapes.size());
    if (l->kind == lower::Kind::View) {
      int id = add_buffer(n, 0, BufferKind::View);
      e.buffers[id].view_of = step.args[0];
      buf[i].push_back(id);
      for (int k = 1; k < nout; ++k) buf[i].push_back(add_buffer(n, k, BufferKind::Arena));
      continue;
    }
    for (int k = 0; k < nout; ++k) {
      buf[i].push_back(add_buffer(n, k, BufferKind::Arena));
      step.args.push_back(buf[i].back());
    }
    // In place only where output element i reads input element i alone: a generated kernel
    // (never a library call), an op that allows it, the same dtype and exactly the same
    // shape (a broadcast first input would be overwritten before it is read again).
    bool inplace = n.op->has(kInplace) && l->kind == lower::Kind::Kernel && !n.inputs.empty() &&
                   nout > 0 && c.in_types[0] == c.out_types[0] && c.in_shapes[0] == c.out_shapes[0];
    if (int h = library_head(n); h >= 0) {
      // A GEMM with its epilogue: the library call writes the group's output, then the
      // epilogue kernel (the other members) runs in place on it, while it is hot in cache.
      const Graph& sub = *n.subgraphs[0];
      const Node& hn = sub.nodes[h];
      std::vector<int> vars = sub.variable_ids();
      std::vector<int> head_args;  // the head's inputs, as indices into step.args
      for (const ValueRef& v : hn.inputs)
        head_args.push_back(static_cast<int>(std::find(vars.begin(), vars.end(), v.node) - vars.begin()));
      head_args.push_back(static_cast<int>(step.args.size()) - 1);
      if (!want_module_only) {
        step.call = table.find(*hn.op)->library(node_ctx(sub, hn));
        step.call.operands = head_args;
        step.library = make_library(step.call);
      }
      // The epilogue: the group with its head turned into an input.
      Node tail = n;
      auto tg = std::make_shared<Graph>(sub);
      Node& hv = tg->nodes[h];
      hv.op_name = "null";
      hv.op = nullptr;
      hv.attrs.clear();
      hv.inputs.clear();
      {  // variables first (the head's output is one now), members after, each in order
        std::vector<Node> ordered;
        for (const Node& x : tg->nodes)
          if (x.is_variable()) ordered.push_back(x);
        for (const Node& x : tg->nodes)
          if (!x.is_variable()) ordered.push_back(x);
        tg->nodes = std::move(ordered);
      }
      Graph sorted;  // re-index after moving the head's variable up among the variables
      {
        std::map<std::string, int> at;
        for (size_t k = 0; k < tg->nodes.size(); ++k) at[tg->nodes[k].name] = static_cast<int>(k);
        for (Node x : tg->nodes) {
          for (ValueRef& v : x.inputs) v.node = at.at(sub.nodes[v.node].name);
          sorted.nodes.push_back(std::move(x));
        }
        for (ValueRef hd : sub.heads) sorted.heads.push_back({at.at(sub.nodes[hd.node].name), hd.index});
      }
      tail.subgraphs = {std::make_shared<Graph>(std::move(sorted))};
      lower::NodeCtx tc{tail, tail.attr_view(), {}, {}, c.out_shapes, c.out_types};
      const Graph& ts = *tail.subgraphs[0];
      for (int id : ts.variable_ids()) {
        tc.in_shapes.push_back(ts.nodes[id].out_shapes[0].dims());
        tc.in_types.push_back(ts.nodes[id].out_dtypes[0]);
      }
      // Epilogue kernel arguments: the group's inputs by variable name, the head's output.
      for (int id : ts.variable_ids()) {
        const std::string& vn = ts.nodes[id].name;
        if (vn == hn.name) step.epilogue_args.push_back(step.args.back());
        else step.epilogue_args.push_back(step.args[std::find_if(vars.begin(), vars.end(), [&](int v) {
                                                         return sub.nodes[v].name == vn;
                                                       }) - vars.begin()]);
      }
      step.epilogue_args.push_back(step.args.back());
      lower::KernelWriter w("__KERNEL__");
      std::vector<std::string> ins, outs;
      for (size_t k = 0; k < tc.in_shapes.size(); ++k) ins.push_back(w.input(tc.in_shapes[k], tc.in_types[k]));
      outs.push_back(w.output(tc.out_shapes[0], tc.out_types[0]));
      table.find(*n.op)->kernel(tc, w, ins, outs);
      w.outputs_may_alias();  // it reads the head's output where it writes
      std::string text = w.finish();
      auto [it, fresh] = p.unique.emplace(text, "k" + std::to_string(p.unique.size()));
      if (fresh) p.module += text.replace(text.find("__KERNEL__"), 10, it->second) + "\n";
      p.kernel_steps.push_back({e.steps.size(), it->second});
      step.kernel_name = it->second;
    } else if (l->kind == lower::Kind::Library) {
      if (!want_module_only) {
        step.call = l->library(c);
        step.library = make_library(step.call);
      }
    } else {
      // Written under a placeholder name so identical kernels (the same op, attributes and
      // shapes, e.g. in every layer of a transformer) are compiled once and shared.
      lower::KernelWriter w("__KERNEL__");
      lower::NodeCtx kc = c;
      // Shape-polymorphic kernels are generated with dynamic dims: LLVM vectorizes those
      // loops far better than fully static ones (erf over 4M floats: 17 ms static, ~3 ms
      // dynamic on one core), and layers of one shape class share one kernel.
      if (l->shape_polymorphic && !static_shapes) {
        for (auto& d : kc.in_shapes) d = lower::generalize(d);
        for (auto& d : kc.out_shapes) d = lower::generalize(d);
      }
      if (!static_shapes && splittable(*l, c)) {  // and big ones run in row chunks across the cores
        step.split = true;
        for (size_t k = 0; k < c.in_shapes.size(); ++k)
          step.split_arg.push_back(c.in_shapes[k].size() == c.out_shapes[0].size() && c.in_shapes[k][0] == c.out_shapes[0][0]);
        step.split_arg.push_back(true);
      }
      std::vector<std::string> ins, outs;
      for (size_t k = 0; k < n.inputs.size(); ++k) ins.push_back(w.input(kc.in_shapes[k], kc.in_types[k]));
      for (int k = 0; k < nout; ++k) outs.push_back(w.output(kc.out_shapes[k], kc.out_types[k]));
      l->kernel(kc, w, ins, outs);
      if ((inplace && reuse_memory) || aliasing) w.outputs_may_alias();
      std::string text = w.finish();
      auto [it, fresh] = p.unique.emplace(text, "k" + std::to_string(p.unique.size()));
      if (fresh) p.module += text.replace(text.find("__KERNEL__"), 10, it->second) + "\n";
      p.kernel_steps.push_back({e.steps.size(), it->second});
      step.kernel_name = it->second;
    }
    step_io.push_back({n.inputs.size(), inplace});
    e.steps.push_back(std::move(step));
  }
  for (const ValueRef& h : g.heads) {
    int id = buf[h.node][h.index];
    BufferInfo& b = e.buffers[id];
    if (b.kind == BufferKind::Arena) {
      b.kind = BufferKind::Output;
      b.index = static_cast<int>(e.output_buffers.size());
    }
    e.output_buffers.push_back(id);
  }

  // The arena layout (passes/memory_plan.h): values are the buffers, pinned unless Arena; a
  // View is no value of its own, it is read as its root. Step 0 writes the arena buffers no
  // step writes (extra outputs of view nodes), the last step reads the heads (an arena buffer
  // seen through a head view is copied out after the run).
  auto root = [&](int id) {
    while (e.buffers[id].kind == BufferKind::View) id = e.buffers[id].view_of;
    return id;
  };
  std::vector<PlanValue> values;
  for (const BufferInfo& b : e.buffers)
    values.push_back({static_cast<int64_t>(b.nbytes()), b.kind != BufferKind::Arena, b.name});
  std::vector<PlanStep> steps(1);
  std::vector<bool> written(e.buffers.size(), false);
  for (size_t s = 0; s < e.steps.size(); ++s) {
    PlanStep ps;
    const std::vector<int>& args = e.steps[s].args;
    for (size_t k = 0; k < args.size(); ++k) (k < step_io[s].first ? ps.reads : ps.writes).push_back(root(args[k]));
    for (int w : ps.writes) written[w] = true;
    ps.inplace_read = step_io[s].second ? 0 : -1;
    steps.push_back(std::move(ps));
  }
  for (size_t id = 0; id < e.buffers.size(); ++id)
    if (!values[id].pinned && !written[id]) steps[0].writes.push_back(static_cast<int>(id));
  steps.emplace_back();
  for (int id : e.output_buffers) steps.back().reads.push_back(root(id));
  PlanOptions po;
  po.reuse = po.inplace = reuse_memory;
  po.alignment = 64;
  MemoryPlan mp = plan_memory(values, steps, po);
#ifndef NDEBUG
  verify_plan(values, steps, mp);
#endif
  for (size_t id = 0; id < e.buffers.size(); ++id)
    if (!values[id].pinned) e.buffers[id].offset = mp.offset[id];
  e.arena_bytes = mp.arena_bytes;
  e.naive_arena_bytes = mp.naive_bytes;
  if (want_module_only) p.plan_table = format_plan(values, mp);
  return p;
}

// JIT modules by (options, module text): a graph compiled twice in one process reuses code.
// Behind it, the disk cache (compile_kernels): a graph compiled by an earlier process loads
// its object code instead of compiling it.
std::shared_ptr<JitModule> jit_cached(const std::string& text, const std::vector<std::string>& kernels,
                                      const CompileOptions& o) {
  static std::mutex mu;
  static std::unordered_map<std::string, std::weak_ptr<JitModule>> cache;
  std::string key = std::to_string(o.opt_level) + "|" + o.target_cpu + "|" + text;
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

}  // namespace

bool fusible(const Node& n) {
  if (!n.op || n.op->has(kRandom)) return false;
  const lower::Lowering* l = lower::LoweringTable::global().find(*n.op);
  return l && l->kind == lower::Kind::Kernel;
}

bool gemm_head(const Node& n) {
  if (!n.op || !n.op->has(kGemm) || n.out_shapes.size() != 1) return false;
  const lower::Lowering* l = lower::LoweringTable::global().find(*n.op);
  return l && l->kind == lower::Kind::Library;
}

Graph prepare(const Graph& g, const CompileOptions& opts, FuseReport* report, TensorMap* frozen) {
  Graph out = g;
  if (opts.optimize) {
    Evaluator eval = [](const Node& n, const std::vector<HostTensor>& in) { return invoke_typed(n.op->name, n.attrs, in); };
    optimize_graph(out, SimplifyOptions(), frozen, frozen ? eval : Evaluator());
  }
  if (opts.fuse) {
    FuseOptions fo;
    fo.fusible = fusible;
    fo.gemm_head = gemm_head;
    FuseReport r = hgc::fuse(out, fo);
    if (report) *report = std::move(r);
  }
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
  return finish(graph, plan(g, false, opts.plan_memory, nullptr, false, opts.outputs_alias_inputs), opts);
}

std::shared_ptr<const Executable> compile(const Graph& graph, const CompileOptions& opts, const TensorMap& frozen) {
  TensorMap tensors = frozen;
  Graph g = prepare(graph, opts, nullptr, &tensors);
  return finish(graph, plan(g, false, opts.plan_memory, &tensors, false, opts.outputs_alias_inputs), opts);
}

AotPlan plan_aot(const Graph& graph, const CompileOptions& opts, const TensorMap& frozen) {
  TensorMap tensors = frozen;
  Graph g = prepare(graph, opts, nullptr, &tensors);
  Plan p = plan(g, false, opts.plan_memory, &tensors, false, opts.outputs_alias_inputs);
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
  Plan p = plan(g, true, opts.plan_memory, frozen ? &tensors : nullptr, false, opts.outputs_alias_inputs);
  x.steps = static_cast<int>(p.exe->steps.size());
  x.unique_kernels = static_cast<int>(p.unique.size());
  x.naive_arena_bytes = p.exe->naive_arena_bytes;
  x.unfused_naive_arena_bytes = plan(graph, true, false, frozen).exe->naive_arena_bytes;
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

GpuPlan compile_to_ptx(const Graph& graph, const CompileOptions& opts, const GpuOptions& gopts, const TensorMap& frozen) {
  TensorMap tensors = frozen;
  TensorMap* fz = frozen.empty() ? nullptr : &tensors;
  Graph g = prepare(graph, opts, nullptr, fz);
  Plan p = plan(g, false, opts.plan_memory, fz, /*static_shapes=*/true, opts.outputs_alias_inputs);
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
  return plan(prepare(g, opts), true, opts.plan_memory, nullptr, false, opts.outputs_alias_inputs).module;
}

}  // namespace hgc
