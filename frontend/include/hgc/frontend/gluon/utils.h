// gluon.utils: helpers around training loops.
//
//   std::vector<NDArray> grads;
//   for (auto& p : net->collect_params().values()) grads.push_back(p->grad());
//   double norm = gluon::utils::clip_global_norm(grads, 1.0);   // rescales the grads in place
#pragma once
#include <vector>

#include "hgc/frontend/nd/ndarray.h"

namespace hgc::gluon::utils {

// MXNet's clip_global_norm: scales every array in place by min(1, max_norm / (total + 1e-8)),
// where total is the L2 norm of all their elements together, and returns total (NaN or inf
// when an array holds one; the arrays are then left as they are). Throws for an empty
// list, an undefined array or max_norm <= 0.
double clip_global_norm(const std::vector<NDArray>& arrays, double max_norm);

}  // namespace hgc::gluon::utils
