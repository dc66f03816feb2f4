// mx.nd indexing, tiling, flips, block moves, norms and special functions (nd/array_ops.h):
// each is one registered op through nd_detail::call.
#include "hgc/frontend/nd/array_ops.h"

#include "hgc/base/error.h"
#include "hgc/frontend/nd/op.h"
#include "nd/detail.h"

namespace hgc::nd {

using nd_detail::call;

NDArray pick(const NDArray& data, const NDArray& index, int axis, bool keepdims, const std::string& mode) {
  return call("pick", {{"axis", int64_t(axis)}, {"keepdims", keepdims}, {"mode", mode}}, {data, index});
}
NDArray gather_nd(const NDArray& data, const NDArray& indices) { return call("gather_nd", {}, {data, indices}); }
NDArray tile(const NDArray& x, const std::vector<int64_t>& reps) { return call("tile", {{"reps", reps}}, {x}); }
NDArray repeat(const NDArray& x, int64_t repeats, std::optional<int> axis) {
  AttrMap a{{"repeats", repeats}};
  if (axis) a["axis"] = int64_t(*axis);
  return call("repeat", a, {x});
}
NDArray reverse(const NDArray& x, const std::vector<int64_t>& axis) { return call("reverse", {{"axis", axis}}, {x}); }
NDArray flip(const NDArray& x, const std::vector<int64_t>& axis) { return reverse(x, axis); }
NDArray depth_to_space(const NDArray& x, int64_t block_size) {
  return call("depth_to_space", {{"block_size", block_size}}, {x});
}
NDArray space_to_depth(const NDArray& x, int64_t block_size) {
  return call("space_to_depth", {{"block_size", block_size}}, {x});
}
NDArray shape_array(const NDArray& x) { return call("shape_array", {}, {x}); }
NDArray size_array(const NDArray& x) { return call("size_array", {}, {x}); }
NDArray eye(int64_t n, int64_t m, int64_t k, DType dtype) {
  return call("_eye", {{"N", n}, {"M", m}, {"k", k}, {"dtype", dtype_name(dtype)}}, {});
}
NDArray norm(const NDArray& x, int ord, const std::vector<int64_t>& axis, bool keepdims) {
  AttrMap a{{"ord", int64_t(ord)}, {"keepdims", keepdims}};
  if (!axis.empty()) a["axis"] = axis;
  return call("norm", a, {x});
}
NDArray argmax_channel(const NDArray& x) { return call("argmax_channel", {}, {x}); }
NDArray erfinv(const NDArray& x) { return call("erfinv", {}, {x}); }
NDArray gamma(const NDArray& x) { return call("gamma", {}, {x}); }
NDArray gammaln(const NDArray& x) { return call("gammaln", {}, {x}); }

namespace {
AttrValue axis_attr(std::optional<int> axis) {
  return axis ? AttrValue(int64_t(*axis)) : AttrValue(std::monostate{});
}
}  // namespace

NDArray topk(const NDArray& x, std::optional<int> axis, int64_t k, const std::string& ret_typ, bool is_ascend,
             DType dtype) {
  if (ret_typ == "both") fail("ndarray", "topk: ret_typ=both returns two arrays; use nd::topk_both");
  return call("topk", {{"axis", axis_attr(axis)}, {"k", k}, {"ret_typ", ret_typ}, {"is_ascend", is_ascend},
                       {"dtype", dtype_name(dtype)}}, {x});
}
std::pair<NDArray, NDArray> topk_both(const NDArray& x, std::optional<int> axis, int64_t k, bool is_ascend, DType dtype) {
  std::vector<NDArray> r = op_all("topk", {{"axis", axis_attr(axis)}, {"k", k}, {"ret_typ", std::string("both")},
                                           {"is_ascend", is_ascend}, {"dtype", dtype_name(dtype)}}, {x});
  return {r[0], r[1]};
}
NDArray sort(const NDArray& x, std::optional<int> axis, bool is_ascend) {
  return call("sort", {{"axis", axis_attr(axis)}, {"is_ascend", is_ascend}}, {x});
}
NDArray argsort(const NDArray& x, std::optional<int> axis, bool is_ascend, DType dtype) {
  return call("argsort", {{"axis", axis_attr(axis)}, {"is_ascend", is_ascend}, {"dtype", dtype_name(dtype)}}, {x});
}

}  // namespace hgc::nd
