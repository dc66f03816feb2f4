// A hybridized block's cache entry (frontend-internal, shared by hybrid.cc and
// hybrid_train.cc): the compiled forward for one input signature and training mode, and the
// compiled gradient graphs built for it under autograd::record().
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cached_graph.h"
#include "hgc/frontend/block.h"
#include "trace.h"

namespace hgc::gluon {

// What a call under autograd::record() runs, traced once: the training forward (the block's
// outputs, then the forward values the gradient graph reads) and the gradient graph.
// Gradient graph inputs: the block's inputs, the parameters' values, the saved forward
// values, one head gradient per block output. Outputs: the gradients of the inputs and
// parameters that need one, `which` giving each one's position in (inputs ++ parameters).
struct HybridBlock::Backward {
  std::vector<bool> need;  // which of (inputs ++ parameters) get a gradient
  std::shared_ptr<CachedGraph> forward;
  size_t num_outputs = 0;
  std::vector<int> saved;  // per saved value: its index among the training forward's outputs
  std::shared_ptr<CachedGraph> graph;  // null when nothing needs a gradient
  std::vector<int> which;
};

struct HybridBlock::Cached {
  std::vector<std::vector<int64_t>> shapes;
  std::vector<DType> dtypes;
  bool training = false;
  bool traced = false;  // params is known
  std::shared_ptr<CachedGraph> graph;  // the forward; built at the first call outside record()
  std::map<std::string, HostTensor> constants;
  std::vector<std::shared_ptr<Parameter>> params;
  std::map<std::vector<bool>, std::shared_ptr<Backward>> backward;
  // Its training trace was refused (Dropout, BatchNorm in training mode): recorded calls run
  // imperatively, every op taped, as before hybridized training existed.
  bool imperative = false;
};

// Deferred dims of the traced parameters come back from the graph's inferred shapes.
void complete_params(const TraceGraph& g);

}  // namespace hgc::gluon
