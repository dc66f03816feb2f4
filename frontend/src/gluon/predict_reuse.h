// Predict-mode entries served by a training entry's compiled forward (frontend-internal, for
// hybrid.cc). A predict-mode call of a hybridized block whose traced graph is the training
// forward's (a block without Dropout or BatchNorm traces the same ops in both modes) runs that
// compiled forward instead of compiling the same graph once more: the first evaluation after
// training costs no MLIR/LLVM (W6's Fashion MLP: one module of ~40 ms). The training forward
// also writes the values its gradient graph reads; they are dropped after the call.
#pragma once
#include <algorithm>
#include <cstring>
#include <list>
#include <map>
#include <memory>
#include <string>

#include "gluon/cached_graph.h"
#include "hgc/compiler/dynamic.h"

namespace hgc::gluon::predict_reuse {

// Elements of `v` in `g` per call at its traced shapes (unknown dims count 1).
inline int64_t elements(const Graph& g, ValueRef v) {
  int64_t n = 1;
  for (int64_t d : g.shape(v).dims()) n *= d > 0 ? d : 1;
  return n;
}

// Whether every constant of `a` is in `b` with the same bytes.
inline bool same_constants(const std::map<std::string, HostTensor>& a, const std::map<std::string, HostTensor>& b) {
  for (const auto& [name, t] : a) {
    auto it = b.find(name);
    if (it == b.end() || it->second.dtype() != t.dtype() || it->second.shape() != t.shape() ||
        std::memcmp(it->second.raw(), t.raw(), t.nbytes()) != 0)
      return false;
  }
  return true;
}

// The compiled forward of a training entry in `cache` that computes predict entry `c`'s graph
// `traced` (pruned to its outputs; no random inputs or updates) with those outputs first, or
// null: none does, or the values that forward adds for the gradient are more than twice the
// call's inputs and outputs (a big model served in predict mode should not write its
// activations out). `Entry` is HybridBlock::Cached (a template: the type is private).
template <class Entry>
std::shared_ptr<CachedGraph> training_forward_for(const Entry& c, const Graph& traced,
                                                  const std::list<std::shared_ptr<Entry>>& cache) {
  if (c.training || c.ctx.device_type == DeviceType::gpu) return nullptr;
  for (const auto& e : cache) {
    // The same signature in training mode: dtypes, ranks, dynamic axes and static sizes.
    if (!e->training || e->ctx != c.ctx || e->dtypes != c.dtypes || e->dynamic != c.dynamic ||
        e->shapes.size() != c.shapes.size())
      continue;
    bool same = true;
    for (size_t i = 0; i < c.shapes.size() && same; ++i) {
      same = e->shapes[i].size() == c.shapes[i].size();
      for (size_t k = 0; k < c.shapes[i].size() && same; ++k)
        same = c.dynamic[i][k] || e->shapes[i][k] == c.shapes[i][k];
    }
    if (!same) continue;
    for (const auto& [need, b] : e->backward) {
      if (!b->forward || !b->effects.random.empty() || !b->effects.updated.empty()) continue;
      const Graph& fg = b->forward->graph;
      if (fg.heads.size() < traced.heads.size() || b->forward->input_names.size() != c.shapes.size()) continue;
      if (!std::equal(traced.heads.begin(), traced.heads.end(), fg.heads.begin())) continue;
      Graph with_heads = traced;
      with_heads.heads = fg.heads;
      if (!structure_difference(with_heads, fg).empty() || !same_constants(c.constants, b->forward->constants()))
        continue;
      // Bounded extra traffic: the saved values at most twice the call's own data.
      int64_t own = 0, extra = 0;
      for (int id : traced.variable_ids())
        for (size_t i = 0; i < b->forward->input_names.size(); ++i)
          if (traced.nodes[id].name == b->forward->input_names[i]) own += elements(traced, {id, 0});
      for (size_t k = 0; k < fg.heads.size(); ++k) (k < traced.heads.size() ? own : extra) += elements(traced, fg.heads[k]);
      if (extra > 2 * own) continue;
      return b->forward;
    }
  }
  return nullptr;
}

}  // namespace hgc::gluon::predict_reuse
