// The legacy-named mx.nd functions of nd/legacy_ops.h: each a call of the registered op (or,
// where the op has no lowering yet, the same result from ops that have one).
#include "hgc/frontend/nd/legacy_ops.h"

#include <algorithm>

#include "hgc/base/error.h"
#include "hgc/frontend/nd/context.h"
#include "hgc/frontend/nd/op.h"
#include "nd/detail.h"

namespace hgc::nd_detail {
void synchronize_devices();  // device.cc
}  // namespace hgc::nd_detail

namespace hgc::nd {

using nd_detail::call;

NDArray Pooling(const NDArray& data, const std::vector<int64_t>& kernel, const std::string& pool_type,
                const std::vector<int64_t>& stride, const std::vector<int64_t>& pad, bool global_pool,
                const std::string& pooling_convention, bool count_include_pad) {
  if (pool_type != "max" && pool_type != "avg" && pool_type != "sum" && pool_type != "lp")
    fail("ndarray", "Pooling: pool_type must be max, avg, sum or lp, got '", pool_type, "'");
  if (pooling_convention != "valid" && pooling_convention != "full" && pooling_convention != "same")
    fail("ndarray", "Pooling: pooling_convention must be valid, full or same, got '", pooling_convention, "'");
  AttrMap a{{"kernel", kernel}, {"pool_type", pool_type}, {"global_pool", global_pool},
            {"pooling_convention", pooling_convention}, {"count_include_pad", count_include_pad}};
  if (!stride.empty()) a["stride"] = stride;
  if (!pad.empty()) a["pad"] = pad;
  return call("Pooling", a, {data});
}

NDArray SoftmaxActivation(const NDArray& data, const std::string& mode) {
  return call("SoftmaxActivation", {{"mode", mode}}, {data});
}

NDArray broadcast_add(const NDArray& a, const NDArray& b) { return call("broadcast_add", {}, {a, b}); }
NDArray broadcast_sub(const NDArray& a, const NDArray& b) { return call("broadcast_sub", {}, {a, b}); }
NDArray broadcast_mul(const NDArray& a, const NDArray& b) { return call("broadcast_mul", {}, {a, b}); }
NDArray broadcast_div(const NDArray& a, const NDArray& b) { return call("broadcast_div", {}, {a, b}); }

namespace {
NDArray elemwise(const char* op, const NDArray& a, const NDArray& b) {
  if (a.shape() != b.shape())
    fail("ndarray", op, ": shapes ", nd_detail::shape_str(a.shape()), " and ", nd_detail::shape_str(b.shape()),
         " differ (elemwise ops do not broadcast; use broadcast_", op + 9, ")");
  return call(op, {}, {a, b});
}
}  // namespace

NDArray elemwise_add(const NDArray& a, const NDArray& b) { return elemwise("elemwise_add", a, b); }
NDArray elemwise_sub(const NDArray& a, const NDArray& b) { return elemwise("elemwise_sub", a, b); }
NDArray elemwise_mul(const NDArray& a, const NDArray& b) { return elemwise("elemwise_mul", a, b); }
NDArray elemwise_div(const NDArray& a, const NDArray& b) { return elemwise("elemwise_div", a, b); }

// The nansum op has no lowering yet: the NaNs are replaced by 0 (x == x is false only for
// NaN) and summed, which is the same value and gradient (g where x is not NaN).
NDArray nansum(const NDArray& x, const std::vector<int64_t>& axis, bool keepdims) {
  if (!dtype_is_float(x.dtype())) return sum(x, axis, keepdims);
  NDArray clean = where(x == x, x, zeros_like(x));
  return sum(clean, axis, keepdims);
}

std::vector<NDArray> split(const NDArray& x, int64_t num_outputs, int axis, bool squeeze_axis) {
  if (num_outputs < 1) fail("ndarray", "split: num_outputs must be >= 1, got ", num_outputs);
  int ax = nd_detail::normalize_axis(axis, x.ndim(), "split");
  if (x.shape()[ax] % num_outputs != 0)
    fail("ndarray", "split: axis ", axis, " of ", nd_detail::shape_str(x.shape()), " does not divide into ",
         num_outputs, " equal parts");
  return op_all("SliceChannel", {{"num_outputs", num_outputs}, {"axis", int64_t(ax)}, {"squeeze_axis", squeeze_axis}},
                {x});
}

NDArray concatenate(const std::vector<NDArray>& arrays, int axis) {
  if (arrays.empty()) fail("ndarray", "concatenate: no arrays");
  return concat(arrays, axis);
}

NDArray random_normal(double loc, double scale, const std::vector<int64_t>& shape, DType dtype) {
  if (scale < 0) fail("ndarray", "random_normal: scale must be >= 0, got ", scale);
  return random::normal(loc, scale, shape, dtype);
}
NDArray random_uniform(double low, double high, const std::vector<int64_t>& shape, DType dtype) {
  if (high < low) fail("ndarray", "random_uniform: high (", high, ") < low (", low, ")");
  return random::uniform(low, high, shape, dtype);
}

// Inverse-CDF draws: one uniform from the global generator per sample, then the first class
// whose cumulative probability exceeds it.
NDArray sample_multinomial(const NDArray& data, const std::vector<int64_t>& shape, DType dtype) {
  if (data.ndim() < 1) fail("ndarray", "sample_multinomial: data needs at least one axis");
  int64_t k = data.shape().back(), rows = k ? data.size() / k : 0, per = 1;
  for (int64_t s : shape) {
    if (s < 0) fail("ndarray", "sample_multinomial: negative shape ", nd_detail::shape_str(shape));
    per *= s;
  }
  if (k == 0) fail("ndarray", "sample_multinomial: data has no classes (last axis 0)");
  std::vector<double> p = data.astype(DType::f64).to_vector<double>();
  for (int64_t r = 0; r < rows; ++r) {
    double total = 0;
    for (int64_t j = 0; j < k; ++j) {
      if (p[r * k + j] < 0) fail("ndarray", "sample_multinomial: negative probability ", p[r * k + j], " in row ", r);
      total += p[r * k + j];
    }
    if (std::abs(total - 1) > 1e-4)
      fail("ndarray", "sample_multinomial: row ", r, " sums to ", total, ", not 1");
  }
  std::vector<double> u = random::uniform(0, 1, {std::max<int64_t>(rows * per, 1)}, DType::f64).to_vector<double>();
  std::vector<float> out(size_t(rows * per));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < per; ++i) {
      double c = 0, x = u[r * per + i];
      int64_t j = 0;
      for (; j < k - 1; ++j) {
        c += p[r * k + j];
        if (x < c) break;
      }
      out[r * per + i] = float(j);
    }
  std::vector<int64_t> oshape(data.shape().begin(), data.shape().end() - 1);
  oshape.insert(oshape.end(), shape.begin(), shape.end());
  if (oshape.empty()) oshape = {1};
  return array(out, oshape).astype(dtype);
}

void waitall() { nd_detail::synchronize_devices(); }

}  // namespace hgc::nd
