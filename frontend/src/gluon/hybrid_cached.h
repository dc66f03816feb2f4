// A hybridized block's cache entry (frontend-internal, shared by hybrid.cc and
// hybrid_train.cc): the compiled forward for one input signature and training mode, and the
// compiled gradient graphs built for it under autograd::record().
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gluon/cached_graph.h"
#include "hgc/frontend/gluon/block.h"
#include "symbol/trace.h"

namespace hgc::gluon {

// What a compiled training forward needs around each run (see TraceGraph): random inputs
// (Dropout masks) drawn before it and fed after the block's inputs, and parameters
// (BatchNorm's running statistics) written back from the outputs after the block's own.
struct Effects {
  std::vector<TraceGraph::RandomInput> random;
  std::vector<std::shared_ptr<Parameter>> updated;

  static Effects of(const TraceGraph& g);
  // The block's inputs followed by freshly drawn random inputs.
  std::vector<NDArray> inputs(const std::vector<NDArray>& xs) const;
  // Writes outs[first + k] into the k-th updated parameter.
  void write_back(const std::vector<NDArray>& outs, size_t first) const;
  // `names` followed by the random inputs' names; `xs` followed by zeros of their shapes.
  void add_inputs(const TraceGraph& g, std::vector<std::string>& names, std::vector<NDArray>& xs) const;
};

// What a call under autograd::record() runs, traced once: the training forward (the block's
// outputs, then the forward values the gradient graph reads) and the gradient graph.
// Gradient graph inputs: the block's inputs, the random inputs (Dropout masks), the
// parameters' values, the saved forward values, one head gradient per block output.
// Outputs: the gradients of the inputs and parameters that need one, `which` giving each
// one's position in (inputs ++ parameters).
struct HybridBlock::Backward {
  std::vector<bool> need;  // which of (inputs ++ parameters) get a gradient
  std::shared_ptr<CachedGraph> forward;  // inputs: the block's, then effects.random
  Effects effects;
  // The block's outputs, first among the forward's; then one per effects.updated, then the
  // saved values.
  size_t num_outputs = 0;
  std::vector<int> saved;  // per saved value: its index among the training forward's outputs
  std::shared_ptr<CachedGraph> graph;  // null when nothing needs a gradient
  std::vector<int> which;
};

struct HybridBlock::Counters {
  std::string block;
  int64_t forward = 0, backward = 0;
  // The callback a CachedGraph calls when it compiles: counts and logs; the reason of an entry's
  // first compile is the entry's (why the signature was new).
  std::function<void(const std::string&, const std::string&)> hook(bool backward_graph, std::string first_reason);
};

struct HybridBlock::Cached {
  std::vector<std::vector<int64_t>> shapes;
  std::vector<std::vector<bool>> dynamic;  // per input: axes whose size may change (key: the rest)
  std::string reason;                      // why this signature was new
  std::vector<DType> dtypes;
  Context ctx;  // the inputs' context: gpu(i) compiles for that device
  bool training = false;
  bool traced = false;  // params is known
  std::shared_ptr<CachedGraph> graph;  // the forward; built at the first call outside record()
  // graph is a training entry's forward (predict_reuse.cc): its first num_outputs outputs are
  // this entry's, the rest are the values its gradient reads.
  bool shared_forward = false;
  Effects effects;                     // of `graph`
  size_t num_outputs = 0;              // the block's outputs among graph's
  std::map<std::string, HostTensor> constants;
  std::vector<std::shared_ptr<Parameter>> params;
  std::map<std::vector<bool>, std::shared_ptr<Backward>> backward;
};

// The inputs' shapes at other sizes of their dynamic axes (the probe: each size + delta;
// empty when none, or when a size would drop below 2).
std::vector<std::vector<int64_t>> probe_shapes(const std::vector<std::vector<int64_t>>& shapes,
                                               const std::vector<std::vector<bool>>& dynamic, int delta = 1);
// Why two traces of a block at different sizes differ (a size baked into the graph), or empty.
std::string trace_difference(const TraceGraph& a, const TraceGraph& b);

// Deferred dims of the traced parameters come back from the graph's inferred shapes.
void complete_params(const TraceGraph& g);

}  // namespace hgc::gluon
