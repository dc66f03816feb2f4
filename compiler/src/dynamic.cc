// DynamicGraph (dynamic.h): symbolic dims from two inferences of one graph, kernels written
// over them once, a plan per concrete size.
#include "hgc/compiler/dynamic.h"

#include <algorithm>
#include <chrono>

#include "hgc/base/error.h"
#include "hgc/compiler/compile.h"
#include "hgc/compiler/jit.h"
#include "plan.h"

namespace hgc {

namespace {

std::string node_difference(const Node& x, const Node& y, const std::string& where) {
  auto diff = [&](const std::string& what) { return where + x.describe() + ": " + what; };
  if (x.op_name != y.op_name || x.name != y.name) return diff("op or name differs (" + y.describe() + ")");
  if (x.inputs != y.inputs) return diff("inputs differ");
  if (x.attrs.size() != y.attrs.size()) return diff("attributes differ");
  for (const auto& [k, v] : x.attrs) {
    auto it = y.attrs.find(k);
    if (it == y.attrs.end() || format_attr(v) != format_attr(it->second))
      return diff("attribute " + k + "=" + format_attr(v) + " vs " + (it == y.attrs.end() ? "-" : format_attr(it->second)));
  }
  if (x.out_shapes.size() != y.out_shapes.size()) return diff("number of outputs differs");
  for (size_t k = 0; k < x.out_shapes.size(); ++k)
    if (x.out_shapes[k].ndim() != y.out_shapes[k].ndim() || x.out_dtypes[k] != y.out_dtypes[k])
      return diff("output " + std::to_string(k) + " rank or dtype differs");
  if (x.subgraphs.size() != y.subgraphs.size()) return diff("subgraphs differ");
  for (size_t k = 0; k < x.subgraphs.size(); ++k) {
    std::string d = structure_difference(*x.subgraphs[k], *y.subgraphs[k]);
    if (!d.empty()) return where + x.describe() + " > " + d;
  }
  return "";
}

// Symbol ids by (value at the call, value at the probe): the same pair, the same symbol.
struct Symbols {
  std::map<std::pair<int64_t, int64_t>, int64_t> ids;
  int64_t id(int64_t a, int64_t b) {
    auto [it, fresh] = ids.emplace(std::make_pair(a, b), -2 - static_cast<int64_t>(ids.size()));
    return it->second;
  }
};

// `at` with the dims that differ from `probe` replaced by symbol ids (same structure).
void symbolize(Graph& at, const Graph& probe, Symbols& s) {
  for (size_t i = 0; i < at.nodes.size(); ++i) {
    Node& n = at.nodes[i];
    const Node& p = probe.nodes[i];
    for (size_t k = 0; k < n.out_shapes.size(); ++k)
      for (int j = 0; j < n.out_shapes[k].ndim(); ++j)
        if (n.out_shapes[k][j] != p.out_shapes[k][j]) n.out_shapes[k][j] = s.id(n.out_shapes[k][j], p.out_shapes[k][j]);
    for (size_t k = 0; k < n.subgraphs.size(); ++k) {
      auto sub = std::make_shared<Graph>(*n.subgraphs[k]);
      symbolize(*sub, *p.subgraphs[k], s);
      n.subgraphs[k] = sub;
    }
  }
}

// Whether `g` (concrete, same structure) fits `sym`: static dims equal, each symbol one value.
std::string bind_symbols(const Graph& sym, const Graph& g, std::map<int64_t, int64_t>& values) {
  for (size_t i = 0; i < sym.nodes.size(); ++i) {
    const Node& s = sym.nodes[i];
    const Node& n = g.nodes[i];
    for (size_t k = 0; k < s.out_shapes.size(); ++k)
      for (int j = 0; j < s.out_shapes[k].ndim(); ++j) {
        int64_t d = s.out_shapes[k][j], v = n.out_shapes[k][j];
        if (d >= 0 && d != v)
          return n.describe() + " has size " + std::to_string(v) + " on axis " + std::to_string(j) + " where the first call had " +
                 std::to_string(d);
        if (d < 0) {
          auto [it, fresh] = values.emplace(d, v);
          if (it->second != v)
            return n.describe() + ": two sizes that were equal at the first call differ now (" + std::to_string(it->second) +
                   " and " + std::to_string(v) + ")";
        }
      }
    for (size_t k = 0; k < s.subgraphs.size(); ++k) {
      std::string r = bind_symbols(*s.subgraphs[k], *n.subgraphs[k], values);
      if (!r.empty()) return r;
    }
  }
  return "";
}

}  // namespace

std::string structure_difference(const Graph& a, const Graph& b) {
  if (a.nodes.size() != b.nodes.size())
    return "node count " + std::to_string(a.nodes.size()) + " vs " + std::to_string(b.nodes.size());
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    std::string d = node_difference(a.nodes[i], b.nodes[i], "");
    if (!d.empty()) return d;
  }
  if (a.heads != b.heads) return "outputs differ";
  return "";
}

std::string symbolize_graph(Graph& at, const Graph& probe) {
  std::string diff = structure_difference(at, probe);
  if (!diff.empty()) return "the optimized graph differs at another size: " + diff;
  Symbols s;
  symbolize(at, probe, s);
  if (s.ids.empty()) return "no dim depends on the dynamic axes";
  return "";
}

std::string symbolic_str(const std::vector<int64_t>& dims) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "x" : "") + (dims[i] < 0 ? std::string("?") : std::to_string(dims[i]));
  return s;
}

std::shared_ptr<DynamicGraph> DynamicGraph::fixed(const CompileOptions& opts) {
  auto d = std::make_shared<DynamicGraph>();
  d->opts_ = opts;
  d->reason_ = "no dynamic axes";
  return d;
}

std::shared_ptr<DynamicGraph> DynamicGraph::create(const Graph& at, const Graph& probe, const CompileOptions& opts) {
  auto d = fixed(opts);
  Graph p = prepare(at, opts), q = prepare(probe, opts);
  std::string diff = structure_difference(p, q);
  if (!diff.empty()) {
    d->reason_ = "the optimized graph differs at another size: " + diff;
    return d;
  }
  Symbols s;
  symbolize(p, q, s);
  if (s.ids.empty()) {
    d->reason_ = "no dim depends on the dynamic axes";
    return d;
  }
  d->symbolic_ = std::move(p);
  d->dynamic_ = true;
  d->batch_split_why_ = hgc::batch_split_refusal(d->symbolic_, &d->row_cost_);
  d->reason_.clear();
  return d;
}

namespace {
double ms_since(std::chrono::steady_clock::time_point& t0) {
  auto t1 = std::chrono::steady_clock::now();
  double ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
  t0 = t1;
  return ms;
}
}  // namespace

DynamicGraph::Instance DynamicGraph::instantiate(const Graph& graph) {
  Instance r;
  auto t0 = std::chrono::steady_clock::now();
  Graph g = prepare(graph, opts_);
  r.passes_ms = ms_since(t0);
  const Graph* sym = nullptr;
  std::string why = reason_;
  if (dynamic_) {
    why = structure_difference(symbolic_, g);
    std::map<int64_t, int64_t> values;
    if (why.empty()) why = bind_symbols(symbolic_, g, values);
    if (why.empty()) sym = &symbolic_;
    else why = "size-specific graph: " + why;
  }
  Plan p = plan_steps(g, StepPlanOptions::from(opts_).with_symbolic(sym));
  r.plan_ms = ms_since(t0);
  if (!p.module.empty()) {
    std::vector<std::string> names;
    for (const auto& [step, name] : p.kernel_steps)
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    std::shared_ptr<JitModule> jm;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = modules_.find(p.module); it != modules_.end()) jm = it->second;
    }
    if (!jm) {
      jm = jit_module_cached(p.module, names, opts_);
      std::lock_guard<std::mutex> lock(mu_);
      r.compiled = true;
      std::string names_of;
      for (size_t k = 0; k < p.specialized.size() && k < 3; ++k) names_of += (k ? ", " : "") + p.specialized[k];
      if (p.specialized.size() > 3) names_of += ", ...";
      r.reason = modules_.empty() ? "first call"
                 : !why.empty() ? why
                                : "kernels specialized to this size (" + names_of + ")";
      // Bounded: a graph whose kernels compile per size keeps the latest few modules.
      if (modules_.size() >= 8) modules_.erase(modules_.begin());
      modules_[p.module] = jm;
    }
    for (const auto& [step, name] : p.kernel_steps) p.exe->steps[step].kernel = jm->lookup(name);
    p.exe->code = jm;
  }
  for (int id : graph.variable_ids())
    if (p.exe->input_index(graph.nodes[id].name) < 0) p.exe->ignored_inputs.insert(graph.nodes[id].name);
  specialized_ = p.specialized;
  r.exe = p.exe;
  r.jit_ms = ms_since(t0);
  return r;
}

}  // namespace hgc
