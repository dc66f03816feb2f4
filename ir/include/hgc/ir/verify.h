// Structural verifier: topological order, arity, dangling references, inferred shapes
// consistent with a re-run of inference. Throws hgc::Error listing the first problem.
//
//   verify(g);
#pragma once
#include "hgc/ir/graph.h"

namespace hgc {

void verify(const Graph& g);

}  // namespace hgc
