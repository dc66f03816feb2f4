#include "hgc/ir/verify.h"

#include "hgc/base/error.h"
#include "hgc/ir/infer.h"

namespace hgc {
namespace {

void check_ref(const Graph& g, const ValueRef& v, int before, const std::string& where) {
  if (v.node < 0 || v.node >= before)
    fail("verify", where, ": refers to node ", v.node,
         v.node >= before ? " which does not come earlier (not topological)" : " (dangling)");
  int n = g.nodes[v.node].num_outputs();
  if (v.index < 0 || v.index >= n)
    fail("verify", where, ": refers to output ", v.index, " of ", g.nodes[v.node].describe(),
         " which has ", n);
}

}  // namespace

void verify(const Graph& g) {
  const int count = static_cast<int>(g.nodes.size());
  bool inferred = count > 0;
  for (int i = 0; i < count; ++i) {
    const Node& n = g.nodes[i];
    std::string where = n.describe();
    if (n.is_variable() && !n.inputs.empty()) fail("verify", where, ": a variable has inputs");
    if (!n.is_variable() && n.op) {
      size_t want = n.op->input_names(n.attr_view()).size();
      if (n.inputs.size() != want)
        fail("verify", where, ": has ", n.inputs.size(), " inputs, op expects ", want);
    }
    for (const ValueRef& v : n.inputs) check_ref(g, v, i, where);
    for (int d : n.control_deps)
      if (d < 0 || d >= i) fail("verify", where, ": control dependency on node ", d, " is not earlier");
    if (n.out_shapes.empty() || n.out_dtypes.size() != n.out_shapes.size()) inferred = false;
    else if (static_cast<int>(n.out_shapes.size()) != n.num_outputs())
      fail("verify", where, ": has ", n.out_shapes.size(), " inferred outputs, op has ",
           n.num_outputs());
  }
  if (g.heads.empty()) fail("verify", "graph has no outputs (heads)");
  for (const ValueRef& h : g.heads) check_ref(g, h, count, "heads");

  // Shape consistency: re-running inference from the variables must reproduce every shape.
  if (!inferred) return;
  Graph copy = g;
  InferOptions o;
  o.require_complete = false;
  for (const Node& n : g.nodes)
    if (n.is_variable()) {
      o.shapes[n.name] = n.out_shapes[0];
      o.dtypes[n.name] = n.out_dtypes[0];
    }
  infer(copy, o);
  for (int i = 0; i < count; ++i)
    for (size_t k = 0; k < g.nodes[i].out_shapes.size(); ++k)
      if (copy.nodes[i].out_shapes[k] != g.nodes[i].out_shapes[k] ||
          copy.nodes[i].out_dtypes[k] != g.nodes[i].out_dtypes[k])
        fail("verify", g.nodes[i].describe(), ": output ", k, " is recorded as ",
             g.nodes[i].out_shapes[k].str(), " ", dtype_name(g.nodes[i].out_dtypes[k]),
             " but its inputs give ", copy.nodes[i].out_shapes[k].str(), " ",
             dtype_name(copy.nodes[i].out_dtypes[k]));
}

}  // namespace hgc
