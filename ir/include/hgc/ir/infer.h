// Shape and dtype inference over a graph, resolving deferred parameter dims.
//
//   InferOptions o;  o.shapes["data"] = Shape{1, 512};
//   infer(g, o);   // every node's out_shapes/out_dtypes filled; throws hgc::Error on conflict
#pragma once
#include <map>
#include <string>

#include "hgc/ir/graph.h"

namespace hgc {

struct InferOptions {
  std::map<std::string, Shape> shapes;  // by variable name; overrides `__shape__`
  std::map<std::string, DType> dtypes;  // by variable name; default f32 or `__dtype__`
  // When true (default), any value left with an unknown shape is an error naming it.
  bool require_complete = true;
};

void infer(Graph& g, const InferOptions& opts);

// Options that re-infer `g` from its variables' current shapes and dtypes (the known ones;
// require_complete off): what a pass runs after it rewrote the graph.
InferOptions variable_infer_options(const Graph& g);

}  // namespace hgc
