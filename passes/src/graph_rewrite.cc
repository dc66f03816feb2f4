// The rebuild step every simplification pass ends with (see graph_rewrite.h).
//
// finish():
//  1. Every input, control dependency and head is passed through the substitution map.
//  2. Liveness: from the heads (and, unless all_dead, from every node that was already dead
//     before the pass, so a pass removes only what it killed). Unreached variables are kept
//     when they are graph inputs (Graph::role == Input on the substituted graph, dead readers
//     included) unless they are folded constants or marked droppable.
//  3. Kept nodes are emitted depth-first, inputs before readers, visiting roots in node order:
//     an already topological list keeps its order; variables appended at the end move to
//     just before their first reader.
//  4. Re-inference from the variables' current shapes; the heads must keep shape and dtype.
#include "graph_rewrite.h"

#include <algorithm>

#include "hgc/base/error.h"
#include "hgc/ir/infer.h"

namespace hgc::rewrite {

Rewrite::Rewrite(Graph& g) : g_(g), live_before_(live_from_heads(g)) {
  for (const ValueRef& h : g.heads) {
    const Node& n = g.nodes[h.node];
    bool has = h.index < static_cast<int>(n.out_shapes.size()) &&
               h.index < static_cast<int>(n.out_dtypes.size());
    head_shapes_.push_back(has ? n.out_shapes[h.index] : Shape::unknown());
    head_dtypes_.push_back(has ? n.out_dtypes[h.index] : DType::unknown);
  }
}

void Rewrite::replace(ValueRef from, ValueRef to) {
  if (resolve(to) == from) return;
  subst_[from] = to;
}

ValueRef Rewrite::resolve(ValueRef v) const {
  for (size_t steps = 0; steps <= subst_.size(); ++steps) {
    auto it = subst_.find(v);
    if (it == subst_.end()) return v;
    v = it->second;
  }
  fail("passes", "internal error: cyclic value substitution at node ", v.node);
}

int Rewrite::finish(bool all_dead) {
  Graph& g = g_;
  const int n = static_cast<int>(g.nodes.size());
  for (Node& node : g.nodes) {
    for (ValueRef& v : node.inputs) v = resolve(v);
    for (int& d : node.control_deps) d = resolve({d, 0}).node;
  }
  for (ValueRef& h : g.heads) h = resolve(h);

  // 2. liveness
  std::vector<VarRole> role = roles(g);
  std::vector<char> keep(n, 0);
  std::vector<int> stack;
  auto mark = [&](int id) {
    if (!keep[id]) keep[id] = 1, stack.push_back(id);
  };
  for (const ValueRef& h : g.heads) mark(h.node);
  if (!all_dead)
    for (int i = 0; i < static_cast<int>(live_before_.size()) && i < n; ++i)
      if (!live_before_[i]) mark(i);
  while (!stack.empty()) {
    int id = stack.back();
    stack.pop_back();
    for (const ValueRef& v : g.nodes[id].inputs) mark(v.node);
    for (int d : g.nodes[id].control_deps) mark(d);
  }
  for (int i = 0; i < n; ++i)
    if (!keep[i] && g.nodes[i].is_variable() && role[i] == VarRole::Input &&
        !is_constant_variable(g.nodes[i]) && !droppable_.count(i))
      keep[i] = 1;

  // 3. topological emission
  std::vector<int> order, state(n, 0);  // 0 new, 1 in progress, 2 emitted
  for (int root = 0; root < n; ++root) {
    if (!keep[root] || state[root]) continue;
    std::vector<std::pair<int, size_t>> dfs{{root, 0}};
    state[root] = 1;
    while (!dfs.empty()) {
      auto& [id, next] = dfs.back();
      const Node& node = g.nodes[id];
      size_t deps = node.inputs.size() + node.control_deps.size();
      if (next < deps) {
        int in = next < node.inputs.size() ? node.inputs[next].node
                                           : node.control_deps[next - node.inputs.size()];
        ++next;
        if (state[in] == 1)
          fail("passes", "internal error: cycle through ", g.nodes[in].describe());
        if (state[in] == 0) state[in] = 1, dfs.push_back({in, 0});
        continue;
      }
      state[id] = 2;
      order.push_back(id);
      dfs.pop_back();
    }
  }

  std::vector<int> where(n, -1);
  for (size_t k = 0; k < order.size(); ++k) where[order[k]] = static_cast<int>(k);
  std::vector<Node> nodes;
  nodes.reserve(order.size());
  for (int id : order) {
    Node node = std::move(g.nodes[id]);
    for (ValueRef& v : node.inputs) v.node = where[v.node];
    for (int& d : node.control_deps) d = where[d];
    nodes.push_back(std::move(node));
  }
  g.nodes = std::move(nodes);
  for (ValueRef& h : g.heads) h.node = where[h.node];
  subst_.clear();

  // 4. re-inference and the heads' contract
  reinfer(g);
  for (size_t k = 0; k < g.heads.size() && k < head_shapes_.size(); ++k) {
    const Node& node = g.nodes[g.heads[k].node];
    const Shape& now = node.out_shapes[g.heads[k].index];
    if ((head_shapes_[k].known() && now != head_shapes_[k]) ||
        (head_dtypes_[k] != DType::unknown && node.out_dtypes[g.heads[k].index] != head_dtypes_[k]))
      fail("passes", "internal error: output ", k, " (", node.describe(), ") changed from ",
           head_shapes_[k].str(), " ", dtype_name(head_dtypes_[k]), " to ", now.str(), " ",
           dtype_name(node.out_dtypes[g.heads[k].index]));
  }
  return n - static_cast<int>(order.size());
}

std::vector<char> live_from_heads(const Graph& g) {
  std::vector<char> live(g.nodes.size(), 0);
  std::vector<int> stack;
  auto mark = [&](int id) {
    if (!live[id]) live[id] = 1, stack.push_back(id);
  };
  for (const ValueRef& h : g.heads) mark(h.node);
  while (!stack.empty()) {
    int id = stack.back();
    stack.pop_back();
    for (const ValueRef& v : g.nodes[id].inputs) mark(v.node);
    for (int d : g.nodes[id].control_deps) mark(d);
  }
  return live;
}

std::vector<std::vector<int>> use_counts(const Graph& g) {
  std::vector<std::vector<int>> uses(g.nodes.size());
  auto add = [&](const ValueRef& v) {
    auto& u = uses[v.node];
    if (static_cast<int>(u.size()) <= v.index) u.resize(v.index + 1, 0);
    ++u[v.index];
  };
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    uses[i].resize(std::max<size_t>(uses[i].size(), g.nodes[i].out_shapes.size()), 0);
    for (const ValueRef& v : g.nodes[i].inputs) add(v);
  }
  for (const ValueRef& h : g.heads) add(h);
  return uses;
}

std::vector<VarRole> roles(const Graph& g) {
  std::vector<VarRole> role(g.nodes.size(), VarRole::Input);
  for (const Node& n : g.nodes) {
    if (!n.op) continue;
    Names names = n.op->input_names(n.attr_view());
    int first_aux = static_cast<int>(names.size()) - n.op->num_aux;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      int v = n.inputs[i].node;
      if (!g.nodes[v].is_variable() || role[v] == VarRole::AuxState) continue;
      if (static_cast<int>(i) >= first_aux) role[v] = VarRole::AuxState;
      else if (i < names.size() && std::find(n.op->param_inputs.begin(), n.op->param_inputs.end(),
                                             names[i]) != n.op->param_inputs.end())
        role[v] = VarRole::Parameter;
    }
  }
  return role;
}

std::string unique_name(const Graph& g, const std::string& base) {
  if (g.find(base) < 0) return base;
  for (int k = 1;; ++k) {
    std::string s = base + "_" + std::to_string(k);
    if (g.find(s) < 0) return s;
  }
}

int add_variable(Graph& g, const std::string& name, const Shape& shape, DType dtype, bool constant) {
  int id = g.add_variable(name);
  Node& v = g.nodes[id];
  v.hidden["__shape__"] = format_attr(shape.dims());
  if (dtype != DType::f32) v.hidden["__dtype__"] = dtype_name(dtype);
  if (constant) v.hidden["__const__"] = "1";
  v.out_shapes = {shape};
  v.out_dtypes = {dtype};
  return id;
}

bool is_constant_variable(const Node& n) {
  if (!n.is_variable()) return false;
  auto it = n.hidden.find("__const__");
  return it != n.hidden.end() && it->second == "1";
}

void reinfer(Graph& g) {
  InferOptions io = variable_infer_options(g);
  infer(g, io);
}

const OpDef* op_def(const char* name) { return &OpRegistry::global().get(name); }

}  // namespace hgc::rewrite
