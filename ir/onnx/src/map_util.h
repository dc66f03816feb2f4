// Helpers shared by the op-family mapping files.
#pragma once
#include <cmath>
#include <limits>
#include <set>

#include "importer.h"

namespace hgc::onnx_detail {

using KV = std::vector<std::pair<std::string, AttrValue>>;

// "(1, 2, 3)" / "(1,)" / "()" in MXNet's tuple syntax.
inline std::string tuple_str(const std::vector<int64_t>& v) {
  std::string r = "(";
  for (size_t i = 0; i < v.size(); ++i) r += (i ? ", " : "") + std::to_string(v[i]);
  return r + (v.size() == 1 ? ",)" : ")");
}

inline int norm_axis(Importer& im, int64_t a, int rank) {
  if (a < -rank || a >= rank) im.error("axis " + std::to_string(a) + " out of range for rank " + std::to_string(rank));
  return a < 0 ? static_cast<int>(a + rank) : static_cast<int>(a);
}

// Ops whose kernels take integer and bool tensors as they are.
inline bool int_native(const std::string& op) {
  static const std::set<std::string> ops = {
      "broadcast_add", "broadcast_sub", "broadcast_mul", "broadcast_div", "broadcast_mod",
      "broadcast_maximum", "broadcast_minimum", "broadcast_equal", "broadcast_not_equal",
      "broadcast_greater", "broadcast_greater_equal", "broadcast_lesser", "broadcast_lesser_equal",
      "broadcast_logical_and", "broadcast_logical_or", "broadcast_logical_xor", "abs", "negative",
      "sign", "relu", "_copy", "square", "logical_not", "where"};
  return ops.count(op) > 0;
}

// Other integer and bool tensors go through float64 for ops whose kernels are float-only (exact
// for integers below 2^53); `back` restores the dtype.
inline bool kernel_float(DType t) { return dtype_is_float(t); }
inline ValueRef to_float(Importer& im, ValueRef v) {
  return kernel_float(im.dtype_of(v)) ? v : im.cast(v, DType::f64);
}

inline ValueRef reshape_to(Importer& im, ValueRef v, const std::vector<int64_t>& s) {
  if (im.shape_of(v).known() && im.shape_of(v).dims() == s) return v;
  return im.add("_np_reshape", {v}, {{"newshape", tuple_str(s)}});
}

// The known shape of input i, or an error naming it.
inline std::vector<int64_t> known_shape(Importer& im, int i) {
  Shape s = im.shape(i);
  if (!s.known()) im.error("the shape of input '" + im.node().input(i) + "' must be known (give input shapes)");
  return s.dims();
}
inline std::vector<int64_t> known_shape_of(Importer& im, ValueRef v) {
  const Shape& s = im.shape_of(v);
  if (!s.known()) im.error("a shape that must be known is not: " + s.str() + " (give input shapes)");
  return s.dims();
}

inline std::vector<int64_t> broadcast_dims(Importer& im, std::vector<int64_t> a, const std::vector<int64_t>& b) {
  if (b.size() > a.size()) a.insert(a.begin(), b.size() - a.size(), 1);
  for (size_t k = 0; k < b.size(); ++k) {
    int64_t& o = a[a.size() - b.size() + k];
    if (o == 1) o = b[k];
    else if (b[k] != 1 && b[k] != o) im.error("shapes " + Shape(a).str() + " and " + Shape(b).str() + " do not broadcast");
  }
  return a;
}

inline ValueRef broadcast_to(Importer& im, ValueRef v, const std::vector<int64_t>& s) {
  std::vector<int64_t> have = known_shape_of(im, v);
  if (have == s) return v;
  if (have.size() < s.size()) {
    have.insert(have.begin(), s.size() - have.size(), 1);
    v = reshape_to(im, v, have);
  }
  return im.add("broadcast_to", {v}, {{"shape", tuple_str(s)}});
}

}  // namespace hgc::onnx_detail
