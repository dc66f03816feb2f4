// The imperative road: one op on concrete tensors through the lowerings and the JIT, with
// the kernel cache keyed so a new batch size reuses shape-polymorphic kernels.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <random>

#include "hgc/compiler/imperative.h"
#include "hgc/ir/error.h"

using namespace hgc;

namespace {
HostTensor iota(std::vector<int64_t> shape, float start = 0, float step = 1) {
  HostTensor t(DType::f32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = start + step * i;
  return t;
}
}  // namespace

TEST_CASE("imperative ops: values, and a new batch size reuses the kernel") {
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
