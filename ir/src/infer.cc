#include "hgc/ir/infer.h"

#include <algorithm>

#include "hgc/base/error.h"

namespace hgc {
namespace {

// `__shape__` uses MXNet's legacy convention: 0 is an unknown dim, "()" an unknown shape.
Shape hint_shape(const Node& n) {
  auto it = n.hidden.find("__shape__");
  if (it == n.hidden.end()) return Shape::unknown();
  std::vector<int64_t> dims;
  try {
    dims = parse_int_tuple(it->second);
  } catch (const Error& e) {
    fail("infer", n.describe(), ": bad __shape__ '", it->second, "'");
  }
  if (dims.empty()) return Shape::unknown();
  for (int64_t& d : dims)
    if (d <= 0) d = Shape::kUnknownDim;
  return Shape(dims);
}

DType hint_dtype(const Node& n) {
  auto it = n.hidden.find("__dtype__");
  if (it == n.hidden.end()) return DType::unknown;
  try {
    int64_t code = parse_int_tuple(it->second).at(0);
    if (auto d = dtype_from_code(code)) return *d;
  } catch (...) {
  }
  if (auto d = dtype_from_name(it->second)) return *d;
  fail("infer", n.describe(), ": bad __dtype__ '", it->second, "'");
}

// A kernel group: infer its member subgraph from the group's input shapes and dtypes, keep
// the inferred copy (a fresh object: other copies of the graph share the old one), and read
// the outputs off its heads.
void infer_subgraph(Graph& g, Node& n) {
  if (n.subgraphs.empty()) fail("infer", n.describe(), ": a kernel group without its member subgraph");
  auto sub = std::make_shared<Graph>(*n.subgraphs[0]);
  std::vector<int> vars = sub->variable_ids();
  if (vars.size() != n.inputs.size())
    fail("infer", n.describe(), ": subgraph has ", vars.size(), " inputs, node has ", n.inputs.size());
  InferOptions o;
  o.require_complete = false;
  for (size_t i = 0; i < vars.size(); ++i) {
    o.shapes[sub->nodes[vars[i]].name] = g.shape(n.inputs[i]);
    o.dtypes[sub->nodes[vars[i]].name] = g.dtype(n.inputs[i]);
  }
  infer(*sub, o);
  n.out_shapes.clear();
  n.out_dtypes.clear();
  for (const ValueRef& h : sub->heads) {
    n.out_shapes.push_back(sub->shape(h));
    n.out_dtypes.push_back(sub->dtype(h));
  }
  n.subgraphs[0] = sub;
}

// One sweep over the graph; returns true when anything changed.
bool sweep(Graph& g, bool types) {
  bool changed = false;
  for (Node& n : g.nodes) {
    if (n.is_variable() || !n.op) continue;
    AttrView view = n.attr_view();
    Names names = n.op->input_names(view);
    int nout = n.op->num_outputs(view);
    if (names.size() != n.inputs.size())
      fail("infer", n.describe(), ": has ", n.inputs.size(), " inputs, op expects ", names.size());
    if (n.op->has(kSubgraph)) {
      std::vector<Shape> before = n.out_shapes;
      std::vector<DType> before_t = n.out_dtypes;
      infer_subgraph(g, n);
      changed = changed || before != n.out_shapes || before_t != n.out_dtypes;
      continue;
    }
    n.out_shapes.resize(nout);
    n.out_dtypes.resize(nout, DType::unknown);
    if (!types) {
      std::vector<Shape> in;
      for (const ValueRef& v : n.inputs) in.push_back(g.shape(v));
      std::vector<Shape> out = n.out_shapes;
      ShapeCtx ctx{view, names, in, out};
      if (n.op->infer_shape) n.op->infer_shape(ctx);
      for (size_t i = 0; i < in.size(); ++i) {
        Shape& src = g.nodes[n.inputs[i].node].out_shapes[n.inputs[i].index];
        if (src != in[i]) {
          if (!Shape::merge(src, in[i]))
            fail("infer", n.describe(), ": input '", names[i], "' has shape ", src.str(),
                 ", op needs ", in[i].str());
          changed = changed || src != in[i];
          src = in[i];
        }
      }
      if (out != n.out_shapes) changed = true;
      n.out_shapes = out;
    } else {
      std::vector<DType> in;
      for (const ValueRef& v : n.inputs) in.push_back(g.dtype(v));
      std::vector<DType> out = n.out_dtypes;
      TypeCtx ctx{view, in, out};
      if (n.op->infer_type) n.op->infer_type(ctx);
      for (size_t i = 0; i < in.size(); ++i) {
        DType& src = g.nodes[n.inputs[i].node].out_dtypes[n.inputs[i].index];
        if (src != in[i] && in[i] != DType::unknown) {
          if (src != DType::unknown)
            fail("infer", n.describe(), ": input '", names[i], "' has dtype ", dtype_name(src),
                 ", op needs ", dtype_name(in[i]));
          src = in[i];
          changed = true;
        }
      }
      if (out != n.out_dtypes) changed = true;
      n.out_dtypes = out;
    }
  }
  return changed;
}

}  // namespace

void infer(Graph& g, const InferOptions& opts) {
  for (const auto& [name, s] : opts.shapes)
    if (g.find(name) < 0 || !g.nodes[g.find(name)].is_variable())
      fail("infer", "no graph input named '", name, "'");
  for (Node& n : g.nodes) {
    if (!n.is_variable()) {
      n.out_shapes.clear();
      n.out_dtypes.clear();
      if (!n.op) {  // unknown op: its outputs stay unknown
        size_t k = std::max<size_t>(1, n.out_dtypes.size());
        n.out_shapes.assign(k, Shape::unknown());
        n.out_dtypes.assign(k, DType::unknown);
      }
      continue;
    }
    auto s = opts.shapes.find(n.name);
    n.out_shapes = {s != opts.shapes.end() ? s->second : hint_shape(n)};
    auto d = opts.dtypes.find(n.name);
    n.out_dtypes = {d != opts.dtypes.end() ? d->second : hint_dtype(n)};
  }
  const int max_sweeps = 8;
  for (int i = 0; i < max_sweeps && sweep(g, false); ++i) {
  }
  // Types: propagate what is known, then default the rest of the variables to float32.
  for (int i = 0; i < max_sweeps && sweep(g, true); ++i) {
  }
  for (Node& n : g.nodes)
    if (n.is_variable() && n.out_dtypes[0] == DType::unknown) n.out_dtypes[0] = DType::f32;
  for (int i = 0; i < max_sweeps && sweep(g, true); ++i) {
  }

  if (!opts.require_complete) return;
  for (Node& n : g.nodes) {
    if (!n.op && !n.is_variable())
      fail("infer", n.describe(), ": unknown op '", n.op_name, "' cannot be inferred or run");
    for (size_t i = 0; i < n.out_shapes.size(); ++i) {
      if (n.out_shapes[i].known()) continue;
      if (n.is_variable())
        fail("infer", "variable '", n.name, "' has unknown shape ", n.out_shapes[i].str(),
             g.role(static_cast<int>(&n - &g.nodes[0])) == VarRole::Input
                 ? "; give its shape (hgc dump --shape " + n.name + "=..., hgc run --input " + n.name + "=...)"
                 : "; no consumer determines it");
      fail("infer", n.describe(), ": output ", i, " has unknown shape ", n.out_shapes[i].str());
    }
  }
}

InferOptions variable_infer_options(const Graph& g) {
  InferOptions io;
  io.require_complete = false;
  for (const Node& n : g.nodes) {
    if (!n.is_variable()) continue;
    if (!n.out_shapes.empty() && n.out_shapes[0].rank_known()) io.shapes[n.name] = n.out_shapes[0];
    if (!n.out_dtypes.empty() && n.out_dtypes[0] != DType::unknown) io.dtypes[n.name] = n.out_dtypes[0];
  }
  return io;
}

}  // namespace hgc
