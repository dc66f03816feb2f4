// The random family (_random_*, _random_*_like, _sample_*): compiled kernels equal the
// reference evaluator's generator (uniforms bit for bit), the samples have the right
// statistics (mean, variance, a Kolmogorov-Smirnov distance), a seed determines them, the
// ops lower to PTX that ptxas accepts, and the passes neither CSE nor fold them.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "hgc/base/error.h"
#include "hgc/compiler/compile.h"
#include "hgc/compiler/gpu.h"
#include "hgc/compiler/imperative.h"
#include "hgc/ir/infer.h"
#include "reference/reference.h"
#include "support/ptx_check.h"

using namespace hgc;

namespace {

HostTensor seed_tensor(int64_t s) {
  HostTensor t(DType::i64, {1});
  t.data<int64_t>()[0] = s;
  return t;
}

HostTensor f32(const std::vector<int64_t>& shape, const std::vector<float>& v) {
  HostTensor t(DType::f32, shape);
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}

// A one-op graph: variables "in<k>" (the seed last), typed from `vars`.
struct OneOp {
  Graph g;
  std::map<std::string, HostTensor> vars;
};
OneOp one_op(const std::string& op, const std::map<std::string, std::string>& attrs, std::vector<HostTensor> ins) {
  OneOp o;
  const OpDef& def = OpRegistry::global().get(op);
  AttrMap typed;
  for (const auto& [k, v] : attrs) typed[k] = parse_attr(*def.attr_spec(k), v);
  InferOptions io;
  std::vector<ValueRef> refs;
  for (size_t k = 0; k < ins.size(); ++k) {
    std::string name = "in" + std::to_string(k);
    refs.push_back({o.g.add_variable(name), 0});
    io.shapes[name] = Shape(ins[k].shape());
    io.dtypes[name] = ins[k].dtype();
    o.vars[name] = ins[k];
  }
  int id = o.g.add_node(op, "n", refs, typed);
  o.g.heads.push_back({id, 0});
  infer(o.g, io);
  return o;
}

std::vector<double> values(const HostTensor& t) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i)
    v[i] = t.dtype() == DType::f64 ? t.data<double>()[i] : t.data<float>()[i];
  return v;
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}
double var(const std::vector<double>& v) {
  double m = mean(v), s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return s / static_cast<double>(v.size() - 1);
}
// sup |F_n(x) - F(x)|.
template <typename Cdf>
double ks(std::vector<double> v, Cdf cdf) {
  std::sort(v.begin(), v.end());
  double n = static_cast<double>(v.size()), d = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    double f = cdf(v[i]);
    d = std::max({d, std::fabs(f - static_cast<double>(i) / n), std::fabs(static_cast<double>(i + 1) / n - f)});
  }
  return d;
}
double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

std::vector<HostTensor> run_compiled(const OneOp& o) { return compile(o.g)->run(o.vars); }

}  // namespace

TEST_CASE("random ops: compiled kernels draw the reference generator's numbers") {
  HostTensor s = seed_tensor(123456789012345);
  HostTensor x(DType::f32, {3, 5, 7});
  HostTensor lo = f32({2, 3}, {-1, 0, 1, 2, 3, 4}), hi = f32({2, 3}, {0, 1, 3, 2.5f, 10, 4.5f});
  struct C {
    std::string op;
    std::map<std::string, std::string> attrs;
    std::vector<HostTensor> ins;
    bool exact;
  };
  std::vector<C> cases = {
      {"_random_uniform", {{"low", "-2"}, {"high", "5"}, {"shape", "(4, 33)"}}, {s}, true},
      {"_random_uniform", {{"shape", "(1000,)"}}, {s}, true},
      {"_random_uniform", {{"shape", "(17,)"}, {"dtype", "float64"}}, {s}, true},
      {"_random_normal", {{"loc", "1.5"}, {"scale", "0.5"}, {"shape", "(4, 33)"}}, {s}, false},
      {"_random_normal", {{"shape", "(9,)"}, {"dtype", "float64"}}, {s}, false},
      {"_random_uniform_like", {{"low", "0"}, {"high", "2"}}, {x, s}, true},
      {"_random_normal_like", {}, {x, s}, false},
      {"_sample_uniform", {{"shape", "(4, 2)"}}, {lo, hi, s}, true},
      {"_sample_normal", {{"shape", "(5,)"}}, {lo, hi, s}, false},
      {"_sample_normal", {}, {lo, hi, s}, false},
  };
  for (const C& c : cases) {
    CAPTURE(c.op);
    OneOp o = one_op(c.op, c.attrs, c.ins);
    HostTensor want = ref::evaluate(o.g, o.vars)[0];
    HostTensor got = run_compiled(o)[0];
    HostTensor imp = invoke(c.op, c.attrs, c.ins)[0];
    REQUIRE(got.shape() == want.shape());
    REQUIRE(got.dtype() == want.dtype());
    std::vector<double> g = values(got), w = values(want), m = values(imp);
    int bad = 0;
    for (size_t i = 0; i < g.size(); ++i) {
      double tol = c.exact ? 0 : 1e-5 + 1e-4 * std::fabs(w[i]);
      if (!(std::fabs(g[i] - w[i]) <= tol)) ++bad;
      CHECK(m[i] == g[i]);  // the imperative road runs the same kernel
    }
    CHECK_MESSAGE(bad == 0, bad << " of " << g.size() << " elements differ from the reference");
  }
}

TEST_CASE("random ops: output shapes and dtypes follow MXNet's attributes") {
  HostTensor s = seed_tensor(7);
  OneOp a = one_op("_sample_normal", {{"shape", "(4, 2)"}}, {f32({3}, {0, 1, 2}), f32({3}, {1, 1, 1}), s});
  CHECK(a.g.nodes.back().out_shapes[0] == Shape{3, 4, 2});
  OneOp b = one_op("_random_normal", {{"shape", "(2, 5)"}, {"dtype", "float16"}}, {s});
  CHECK(b.g.nodes.back().out_dtypes[0] == DType::f16);
  CHECK(run_compiled(b)[0].dtype() == DType::f16);
  CHECK_THROWS_WITH_AS(one_op("_random_uniform", {{"shape", "(2,)"}, {"dtype", "int32"}}, {s}),
                       doctest::Contains("float type"), Error);
  CHECK_THROWS_WITH_AS(one_op("_sample_uniform", {}, {f32({3}, {0, 1, 2}), f32({2}, {1, 1}), s}),
                       doctest::Contains("one shape"), Error);
  CHECK_THROWS_WITH_AS(one_op("_random_uniform", {{"shape", "(2,)"}}, {f32({1}, {1})}),
                       doctest::Contains("seed"), Error);
}

TEST_CASE("random ops: the samples have the distribution's moments and a small KS distance") {
  const int64_t n = 200000;
  const double ks99 = 1.63 / std::sqrt(static_cast<double>(n));  // 1% critical value
  for (int64_t seed : {1, 99, 1234567}) {
    CAPTURE(seed);
    auto u = values(run_compiled(one_op("_random_uniform", {{"low", "-1"}, {"high", "3"}, {"shape", std::to_string(n)}},
                                        {seed_tensor(seed)}))[0]);
    CHECK(std::fabs(mean(u) - 1.0) < 0.02);
    CHECK(std::fabs(var(u) - 16.0 / 12.0) < 0.02);
    CHECK(*std::min_element(u.begin(), u.end()) >= -1.0);
    CHECK(*std::max_element(u.begin(), u.end()) <= 3.0);
    CHECK(ks(u, [](double x) { return std::clamp((x + 1) / 4, 0.0, 1.0); }) < ks99);
    auto z = values(run_compiled(one_op("_random_normal", {{"loc", "2"}, {"scale", "3"}, {"shape", std::to_string(n)}},
                                        {seed_tensor(seed)}))[0]);
    CHECK(std::fabs(mean(z) - 2.0) < 0.03);
    CHECK(std::fabs(var(z) - 9.0) < 0.15);
    CHECK(ks(z, [](double x) { return normal_cdf((x - 2) / 3); }) < ks99);
    // Neighbouring elements are uncorrelated.
    double c = 0;
    for (int64_t i = 0; i + 1 < n; ++i) c += (z[i] - 2) * (z[i + 1] - 2);
    CHECK(std::fabs(c / static_cast<double>(n) / 9.0) < 0.01);
  }
  // Per-element parameters: each parameter's samples follow it.
  auto s = values(run_compiled(one_op("_sample_normal", {{"shape", "(20000,)"}},
                                      {f32({2}, {-5, 10}), f32({2}, {1, 0.1f}), seed_tensor(5)}))[0]);
  std::vector<double> a(s.begin(), s.begin() + 20000), b(s.begin() + 20000, s.end());
  CHECK(std::fabs(mean(a) + 5) < 0.03);
  CHECK(std::fabs(std::sqrt(var(a)) - 1) < 0.03);
  CHECK(std::fabs(mean(b) - 10) < 0.003);
  CHECK(std::fabs(std::sqrt(var(b)) - 0.1) < 0.003);
}

TEST_CASE("random ops: the seed determines the numbers") {
  auto draw = [](int64_t seed) {
    return values(run_compiled(one_op("_random_normal", {{"shape", "(64,)"}}, {seed_tensor(seed)}))[0]);
  };
  CHECK(draw(42) == draw(42));
  auto a = draw(42), b = draw(43);
  int same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  CHECK(same == 0);
}

TEST_CASE("random ops: CSE and constant folding leave them alone") {
  // Two draws from one seed compute the same numbers, but kRandom keeps both nodes (a draw is
  // an event, not a value); with a constant seed nothing is folded either.
  Graph g;
  ValueRef s{g.add_variable("seed"), 0};
  int a = g.add_node("_random_uniform", "a", {s}, {{"shape", std::vector<int64_t>{4}}});
  int b = g.add_node("_random_uniform", "b", {s}, {{"shape", std::vector<int64_t>{4}}});
  int sum = g.add_node("elemwise_add", "sum", {{a, 0}, {b, 0}}, {});
  g.heads.push_back({sum, 0});
  InferOptions io;
  io.shapes["seed"] = Shape{1};
  io.dtypes["seed"] = DType::i64;
  infer(g, io);
  std::map<std::string, HostTensor> frozen{{"seed", seed_tensor(3)}};
  Graph p = prepare(g, CompileOptions(), nullptr, &frozen);
  int randoms = 0;
  for (const Node& n : p.nodes) randoms += n.op && n.op->has(kRandom);
  CHECK(randoms == 2);
}

TEST_CASE("random ops: every form lowers to PTX that ptxas accepts") {
  if (!test::gpu_toolkit_present()) return;
  HostTensor s = seed_tensor(11), x(DType::f32, {8, 3});
  for (auto [op, ins] : std::vector<std::pair<std::string, std::vector<HostTensor>>>{
           {"_random_uniform", {s}}, {"_random_normal", {s}}, {"_random_uniform_like", {x, s}},
           {"_random_normal_like", {x, s}}, {"_sample_uniform", {x, x, s}}, {"_sample_normal", {x, x, s}}}) {
    CAPTURE(op);
    std::map<std::string, std::string> attrs;
    if (op.rfind("_random", 0) == 0 && op.find("like") == std::string::npos) attrs["shape"] = "(5, 7)";
    if (op.rfind("_sample", 0) == 0) attrs["shape"] = "(2,)";
    OneOp o = one_op(op, attrs, ins);
    GpuPlan p = gpu::compile_to_ptx(o.g);
    CHECK(test::check_gpu_plan(p, op) >= 1);
  }
}
