// mx.nd functions under MXNet's own (legacy) names, each a typed call of the registered op of
// that name: Pooling, SoftmaxActivation, broadcast_* and elemwise_* arithmetic, nansum,
// split, concatenate, random_normal/uniform, sample_multinomial and waitall.
//
//   NDArray p = nd::Pooling(x, {2, 2}, "max", {2, 2});          // (N, C, H/2, W/2)
//   std::vector<NDArray> parts = nd::split(x, 2, 1);           // two halves along axis 1
//   NDArray d = nd::broadcast_div(x, nd::sum(x, {1}, true));   // rows normalized
//   NDArray s = nd::sample_multinomial(nd::array({0.2f, 0.8f}), {100});
#pragma once
#include <string>
#include <vector>

#include "hgc/frontend/nd/ndarray.h"

namespace hgc::nd {

// Also declared (with the other unary math) in ndarray.h; repeated here with the legacy names.
NDArray abs(const NDArray& x);
NDArray square(const NDArray& x);

// The Pooling op: pool_type "max", "avg", "sum" or "lp"; pooling_convention "valid" or
// "full"; empty stride: 1s, empty pad: 0s; global_pool pools the whole spatial extent.
NDArray Pooling(const NDArray& data, const std::vector<int64_t>& kernel, const std::string& pool_type = "max",
                const std::vector<int64_t>& stride = {}, const std::vector<int64_t>& pad = {},
                bool global_pool = false, const std::string& pooling_convention = "valid",
                bool count_include_pad = true);
// Legacy softmax: mode "instance" over each flattened sample, "channel" over axis 1.
NDArray SoftmaxActivation(const NDArray& data, const std::string& mode = "instance");

// numpy broadcasting arithmetic (the ops of those names).
NDArray broadcast_add(const NDArray& a, const NDArray& b);
NDArray broadcast_sub(const NDArray& a, const NDArray& b);
NDArray broadcast_mul(const NDArray& a, const NDArray& b);
NDArray broadcast_div(const NDArray& a, const NDArray& b);
// Same-shape arithmetic: a shape mismatch is an error (no broadcasting).
NDArray elemwise_add(const NDArray& a, const NDArray& b);
NDArray elemwise_sub(const NDArray& a, const NDArray& b);
NDArray elemwise_mul(const NDArray& a, const NDArray& b);
NDArray elemwise_div(const NDArray& a, const NDArray& b);

// Sum treating NaN as 0; empty axis: everything (shape (1,)).
NDArray nansum(const NDArray& x, const std::vector<int64_t>& axis = {}, bool keepdims = false);
// MXNet's split (SliceChannel): num_outputs equal parts along axis; squeeze_axis drops the
// axis when each part has size 1 there.
std::vector<NDArray> split(const NDArray& x, int64_t num_outputs, int axis = 1, bool squeeze_axis = false);
// nd.concatenate: joins along axis (default 0, unlike concat's 1).
NDArray concatenate(const std::vector<NDArray>& arrays, int axis = 0);

// mx.nd.random_normal / random_uniform (the legacy names of nd.random.normal/uniform): drawn
// from the global generator (nd::random::seed).
NDArray random_normal(double loc = 0, double scale = 1, const std::vector<int64_t>& shape = {1},
                      DType dtype = DType::f32);
NDArray random_uniform(double low = 0, double high = 1, const std::vector<int64_t>& shape = {1},
                       DType dtype = DType::f32);
// Draws class indices from the categorical distributions in data's last axis (each row sums
// to 1): the result has shape data.shape[:-1] + shape (shape empty: one draw per row).
NDArray sample_multinomial(const NDArray& data, const std::vector<int64_t>& shape = {}, DType dtype = DType::i32);

// Blocks until all pending device work is done (CPU ops already ran when they returned).
void waitall();

}  // namespace hgc::nd
