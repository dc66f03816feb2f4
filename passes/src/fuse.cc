// The fusion pass.
//
// 1. Count the consumers of every value (node inputs and graph heads).
// 2. Walk the nodes in topological order with a union of groups: each node starts as its own
//    group; a fusible node n absorbs the group of a fusible producer p when p has a single
//    output, that output is consumed once (by n) and is not a head, one of the two is
//    elementwise/broadcast, n has a single output too, and the merged group stays within max_members/max_inputs. The
//    group's root is always its most downstream node, so groups are trees hanging off their
//    root: convex, and cycle-free by construction.
// 3. Rebuild the node list: every group of two or more members becomes one `_hgc_fused` node
//    at its root's position (same name as the root, so heads and later references keep
//    their names), with the group's external inputs (deduplicated, in order of first use)
//    as inputs and the members, re-indexed, as its subgraph.
// 4. Re-infer (the fused node's shapes come from its subgraph).
#include "hgc/passes/fuse.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "hgc/base/error.h"
#include "hgc/ir/infer.h"

namespace hgc {
namespace {

bool light(const Node& n) { return n.op && (n.op->has(kElementwise) || n.op->has(kBroadcast)); }

// users[i]: the nodes reading an output of node i (once per reading node).
std::vector<std::vector<int>> consumer_lists(const Graph& g) {
  std::vector<std::vector<int>> users(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const ValueRef& v : g.nodes[i].inputs)
      if (users[v.node].empty() || users[v.node].back() != static_cast<int>(i)) users[v.node].push_back(static_cast<int>(i));
  return users;
}

// The shape every member of `mem` writes, when they are all single-output elementwise or
// broadcasting ops writing one shape (one iteration space), else null.
const Shape* same_space(const Graph& g, const std::vector<int>& mem) {
  const Shape* s = nullptr;
  for (int m : mem) {
    const Node& n = g.nodes[m];
    if (!light(n) || n.out_shapes.size() != 1 || (s && n.out_shapes[0] != *s)) return nullptr;
    s = &n.out_shapes[0];
  }
  return s;
}

// Multi-output groups (FuseOptions::multi_output): a group joins the group of a consumer
// when both are elementwise/broadcast members over one iteration space, even where the
// producer's value is also read elsewhere or is a graph output (it becomes one more output of
// the merged kernel instead of a kernel of its own). Merged groups stay convex: a merge is
// refused when a path leaves the producer group and enters the consumer group through a node
// of neither. An optimizer update (Adam: mean, var, weight) becomes one kernel that reads
// each array once.
void merge_same_space_groups(const Graph& g, const std::vector<bool>& fusible, const std::vector<bool>& has_head,
                             std::vector<int>& group, std::map<int, std::vector<int>>& members,
                             const std::vector<std::vector<int>>& users, int max_members, int max_inputs,
                             const std::function<size_t(const std::vector<int>&)>& external_inputs) {
  const int count = static_cast<int>(g.nodes.size());
  auto reaches_around = [&](int from, int to) {  // a path from group `from` into `to` outside both
    const std::vector<int>& dst = members[to];
    int last = *std::max_element(dst.begin(), dst.end());
    std::vector<char> seen(count, 0);
    std::vector<int> stack;
    for (int m : members[from])
      for (int c : users[m])
        if (group[c] != from && group[c] != to && !seen[c]) seen[c] = 1, stack.push_back(c);
    while (!stack.empty()) {
      int x = stack.back();
      stack.pop_back();
      if (x > last) continue;  // topological order: nothing after the group's last member reaches it
      for (int c : users[x]) {
        if (group[c] == to) return true;
        if (!seen[c]) seen[c] = 1, stack.push_back(c);
      }
    }
    return false;
  };
  for (int i = 0; i < count; ++i) {
    if (!fusible[i] || has_head[group[i]]) continue;
    for (const ValueRef& v : g.nodes[i].inputs) {
      int p = v.node, gi = group[i], gp = group[p];
      if (!fusible[p] || gp == gi || has_head[gp]) continue;
      const Shape* si = same_space(g, members[gi]);
      const Shape* sp = same_space(g, members[gp]);
      if (!si || !sp || *si != *sp) continue;
      std::vector<int> merged = members[gi];
      merged.insert(merged.end(), members[gp].begin(), members[gp].end());
      std::sort(merged.begin(), merged.end());
      if (static_cast<int>(merged.size()) > max_members || static_cast<int>(external_inputs(merged)) > max_inputs)
        continue;
      if (reaches_around(gp, gi)) continue;
      // The root stays the most downstream member.
      int root = std::max(gi, gp);
      for (int m : merged) group[m] = root;
      members.erase(gi);
      members.erase(gp);
      members[root] = std::move(merged);
    }
  }
}

// The order the rebuild emits nodes in: every group as one unit (at its root), each unit after
// the units it reads from, otherwise the graph's order (stable Kahn: the lowest ready root
// first). A multi-output group's earlier members may be read by nodes that came before its
// root; those move after it.
std::vector<int> unit_order(const Graph& g, const std::vector<int>& group, const std::map<int, std::vector<int>>& members) {
  const int count = static_cast<int>(g.nodes.size());
  auto unit = [&](int i) { return members.count(group[i]) && members.at(group[i]).size() > 1 ? group[i] : i; };
  std::vector<int> waiting(count, 0);
  std::vector<std::vector<int>> after(count);
  std::vector<bool> is_unit(count, false);
  for (int i = 0; i < count; ++i) {
    int u = unit(i);
    if (u != i) continue;
    is_unit[u] = true;
    std::set<int> deps;
    const std::vector<int> single{i};
    for (int x : members.count(u) ? members.at(u) : single) {
      for (const ValueRef& v : g.nodes[x].inputs) deps.insert(unit(v.node));
      for (int d : g.nodes[x].control_deps) deps.insert(unit(d));
    }
    deps.erase(u);
    waiting[u] = static_cast<int>(deps.size());
    for (int d : deps) after[d].push_back(u);
  }
  std::set<int> ready;
  for (int i = 0; i < count; ++i)
    if (is_unit[i] && !waiting[i]) ready.insert(i);
  std::vector<int> order;
  while (!ready.empty()) {
    int u = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(u);
    for (int c : after[u])
      if (--waiting[c] == 0) ready.insert(c);
  }
  int units = 0;
  for (int i = 0; i < count; ++i) units += is_unit[i];
  if (static_cast<int>(order.size()) != units) fail("fuse", "kernel groups formed a cycle");
  return order;
}

}  // namespace

FuseReport fuse(Graph& g, const FuseOptions& opts) {
  FuseReport rep;
  const int count = static_cast<int>(g.nodes.size());
  std::vector<int> consumers(count, 0);
  std::vector<int> consumer_of(count, -1);
  for (int i = 0; i < count; ++i)
    for (const ValueRef& v : g.nodes[i].inputs) ++consumers[v.node], consumer_of[v.node] = i;
  std::vector<bool> is_head(count, false);
  for (const ValueRef& h : g.heads) is_head[h.node] = true, ++consumers[h.node];

  const std::vector<std::vector<int>> users = consumer_lists(g);
  std::vector<bool> fusible(count, false), head(count, false);
  for (int i = 0; i < count; ++i) {
    const Node& hn = g.nodes[i];
    head[i] = !hn.is_variable() && hn.op && opts.gemm_head && opts.gemm_head(hn);
    const Node& n = g.nodes[i];
    fusible[i] = !n.is_variable() && n.op && !n.op->has(kSubgraph) && opts.fusible && opts.fusible(n);
    if (fusible[i]) ++rep.kernels_before;
  }
  // group[i]: root of i's group; members[root]: the group's nodes in topological order.
  std::vector<int> group(count);
  std::map<int, std::vector<int>> members;
  for (int i = 0; i < count; ++i) group[i] = i, members[i] = {i};
  std::vector<bool> has_head(count, false);  // by root
  auto external_inputs = [&](const std::vector<int>& mem) {
    std::set<int> inside(mem.begin(), mem.end());
    std::set<ValueRef> ext;
    for (int m : mem)
      for (const ValueRef& v : g.nodes[m].inputs)
        if (!inside.count(v.node)) ext.insert(v);
    return ext.size();
  };
  for (int i = 0; i < count; ++i) {
    if (!fusible[i]) continue;
    const Node& n = g.nodes[i];
    for (const ValueRef& v : n.inputs) {
      int p = v.node;
      const Node& pn = g.nodes[p];
      // A GEMM head joins as the first member of an elementwise epilogue, once per group.
      bool as_head = head[p] && light(n) && members[group[p]].size() == 1 && !has_head[group[i]];
      if (!fusible[p] && !as_head) continue;
      std::string why;
      if (pn.out_shapes.size() != 1) why = "has several outputs";
      else if (n.out_shapes.size() != 1) why = "its consumer has several outputs";
      else if (is_head[p]) why = "is a graph output";
      else if (consumers[p] != 1) why = "output has " + std::to_string(consumers[p]) + " consumers";
      else if (!light(pn) && !light(n)) why = "neither it nor its consumer is elementwise";
      else if (group[p] == group[i]) continue;
      if (why.empty() && has_head[group[p]] && (has_head[group[i]] || as_head)) why = "would hold two GEMM heads";
      if (why.empty()) {
        std::vector<int> merged = members[group[i]];
        for (int m : members[group[p]]) merged.push_back(m);
        std::sort(merged.begin(), merged.end());
        // A GEMM epilogue runs in place on the GEMM's output: elementwise members of exactly
        // that shape only.
        if (has_head[group[p]] || has_head[group[i]] || as_head) {
          int h = -1;
          for (int m : merged) h = head[m] ? m : h;
          for (int m : merged)
            if (m != h && (!light(g.nodes[m]) || g.nodes[m].out_shapes[0] != g.nodes[h].out_shapes[0]))
              why = "a GEMM epilogue takes only same-shape elementwise ops";
            // ...of the GEMM's element type: it runs in the buffer the GEMM wrote.
            else if (m != h && g.nodes[m].out_dtypes[0] != g.nodes[h].out_dtypes[0] &&
                     !(g.nodes[h].out_dtypes[0] == DType::bf16 && g.nodes[m].out_dtypes[0] == DType::f32 &&
                       opts.gemm_widens && opts.gemm_widens(g.nodes[h])))
              why = "a GEMM epilogue keeps the GEMM's dtype";
          // Widened (float32 members after a bfloat16 head): the members form a chain of unary
          // ops, so retyping the head's output to float32 (plan.cc) types every member alike.
          bool widened = false;
          for (int m : merged) widened = widened || (m != h && g.nodes[m].out_dtypes[0] != g.nodes[h].out_dtypes[0]);
          for (int m : merged)
            for (const ValueRef& v : g.nodes[m].inputs)
              if (widened && m != h && !std::binary_search(merged.begin(), merged.end(), v.node))
                why = "a GEMM epilogue that widens to float32 takes unary ops only";
        }
        if (!why.empty()) {
        } else if (static_cast<int>(merged.size()) > opts.max_members) why = "group reached max_members";
        else if (static_cast<int>(external_inputs(merged)) > opts.max_inputs) why = "group reached max_inputs";
        else {
          int old = group[p];
          bool h = has_head[old] || as_head;
          for (int m : members[old]) group[m] = group[i];
          members[group[i]] = merged;
          members.erase(old);
          has_head[group[i]] = has_head[group[i]] || h;
          continue;
        }
      }
      rep.borders.push_back({pn.name, why});
    }
  }

  if (opts.multi_output) merge_same_space_groups(g, fusible, has_head, group, members, users, opts.max_members, opts.max_inputs,
                            external_inputs);

  // Rebuild. A group's outputs: its members read outside it or heads of the graph (its root
  // always), in member order.
  std::vector<int> remap(count, -1), remap_index(count, 0);
  Graph out;
  out.mxnet_version = g.mxnet_version;
  out.extra_attrs = g.extra_attrs;
  std::vector<int> order;
  if (opts.multi_output) order = unit_order(g, group, members);
  else
    for (int i = 0; i < count; ++i) order.push_back(i);
  for (int i : order) {
    const std::vector<int>& mem = members.count(group[i]) ? members[group[i]] : std::vector<int>{};
    bool grouped = mem.size() > 1;
    if (grouped && group[i] != i) continue;  // a member: emitted inside its root's group
    if (!grouped) {
      Node n = g.nodes[i];
      for (ValueRef& v : n.inputs) v = {remap[v.node], v.index + remap_index[v.node]};
      for (int& d : n.control_deps) d = remap[d];
      out.nodes.push_back(std::move(n));
      remap[i] = static_cast<int>(out.nodes.size()) - 1;
      if (fusible[i]) ++rep.kernels_after;
      continue;
    }
    auto sub = std::make_shared<Graph>();
    std::map<ValueRef, int> ext;  // outer value -> subgraph variable
    std::vector<ValueRef> ext_order;
    std::map<int, int> inner;     // outer member -> subgraph node
    FuseGroup fg;
    fg.name = g.nodes[i].name;
    for (int m : mem) {
      Node n = g.nodes[m];
      for (ValueRef& v : n.inputs) {
        if (inner.count(v.node)) {
          v.node = inner[v.node];
          continue;
        }
        if (!ext.count(v)) {
          ext[v] = sub->add_variable("in" + std::to_string(ext_order.size()));
          ext_order.push_back(v);
        }
        v = {ext[v], 0};
      }
      n.control_deps.clear();
      sub->nodes.push_back(std::move(n));
      inner[m] = static_cast<int>(sub->nodes.size()) - 1;
      fg.members.push_back(g.nodes[m].name);
    }
    // Variables first keeps the subgraph topologically ordered and readable.
    Graph ordered;
    std::vector<int> pos(sub->nodes.size());
    for (size_t k = 0; k < sub->nodes.size(); ++k)
      if (sub->nodes[k].is_variable()) pos[k] = static_cast<int>(ordered.nodes.size()), ordered.nodes.push_back(sub->nodes[k]);
    for (size_t k = 0; k < sub->nodes.size(); ++k)
      if (!sub->nodes[k].is_variable()) {
        Node n = sub->nodes[k];
        for (ValueRef& v : n.inputs) v.node = pos[v.node];
        pos[k] = static_cast<int>(ordered.nodes.size());
        ordered.nodes.push_back(std::move(n));
      }
    std::vector<int> outputs;  // members whose value leaves the group
    for (int m : mem)
      if (m == i || is_head[m] || [&] {
            for (int c : users[m])
              if (group[c] != group[i]) return true;
            return false;
          }())
        outputs.push_back(m);
    for (int m : outputs) ordered.heads.push_back({pos[inner[m]], 0});
    Node f;
    f.name = g.nodes[i].name;
    f.op_name = "_hgc_fused";
    f.op = &OpRegistry::global().get("_hgc_fused");
    f.attrs["num_args"] = static_cast<int64_t>(ext_order.size());
    f.attrs["num_outputs"] = static_cast<int64_t>(outputs.size());
    for (const ValueRef& v : ext_order) f.inputs.push_back({remap[v.node], v.index + remap_index[v.node]});
    f.subgraphs.push_back(std::make_shared<Graph>(std::move(ordered)));
    out.nodes.push_back(std::move(f));
    for (size_t k = 0; k < outputs.size(); ++k)  // members are single-output
      remap[outputs[k]] = static_cast<int>(out.nodes.size()) - 1, remap_index[outputs[k]] = static_cast<int>(k);
    ++rep.kernels_after;
    rep.groups.push_back(std::move(fg));
  }
  for (ValueRef h : g.heads) out.heads.push_back({remap[h.node], h.index + remap_index[h.node]});
  InferOptions io;
  io.require_complete = false;
  for (const Node& n : out.nodes)
    if (n.is_variable()) io.shapes[n.name] = n.out_shapes[0], io.dtypes[n.name] = n.out_dtypes[0];
  infer(out, io);
  g = std::move(out);
  return rep;
}

namespace {
class FusePass : public Pass {
 public:
  FusePass(FuseOptions o, FuseReport* r) : opts_(std::move(o)), report_(r) {}
  std::string name() const override { return "fuse"; }
  std::set<Fact> requires_facts() const override { return {Fact::ShapesInferred}; }
  std::set<Fact> provides() const override { return {Fact::ShapesInferred, Fact::Fused}; }
  void run(Graph& g) override {
    FuseReport r = fuse(g, opts_);
    if (report_) *report_ = std::move(r);
  }

 private:
  FuseOptions opts_;
  FuseReport* report_;
};
}  // namespace

std::unique_ptr<Pass> make_fuse_pass(FuseOptions opts, FuseReport* report) {
  return std::make_unique<FusePass>(std::move(opts), report);
}

}  // namespace hgc
