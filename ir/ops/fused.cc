// `_hgc_fused`: a kernel group made by the fusion pass. A fused group is itself an op, so
// dumps, JSON round trips and later passes see it; its members live in node.subgraphs[0]
// (variables in0..inN-1 bound to the node's inputs, heads = the node's outputs), and its
// shapes come from inferring that subgraph (infer.cc, trait kSubgraph).
#include "families.h"

namespace hgc::ops {

void register_fused(OpRegistry& r) {
  r.add("_hgc_fused")
      .attr(AttrSpec::integer("num_args"))
      .attr(AttrSpec::integer("num_outputs").def(int64_t(1)))
      .variadic("num_args")
      .outputs([](const AttrView& a) { return static_cast<int>(a.i("num_outputs")); },
               [](const AttrView& a) { return static_cast<int>(a.i("num_outputs")); })
      .traits(kSubgraph)
      .type([](TypeCtx&) { return true; });  // dtypes come from the subgraph too
}

}  // namespace hgc::ops
