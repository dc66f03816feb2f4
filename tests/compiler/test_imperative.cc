// The imperative road: one op on concrete tensors through the lowerings and the JIT, with
// the kernel cache keyed so a new batch size reuses shape-polymorphic kernels.
#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>

#include "hgc/compiler/imperative.h"
#include "hgc/compiler/kernel_cache.h"
#include "hgc/base/error.h"
#include "hgc/ir/infer.h"

using namespace hgc;

namespace {
// JIT only for one test: some of its signatures are also compiled at build time
// (test_prebuilt.cc), and these tests count what the JIT compiles.
struct JitOnly {
  JitOnly() { set_prebuilt_kernels_enabled(false); }
  ~JitOnly() { set_prebuilt_kernels_enabled(true); }
};

HostTensor iota(std::vector<int64_t> shape, float start = 0, float step = 1) {
  HostTensor t(DType::f32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = start + step * i;
  return t;
}
}  // namespace

TEST_CASE("imperative ops: values, and a new batch size reuses the kernel") {
  JitOnly jit;
  clear_kernel_cache();
  HostTensor x = iota({2, 3}, -3);
  HostTensor y = invoke("Activation", {{"act_type", "relu"}}, {x})[0];
  CHECK(y.shape() == std::vector<int64_t>{2, 3});
  for (int i = 0; i < 6; ++i) CHECK(y.data<float>()[i] == std::max(0.f, -3.f + i));
  KernelCacheStats s1 = kernel_cache_stats();
  CHECK(s1.misses == 1);
  HostTensor y2 = invoke("Activation", {{"act_type", "relu"}}, {iota({7, 3}, -10)})[0];
  CHECK(y2.data<float>()[20] == 10.f);
  KernelCacheStats s2 = kernel_cache_stats();
  CHECK(s2.misses == 1);  // same rank, no size-1 dims: same kernel
  CHECK(s2.hits == 1);

  // Broadcasting: (N, 3) + (1, 3) shares one kernel for every N.
  HostTensor b = iota({1, 3}, 100);
  for (int64_t n : {2, 5, 9}) {
    HostTensor r = invoke("broadcast_add", {}, {iota({n, 3}), b})[0];
    CHECK(r.data<float>()[3 * (n - 1) + 2] == doctest::Approx(3 * (n - 1) + 2 + 102));
  }
  CHECK(kernel_cache_stats().misses == 2);
  // (N, 1) + (1, 3) is another broadcast pattern: one more kernel.
  HostTensor o = invoke("broadcast_mul", {}, {iota({4, 1}, 1), b})[0];
  CHECK(o.shape() == std::vector<int64_t>{4, 3});
  CHECK(o.data<float>()[11] == 4 * 102);
  CHECK(kernel_cache_stats().misses == 3);
}

TEST_CASE("imperative views, library calls and reductions") {
  HostTensor x = iota({2, 3, 4});
  HostTensor r = invoke("Reshape", {{"shape", "(0, -1)"}}, {x})[0];
  CHECK(r.shape() == std::vector<int64_t>{2, 12});
  CHECK(r.shares_storage(x));
  HostTensor w = iota({5, 12}, 0, 0.01f), bias = iota({5}, 1);
  HostTensor fc = invoke("FullyConnected", {{"num_hidden", "5"}}, {x, w, bias})[0];
  for (int n = 0; n < 2; ++n)
    for (int o = 0; o < 5; ++o) {
      double ref = 1 + o;
      for (int k = 0; k < 12; ++k) ref += (n * 12 + k) * (o * 12 + k) * 0.01;
      CHECK(fc.data<float>()[n * 5 + o] == doctest::Approx(ref).epsilon(1e-5));
    }
  HostTensor s = invoke("sum", {{"axis", "(1,)"}, {"keepdims", "True"}}, {x})[0];
  CHECK(s.shape() == std::vector<int64_t>{2, 1, 4});
  CHECK(s.data<float>()[0] == 0 + 4 + 8);
  HostTensor sm = invoke("softmax", {{"axis", "-1"}}, {x})[0];
  double row = 0;
  for (int i = 0; i < 4; ++i) row += sm.data<float>()[i];
  CHECK(row == doctest::Approx(1.0));
  CHECK_THROWS_WITH_AS(invoke("Activation", {{"act_type", "nope"}}, {x}), doctest::Contains("act_type"), Error);
  CHECK_THROWS_WITH_AS(invoke("elemwise_add", {}, {x, iota({3})}), doctest::Contains("elemwise_add"), Error);
}

TEST_CASE("first-call vs cached-call latency per op (figures, not thresholds)") {
  clear_kernel_cache();
  HostTensor x = iota({64, 256});
  for (const char* op : {"relu", "tanh", "exp", "sigmoid"}) {
    auto t0 = std::chrono::steady_clock::now();
    invoke(op, {}, {x});
    auto t1 = std::chrono::steady_clock::now();
    for (int i = 0; i < 100; ++i) invoke(op, {}, {x});
    auto t2 = std::chrono::steady_clock::now();
    MESSAGE(std::string(op) << ": first call " << std::chrono::duration<double, std::milli>(t1 - t0).count() << " ms, cached "
               << std::chrono::duration<double, std::micro>(t2 - t1).count() / 100 << " us (64x256)");
  }
}

TEST_CASE("imperative scalar ops compile one kernel for every scalar value") {
  JitOnly jit;
  clear_kernel_cache();
  std::string dir = "/tmp/hgc_test_scalar_cache_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  CompileOptions o = CompileOptions().cache_folder(dir);
  HostTensor x = iota({3, 5}, -2, 0.5f);
  auto str = [](double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.17g", v);
    return std::string(b);
  };
  for (int i = 0; i < 50; ++i) {
    double s = 0.37 * i - 7.5;  // an annealing-like sequence of distinct values
    HostTensor y = invoke("_mul_scalar", {{"scalar", str(s)}}, {x}, o)[0];
    for (int k = 0; k < 15; ++k) CHECK(y.data<float>()[k] == doctest::Approx((-2 + 0.5 * k) * s).epsilon(1e-6));
  }
  KernelCacheStats st = kernel_cache_stats();
  CHECK(st.misses == 1);
  CHECK(st.hits == 49);
  CHECK(st.entries == 1);
  CHECK(DiskCache::at(dir).stats().writes == 1);  // one on-disk entry, not 50
  // Reversed and other scalar ops read the runtime value too; a new shape class is a new kernel.
  for (double s : {3.0, -0.25}) {
    HostTensor r = invoke("_rminus_scalar", {{"scalar", str(s)}}, {x}, o)[0];
    HostTensor d = invoke("_rdiv_scalar", {{"scalar", str(s)}}, {iota({4}, 1)}, o)[0];
    for (int k = 0; k < 15; ++k) CHECK(r.data<float>()[k] == doctest::Approx(s - (-2 + 0.5 * k)));
    for (int k = 0; k < 4; ++k) CHECK(d.data<float>()[k] == doctest::Approx(s / (1 + k)));
  }
  CHECK(kernel_cache_stats().misses == 3);
  // float64 passes a double: no rounding of the scalar through float.
  HostTensor x64(DType::f64, {2});
  x64.data<double>()[0] = 1, x64.data<double>()[1] = 3;
  for (double s : {0.1, 1e-12}) {
    HostTensor p = invoke("_plus_scalar", {{"scalar", str(s)}}, {x64}, o)[0];
    CHECK(p.data<double>()[0] == 1 + s);
    CHECK(p.data<double>()[1] == 3 + s);
  }
  CHECK(kernel_cache_stats().misses == 4);
  std::filesystem::remove_all(dir);
}

TEST_CASE("compiled graphs keep scalars folded into the code") {
  Graph g;
  int x = g.add_variable("x");
  int m = g.add_node("_mul_scalar", "m", {{x, 0}}, {{"scalar", 0.5}});
  g.heads.push_back({m, 0});
  infer(g, {{{"x", Shape{4}}}, {}});
  std::string mlir = emit_mlir(g);
  CHECK(mlir.find("tensor.extract") == std::string::npos);  // no scalar input
  CHECK(mlir.find("%arg2") == std::string::npos);           // x and the output only
  HostTensor in = iota({4}, 1);
  HostTensor out = compile(g)->run({in})[0];
  for (int k = 0; k < 4; ++k) CHECK(out.data<float>()[k] == 0.5f * (1 + k));
}
