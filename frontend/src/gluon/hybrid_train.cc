// Hybridized training: a hybridized block called under autograd::record() runs a compiled
// forward and is ONE node on the tape. That node's backward runs a compiled gradient graph,
// built by tracing: the block's forward is traced into a fresh graph and the same
// gradient rules as the tape's (autograd/grad/*.cc) are applied to the traced values in reverse
// node order, summing contributions. That one trace (forward + reverse sweep) is split in
// two compiled graphs: the training forward, which also outputs the forward values the
// gradient rules read (kept alive by the tape node), and the gradient graph, where those
// values are inputs. Values of multi-output ops are recomputed in the gradient graph instead.
// Built once per cache entry (input signature, training mode) and per set of inputs and
// parameters needing a gradient; a predict-mode call builds its own forward (hybrid.cc).
// Random seeds (Dropout draws its mask in the graph from one) are inputs of both graphs, drawn
// once per call; the gradient graph reads the forward's mask as a saved value;
// BatchNorm's new running statistics are forward outputs written back after each call.
#include <algorithm>
#include <future>

#include "hgc/runtime/library_call.h"
#include "autograd/tape.h"
#include "autograd/grad_rules.h"
#include "hgc/frontend/autograd/autograd.h"
#include "hgc/frontend/symbol/symbol.h"
#include "hgc/base/error.h"
#include "hgc/compiler/dynamic.h"
#include "amp/weights.h"
#include "gluon/hybrid_cached.h"
#include "hgc/passes/amp.h"
#include "symbol/trace.h"

namespace hgc::gluon {

namespace {

const char* kHeadGrad = "_hgc_head_grad";
const char* kSaved = "_hgc_saved";

void accumulate(std::map<ValueRef, NDArray>& m, ValueRef k, const NDArray& g) {
  auto it = m.find(k);
  if (it == m.end()) m.emplace(k, g);
  else it->second = it->second + g;
}

}  // namespace

namespace {
// One trace of the forward and the reverse sweep (build_backward).
struct TrainTrace {
  std::shared_ptr<TraceGraph> g;
  std::vector<ValueRef> vars, ys, heads;  // vars: the variable of each of (inputs ++ params)
  std::vector<int> which;
  std::vector<bool> need;
  int forward_nodes = 0;
};

// The training trace converted by AMP as one graph (amp_convert_training) with the weights'
// casts turned into their cached copies' variables (amp/weights.h); its values remapped.
// False (nothing changed) for a trace holding an RNN op: those expand in the pipeline first,
// so that trace keeps the per-graph conversion.
bool convert_amp(TrainTrace& t, DType target) {
  Graph& g = t.g->graph;
  for (const Node& n : g.nodes)
    if (n.op && n.op->name == "RNN") return false;
  std::vector<ValueRef> fwd = t.ys;
  for (const auto& u : t.g->updates) fwd.push_back(u.second);
  std::vector<ValueRef> old_heads = g.heads;
  g.heads = t.heads;
  AmpTrainingSplit r = amp_convert_training(g, AmpOptions().target_dtype(target), t.forward_nodes, fwd);
  auto at = [&](ValueRef v) { return r.map[v.node][v.index]; };
  for (size_t i = 0; i < t.ys.size(); ++i) t.ys[i] = r.forward_heads[i];
  for (size_t i = 0; i < t.g->updates.size(); ++i) t.g->updates[i].second = r.forward_heads[t.ys.size() + i];
  for (ValueRef& v : t.vars) v = at(v);
  t.heads = g.heads;
  g.heads.clear();
  for (const ValueRef& h : old_heads) g.heads.push_back(at(h));
  for (auto& [name, id] : t.g->param_nodes) id = r.map[id][0].node;
  t.forward_nodes = r.boundary;
  std::set<std::string> params;
  for (const auto& p : t.g->params) params.insert(p->name());
  amp::detail::weight_cast_variables(g, target, [&](const std::string& v) { return params.count(v) > 0; });
  return true;
}

}  // namespace

std::shared_ptr<HybridBlock::Backward> HybridBlock::build_backward(Cached& c, const std::vector<NDArray>& xs,
                                                                   std::vector<bool> need_in) {
  std::vector<std::string> names = default_input_names(xs.size());
  auto trace_at = [&](const std::vector<std::vector<int64_t>>& shapes) {
  TrainTrace r;
  r.need = need_in;
  auto g = r.g = std::make_shared<TraceGraph>(name());
  g->training = c.training;
  g->for_compile = true;
  auto& vars = r.vars; auto& ys = r.ys; auto& heads = r.heads; auto& need = r.need;
  int& forward_nodes = r.forward_nodes;
  {
    autograd::Scope off(false, c.training);  // trace, never tape
    trace::Activate on(g);
    trace::ScopeGuard scope(*g, prefix());
    std::vector<NDArray> sx;
    for (size_t i = 0; i < xs.size(); ++i) {
      sx.push_back(trace::input(g, names[i], Shape(shapes[i]), xs[i].dtype()));
      vars.push_back(trace::value_ref(sx.back()));
    }
    for (const NDArray& y : hybrid_forward_multi(sx)) {
      if (!y.is_symbolic() || y.symbolic_value()->graph != g)
        fail("gluon", "hybridized block '", name(), "' returned a value that its inputs do not compute ",
             "(a constant or an array from elsewhere); hybrid_forward must return traced values");
      ys.push_back(trace::value_ref(y));
    }
    for (const auto& p : g->params) {
      vars.push_back({g->param_nodes.at(p->name()), 0});
      need.push_back(p->grad_req() != "null");
    }
    forward_nodes = static_cast<int>(g->graph.nodes.size());
    std::map<ValueRef, NDArray> grads;
    for (size_t i = 0; i < ys.size(); ++i) {
      NDArray hg = trace::input(g, kHeadGrad + std::to_string(i), trace::shape_of(*g, ys[i]), g->graph.dtype(ys[i]));
      accumulate(grads, ys[i], hg);
    }
    // Values that depend on something needing a gradient: only their rules run. (A rule for a
    // value nothing needs, e.g. a slice of a fixed table, would still be traced: dead nodes,
    // but constants of size-dependent shapes that make the trace look size-specific.)
    std::vector<char> wants(forward_nodes, 0);
    for (size_t k = 0; k < vars.size(); ++k)
      if (need[k] && vars[k].node < forward_nodes) wants[vars[k].node] = 1;
    const grad::RuleTable& rules = grad::RuleTable::global();
    for (int id = 0; id < forward_nodes; ++id) {
      const Node& n = g->graph.nodes[id];
      if (n.op && rules.non_differentiable(*n.op)) continue;  // BlockGrad, comparisons: no gradient through
      for (const ValueRef& v : n.inputs) wants[id] = wants[id] || wants[v.node];
    }
    for (int id = forward_nodes - 1; id >= 0; --id) {
      const Node n = g->graph.nodes[id];  // a copy: the rules append nodes
      if (n.is_variable() || !wants[id]) continue;
      int nout = n.num_visible_outputs();
      std::vector<NDArray> og(nout), out;
      bool any = false;
      for (int i = 0; i < nout; ++i) {
        out.push_back(trace::value(g, {id, i}));
        if (auto it = grads.find({id, i}); it != grads.end()) {
          og[i] = it->second;
          any = true;
        }
      }
      if (!any || (n.op && rules.non_differentiable(*n.op))) continue;  // one_hot, argmax: no gradient
      const grad::GradFn* rule = n.op ? rules.find(*n.op) : nullptr;
      if (!rule) {
        const std::string* why = n.op ? rules.missing_reason(*n.op) : nullptr;
        fail("gluon", "hybridized training of block '", name(), "': ", n.describe(), " has no gradient rule",
             why ? " (" + *why + ")" : "", " (differentiable ops: see autograd::gradient_rule_ops())");
      }
      std::vector<NDArray> in;
      for (const ValueRef& v : n.inputs) in.push_back(trace::value(g, v));
      grad::Grads gi = (*rule)(grad::GradCtx{*n.op, n.attr_view(), in, out, og});
      for (size_t j = 0; j < n.inputs.size() && j < gi.size(); ++j)
        if (gi[j].defined() && wants[n.inputs[j].node]) accumulate(grads, n.inputs[j], gi[j]);
    }
    for (size_t k = 0; k < vars.size(); ++k) {
      if (!need[k]) continue;
      auto it = grads.find(vars[k]);
      if (it == grads.end()) continue;  // does not depend on it: no gradient
      NDArray gk = it->second;
      // A head must be a gradient op's output: a variable (a head gradient passed through) or a
      // forward value (about to become a saved input) is copied.
      if (!gk.is_symbolic() || trace::value_ref(gk).node < forward_nodes ||
          g->graph.nodes[trace::value_ref(gk).node].is_variable())
        gk = gk.copy();
      heads.push_back(trace::value_ref(gk));
      r.which.push_back(static_cast<int>(k));
    }
  }
  complete_params(*g);
  return r;
  };
  std::vector<std::vector<int64_t>> shapes;
  for (const NDArray& x : xs) shapes.push_back(x.shape());
  std::vector<std::vector<int64_t>> probe = probe_shapes(shapes, c.dynamic);
  TrainTrace tp;
  std::string early_error;
  bool early = !probe.empty() && probe_first();  // so what the trace leaves behind is the call's
  if (early) {
    try {
      tp = trace_at(probe);
    } catch (const Error& e) {
      early_error = e.what();
      // A size at its limit (a sequence as long as the positional table): probe below it.
      auto down = probe_shapes(shapes, c.dynamic, -1);
      if (!down.empty()) try {
          tp = trace_at(down);
          probe = down;
          early_error.clear();
        } catch (const Error&) {
        }
    }
  }
  TrainTrace tr = trace_at(shapes);
  if (!probe.empty()) {  // the same graphs at other sizes of the dynamic axes, or specialize
    std::string diff;
    try {
      if (!early_error.empty()) fail("gluon", early_error);
      if (!early) tp = trace_at(probe);
      diff = trace_difference(*tr.g, *tp.g);
    } catch (const Error& e) {
      diff = std::string("tracing at another size fails: ") + e.what();
    }
    if (!diff.empty()) {
      probe.clear();
      tp = TrainTrace();
      for (auto& m : c.dynamic) std::fill(m.begin(), m.end(), false);
      c.reason = "size-dependent graph (" + diff + ")";
    }
  }
  // AMP on the cpu: the trace converts as one graph before the split, so each value both
  // halves read is cast once and handed over in bfloat16 (amp_convert_training).
  if (opts_.compile.amp != DType::unknown && opts_.compile.target == Target::cpu) {
    // (Both traces or neither: a trace holding an RNN op keeps the per-graph conversion.)
    if (convert_amp(tr, opts_.compile.amp) && !probe.empty() &&
        (!convert_amp(tp, opts_.compile.amp) || tp.g->graph.nodes.size() != tr.g->graph.nodes.size())) {
      probe.clear();
      tp = TrainTrace();
      for (auto& m : c.dynamic) std::fill(m.begin(), m.end(), false);
      c.reason = "size-dependent graph (AMP converts the traces differently)";
    }
  }
  auto g = tr.g;
  auto bw = std::make_shared<Backward>();
  bw->which = tr.which;
  std::vector<bool> need = tr.need;
  std::vector<ValueRef> ys = tr.ys, heads = tr.heads;
  int forward_nodes = tr.forward_nodes;
  if (!c.traced) {
    c.params = g->params;
    c.traced = true;
  }
  ++stats_.traces;
  bw->need = need;
  std::map<std::string, std::shared_ptr<Parameter>> params;
  for (const auto& p : g->params) params[p->name()] = p;
  const Graph& full = g->graph;
  // The forward values the gradient graph reads (single-output ops; others are recomputed).
  std::vector<ValueRef> saved;
  auto save = [&](ValueRef v) {
    const Node& n = full.nodes[v.node];
    if (v.node < forward_nodes && !n.is_variable() && n.num_outputs() == 1 &&
        std::find(saved.begin(), saved.end(), v) == saved.end())
      saved.push_back(v);
  };
  for (size_t id = forward_nodes; id < full.nodes.size(); ++id)
    for (const ValueRef& v : full.nodes[id].inputs) save(v);
  for (const ValueRef& h : heads) save(h);
  // Forward outputs: the block's, the updated parameters' new values, the saved values.
  bw->effects = Effects::of(*g);
  std::vector<ValueRef> fwd_heads = ys;
  bw->num_outputs = ys.size();
  for (const auto& u : g->updates) fwd_heads.push_back(u.second);
  for (const ValueRef& v : saved) {
    auto at = std::find(fwd_heads.begin(), fwd_heads.end(), v);
    bw->saved.push_back(static_cast<int>(at - fwd_heads.begin()));
    if (at == fwd_heads.end()) fwd_heads.push_back(v);
  }
  std::vector<std::string> fwd_names = names;
  std::vector<NDArray> fwd_examples = xs;
  bw->effects.add_inputs(*g, fwd_names, fwd_examples);
  // Random inputs (seeds) have one shape at every size (trace_difference checked it).
  if (!probe.empty())
    for (size_t i = xs.size(); i < fwd_examples.size(); ++i) probe.push_back(fwd_examples[i].shape());
  auto build_forward = [&] {
    return CachedGraph::build(prune_graph(full, fwd_heads), fwd_names, fwd_examples, params, g->constants,
                              opts_.compile, name(), Context(), probe, counters_->hook(false, c.reason));
  };
  if (heads.empty()) {
    bw->forward = build_forward();
    return bw;
  }
  // The gradient graph: saved values become variables, the forward ops behind them drop out.
  // Its inputs: the forward's (random inputs too: the gradient reuses the masks), the
  // parameters, the saved values, the head gradients.
  Graph back = full;
  std::vector<std::string> in_names = fwd_names;
  std::vector<NDArray> examples = fwd_examples;
  for (const auto& p : g->params) {
    in_names.push_back(p->name());
    examples.push_back(p->data());
  }
  for (size_t k = 0; k < saved.size(); ++k) {
    Node& n = back.nodes[saved[k].node];
    in_names.push_back(kSaved + std::to_string(k));
    examples.emplace_back(HostTensor(n.out_dtypes[0], n.out_shapes[0].dims()));
    Node v;
    v.name = in_names.back();
    v.out_shapes = {n.out_shapes[0]};
    v.out_dtypes = {n.out_dtypes[0]};
    n = std::move(v);
  }
  for (size_t i = 0; i < ys.size(); ++i) {
    in_names.push_back(kHeadGrad + std::to_string(i));
    examples.emplace_back(HostTensor(full.dtype(ys[i]), full.shape(ys[i]).dims()));
  }
  std::vector<std::vector<int64_t>> back_probe;
  if (!probe.empty()) {
    back_probe = probe;
    for (const auto& p : g->params) back_probe.push_back(p->shape());
    const Graph& pf = tp.g->graph;
    for (const ValueRef& v : saved) back_probe.push_back(pf.nodes[v.node].out_shapes[0].dims());
    for (const ValueRef& y : ys) back_probe.push_back(pf.shape(y).dims());
  }
  // The two graphs compile at once: the gradient graph on a thread of its own, the forward here
  // (each is its own MLIR/LLVM module; on a cold cache the first training call waits for the
  // slower of the two instead of both).
  Graph back_pruned = prune_graph(back, heads);
  auto back_hook = counters_->hook(true, c.reason);
  const std::string block = name();
  std::future<std::shared_ptr<CachedGraph>> backward = std::async(std::launch::async, [&] {
    // The parameters arrive as inputs (the feed); the map lets AMP bind their cached casts.
    return CachedGraph::build(back_pruned, in_names, examples, params, g->constants, opts_.compile, block, Context(),
                              back_probe, back_hook);
  });
  std::shared_ptr<CachedGraph> forward;
  try {
    forward = build_forward();
    // The forward's module is usually the smaller one: while the gradient graph still compiles,
    // this thread does the library calls' one-off setup (oneDNN primitives of the fully
    // connected layers; oneDNN's sgemm kernels for the gradient's products, ~40 ms in all)
    // that the first run would otherwise do after the wait, on the critical path.
    if (forward->exe)
      for (const Step& s : forward->exe->steps) prepare_library(s.call);
  } catch (...) {
    backward.wait();  // it reads this frame's values
    throw;
  }
  bw->graph = backward.get();
  bw->forward = std::move(forward);
  return bw;
}

std::vector<NDArray> HybridBlock::run_recorded(const std::vector<NDArray>& xs) {
  std::shared_ptr<Cached> c = lookup(xs, false);
  std::vector<bool> need;
  for (const NDArray& x : xs) need.push_back(tape::needs_grad({x}));
  std::shared_ptr<Backward> b;
  if (c->traced) {
    std::vector<bool> key = need;
    for (const auto& p : c->params) key.push_back(p->grad_req() != "null");
    if (auto it = c->backward.find(key); it != c->backward.end()) b = it->second;
  }
  if (!b) {
    try {
      b = build_backward(*c, xs, need);
    } catch (...) {
      if (!c->traced) cache_.remove(c);  // a failed trace leaves nothing cached
      throw;
    }
    c->backward[b->need] = b;
  }
  last_ = c;  // what export traces (in predict mode)
  std::vector<NDArray> fwd_in = b->effects.inputs(xs);
  std::vector<NDArray> all = b->forward->run(fwd_in);
  b->effects.write_back(all, b->num_outputs);
  std::vector<NDArray> outs(all.begin(), all.begin() + b->num_outputs);
  if (!b->graph) return outs;
  std::vector<NDArray> ins = xs;
  for (const auto& p : c->params) ins.push_back(p->data());
  std::vector<NDArray> feed;  // what the gradient graph reads besides the head gradients
  for (const NDArray& x : fwd_in) feed.push_back(x.detach());
  for (size_t k = xs.size(); k < ins.size(); ++k) feed.push_back(ins[k].detach());
  for (int k : b->saved) feed.push_back(all[k]);
  std::vector<std::pair<std::vector<int64_t>, DType>> out_types;  // for outputs without a gradient
  for (const NDArray& y : outs) out_types.emplace_back(y.shape(), y.dtype());
  size_t n_in = ins.size();
  tape::record_custom(name(), ins, outs, [b, feed, out_types, n_in](const std::vector<NDArray>& og) {
    std::vector<NDArray> gi(n_in);
    std::vector<NDArray> f = feed;
    for (size_t i = 0; i < og.size(); ++i)
      f.push_back(og[i].defined() ? og[i] : nd::zeros(out_types[i].first, out_types[i].second));
    std::vector<NDArray> r = b->graph->run(f);
    for (size_t k = 0; k < r.size(); ++k) gi[b->which[k]] = r[k];
    return gi;
  });
  return outs;
}

}  // namespace hgc::gluon
