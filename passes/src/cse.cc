// cse: common-subexpression elimination.
//
// Algorithm. One walk in topological order. Each node's inputs are first resolved through
// the merges made so far, so chains of duplicates collapse in the same walk. An eligible
// node's key is its op record, every attribute of the op's schema formatted with MXNet's
// spelling (defaults filled in, so `act_type` given or defaulted compares equal, plus any
// attribute outside the schema) and its resolved inputs. The first node with a key is kept;
// a later one with the same key has every output replaced by the first one's. Not eligible:
// variables, unknown ops, nodes with control dependencies or subgraphs, and ops that are
// random (Dropout draws a fresh mask each time), stateful or update aux states (BatchNorm).
// The merged-away nodes are then dead and removed; the graph is re-inferred.
#include <unordered_map>

#include "graph_rewrite.h"
#include "hgc/passes/simplify.h"

namespace hgc {
namespace {

bool eligible(const Node& n) {
  if (n.is_variable() || !n.op || !n.control_deps.empty() || !n.subgraphs.empty()) return false;
  return (n.op->traits & (kRandom | kStateful | kAuxState)) == 0 && n.op->num_aux == 0;
}

std::string key_of(const Node& n) {
  std::string k = n.op->name + "(";
  for (const ValueRef& v : n.inputs) k += std::to_string(v.node) + ":" + std::to_string(v.index) + ",";
  k += "){";
  for (const AttrSpec& s : n.op->attrs) {
    auto it = n.attrs.find(s.name);
    if (it != n.attrs.end()) k += s.name + "=" + format_attr(it->second) + ";";
    else if (s.default_value) k += s.name + "=" + format_attr(*s.default_value) + ";";
  }
  for (const auto& [name, v] : n.attrs)
    if (!n.op->attr_spec(name)) k += "?" + name + "=" + format_attr(v) + ";";
  return k + "}";
}

}  // namespace

int cse(Graph& g) {
  rewrite::Rewrite rw(g);
  std::unordered_map<std::string, int> first;
  int merged = 0;
  for (int i = 0; i < static_cast<int>(g.nodes.size()); ++i) {
    Node& n = g.nodes[i];
    for (ValueRef& v : n.inputs) v = rw.resolve(v);
    if (!eligible(n)) continue;
    auto [it, fresh] = first.emplace(key_of(n), i);
    if (fresh) continue;
    for (int k = 0; k < n.num_outputs(); ++k) rw.replace({i, k}, {it->second, k});
    ++merged;
  }
  if (merged) rw.finish();
  return merged;
}

namespace {
class CsePass : public Pass {
 public:
  std::string name() const override { return "cse"; }
  std::set<Fact> requires_facts() const override { return {Fact::ShapesInferred}; }
  std::set<Fact> provides() const override { return {Fact::ShapesInferred}; }
  std::set<Fact> invalidates() const override { return {Fact::Verified, Fact::Fused, Fact::MemoryPlanned}; }
  void run(Graph& g) override { cse(g); }
};
}  // namespace

std::unique_ptr<Pass> make_cse_pass() { return std::make_unique<CsePass>(); }

}  // namespace hgc
