// nd:: creation functions and nd::random. Constant fills and imperative uniform/normal draws
// with scalar parameters are written directly into fresh buffers (a fill kernel per shape
// would cost a JIT compile for every new zeros/ones shape; initializers and Dropout masks
// draw here); arange is the _arange op. Inside a traced forward, and for the _like and
// per-element-parameter forms, draws are the registry's random ops (_random_*, _sample_*),
// whose seed input comes from this same generator at every call.
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

// Traced: the zeros_like/ones_like ops, so the graph follows x's size instead of holding a
// constant of the traced shape (which would make the trace size-specific).
NDArray zeros_like(const NDArray& x) {
  if (x.is_symbolic()) return nd_detail::call("zeros_like", {}, {x});
  return zeros(x.shape(), x.dtype(), x.context());
}
NDArray ones_like(const NDArray& x) {
  if (x.is_symbolic()) return nd_detail::call("ones_like", {}, {x});
  return ones(x.shape(), x.dtype(), x.context());
}

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

// One seed for a random op from the global generator: 53 bits, so it is exact as the int64
// of the op's seed input and as a double in the reference evaluator.
uint64_t next_seed() {
  Generator& g = generator();
  std::lock_guard<std::mutex> lock(g.mu);
  return g.engine() >> 11;
}

NDArray seed_value(Context ctx) {
  HostTensor t(DType::i64, {1});
  t.data<int64_t>()[0] = static_cast<int64_t>(next_seed());
  return NDArray(t, ctx);
}

// The seed input of a random op: drawn now (imperative), or a graph input that the compiled
// forward draws before each run (so every call gets fresh noise).
NDArray seed_input(Context ctx) {
  if (auto tg = trace::active_ptr()) return trace::random_input(tg, "_hgc_random_seed", Shape{1}, DType::i64, [ctx] {
      return seed_value(ctx);
    });
  return seed_value(ctx);
}

std::string dtype_attr(DType dtype, const char* what) {
  if (!dtype_is_float(dtype)) fail("ndarray", "random::", what, ": dtype ", dtype_name(dtype), " is not a float type");
  return dtype_name(dtype);
}

}  // namespace

void seed(uint64_t s) {
  Generator& g = generator();
  std::lock_guard<std::mutex> lock(g.mu);
  g.engine.seed(s);
}

NDArray uniform(double low, double high, const std::vector<int64_t>& shape, DType dtype) {
  if (!(low <= high)) fail("ndarray", "random::uniform: low ", low, " is greater than high ", high);
  if (trace::active())
    return call("_random_uniform", {{"low", low}, {"high", high}, {"shape", shape}, {"dtype", dtype_attr(dtype, "uniform")}},
                {seed_input(Context())});
  return draw(shape, dtype, "uniform", [&](std::mt19937_64& e, int64_t) { return low + (high - low) * unit(e); });
}

NDArray normal(double loc, double scale, const std::vector<int64_t>& shape, DType dtype) {
  if (!(scale >= 0)) fail("ndarray", "random::normal: scale ", scale, " is negative");
  if (trace::active())
    return call("_random_normal", {{"loc", loc}, {"scale", scale}, {"shape", shape}, {"dtype", dtype_attr(dtype, "normal")}},
                {seed_input(Context())});
  // Box-Muller yields pairs; the second of each pair serves the next element.
  double spare = 0;
  return draw(shape, dtype, "normal", [&](std::mt19937_64& e, int64_t i) {
    if (i % 2) return loc + scale * spare;
    double r = std::sqrt(-2 * std::log(unit(e))), th = 2 * M_PI * unit(e);
    spare = r * std::sin(th);
    return loc + scale * r * std::cos(th);
  });
}

NDArray uniform_like(const NDArray& data, double low, double high) {
  if (!(low <= high)) fail("ndarray", "random::uniform_like: low ", low, " is greater than high ", high);
  return call("_random_uniform_like", {{"low", low}, {"high", high}}, {data, seed_input(data.context())});
}

NDArray normal_like(const NDArray& data, double loc, double scale) {
  if (!(scale >= 0)) fail("ndarray", "random::normal_like: scale ", scale, " is negative");
  return call("_random_normal_like", {{"loc", loc}, {"scale", scale}}, {data, seed_input(data.context())});
}

NDArray uniform(const NDArray& low, const NDArray& high, const std::vector<int64_t>& shape) {
  return call("_sample_uniform", {{"shape", shape}}, {low, high, seed_input(low.context())});
}

NDArray normal(const NDArray& loc, const NDArray& scale, const std::vector<int64_t>& shape) {
  return call("_sample_normal", {{"shape", shape}}, {loc, scale, seed_input(loc.context())});
}

}  // namespace random
}  // namespace hgc::nd
