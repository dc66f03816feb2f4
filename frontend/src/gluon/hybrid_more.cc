// HybridBlock::infer_shape, infer_type and optimize_for: a trace (and for optimize_for the
// compile of the cache entry) without running the block.
#include "gluon/hybrid_cached.h"
#include "hgc/base/error.h"
#include "hgc/frontend/autograd/autograd.h"
#include "hgc/frontend/nd/op.h"
#include "hgc/frontend/gluon/parameter.h"

namespace hgc::gluon {

void HybridBlock::infer_shape(const std::vector<NDArray>& xs) {
  if (xs.empty()) fail("gluon", "block '", name(), "': infer_shape needs the inputs");
  if (trace::active()) fail("gluon", "block '", name(), "': infer_shape inside a trace");
  auto g = std::make_shared<TraceGraph>(name());
  {
    trace::Activate on(g);
    trace::ScopeGuard scope(*g, prefix());
    std::vector<std::string> names = default_input_names(xs.size());
    std::vector<NDArray> sx;
    for (size_t i = 0; i < xs.size(); ++i) sx.push_back(trace::input(g, names[i], Shape(xs[i].shape()), xs[i].dtype()));
    hybrid_forward_multi(sx);
  }
  complete_params(*g);
  for (const auto& p : collect_params().values())
    if (p->deferred())
      fail("gluon", "block '", name(), "': the shape of parameter '", p->name(), "' is still unknown after infer_shape");
}

void HybridBlock::infer_type(const std::vector<NDArray>& xs) {
  if (xs.empty()) fail("gluon", "block '", name(), "': infer_type needs the inputs");
  for (const NDArray& x : xs) {
    if (!dtype_is_float(x.dtype())) continue;
    bool differ = false;
    for (const auto& p : collect_params().values()) differ = differ || (dtype_is_float(p->dtype()) && p->dtype() != x.dtype());
    if (differ) cast(x.dtype());
    break;
  }
  infer_shape(xs);  // the trace checks the dtypes
}

void HybridBlock::optimize_for(const std::vector<NDArray>& xs, const std::string& backend, const HybridizeOptions& opts) {
  if (!backend.empty() && backend != "hgc")
    fail("gluon", "block '", name(), "': optimize_for backend '", backend,
         "' is unknown (hgc compiles with its own pass pipeline: use \"\" or \"hgc\")");
  hybridize(true, opts);
  infer_deferred(xs);
  lookup(xs, true);
}

}  // namespace hgc::gluon

// ---- register_op_hook ----
namespace hgc::gluon {

void Block::register_op_hook(OpHook callback, bool monitor_all) {
  for (const auto& [_, c] : children_) c->register_op_hook(callback, monitor_all);
}

void HybridBlock::register_op_hook(OpHook callback, bool monitor_all) {
  op_hook_ = std::move(callback);
  op_hook_all_ = monitor_all;
}

// The block traced once for these inputs, then its graph evaluated node by node with the
// imperative ops (each one compiled kernel), reporting every value to the hook.
std::vector<NDArray> HybridBlock::run_monitored(const std::vector<NDArray>& xs) {
  infer_deferred(xs);
  auto g = std::make_shared<TraceGraph>(name());
  g->training = autograd::is_training();
  std::vector<std::string> names = default_input_names(xs.size());
  std::vector<NDArray> outs;
  {
    trace::Activate on(g);
    trace::ScopeGuard scope(*g, prefix());
    std::vector<NDArray> sx;
    for (size_t i = 0; i < xs.size(); ++i) sx.push_back(trace::input(g, names[i], Shape(xs[i].shape()), xs[i].dtype()));
    outs = hybrid_forward_multi(sx);
  }
  std::map<std::string, NDArray> vars;
  for (size_t i = 0; i < xs.size(); ++i) vars[names[i]] = xs[i];
  for (const auto& p : g->params) vars[p->name()] = p->data();
  for (const auto& [n, t] : g->constants) vars[n] = nd::array(t);
  for (const auto& r : g->random_inputs) vars[r.name] = r.draw();
  const Graph& graph = g->graph;
  std::vector<std::vector<NDArray>> val(graph.nodes.size());
  for (size_t id = 0; id < graph.nodes.size(); ++id) {
    const Node& n = graph.nodes[id];
    if (n.is_variable()) {
      auto it = vars.find(n.name);
      if (it == vars.end()) fail("gluon", "block '", name(), "': op hook run found no value for variable '", n.name, "'");
      val[id] = {it->second};
      continue;
    }
    std::vector<NDArray> ins;
    for (const ValueRef& r : n.inputs) ins.push_back(val.at(size_t(r.node)).at(size_t(r.index)));
    if (op_hook_all_)
      for (size_t j = 0; j < ins.size(); ++j) op_hook_(n.name + "_input" + std::to_string(j), n.op_name, ins[j]);
    val[id] = nd::op_all(n.op_name, n.attrs, ins);
    for (size_t k = 0; k < val[id].size(); ++k)
      op_hook_(n.name + "_output" + (k ? std::to_string(k) : std::string()), n.op_name, val[id][k]);
  }
  std::vector<NDArray> r;
  for (const NDArray& o : outs) {
    ValueRef v = trace::value_ref(o);
    r.push_back(val.at(size_t(v.node)).at(size_t(v.index)));
  }
  for (const auto& [p, v] : g->updates) p->set_data(val.at(size_t(v.node)).at(size_t(v.index)));
  return r;
}

}  // namespace hgc::gluon
