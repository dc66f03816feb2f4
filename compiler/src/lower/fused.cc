// A kernel group (`_hgc_fused`): its members' lowerings write into one kernel function,
// member by member; intermediates are tensor.empty destinations that never leave the
// function, and MLIR's elementwise fusion (in the CPU pipeline) merges their loops.
#include <map>

#include "../lowering.h"
#include "../node_ctx.h"
#include "hgc/base/error.h"

namespace hgc::lower {

void register_fused(LoweringTable& t) {
  t.kernel("_hgc_fused", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    if (c.node.subgraphs.empty()) c.error("kernel group without members");
    const Graph& sub = *c.node.subgraphs[0];
    std::map<ValueRef, std::string> val;
    std::vector<int> vars = sub.variable_ids();
    for (size_t i = 0; i < vars.size(); ++i) val[{vars[i], 0}] = ins[i];
    std::map<ValueRef, int> head_index;
    for (size_t j = 0; j < sub.heads.size(); ++j) head_index[sub.heads[j]] = static_cast<int>(j);
    for (size_t i = 0; i < sub.nodes.size(); ++i) {
      const Node& m = sub.nodes[i];
      if (m.is_variable()) continue;
      const Lowering* l = m.op ? LoweringTable::global().find(*m.op) : nullptr;
      if (!l || l->kind != Kind::Kernel) c.error("member " + m.describe() + " is not a generated kernel");
      NodeCtx mc = node_ctx(sub, m);
      std::vector<std::string> mins, mouts;
      for (const ValueRef& v : m.inputs) mins.push_back(val.at(v));
      for (size_t k = 0; k < m.out_shapes.size(); ++k) {
        auto h = head_index.find({static_cast<int>(i), static_cast<int>(k)});
        mouts.push_back(h != head_index.end() ? outs[h->second] : w.empty(mc.out_shapes[k], mc.out_types[k]));
      }
      l->kernel(mc, w, mins, mouts);
      std::vector<std::string> res = w.take_results();
      for (size_t k = 0; k < res.size(); ++k) val[{static_cast<int>(i), static_cast<int>(k)}] = res[k];
    }
    for (size_t j = 0; j < sub.heads.size(); ++j) w.result(static_cast<int>(j), val.at(sub.heads[j]));
  });
}

}  // namespace hgc::lower
