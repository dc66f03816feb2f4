// constant-fold: compile-time evaluation of constant subgraphs through the caller's
// evaluator (the compiler's kernels), so a folded value is bit-for-bit what the compiled
// graph would have computed.
//
// Algorithm.
//  1. Mark constants in topological order. A variable is constant when its tensor is in the
//     table and it is a folded constant (`__const__`) or, with fold_params, a frozen parameter
//     (any variable the table names). An op node is constant when its op is known, not
//     random, stateful, aux-state-updating or a loss, it has no control dependencies or
//     subgraphs, every output shape is known and at most max_bytes, and every input is
//     constant; source ops (_zeros, _arange, _full, ...) have no inputs and qualify.
//  2. The values to materialize are the outputs of constant op nodes read by a live
//     non-constant node or a head. A source op read directly is left alone (folding it would only trade a
//     cheap kernel for a bound tensor).
//  3. The constant nodes those values need are evaluated in node order with the evaluator,
//     each once; outputs are checked against the inferred shapes and dtypes. A node the
//     evaluator rejects (hgc::Error: no lowering, say) is marked non-constant and steps 1-3
//     repeat, reusing the values already computed.
//  4. Each materialized value becomes a variable `<node>_const` (`<node>_const<k>` for output
//     k > 0) marked `__const__`, with a copy of its tensor in the table; its readers read the
//     variable. Folded nodes and the frozen variables only they read become dead and are
//     removed; the graph is re-inferred.
#include "graph_rewrite.h"
#include "hgc/base/error.h"
#include "hgc/passes/simplify.h"

#include <cstring>

namespace hgc {
namespace {

class Folder {
 public:
  Folder(Graph& g, const Evaluator& eval, TensorMap& t, const ConstantFoldOptions& o)
      : g_(g), eval_(eval), tensors_(t), opts_(o), values_(g.nodes.size()), rejected_(g.nodes.size(), 0) {}

  FoldResult run() {
    FoldResult r;
    if (!eval_) return r;
    std::vector<ValueRef> frontier;
    for (;;) {
      mark();
      frontier = find_frontier();
      if (evaluate(frontier)) break;
    }
    if (frontier.empty()) return r;
    rewrite::Rewrite rw(g_);
    const int n = static_cast<int>(g_.nodes.size());
    for (const ValueRef& v : frontier) {
      const Node& src = g_.nodes[v.node];
      std::string base = src.name + "_const" + (v.index ? std::to_string(v.index) : "");
      std::string name = rewrite::unique_name(g_, base);
      const HostTensor& t = values_[v.node][v.index];
      HostTensor copy(t.dtype(), t.shape());
      if (t.nbytes()) std::memcpy(copy.raw(), t.raw(), t.nbytes());
      tensors_[name] = copy;
      int id = rewrite::add_variable(g_, name, Shape(t.shape()), t.dtype(), true);
      rw.replace(v, {id, 0});
      r.constants.push_back(name);
    }
    for (int i = 0; i < n; ++i)
      if (const_[i] && g_.nodes[i].is_variable()) rw.droppable(i);
    int before = 0, after = 0;
    for (int i = 0; i < n; ++i) before += !g_.nodes[i].is_variable();
    rw.finish();
    for (const Node& node : g_.nodes) after += !node.is_variable();
    r.folded_nodes = before - after;
    return r;
  }

 private:
  bool foldable_op(int i) const {
    const Node& n = g_.nodes[i];
    if (!n.op || rejected_[i] || !n.control_deps.empty() || !n.subgraphs.empty()) return false;
    if (n.op->traits & (kRandom | kStateful | kAuxState | kLoss)) return false;
    if (n.op->num_aux) return false;
    if (n.out_shapes.empty() || n.out_shapes.size() != n.out_dtypes.size()) return false;
    for (size_t k = 0; k < n.out_shapes.size(); ++k) {
      if (!n.out_shapes[k].known() || n.out_dtypes[k] == DType::unknown) return false;
      if (static_cast<double>(n.out_shapes[k].numel()) * dtype_size(n.out_dtypes[k]) >
          static_cast<double>(opts_.max_bytes))
        return false;
    }
    return true;
  }

  bool constant_variable(const Node& v) const {
    auto it = tensors_.find(v.name);
    if (it == tensors_.end() || !(opts_.fold_params || rewrite::is_constant_variable(v))) return false;
    const HostTensor& t = it->second;
    const Shape& s = v.out_shapes.at(0);
    if (!s.known()) return false;
    if (Shape(t.shape()) != s || t.dtype() != v.out_dtypes.at(0))
      fail("passes", "constant-fold: tensor '", v.name, "' is ", t.describe(), " but the graph has ",
           s.str(), " ", dtype_name(v.out_dtypes.at(0)));
    return true;
  }

  void mark() {
    const_.assign(g_.nodes.size(), 0);
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      const Node& n = g_.nodes[i];
      if (n.is_variable()) {
        const_[i] = constant_variable(n);
        continue;
      }
      bool c = foldable_op(static_cast<int>(i));
      for (const ValueRef& v : n.inputs) c = c && const_[v.node];
      const_[i] = c;
    }
  }

  std::vector<ValueRef> find_frontier() const {
    std::set<ValueRef> seen;
    std::vector<ValueRef> out;
    auto consider = [&](const ValueRef& v) {
      const Node& src = g_.nodes[v.node];
      if (!const_[v.node] || src.is_variable() || src.inputs.empty()) return;
      if (seen.insert(v).second) out.push_back(v);
    };
    std::vector<char> live = rewrite::live_from_heads(g_);
    for (size_t i = 0; i < g_.nodes.size(); ++i)
      if (!const_[i] && live[i])
        for (const ValueRef& v : g_.nodes[i].inputs) consider(v);
    for (const ValueRef& h : g_.heads) consider(h);
    return out;
  }

  // Evaluates what `frontier` needs; false when a node was rejected (mark again).
  bool evaluate(const std::vector<ValueRef>& frontier) {
    std::vector<char> need(g_.nodes.size(), 0);
    for (const ValueRef& v : frontier) need[v.node] = 1;
    for (int i = static_cast<int>(g_.nodes.size()) - 1; i >= 0; --i)
      if (need[i])
        for (const ValueRef& v : g_.nodes[i].inputs) need[v.node] = 1;
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      const Node& n = g_.nodes[i];
      if (!need[i] || n.is_variable() || !values_[i].empty()) continue;
      std::vector<HostTensor> in;
      for (const ValueRef& v : n.inputs)
        in.push_back(g_.nodes[v.node].is_variable() ? tensors_.at(g_.nodes[v.node].name)
                                                   : values_[v.node][v.index]);
      std::vector<HostTensor> out;
      try {
        out = eval_(n, in);
      } catch (const Error&) {
        rejected_[i] = 1;
        return false;
      }
      if (out.size() < n.out_shapes.size())
        fail("passes", "constant-fold: ", n.describe(), ": the evaluator returned ", out.size(),
             " outputs, the graph has ", n.out_shapes.size());
      for (size_t k = 0; k < n.out_shapes.size(); ++k)
        if (Shape(out[k].shape()) != n.out_shapes[k] || out[k].dtype() != n.out_dtypes[k])
          fail("passes", "constant-fold: ", n.describe(), ": output ", k, " evaluated to ",
               out[k].describe(), ", inferred ", n.out_shapes[k].str(), " ", dtype_name(n.out_dtypes[k]));
      values_[i] = std::move(out);
    }
    return true;
  }

  Graph& g_;
  const Evaluator& eval_;
  TensorMap& tensors_;
  ConstantFoldOptions opts_;
  std::vector<std::vector<HostTensor>> values_;
  std::vector<char> rejected_, const_;
};

class ConstantFoldPass : public Pass {
 public:
  ConstantFoldPass(Evaluator e, TensorMap* t, ConstantFoldOptions o) : eval_(std::move(e)), tensors_(t), opts_(o) {}
  std::string name() const override { return "constant-fold"; }
  std::set<Fact> requires_facts() const override { return {Fact::ShapesInferred}; }
  std::set<Fact> provides() const override { return {Fact::ShapesInferred}; }
  std::set<Fact> invalidates() const override { return {Fact::Verified, Fact::Fused, Fact::MemoryPlanned}; }
  void run(Graph& g) override {
    if (tensors_) constant_fold(g, eval_, *tensors_, opts_);
  }

 private:
  Evaluator eval_;
  TensorMap* tensors_;
  ConstantFoldOptions opts_;
};

}  // namespace

FoldResult constant_fold(Graph& g, const Evaluator& eval, TensorMap& tensors, const ConstantFoldOptions& opts) {
  return Folder(g, eval, tensors, opts).run();
}

std::unique_ptr<Pass> make_constant_fold_pass(Evaluator eval, TensorMap* tensors, ConstantFoldOptions opts) {
  return std::make_unique<ConstantFoldPass>(std::move(eval), tensors, opts);
}

}  // namespace hgc
