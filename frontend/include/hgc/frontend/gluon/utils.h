// gluon.utils: helpers around training loops.
//
//   std::vector<NDArray> grads;
//   for (auto& p : net->collect_params().values()) grads.push_back(p->grad());
//   double norm = gluon::utils::clip_global_norm(grads, 1.0);   // rescales the grads in place
//   auto parts = gluon::utils::split_and_load(batch, {cpu(0), cpu(1)});   // one slice per context
#pragma once
#include <vector>

#include "hgc/frontend/nd/ndarray.h"
#include "hgc/frontend/nd/context.h"

namespace hgc::gluon::utils {

// MXNet's clip_global_norm: scales every array in place by min(1, max_norm / (total + 1e-8)),
// where total is the L2 norm of all their elements together, and returns total (NaN or inf
// when an array holds one; the arrays are then left as they are). Throws for an empty
// list, an undefined array or max_norm <= 0.
double clip_global_norm(const std::vector<NDArray>& arrays, double max_norm);

// Gluon's split_data: `num_slice` pieces along batch_axis (views along axis 0). even_split:
// the size must divide evenly (else an error); otherwise the last piece takes the remainder.
std::vector<NDArray> split_data(const NDArray& data, int num_slice, int batch_axis = 0, bool even_split = true);
// Gluon's split_and_load: split_data into ctx_list.size() pieces, piece i copied to
// ctx_list[i] (data parallelism over several cpu(i) or gpu(i) contexts).
std::vector<NDArray> split_and_load(const NDArray& data, const std::vector<Context>& ctx_list, int batch_axis = 0,
                                    bool even_split = true);

}  // namespace hgc::gluon::utils
