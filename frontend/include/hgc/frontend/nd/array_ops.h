// mx.nd functions for indexing, tiling, flips, block moves, norms and special functions,
// each one registered op (MXNet's names, attributes and defaults).
//
//   NDArray x = nd::array({1, 2, 3, 4}, {2, 2});
//   NDArray p = nd::pick(x, nd::array({1, 0}));          // [2, 3]
//   NDArray t = nd::tile(x, {1, 2});                       // (2, 4)
//   NDArray n = nd::norm(x, 2, std::vector<int64_t>{1});   // row norms
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hgc/frontend/nd/ndarray.h"

namespace hgc::nd {

// data[..., index, ...] along `axis`; mode "clip" (default) or "wrap".
NDArray pick(const NDArray& data, const NDArray& index, int axis = -1, bool keepdims = false,
             const std::string& mode = "clip");
// indices (M, Y...) address data's first M dims: the result has shape Y + data.shape[M:].
NDArray gather_nd(const NDArray& data, const NDArray& indices);
NDArray tile(const NDArray& x, const std::vector<int64_t>& reps);
// Each element `repeats` times along `axis`; no axis: of the flattened array.
NDArray repeat(const NDArray& x, int64_t repeats, std::optional<int> axis = std::nullopt);
NDArray reverse(const NDArray& x, const std::vector<int64_t>& axis);
NDArray flip(const NDArray& x, const std::vector<int64_t>& axis);
NDArray depth_to_space(const NDArray& x, int64_t block_size);
NDArray space_to_depth(const NDArray& x, int64_t block_size);
// The shape (size) of x as an int64 array.
NDArray shape_array(const NDArray& x);
NDArray size_array(const NDArray& x);
// N x M (M = 0: N) with ones on diagonal k.
NDArray eye(int64_t n, int64_t m = 0, int64_t k = 0, DType dtype = DType::f32);
// The ord-1 or ord-2 norm over `axis` (all axes when empty, shape (1,) then).
NDArray norm(const NDArray& x, int ord, const std::vector<int64_t>& axis = {}, bool keepdims = false);
NDArray argmax_channel(const NDArray& x);
NDArray erfinv(const NDArray& x);
NDArray gamma(const NDArray& x);
NDArray gammaln(const NDArray& x);

// ---- ordering (MXNet's topk/sort/argsort; axis nullopt: the flattened array) ----
// ret_typ "indices" (default, as `dtype`), "value" or "mask"; for "both" use topk_both.
NDArray topk(const NDArray& x, std::optional<int> axis = -1, int64_t k = 1, const std::string& ret_typ = "indices",
             bool is_ascend = false, DType dtype = DType::f32);
// (values, indices).
std::pair<NDArray, NDArray> topk_both(const NDArray& x, std::optional<int> axis = -1, int64_t k = 1,
                                      bool is_ascend = false, DType dtype = DType::f32);
NDArray sort(const NDArray& x, std::optional<int> axis = -1, bool is_ascend = true);
NDArray argsort(const NDArray& x, std::optional<int> axis = -1, bool is_ascend = true, DType dtype = DType::f32);

}  // namespace hgc::nd
