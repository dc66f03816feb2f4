// Tracing: NDArray ops on traced values become graph nodes, shapes and dtypes inferred per
// node as they are added (so shape queries work during a trace, and deferred parameter dims
// are completed by the consuming op's shape rule).
#include "symbol/trace.h"

#include <algorithm>
#include <cctype>

#include "hgc/frontend/gluon/parameter.h"
#include "hgc/base/error.h"

namespace hgc {
namespace {

thread_local std::vector<std::shared_ptr<TraceGraph>> t_active;

std::vector<int64_t> dims_of(const Shape& s) { return s.rank_known() ? s.dims() : std::vector<int64_t>{}; }

NDArray make_value(const std::shared_ptr<TraceGraph>& g, ValueRef v) {
  auto s = std::make_shared<SymbolicValue>();
  s->graph = g;
  s->node = v.node;
  s->index = v.index;
  const Node& n = g->graph.nodes[v.node];
  s->shape = dims_of(n.out_shapes.at(v.index));
  s->dtype = n.out_dtypes.at(v.index) == DType::unknown ? DType::f32 : n.out_dtypes[v.index];
  return NDArray::symbolic(s);
}

std::string scoped_name(TraceGraph& g, const std::string& name, const std::string& op) {
  TraceGraph::Scope* sc = g.scopes.empty() ? nullptr : &g.scopes.back();
  std::string prefix = sc ? sc->prefix : "";
  if (!name.empty()) return prefix + name;
  std::string hint;
  for (char c : op) hint += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static thread_local std::map<std::string, int> unscoped;  // symbols composed outside any block
  int& counter = sc ? sc->counters[hint] : unscoped[hint];
  return prefix + hint + std::to_string(counter++);
}

// One node's shape and dtype rules (infer.cc's sweep for a single node); completed input
// shapes (deferred parameter dims) are written back to their producers.
void infer_node(Graph& g, int id) {
  Node& n = g.nodes[id];
  AttrView view = n.attr_view();
  Names names = n.op->input_names(view);
  int nout = n.op->num_outputs(view);
  if (names.size() != n.inputs.size())
    fail("gluon", n.describe(), ": has ", n.inputs.size(), " inputs, op expects ", names.size());
  n.out_shapes.assign(nout, Shape::unknown());
  n.out_dtypes.assign(nout, DType::unknown);
  std::vector<Shape> in;
  for (const ValueRef& v : n.inputs) in.push_back(g.shape(v));
  std::vector<Shape> out = n.out_shapes;
  ShapeCtx sc{view, names, in, out};
  if (n.op->infer_shape) n.op->infer_shape(sc);
  for (size_t i = 0; i < in.size(); ++i) {
    Shape& src = g.nodes[n.inputs[i].node].out_shapes[n.inputs[i].index];
    if (!Shape::merge(src, in[i]))
      fail("gluon", n.describe(), ": input '", names[i], "' has shape ", src.str(), ", op needs ", in[i].str());
  }
  n.out_shapes = out;
  std::vector<DType> tin;
  for (const ValueRef& v : n.inputs) tin.push_back(g.dtype(v));
  std::vector<DType> tout = n.out_dtypes;
  TypeCtx tc{view, tin, tout};
  if (n.op->infer_type) n.op->infer_type(tc);
  for (size_t i = 0; i < tin.size(); ++i) {
    DType& src = g.nodes[n.inputs[i].node].out_dtypes[n.inputs[i].index];
    if (src == DType::unknown) src = tin[i];
  }
  n.out_dtypes = tout;
}

std::string shape_hint(const std::vector<int64_t>& s) {
  std::string r = "(";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + (s.size() == 1 ? ",)" : ")");
}

std::string mult_text(double m) {
  std::string s = std::to_string(m);
  s.erase(s.find_last_not_of('0') + 1);
  if (s.back() == '.') s += '0';
  return s;
}

}  // namespace

namespace trace {

TraceGraph* active() { return t_active.empty() ? nullptr : t_active.back().get(); }
std::shared_ptr<TraceGraph> active_ptr() { return t_active.empty() ? nullptr : t_active.back(); }

Activate::Activate(std::shared_ptr<TraceGraph> g) : g_(std::move(g)) { t_active.push_back(g_); }
Activate::~Activate() { t_active.pop_back(); }

ScopeGuard::ScopeGuard(TraceGraph& g, const std::string& prefix) : g_(g) { g_.scopes.push_back({prefix, {}}); }
ScopeGuard::~ScopeGuard() { g_.scopes.pop_back(); }

NDArray input(const std::shared_ptr<TraceGraph>& g, const std::string& name, const Shape& shape, DType dtype) {
  int id = g->graph.add_variable(name);
  g->graph.nodes[id].out_shapes = {shape};
  g->graph.nodes[id].out_dtypes = {dtype};
  return make_value(g, {id, 0});
}

NDArray parameter(const std::shared_ptr<TraceGraph>& g, const std::shared_ptr<Parameter>& p) {
  auto it = g->param_nodes.find(p->name());
  if (it != g->param_nodes.end()) return make_value(g, {it->second, 0});
  std::vector<int64_t> dims = p->shape();
  Shape s = dims.empty() ? Shape::unknown() : Shape(dims);
  for (int64_t& d : s.dims())
    if (d == 0) d = Shape::kUnknownDim;
  int id = g->graph.add_variable(p->name());
  Node& n = g->graph.nodes[id];
  n.out_shapes = {s};
  n.out_dtypes = {p->dtype()};
  // What Gluon writes on parameter variables (see the seed's exported JSON).
  n.hidden["__shape__"] = shape_hint(dims);
  n.hidden["__dtype__"] = std::to_string(dtype_code(p->dtype()));
  n.hidden["__lr_mult__"] = mult_text(p->lr_mult());
  n.hidden["__wd_mult__"] = mult_text(p->wd_mult());
  if (p->init()) n.hidden["__init__"] = p->init()->dumps();
  g->param_nodes[p->name()] = id;
  g->params.push_back(p);
  return make_value(g, {id, 0});
}

std::vector<NDArray> record(const std::string& op, const AttrMap& attrs, const std::vector<NDArray>& inputs,
                            const std::string& name) {
  std::shared_ptr<TraceGraph> g;
  for (const NDArray& x : inputs)
    if (x.is_symbolic()) {
      if (g && g != x.symbolic_value()->graph)
        fail("gluon", op, ": inputs come from two different traces (a traced value escaped its hybridize() call?)");
      g = x.symbolic_value()->graph;
    }
  const OpDef* def = OpRegistry::global().find(op);
  if (!def) fail("gluon", "tracing block '", g->block, "': unknown op '", op, "'");
  std::vector<ValueRef> ins;
  for (const NDArray& x : inputs) {
    if (x.is_symbolic()) {
      ins.push_back(value_ref(x));
      continue;
    }
    if (!x.defined()) fail("gluon", op, ": an input is an empty (default-constructed) NDArray");
    // A concrete array used by a traced op: a constant input of the graph.
    std::string cname = "_hgc_const" + std::to_string(g->constants.size());
    g->constants[cname] = x.copy().tensor();
    ins.push_back(value_ref(input(g, cname, Shape(x.shape()), x.dtype())));
  }
  std::string node_name = scoped_name(*g, name, def->name);
  int id = g->graph.add_node(op, node_name, ins, attrs);
  try {
    infer_node(g->graph, id);
  } catch (const Error& e) {
    fail("gluon", "tracing block '", g->block, "': ", e.what());
  }
  const Node& n = g->graph.nodes[id];
  int visible = n.op->num_visible_outputs(n.attr_view());
  std::vector<NDArray> out;
  for (int i = 0; i < visible; ++i) out.push_back(make_value(g, {id, i}));
  return out;
}

NDArray random_input(const std::shared_ptr<TraceGraph>& g, const std::string& hint, const Shape& shape, DType dtype,
                     std::function<NDArray()> draw) {
  std::string name = hint + std::to_string(g->random_inputs.size());
  g->random_inputs.push_back({name, std::move(draw)});
  return input(g, name, shape, dtype);
}

NDArray state(const std::shared_ptr<TraceGraph>& g, const std::shared_ptr<Parameter>& p) {
  for (auto it = g->updates.rbegin(); it != g->updates.rend(); ++it)
    if (it->first == p) return make_value(g, it->second);
  return parameter(g, p);
}

void update(const std::shared_ptr<TraceGraph>& g, const std::shared_ptr<Parameter>& p, const NDArray& value) {
  if (!value.is_symbolic() || value.symbolic_value()->graph != g)
    fail("gluon", "tracing block '", g->block, "': the new value of parameter '", p->name(), "' is not traced");
  for (auto& u : g->updates)
    if (u.first == p) {
      u.second = value_ref(value);
      return;
    }
  g->updates.emplace_back(p, value_ref(value));
}

void refine_shape(const NDArray& x, const Shape& shape) {
  const SymbolicValue& s = *x.symbolic_value();
  Node& n = s.graph->graph.nodes[s.node];
  Shape& cur = n.out_shapes.at(s.index);
  if (!Shape::merge(cur, shape))
    fail("gluon", "tracing block '", s.graph->block, "': ", n.describe(), " has shape ", cur.str(), ", needs ",
         shape.str());
}

ValueRef value_ref(const NDArray& x) {
  if (!x.is_symbolic()) fail("gluon", "internal: value_ref of a concrete array");
  return {x.symbolic_value()->node, x.symbolic_value()->index};
}

NDArray value(const std::shared_ptr<TraceGraph>& g, ValueRef v) { return make_value(g, v); }

Shape shape_of(const TraceGraph& g, ValueRef v) { return g.graph.shape(v); }

void unsupported(const NDArray& x, const std::string& what) {
  fail("gluon", what, " is not supported on traced values (block '", x.symbolic_value()->graph->block,
       "' is being hybridized or called on symbols); write it as an op on new values (y = x + 1, not x += 1)");
}

}  // namespace trace

void symbolic_read_error(const SymbolicValue& s, const std::string& what) {
  fail("gluon", what, " on a traced value in block '", s.graph->block,
       "': values do not exist while a hybridized block is traced (or a block is called on symbols); "
       "read values outside hybrid_forward, or call hybridize(false) to debug imperatively");
}

}  // namespace hgc
