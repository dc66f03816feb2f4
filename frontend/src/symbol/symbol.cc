// Symbols over traced values, and Block::operator() on symbols.
#include "hgc/frontend/symbol/symbol.h"

#include <fstream>

#include "hgc/frontend/gluon/block.h"
#include "hgc/base/error.h"
#include "hgc/ir/json_io.h"
#include "symbol/trace.h"

namespace hgc::gluon {

Symbol::Symbol(std::vector<NDArray> outputs) : outputs_(std::move(outputs)) {
  for (const NDArray& x : outputs_)
    if (!x.is_symbolic()) fail("gluon", "Symbol: an output is a concrete array, not a traced value");
  for (const NDArray& x : outputs_)
    if (x.symbolic_value()->graph != outputs_[0].symbolic_value()->graph)
      fail("gluon", "Symbol: outputs come from different graphs");
}

std::string Symbol::name() const {
  if (outputs_.empty()) return "";
  const SymbolicValue* s = outputs_[0].symbolic_value();
  return s->graph->graph.nodes[s->node].name;
}

Graph Symbol::graph() const {
  if (outputs_.empty()) fail("gluon", "graph() of an empty Symbol");
  std::vector<ValueRef> heads;
  for (const NDArray& x : outputs_) heads.push_back(trace::value_ref(x));
  return prune_graph(outputs_[0].symbolic_value()->graph->graph, heads);
}

std::vector<std::string> Symbol::list_arguments() const {
  Graph g = graph();
  std::vector<std::string> r;
  for (int id : g.variable_ids())
    if (g.role(id) != VarRole::AuxState) r.push_back(g.nodes[id].name);
  return r;
}

std::vector<std::string> Symbol::list_auxiliary_states() const { return graph().names_with_role(VarRole::AuxState); }

std::string Symbol::to_json() const { return save_json(graph()); }

void Symbol::save(const std::string& path) const { save_json_file(graph(), path); }

std::string Symbol::str() const { return "<Symbol " + name() + ">"; }

std::ostream& operator<<(std::ostream& os, const Symbol& s) { return os << s.str(); }

namespace sym {
Symbol var(const std::string& name, const std::vector<int64_t>& shape, DType dtype) {
  auto g = std::make_shared<TraceGraph>("symbol");
  Shape s = Shape::unknown();
  if (!shape.empty()) {
    s = Shape(shape);
    for (int64_t& d : s.dims())
      if (d == 0) d = Shape::kUnknownDim;
  }
  NDArray x = trace::input(g, name, s, dtype);
  if (!shape.empty()) {
    std::string h = "(";
    for (size_t i = 0; i < shape.size(); ++i) h += (i ? ", " : "") + std::to_string(shape[i]);
    g->graph.nodes[trace::value_ref(x).node].hidden["__shape__"] = h + (shape.size() == 1 ? ",)" : ")");
  }
  return Symbol({x});
}
}  // namespace sym

Graph prune_graph(const Graph& g, const std::vector<ValueRef>& heads) {
  std::vector<bool> keep(g.nodes.size(), false);
  for (const ValueRef& h : heads) keep[h.node] = true;
  for (int i = static_cast<int>(g.nodes.size()) - 1; i >= 0; --i) {
    if (!keep[i]) continue;
    for (const ValueRef& v : g.nodes[i].inputs) keep[v.node] = true;
    for (int c : g.nodes[i].control_deps) keep[c] = true;
  }
  Graph r;
  r.extra_attrs = g.extra_attrs;
  r.mxnet_version = g.mxnet_version;
  std::vector<int> remap(g.nodes.size(), -1);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!keep[i]) continue;
    Node n = g.nodes[i];
    for (ValueRef& v : n.inputs) v.node = remap[v.node];
    for (int& c : n.control_deps) c = remap[c];
    remap[i] = static_cast<int>(r.nodes.size());
    r.nodes.push_back(std::move(n));
  }
  for (ValueRef h : heads) {
    h.node = remap[h.node];
    r.heads.push_back(h);
  }
  return r;
}

Symbol Block::operator()(const Symbol& x) { return Symbol(run(x.outputs())); }

}  // namespace hgc::gluon
