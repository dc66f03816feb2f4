// imperative_gpu_plan: the GPU side of the imperative road (see gpu_imperative.h). The CPU road
// (imperative.cc) JITs one kernel per op; here the op becomes a one-node graph so that the
// whole GPU pipeline (library calls on cuBLAS, views, generated kernels) applies unchanged.
#include <mutex>
#include <unordered_map>

#include "hgc/compiler/gpu_imperative.h"

#include "hgc/compiler/gpu.h"
#include "hgc/base/error.h"
#include "hgc/ir/infer.h"
#include "hgc/ir/op.h"

namespace hgc {
namespace {

struct Cache {
  std::mutex mu;
  std::unordered_map<std::string, std::shared_ptr<const GpuPlan>> plans;
  GpuPlanCacheStats stats;
};

Cache& cache() {
  static Cache* c = new Cache();  // never destroyed: arrays freed at exit may still run ops
  return *c;
}

std::string signature(const std::string& op, const AttrMap& attrs, const std::vector<std::vector<int64_t>>& shapes,
                      const std::vector<DType>& dtypes, const CompileOptions& opts) {
  const gpu::GpuOptions g;
  std::string k = op + "|";
  for (const auto& [name, v] : attrs) k += name + "=" + format_attr(v) + ";";
  for (size_t i = 0; i < shapes.size(); ++i) {
    k += "|" + dtype_name(dtypes[i]) + ":";
    for (int64_t d : shapes[i]) k += std::to_string(d) + ",";
  }
  k += "|O" + std::to_string(opts.opt_level) + "|t" + std::to_string(g.threads_per_block) +
       (g.block_reductions ? "b" : "s") + "|" + g.toolkit;
  for (const std::string& c : g.chips) k += "|" + c;
  return k;
}

}  // namespace

std::shared_ptr<const GpuPlan> imperative_gpu_plan(const std::string& op, const AttrMap& attrs,
                                                   const std::vector<std::vector<int64_t>>& shapes,
                                                   const std::vector<DType>& dtypes, const CompileOptions& opts) {
  if (shapes.size() != dtypes.size()) fail("imperative", op, ": ", shapes.size(), " shapes but ", dtypes.size(), " dtypes");
  std::string key = signature(op, attrs, shapes, dtypes, opts);
  Cache& ch = cache();
  {
    std::lock_guard<std::mutex> lock(ch.mu);
    if (auto it = ch.plans.find(key); it != ch.plans.end()) {
      ++ch.stats.hits;
      return it->second;
    }
  }
  const OpDef& def = OpRegistry::global().get(op);
  for (const AttrSpec& s : def.attrs)
    if (!s.default_value && !attrs.count(s.name)) fail("imperative", op, ": required attribute '", s.name, "' is missing");
  Graph g;
  std::vector<ValueRef> in;
  InferOptions io;
  for (size_t i = 0; i < shapes.size(); ++i) {
    std::string name = "in" + std::to_string(i);
    in.push_back({g.add_variable(name), 0});
    io.shapes[name] = Shape(shapes[i]);
    io.dtypes[name] = dtypes[i];
  }
  int id = g.add_node(op, op, in, attrs);
  // Every output, as the CPU road returns them (hidden ones included).
  for (int k = 0; k < g.nodes[id].num_outputs(); ++k) g.heads.push_back({id, k});
  infer(g, io);
  // Compiled outside the lock, like the CPU kernel cache: a racing thread's equal plan is dropped.
  auto plan = std::make_shared<const GpuPlan>(gpu::compile_to_ptx(g, opts));
  std::lock_guard<std::mutex> lock(ch.mu);
  ++ch.stats.misses;
  return ch.plans.emplace(key, plan).first->second;
}

GpuPlanCacheStats imperative_gpu_plan_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  GpuPlanCacheStats s = c.stats;
  s.entries = static_cast<int64_t>(c.plans.size());
  return s;
}

void clear_imperative_gpu_plans() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.plans.clear();
  c.stats = {};
}

GpuPlan compile_gpu_plan(const Graph& g, const CompileOptions& opts) { return gpu::compile_to_ptx(g, opts); }

}  // namespace hgc
