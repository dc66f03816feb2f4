// The tape and backward pass. Recording keeps, per op call, its inputs (with their autograd
// entries) and outputs; backward walks the recorded nodes from the heads in reverse
// recording order and runs each op's gradient rule (autograd/grad/*.cc) — ordinary op calls, so
// the same cached kernels as forward. Contributions to one value are summed.
#include "hgc/frontend/autograd/autograd.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>

#include "autograd/tape.h"
#include "autograd/grad_rules.h"
#include "hgc/base/error.h"
#include "nd/detail.h"

namespace hgc {
namespace autograd {
namespace {
thread_local bool t_recording = false;
}  // namespace

bool is_recording() { return t_recording; }
bool is_training() { return gluon::is_training(); }
bool set_recording(bool on) {
  bool p = t_recording;
  t_recording = on;
  return p;
}
bool set_training(bool on) { return gluon::set_training(on); }

Scope::Scope(bool recording, bool training)
    : prev_recording_(set_recording(recording)), prev_training_(set_training(training)) {}
Scope::~Scope() {
  set_recording(prev_recording_);
  set_training(prev_training_);
}

}  // namespace autograd

namespace tape {
namespace {
std::atomic<uint64_t> g_seq{0};

bool entry_needs_grad(const std::shared_ptr<AGEntry>& e) {
  return e && (!e->is_variable() || e->req != GradReq::null_req);
}

void attach(const std::string& op, const AttrMap& attrs, const std::vector<NDArray>& inputs,
            std::vector<NDArray>& outputs, std::function<std::vector<NDArray>(const std::vector<NDArray>&)> custom) {
  auto node = std::make_shared<AGNode>();
  node->op = op;
  node->attrs = attrs;
  node->inputs = inputs;
  node->custom = std::move(custom);
  node->seq = g_seq++;
  for (size_t i = 0; i < outputs.size(); ++i) {
    node->outputs.push_back(outputs[i].detach());
    auto e = std::make_shared<AGEntry>();
    e->node = node;
    e->index = static_cast<int>(i);
    node->out_entries.push_back(e);
    outputs[i].set_ag_entry(std::move(e));
  }
}
}  // namespace

bool needs_grad(const std::vector<NDArray>& inputs) {
  for (const NDArray& x : inputs)
    if (entry_needs_grad(x.ag_entry())) return true;
  return false;
}

void record(const std::string& op, const AttrMap& attrs, const std::vector<NDArray>& inputs,
            std::vector<NDArray>& outputs) {
  const OpDef& def = OpRegistry::global().get(op);
  if (grad::RuleTable::global().non_differentiable(def)) return;
  attach(def.name, attrs, inputs, outputs, nullptr);
}

void record_custom(const std::string& name, const std::vector<NDArray>& inputs, std::vector<NDArray>& outputs,
                   std::function<std::vector<NDArray>(const std::vector<NDArray>& og)> fn) {
  attach(name, {}, inputs, outputs, std::move(fn));
}

namespace {
std::mutex g_hooks_mu;
std::map<int, GradReadyHook>& ready_hooks() {
  static std::map<int, GradReadyHook> h;
  return h;
}
int g_next_hook = 0;
}  // namespace

int add_grad_ready_hook(GradReadyHook hook) {
  std::lock_guard<std::mutex> lock(g_hooks_mu);
  ready_hooks()[g_next_hook] = std::move(hook);
  return g_next_hook++;
}

void remove_grad_ready_hook(int id) {
  std::lock_guard<std::mutex> lock(g_hooks_mu);
  ready_hooks().erase(id);
}

void notify_grad_ready(const NDArray& grad) {
  std::vector<GradReadyHook> hooks;
  {
    std::lock_guard<std::mutex> lock(g_hooks_mu);
    for (const auto& [id, h] : ready_hooks()) hooks.push_back(h);
  }
  for (const auto& h : hooks) h(grad);
}
}  // namespace tape

namespace {

using Key = std::pair<const void*, int>;  // (node, output) of a taped result; (entry, -1) of a variable

Key key_of(const std::shared_ptr<AGEntry>& e) {
  return e->is_variable() ? Key{e.get(), -1} : Key{e->node.get(), e->index};
}

void accumulate(std::map<Key, NDArray>& m, const Key& k, const NDArray& g) {
  auto it = m.find(k);
  if (it == m.end()) m.emplace(k, g);
  else it->second = it->second + g;
}

struct Result {
  std::map<Key, NDArray> grads;                       // every value's total gradient
  std::vector<std::shared_ptr<AGEntry>> variables;    // the variables reached
};

// Called by run_backward for a variable as soon as its gradient is complete (the last node
// contributing to it has run), so backward() can write it and tell the ready hooks while
// the rest of the graph is still being differentiated.
using OnFinal = std::function<void(const std::shared_ptr<AGEntry>&, const NDArray&)>;

// The core of backward and grad(): gradients of the heads for every taped value reached.
Result run_backward(const std::vector<NDArray>& heads, const std::vector<NDArray>& head_grads, bool retain_graph,
                    bool create_graph, const OnFinal& on_final = nullptr) {
  if (!head_grads.empty() && head_grads.size() != heads.size())
    fail("autograd", "backward: ", heads.size(), " heads but ", head_grads.size(), " head gradients");
  Result res;
  std::vector<std::shared_ptr<AGNode>> nodes;
  std::map<const AGNode*, bool> seen;
  std::map<const AGEntry*, bool> seen_vars;
  std::vector<std::shared_ptr<AGNode>> stack;
  auto visit_entry = [&](const std::shared_ptr<AGEntry>& e) {
    if (!e) return;
    if (e->is_variable()) {
      if (!seen_vars[e.get()]) {
        seen_vars[e.get()] = true;
        res.variables.push_back(e);
      }
    } else if (!seen[e->node.get()]) {
      seen[e->node.get()] = true;
      stack.push_back(e->node);
    }
  };
  for (size_t i = 0; i < heads.size(); ++i) {
    const auto& e = heads[i].ag_entry();
    if (!e)
      fail("autograd", "backward: head ", i, " was not computed under autograd::record() from an array with ",
           "attach_grad() (or a parameter), so it has no gradient graph");
    NDArray hg = head_grads.empty() || !head_grads[i].defined() ? nd::ones_like(heads[i]) : head_grads[i];
    if (hg.shape() != heads[i].shape())
      fail("autograd", "backward: head gradient ", i, " has shape ", nd_detail::shape_str(hg.shape()),
           " but the head has shape ", nd_detail::shape_str(heads[i].shape()));
    accumulate(res.grads, key_of(e), hg);
    visit_entry(e);
  }
  while (!stack.empty()) {
    auto n = stack.back();
    stack.pop_back();
    nodes.push_back(n);
    for (const NDArray& x : n->inputs) visit_entry(x.ag_entry());
  }
  std::sort(nodes.begin(), nodes.end(), [](const auto& a, const auto& b) { return a->seq > b->seq; });
  // The last node (in processing order) that feeds each variable: after it, its gradient is final.
  std::map<const AGEntry*, size_t> last_use;
  if (on_final)
    for (size_t i = 0; i < nodes.size(); ++i)
      for (const NDArray& x : nodes[i]->inputs)
        if (const auto& e = x.ag_entry(); e && e->is_variable()) last_use[e.get()] = i;

  autograd::Scope scope(create_graph, autograd::is_training());
  const grad::RuleTable& rules = grad::RuleTable::global();
  auto finalize = [&](size_t ni) {
    for (const NDArray& x : nodes[ni]->inputs) {
      const auto& e = x.ag_entry();
      if (!e || !e->is_variable()) continue;
      auto lu = last_use.find(e.get());
      if (lu == last_use.end() || lu->second != ni) continue;
      last_use.erase(lu);  // an input used twice by this node is final once
      if (auto it = res.grads.find(key_of(e)); it != res.grads.end()) on_final(e, it->second);
    }
  };
  for (size_t ni = 0; ni < nodes.size(); ++ni) {
    const auto& n = nodes[ni];
    std::vector<NDArray> og(n->out_entries.size());  // outputs may be released
    bool any = false;
    for (size_t i = 0; i < og.size(); ++i)
      if (auto it = res.grads.find(Key{n.get(), int(i)}); it != res.grads.end()) {
        og[i] = it->second;
        any = true;
      }
    if (!any) {
      if (on_final) finalize(ni);
      continue;
    }
    if (n->released)
      fail("autograd", "backward: the graph through '", n->op, "' was already freed by an earlier backward; pass ",
           "retain_graph=true to backpropagate through it twice");
    grad::Grads gi;
    if (n->custom) {
      if (create_graph)
        fail("autograd", "grad(create_graph=true) through '", n->op, "' (a hybridized block or an ",
             "autograd::Function) is not supported; call hybridize(false) for higher-order gradients");
      gi = n->custom(og);
    } else {
      const OpDef& def = OpRegistry::global().get(n->op);
      const grad::GradFn* rule = rules.find(def);
      if (!rule) {
        const std::string* why = rules.missing_reason(def);
        fail("autograd", "backward: op '", n->op, "' has no gradient rule yet", why ? " (" + *why + ")" : "",
             "; differentiable ops: see autograd::gradient_rule_ops()");
      }
      std::vector<NDArray> outs = n->outputs;
      if (create_graph)  // rules that read outputs must see them as taped values
        for (size_t i = 0; i < outs.size(); ++i)
          if (auto e = n->out_entries[i].lock()) outs[i].set_ag_entry(e);
      gi = (*rule)(grad::GradCtx{def, AttrView(def, n->attrs, n->op), n->inputs, outs, og});
    }
    for (size_t i = 0; i < n->inputs.size() && i < gi.size(); ++i) {
      const auto& e = n->inputs[i].ag_entry();
      if (!e || !gi[i].defined() || (e->is_variable() && e->req == GradReq::null_req)) continue;
      if (gi[i].shape() != n->inputs[i].shape())
        fail("autograd", "gradient rule of '", n->op, "' gave input ", i, " a gradient of shape ",
             nd_detail::shape_str(gi[i].shape()), " for an input of shape ", nd_detail::shape_str(n->inputs[i].shape()));
      accumulate(res.grads, key_of(e), create_graph ? gi[i] : gi[i].detach());
    }
    if (on_final) finalize(ni);
  }
  if (!retain_graph)
    for (const auto& n : nodes) {
      n->released = true;
      n->custom = nullptr;
      n->outputs.clear();
      n->inputs.clear();
    }
  return res;
}

}  // namespace

namespace autograd {

void mark_variables(std::vector<NDArray>& variables, GradReq req) {
  for (NDArray& v : variables) v.attach_grad(req);
}

void backward(const std::vector<NDArray>& heads, const std::vector<NDArray>& head_grads, bool retain_graph) {
  // Each variable's gradient is written as soon as it is final, and the ready hooks told, so
  // a data-parallel Trainer can start reducing it while backward goes on.
  std::map<const AGEntry*, bool> written;
  auto write = [&](const std::shared_ptr<AGEntry>& e, const NDArray& total) {
    if (e->req == GradReq::null_req || written[e.get()]) return;
    written[e.get()] = true;
    autograd::Scope off(false, is_training());
    NDArray g = e->grad;
    if (e->req == GradReq::write) nd_detail::write_into(g, total, "backward (grad_req write)");
    else nd_detail::write_into(g, g + total, "backward (grad_req add)");
    tape::notify_grad_ready(g);
  };
  Result r = run_backward(heads, head_grads, retain_graph, false, write);
  for (const auto& e : r.variables)  // heads that are variables, and any not reached by a node
    if (auto it = r.grads.find(key_of(e)); it != r.grads.end()) write(e, it->second);
}

std::vector<NDArray> grad(const std::vector<NDArray>& heads, const std::vector<NDArray>& variables,
                          const std::vector<NDArray>& head_grads, bool create_graph, std::optional<bool> retain_graph) {
  for (size_t i = 0; i < variables.size(); ++i)
    if (!variables[i].ag_entry())
      fail("autograd", "grad: variable ", i, " has no autograd entry; call attach_grad() on it before recording");
  Result r = run_backward(heads, head_grads, retain_graph.value_or(create_graph), create_graph);
  std::vector<NDArray> out;
  for (const NDArray& v : variables) {
    auto it = r.grads.find(key_of(v.ag_entry()));
    out.push_back(it != r.grads.end() ? it->second : nd::zeros_like(v));
  }
  return out;
}

bool has_gradient_rule(const std::string& op) {
  const OpDef& d = OpRegistry::global().get(op);
  return grad::RuleTable::global().find(d) != nullptr;
}

std::vector<std::string> gradient_rule_ops() { return grad::RuleTable::global().ops(); }
std::vector<std::string> zero_gradient_ops() { return grad::RuleTable::global().zero_ops(); }
std::map<std::string, std::string> ops_without_gradient() { return grad::RuleTable::global().missing_ops(); }

std::map<std::string, std::string> gradient_rule_files() { return grad::RuleTable::global().files(); }

}  // namespace autograd

// ---- NDArray members ----
void NDArray::attach_grad(GradReq req) {
  if (sym_) fail("autograd", "attach_grad on a traced value");
  if (!defined()) fail("autograd", "attach_grad on an empty (default-constructed) NDArray");
  auto e = std::make_shared<AGEntry>();
  e->req = req;
  e->grad = nd::zeros(shape(), dtype(), ctx_);
  ag_ = std::move(e);
}

NDArray NDArray::grad() const {
  if (!ag_ || !ag_->is_variable())
    fail("autograd", "grad(): this array has no gradient buffer; call attach_grad() on it first");
  return ag_->grad;
}

void NDArray::backward(const NDArray& head_grad, bool retain_graph) const {
  autograd::backward({*this}, {head_grad}, retain_graph);
}

NDArray NDArray::detach() const {
  NDArray d = *this;
  d.ag_.reset();
  return d;
}

}  // namespace hgc
