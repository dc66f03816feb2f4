// nd:: creation functions and nd::random. Constant fills and random draws are written
// directly into fresh buffers (no op computes them: the IR has no random ops, and a fill
// kernel per shape would cost a JIT compile for every new zeros/ones shape); arange is the
// _arange op.
#include <cmath>
#include <cstring>
#include <mutex>
#include <random>

#include "hgc/base/error.h"
#include "nd/detail.h"
#include "symbol/trace.h"

namespace hgc::nd {

using nd_detail::call;

NDArray empty(const std::vector<int64_t>& shape, DType dtype, Context ctx) { return zeros(shape, dtype, ctx); }

NDArray zeros(const std::vector<int64_t>& shape, DType dtype, Context ctx) {
  nd_detail::check_context(ctx, "zeros");
  return NDArray(HostTensor(dtype, shape), ctx);  // HostTensor storage starts zeroed
}

NDArray ones(const std::vector<int64_t>& shape, DType dtype, Context ctx) { return full(shape, 1, dtype, ctx); }

NDArray full(const std::vector<int64_t>& shape, double value, DType dtype, Context ctx) {
  NDArray x = zeros(shape, dtype, ctx);
  if (value != 0) x.fill_(value);
  return x;
}

NDArray zeros_like(const NDArray& x) { return zeros(x.shape(), x.dtype(), x.context()); }
NDArray ones_like(const NDArray& x) { return ones(x.shape(), x.dtype(), x.context()); }

NDArray arange(double start, std::optional<double> stop, double step, DType dtype) {
  // The _arange lowering computes integers as i64 whatever the dtype, so its kernels for
  // other integer types do not parse; those ranges are made as int64 and cast.
  bool via_i64 = !dtype_is_float(dtype) && dtype != DType::i64;
  AttrMap a{{"start", start}, {"step", step}, {"dtype", dtype_name(via_i64 ? DType::i64 : dtype)}};
  a["stop"] = stop ? AttrValue(*stop) : AttrValue(std::monostate{});
  NDArray r = call("_arange", a, {});
  return via_i64 ? r.astype(dtype) : r;
}

NDArray array(const std::vector<float>& values, const std::vector<int64_t>& shape, DType dtype) {
  std::vector<int64_t> s = shape.empty() ? std::vector<int64_t>{static_cast<int64_t>(values.size())} : shape;
  HostTensor t(DType::f32, s);
  if (t.numel() != static_cast<int64_t>(values.size()))
    fail("ndarray", "array: ", values.size(), " values do not fill shape ", nd_detail::shape_str(s), " (",
         t.numel(), " elements)");
  if (!values.empty()) std::memcpy(t.raw(), values.data(), values.size() * sizeof(float));
  NDArray x(t);
  return dtype == DType::f32 ? x : x.astype(dtype);
}

NDArray array(const std::vector<std::vector<float>>& rows, DType dtype) {
  std::vector<float> flat;
  for (const auto& r : rows) {
    if (r.size() != rows[0].size())
      fail("ndarray", "array: ragged rows (", rows[0].size(), " and ", r.size(), " values)");
    flat.insert(flat.end(), r.begin(), r.end());
  }
  int64_t cols = rows.empty() ? 0 : static_cast<int64_t>(rows[0].size());
  return array(flat, {static_cast<int64_t>(rows.size()), cols}, dtype);
}

NDArray array(const HostTensor& t) { return NDArray(t).copy(); }

namespace random {
namespace {

// One global generator, as mx.random: a fixed algorithm (mt19937_64) and hand-written
// transforms, so a seed gives the same numbers with every standard library.
struct Generator {
  std::mutex mu;
  std::mt19937_64 engine{0};
};
Generator& generator() {
  static Generator* g = new Generator();
  return *g;
}

// Uniform in the open interval (0, 1) from the top 53 bits.
double unit(std::mt19937_64& e) { return (static_cast<double>(e() >> 11) + 0.5) * 0x1.0p-53; }

// Draws into float32 or float64 storage, then converts other dtypes with the Cast op.
template <typename Draw>
NDArray draw(const std::vector<int64_t>& shape, DType dtype, const char* what, Draw d) {
  if (TraceGraph* tg = trace::active())
    fail("gluon", "nd::random::", what, " inside the traced forward of block '", tg->block,
         "': the draw would be frozen into the graph as a constant; draw outside hybrid_forward and pass it as an input "
         "(as nn::Dropout does with its masks)");
  if (!dtype_is_float(dtype)) fail("ndarray", "random::", what, ": dtype ", dtype_name(dtype), " is not a float type");
  DType store = dtype == DType::f64 ? DType::f64 : DType::f32;
  HostTensor t(store, shape);
  Generator& g = generator();
  std::lock_guard<std::mutex> lock(g.mu);
  // Dropout masks draw every training step (BST: 0.4M numbers a step), so the loop is kept
  // tight: size and storage resolved once, the engine a local copy.
  const int64_t n = t.numel();
  std::mt19937_64 e = g.engine;
  if (store == DType::f64) {
    double* out = t.data<double>();
    for (int64_t i = 0; i < n; ++i) out[i] = d(e, i);
  } else {
    float* out = t.data<float>();
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(d(e, i));
  }
  g.engine = e;
  NDArray x(t);
  return store == dtype ? x : x.astype(dtype);
}

}  // namespace

void seed(uint64_t s) {
  Generator& g = generator();
  std::lock_guard<std::mutex> lock(g.mu);
  g.engine.seed(s);
}

NDArray uniform(double low, double high, const std::vector<int64_t>& shape, DType dtype) {
  if (!(low <= high)) fail("ndarray", "random::uniform: low ", low, " is greater than high ", high);
  return draw(shape, dtype, "uniform", [&](std::mt19937_64& e, int64_t) { return low + (high - low) * unit(e); });
}

NDArray normal(double loc, double scale, const std::vector<int64_t>& shape, DType dtype) {
  if (!(scale >= 0)) fail("ndarray", "random::normal: scale ", scale, " is negative");
  // Box-Muller yields pairs; the second of each pair serves the next element.
  double spare = 0;
  return draw(shape, dtype, "normal", [&](std::mt19937_64& e, int64_t i) {
    if (i % 2) return loc + scale * spare;
    double r = std::sqrt(-2 * std::log(unit(e))), th = 2 * M_PI * unit(e);
    spare = r * std::sin(th);
    return loc + scale * r * std::cos(th);
  });
}

}  // namespace random
}  // namespace hgc::nd
