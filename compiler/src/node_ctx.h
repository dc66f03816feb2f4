// Builds a lowering's view of an inferred node.
#pragma once
#include "lowering.h"

namespace hgc::lower {

inline NodeCtx node_ctx(const Graph& g, const Node& n) {
  NodeCtx c{n, n.attr_view(), {}, {}, {}, {}};
  for (const ValueRef& v : n.inputs) {
    c.in_shapes.push_back(g.shape(v).dims());
    c.in_types.push_back(g.dtype(v));
  }
  for (size_t k = 0; k < n.out_shapes.size(); ++k) {
    c.out_shapes.push_back(n.out_shapes[k].dims());
    c.out_types.push_back(n.out_dtypes[k]);
  }
  return c;
}

}  // namespace hgc::lower
