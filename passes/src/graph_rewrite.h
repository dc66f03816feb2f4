// Shared machinery of the simplification passes (internal to passes/).
//
//   Rewrite rw(g);                     // remembers liveness and the heads' shapes
//   rw.replace({old, 0}, {other, 0});  // every reader of old:0 now reads other:0
//   g.nodes[i].inputs[0] = x;          // or rewire in place (x earlier than i)
//   rw.finish();                       // substitute, drop what became dead, re-sort,
//                                      // re-infer, check the heads' shapes
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

#include "hgc/ir/graph.h"

namespace hgc::rewrite {

class Rewrite {
 public:
  explicit Rewrite(Graph& g);

  // Readers of `from` read `to` instead (resolved transitively).
  void replace(ValueRef from, ValueRef to);
  ValueRef resolve(ValueRef v) const;
  // A variable to drop when it ends up unread, even if it looks like a graph input.
  void droppable(int var_id) { droppable_.insert(var_id); }

  // Applies the substitutions, removes the nodes this rewrite made dead (all unreachable ones
  // when `all_dead`), orders the nodes topologically (new variables appended at the end land
  // before their first reader), re-infers and checks the heads. Returns the nodes removed.
  int finish(bool all_dead = false);

 private:
  Graph& g_;
  std::map<ValueRef, ValueRef> subst_;
  std::set<int> droppable_;
  std::vector<char> live_before_;
  std::vector<Shape> head_shapes_;
  std::vector<DType> head_dtypes_;
};

// Nodes reachable from the heads (through inputs and control dependencies).
std::vector<char> live_from_heads(const Graph& g);
// uses[node][output]: reader input slots plus head occurrences.
std::vector<std::vector<int>> use_counts(const Graph& g);
// Graph::role for every node at once (Input for non-variables).
std::vector<VarRole> roles(const Graph& g);
// `base`, or `base_1`, `base_2`, ... whichever no node of `g` is named.
std::string unique_name(const Graph& g, const std::string& base);
// Appends a variable of the given shape/dtype with `__shape__` (and `__dtype__`) hints.
int add_variable(Graph& g, const std::string& name, const Shape& shape, DType dtype, bool constant);
bool is_constant_variable(const Node& n);
// Re-infers `g` from its variables' current shapes and dtypes (incomplete shapes allowed).
void reinfer(Graph& g);
// The op record of `name` (for the few rewrites that are about one op).
const OpDef* op_def(const char* name);

}  // namespace hgc::rewrite
