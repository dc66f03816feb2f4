// HybridBlock (gluon/block.py): imperative calls with deferred shape inference, traced and
// compiled calls once hybridized (cached by input shapes, dtypes and training mode), and
// export of the traced graph.
#include <cstdio>
#include <optional>

#include "gluon/hybrid_cached.h"
#include "gluon/predict_reuse.h"
#include "gluon/trace_refusal.h"
#include "hgc/frontend/amp/amp.h"
#include "hgc/frontend/autograd/autograd.h"
#include "hgc/frontend/gluon/block.h"
#include "hgc/frontend/symbol/symbol.h"
#include "hgc/base/error.h"
#include "hgc/base/log.h"
#include "hgc/compiler/dynamic.h"
#include "hgc/ir/json_io.h"
#include "hgc/runtime/tensor_io.h"
#include "symbol/trace.h"

namespace hgc::gluon {

namespace {
Shape shape_from(const std::vector<int64_t>& dims) { return Shape(dims); }

// The context the inputs share (MXNet: one per call); cpu without inputs.
Context context_of(const std::vector<NDArray>& xs, const std::string& block) {
  Context ctx = xs.empty() ? Context() : xs[0].context();
  for (size_t i = 1; i < xs.size(); ++i)
    if (xs[i].context() != ctx)
      fail("gluon", "block '", block, "': input 0 lives on ", ctx.str(), " and input ", i, " on ", xs[i].context().str(),
           "; copy them to one context with as_in_context()");
  return ctx;
}

struct Traced {
  std::shared_ptr<TraceGraph> g;
  std::vector<ValueRef> outputs;
};

// `b`'s forward traced on inputs of these shapes and dtypes, in the current mode.
Traced trace_forward(HybridBlock& b, const std::vector<std::vector<int64_t>>& shapes, const std::vector<DType>& dtypes,
                     bool for_compile) {
  Traced t{std::make_shared<TraceGraph>(b.name()), {}};
  t.g->training = is_training();
  t.g->for_compile = for_compile;
  std::vector<std::string> names = default_input_names(shapes.size());
  std::vector<NDArray> outs;
  {
    trace::Activate on(t.g);
    trace::ScopeGuard scope(*t.g, b.prefix());
    std::vector<NDArray> sx;
    for (size_t i = 0; i < shapes.size(); ++i) sx.push_back(trace::input(t.g, names[i], shape_from(shapes[i]), dtypes[i]));
    outs = b.hybrid_forward_multi(sx);
  }
  for (const NDArray& y : outs) {
    if (!y.is_symbolic() || y.symbolic_value()->graph != t.g)
      fail("gluon", "hybridized block '", b.name(), "' returned a value that its inputs do not compute ",
           "(a constant or an array from elsewhere); hybrid_forward must return traced values");
    t.outputs.push_back(trace::value_ref(y));
  }
  complete_params(*t.g);
  return t;
}
}  // namespace

Effects Effects::of(const TraceGraph& g) {
  Effects e;
  e.random = g.random_inputs;
  for (const auto& u : g.updates) e.updated.push_back(u.first);
  return e;
}

std::vector<NDArray> Effects::inputs(const std::vector<NDArray>& xs) const {
  std::vector<NDArray> r = xs;
  for (const auto& in : random) r.push_back(in.draw());
  return r;
}

void Effects::write_back(const std::vector<NDArray>& outs, size_t first) const {
  for (size_t k = 0; k < updated.size(); ++k) updated[k]->data().assign(outs.at(first + k));
}

void Effects::add_inputs(const TraceGraph& g, std::vector<std::string>& names, std::vector<NDArray>& xs) const {
  for (const auto& in : random) {
    names.push_back(in.name);
    const Node& n = g.graph.nodes[g.graph.find(in.name)];
    xs.emplace_back(HostTensor(n.out_dtypes[0], n.out_shapes[0].dims()));
  }
}

// Deferred dims of the traced parameters come back from the graph's inferred shapes.
void complete_params(const TraceGraph& g) {
  for (const auto& p : g.params) {
    const Shape& s = g.graph.nodes[g.param_nodes.at(p->name())].out_shapes[0];
    if (!s.rank_known()) continue;
    std::vector<int64_t> dims = s.dims();
    for (int64_t& d : dims)
      if (d < 0) d = 0;
    p->set_shape(dims);
    if (p->deferred() && p->shape_known()) p->finish_deferred_init();
  }
}

std::vector<bool> HybridizeOptions::dynamic_mask(size_t input, int rank) const {
  std::vector<bool> m(rank, false);
  if (static_only) return m;
  auto it = dynamic.find(input);
  if (it == dynamic.end()) {
    if (rank > 0) m[0] = true;
    return m;
  }
  for (int a : it->second) {
    int k = a < 0 ? a + rank : a;
    if (k >= 0 && k < rank) m[k] = true;
  }
  return m;
}

std::vector<std::vector<int64_t>> probe_shapes(const std::vector<std::vector<int64_t>>& shapes,
                                               const std::vector<std::vector<bool>>& dynamic, int delta) {
  std::vector<std::vector<int64_t>> p = shapes;
  bool any = false;
  for (size_t i = 0; i < p.size(); ++i)
    for (size_t k = 0; k < p[i].size() && i < dynamic.size(); ++k)
      if (dynamic[i][k]) {
        // A function of the value alone, so that sizes equal at the call stay equal (a batch
        // axis shared by several inputs); sizes that merely happen to be equal are told apart
        // at the next size (DynamicGraph binds each symbol to one value).
        p[i][k] = p[i][k] + delta;
        if (p[i][k] < 2) return {};  // a size of 1 may broadcast: no probe
        any = true;
      }
  if (!any) p.clear();
  return p;
}

std::string trace_difference(const TraceGraph& a, const TraceGraph& b) {
  std::string d = structure_difference(a.graph, b.graph);
  if (!d.empty()) return d;
  // Random inputs are drawn on the host at their traced shape before each run: one whose
  // shape follows the size (a mask drawn outside the graph) bakes it in. Seeds (shape (1,))
  // and the in-graph draws they feed (Dropout's _random_uniform_like) follow any size.
  for (const auto& r : a.random_inputs) {
    int ia = a.graph.find(r.name), ib = b.graph.find(r.name);
    if (ia < 0 || ib < 0 || a.graph.nodes[ia].out_shapes[0] != b.graph.nodes[ib].out_shapes[0])
      return "random input '" + r.name + "' is drawn at the traced shape";
  }
  for (const auto& [name, t] : a.constants) {
    auto it = b.constants.find(name);
    if (it == b.constants.end() || it->second.shape() != t.shape()) {
      std::string user;  // the node reading it: where the size is baked in
      int id = a.graph.find(name);
      for (const Node& n : a.graph.nodes)
        for (const ValueRef& v : n.inputs)
          if (id >= 0 && v.node == id && user.empty()) {
            user = " (read by " + n.describe() + " with";
            for (const ValueRef& w : n.inputs) user += " " + a.graph.nodes[w.node].describe();
            user += ")";
          }
      return "constant '" + name + "' has a size-dependent shape" + user;
    }
  }
  return "";
}

std::function<void(const std::string&, const std::string&)> HybridBlock::Counters::hook(bool backward_graph,
                                                                                         std::string first_reason) {
  return [this, backward_graph, first_reason](const std::string& reason, const std::string& sig) {
    ++(backward_graph ? backward : forward);
    if (log_enabled("compile"))
      log_line("compile " + block + " " + (backward_graph ? "backward" : "forward") + " " + sig +
               " reason: " + (reason == "first call" ? first_reason : reason));
  };
}

HybridBlock::HybridBlock(const std::string& hint, BlockArgs args)
    : Block(hint, std::move(args)), counters_(std::make_shared<Counters>()) {}
HybridBlock::~HybridBlock() = default;

NDArray HybridBlock::hybrid_forward(const NDArray&) {
  fail("gluon", "hybrid block '", name(), "' (", type_name(),
       ") defines no hybrid_forward(); override hybrid_forward or hybrid_forward_multi");
}

std::vector<NDArray> HybridBlock::hybrid_forward_multi(const std::vector<NDArray>& xs) {
  if (xs.size() != 1)
    fail("gluon", "block '", name(), "' takes one input (hybrid_forward); got ", xs.size(),
         " (override hybrid_forward_multi)");
  return {hybrid_forward(xs[0])};
}

void HybridBlock::hybridize(bool active, const HybridizeOptions& opts) {
  hybridized_ = active;
  imperative_modes_ = 0;
  opts_ = opts;
  // amp::init(): the default mixed precision of blocks that choose none.
  if (opts_.compile.amp == DType::unknown) opts_.compile.amp = amp::default_target();
  cache_.clear();
  Block::hybridize(active, opts);
}

void HybridBlock::clear_cache() {
  cache_.clear();
  last_.reset();
}

HybridBlock::CacheStats HybridBlock::cache_stats() const {
  CacheStats s = stats_;
  s.entries = cache_.size();
  // Each compiled graph's first plan came with its compile; every later one is a new size.
  auto later_plans = [](const std::shared_ptr<CachedGraph>& g) { return g ? std::max<int64_t>(0, g->instances_built() - 1) : 0; };
  for (const auto& c : cache_) {
    if (!c->shared_forward) s.sizes += later_plans(c->graph);  // else counted with its training entry
    for (const auto& [need, b] : c->backward) s.sizes += later_plans(b->forward) + later_plans(b->graph);
  }
  s.forward_compiles = counters_->forward;
  s.backward_compiles = counters_->backward;
  return s;
}

std::function<void(const std::string&, const std::string&)> HybridBlock::compile_hook(bool backward,
                                                                                      const std::string& reason) {
  counters_->block = name();
  return counters_->hook(backward, reason);
}

int64_t HybridBlock::compile_count() const { return counters_->forward + counters_->backward; }

std::vector<std::vector<bool>> HybridBlock::dynamic_masks(const std::vector<NDArray>& xs) const {
  std::vector<std::vector<bool>> m;
  for (size_t i = 0; i < xs.size(); ++i) m.push_back(opts_.dynamic_mask(i, static_cast<int>(xs[i].shape().size())));
  return m;
}

std::vector<NDArray> HybridBlock::run(const std::vector<NDArray>& xs) {
  std::shared_ptr<TraceGraph> g;
  for (const NDArray& x : xs)
    if (x.is_symbolic()) g = x.symbolic_value()->graph;
  if (g) {  // inside a trace (a hybridized parent) or on symbols: record
    std::optional<trace::Activate> on;
    if (trace::active_ptr() != g) on.emplace(g);
    trace::ScopeGuard scope(*g, prefix());
    return hybrid_forward_multi(xs);
  }
  // Under autograd::record(): the compiled forward, one tape node, a compiled backward.
  unsigned mode = is_training() ? 2u : 1u;
  if (hybridized_ && !trace::active() && !(imperative_modes_ & mode)) {
    detail::take_trace_refusal();
    try {
      if (!autograd::is_recording()) return op_hook_ ? run_monitored(xs) : run_cached(xs);
      Context ctx = context_of(xs, name());
      if (ctx.device_type == DeviceType::gpu)
        fail("autograd", "hybridized block '", name(), "' on ", ctx.str(), ": autograd on gpu contexts is not ",
             "supported yet; record on cpu, or call the block outside autograd::record()");
      return run_recorded(xs);
    } catch (const Error&) {
      std::string why = detail::take_trace_refusal();
      if (why.empty()) throw;
      imperative_modes_ |= mode;
      if (log_enabled("compile"))
        log_line("compile " + name() + " " + (mode == 2 ? "training" : "predict") + " runs imperatively: " + why);
    }
  }
  infer_deferred(xs);
  return hybrid_forward_multi(xs);
}

void HybridBlock::infer_deferred(const std::vector<NDArray>& xs) {
  bool pending = false;
  for (const auto& p : params().values()) pending = pending || p->deferred();
  if (!pending || trace::active()) return;
  auto g = std::make_shared<TraceGraph>(name());
  {
    trace::Activate on(g);
    trace::ScopeGuard scope(*g, prefix());
    std::vector<std::string> names = default_input_names(xs.size());
    std::vector<NDArray> sx;
    for (size_t i = 0; i < xs.size(); ++i) sx.push_back(trace::input(g, names[i], shape_from(xs[i].shape()), xs[i].dtype()));
    hybrid_forward_multi(sx);
  }
  complete_params(*g);
  for (const auto& p : params().values())
    if (p->deferred())
      fail("gluon", "block '", name(), "': the shape of parameter '", p->name(), "' is still unknown after its first ",
           "forward; give it explicitly (e.g. in_units)");
}

std::vector<NDArray> HybridBlock::run_cached(const std::vector<NDArray>& xs) {
  std::shared_ptr<Cached> c = lookup(xs, true);
  std::vector<NDArray> ins = c->effects.inputs(xs);
  for (size_t i = xs.size(); i < ins.size(); ++i) ins[i] = ins[i].as_in_context(c->ctx);  // masks drawn on the host
  std::vector<NDArray> outs = c->graph->run(ins);
  c->effects.write_back(outs, c->num_outputs);
  outs.resize(c->num_outputs);
  return outs;
}

std::shared_ptr<HybridBlock::Cached> HybridBlock::lookup(const std::vector<NDArray>& xs, bool forward) {
  bool training = is_training();
  Context ctx = context_of(xs, name());
  counters_->block = name();
  // The key: mode, context, dtypes, ranks and the static axes' sizes.
  auto matches = [&](const Cached& c) {
    if (c.training != training || c.ctx != ctx || c.shapes.size() != xs.size()) return false;
    for (size_t i = 0; i < xs.size(); ++i) {
      if (c.dtypes[i] != xs[i].dtype() || c.shapes[i].size() != xs[i].shape().size()) return false;
      for (size_t k = 0; k < c.shapes[i].size(); ++k)
        if (!c.dynamic[i][k] && c.shapes[i][k] != xs[i].shape()[k]) return false;
    }
    return true;
  };
  for (auto it = cache_.begin(); it != cache_.end(); ++it) {
    if (!matches(**it)) continue;
    ++stats_.hits;
    if (it != cache_.begin()) cache_.splice(cache_.begin(), cache_, it);
    if (forward && !(*it)->graph) build_forward(*it, xs);
    return *it;
  }
  ++stats_.misses;
  auto c = std::make_shared<Cached>();
  c->training = training;
  c->ctx = ctx;
  for (const NDArray& x : xs) {
    c->shapes.push_back(x.shape());
    c->dtypes.push_back(x.dtype());
  }
  c->dynamic = ctx.device_type == DeviceType::gpu ? std::vector<std::vector<bool>>(xs.size()) : dynamic_masks(xs);
  for (size_t i = 0; i < xs.size(); ++i) c->dynamic[i].resize(xs[i].shape().size(), false);
  // Why the signature is new, against the most recent entry of this mode.
  c->reason = "first call";
  const Cached* near = nullptr;
  for (const auto& e : cache_)
    if (e->ctx == ctx && e->shapes.size() == xs.size()) {
      if (e->training == training) {
        near = e.get();
        break;
      }
      if (!near) near = e.get();
    }
  if (near && near->training != training) c->reason = std::string("mode change (") + (training ? "training" : "predict") + ")";
  else if (near) {
    c->reason = "static axis changed";
    for (size_t i = 0; i < xs.size(); ++i) {
      if (near->dtypes[i] != xs[i].dtype()) c->reason = "new dtype";
      else if (near->shapes[i].size() != xs[i].shape().size() && c->reason != "new dtype") c->reason = "new rank";
    }
    if (c->reason == "static axis changed" && !near->reason.empty() && near->reason.rfind("size-dependent", 0) == 0)
      c->reason = near->reason;
  } else if (stats_.misses > 1) {
    c->reason = "evicted";
  }
  if (forward) build_forward(c, xs);  // first, so a failed trace leaves nothing cached
  cache_.push_front(c);
  while (cache_.size() > std::max<size_t>(1, opts_.cache_size)) {
    const Cached& old = *cache_.back();
    ++stats_.evictions;
    if (log_enabled("compile"))
      log_line("compile " + name() + " evict " + signature_str(default_input_names(old.shapes.size()), old.shapes, old.dtypes,
                                                               old.dynamic) +
               (old.training ? " training" : " predict") + " reason: evicted");
    cache_.pop_back();
  }
  return c;
}

bool HybridBlock::probe_first() {
  for (const auto& p : collect_params().values())
    if (p->deferred()) return false;
  return true;
}

void HybridBlock::build_forward(const std::shared_ptr<Cached>& c, const std::vector<NDArray>& xs) {
  std::vector<std::vector<int64_t>> probe = probe_shapes(c->shapes, c->dynamic);
  std::optional<Traced> early;  // the probe traced first, so what the trace leaves behind is the call's
  std::string early_error;
  if (!probe.empty() && probe_first()) {
    try {
      early = trace_forward(*this, probe, c->dtypes, true);
    } catch (const Error& e) {
      early_error = e.what();
      // A size at its limit (a sequence as long as the positional table): probe below it.
      auto down = probe_shapes(c->shapes, c->dynamic, -1);
      if (!down.empty()) try {
          early = trace_forward(*this, down, c->dtypes, true);
          probe = down;
          early_error.clear();
        } catch (const Error&) {
        }
    }
  }
  Traced t = trace_forward(*this, c->shapes, c->dtypes, true);
  if (!probe.empty()) {  // the same graph at other sizes of the dynamic axes, or specialize
    std::string diff;
    try {
      if (!early_error.empty()) fail("gluon", early_error);
      Traced tp = early ? *early : trace_forward(*this, probe, c->dtypes, true);
      diff = trace_difference(*t.g, *tp.g);
    } catch (const Error& e) {
      diff = std::string("tracing at another size fails: ") + e.what();
    }
    if (!diff.empty()) {
      probe.clear();
      for (auto& m : c->dynamic) std::fill(m.begin(), m.end(), false);
      c->reason = "size-dependent graph (" + diff + ")";
    }
  }
  std::map<std::string, std::shared_ptr<Parameter>> params;
  for (const auto& p : t.g->params) params[p->name()] = p;
  Effects effects = Effects::of(*t.g);
  std::vector<ValueRef> heads = t.outputs;
  for (const auto& u : t.g->updates) heads.push_back(u.second);
  std::vector<std::string> names = default_input_names(xs.size());
  std::vector<NDArray> examples = xs;
  effects.add_inputs(*t.g, names, examples);
  // Random inputs (seeds) have one shape at every size (trace_difference checked it).
  if (!probe.empty())
    for (size_t i = xs.size(); i < examples.size(); ++i) probe.push_back(examples[i].shape());
  Graph traced = prune_graph(t.g->graph, heads);
  c->params = t.g->params;
  c->traced = true;
  c->constants = t.g->constants;
  c->num_outputs = t.outputs.size();
  if (effects.random.empty() && effects.updated.empty())
    if (auto shared = predict_reuse::training_forward_for(*c, traced, cache_)) {
      c->graph = std::move(shared);
      c->shared_forward = true;
      ++stats_.traces;
      last_ = c;
      if (log_enabled("plan"))
        log_line("plan " + name() + " predict " + signature_str(names, c->shapes, c->dtypes, c->dynamic) +
                 ": runs the training forward (the same graph), no compile");
      return;
    }
  c->graph = CachedGraph::build(traced, names, examples, params, t.g->constants, opts_.compile, name(), c->ctx, probe,
                                counters_->hook(false, c->reason));
  c->effects = std::move(effects);
  ++stats_.traces;
  last_ = c;
}

void HybridBlock::export_model(const std::string& path, int epoch) const {
  if (!last_)
    fail("gluon", "export of block '", name(), "': call hybridize() and run a forward first, so there is a graph to export");
  // MXNet loads the predict-mode graph (Dropout and BatchNorm ops, running statistics as aux
  // states); a training-mode entry's graph computes batch statistics and takes masks instead.
  Graph g;
  std::map<std::string, std::shared_ptr<Parameter>> params;
  std::map<std::string, HostTensor> constants;
  if (!last_->training && last_->graph && !last_->shared_forward) {
    g = last_->graph->graph;
    for (const auto& p : last_->params) params[p->name()] = p;
    constants = last_->constants;
  } else {
    autograd::Scope predict(false, false);
    Traced t = trace_forward(const_cast<HybridBlock&>(*this), last_->shapes, last_->dtypes, false);
    g = prune_graph(t.g->graph, t.outputs);
    for (const auto& p : t.g->params) params[p->name()] = p;
    constants = t.g->constants;
  }
  save_json_file(g, path + "-symbol.json");
  ParamList list;
  for (int id : g.variable_ids()) {
    const std::string& n = g.nodes[id].name;
    std::string tag = g.role(id) == VarRole::AuxState ? "aux:" : "arg:";
    if (auto p = params.find(n); p != params.end()) list.emplace_back(tag + n, p->second->data().as_in_context(cpu()).tensor());
    else if (auto k = constants.find(n); k != constants.end()) list.emplace_back(tag + n, k->second);
  }
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, "-%04d.params", epoch);
  hgc::save_params(path + suffix, list);
}

}  // namespace hgc::gluon
