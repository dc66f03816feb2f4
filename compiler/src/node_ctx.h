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

// Every dim except size-1 ones becomes dynamic: the shape class a shape-polymorphic kernel
// is generated for.
inline Dims generalize(const Dims& d) {
  Dims g = d;
  for (int64_t& x : g)
    if (x != 1) x = -1;
  return g;
}

}  // namespace hgc::lower
