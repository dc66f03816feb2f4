// The sparse-operand path of the runtime's GEMM calls (runtime/src/library_sparse.cc): a large
// product whose activation operand is mostly zeros (a click matrix) is computed from its
// nonzeros. Every routed operand and transpose combination against a double-precision triple
// loop, at densities from all-zero to one nonzero past the limit, and which path ran
// (lib::sparse_gemm_calls) where that is the point.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "hgc/runtime/library.h"
#include "support/random_vec.h"

using namespace hgc;

namespace {

using test::random_floats;

// n values of which exactly `nonzeros` (at random places) are nonzero; the rest alternate
// +0.0 and -0.0 (both zeros to the sparse path, as to the arithmetic).
std::vector<float> sparse(size_t n, size_t nonzeros, uint32_t seed) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = i % 2 ? -0.f : 0.f;
  std::vector<size_t> at(n);
  std::iota(at.begin(), at.end(), size_t(0));
  std::mt19937 g(seed);
  std::shuffle(at.begin(), at.end(), g);
  std::uniform_real_distribution<float> u(0.5f, 2.f);
  for (size_t i = 0; i < nonzeros; ++i) v[at[i]] = (i % 3 ? 1.f : -1.f) * u(g);
  return v;
}

// The most nonzeros the sparse path accepts in n elements.
size_t limit(size_t n) { return static_cast<size_t>(lib::kSparseMaxDensity * static_cast<double>(n)); }

// op(a) [M,K] . op(b) [K,N] in double; a is stored [M,K] or (ta) [K,M], b [K,N] or (tb) [N,K].
std::vector<double> reference(const std::vector<float>& a, const std::vector<float>& b, int64_t M, int64_t N,
                              int64_t K, bool ta, bool tb) {
  std::vector<double> c(M * N, 0.0);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t k = 0; k < K; ++k) {
      const double aik = ta ? a[k * M + i] : a[i * K + k];
      if (aik == 0) continue;  // only finite operands here: skipping zeros changes nothing
      for (int64_t j = 0; j < N; ++j) c[i * N + j] += aik * double(tb ? b[j * K + k] : b[k * N + j]);
    }
  return c;
}

// Largest |got - want| / (1 + |want|).
double worst(const std::vector<float>& got, const std::vector<double>& want) {
  REQUIRE(got.size() == want.size());
  double e = 0;
  for (size_t i = 0; i < got.size(); ++i) e = std::max(e, std::abs(got[i] - want[i]) / (1 + std::abs(want[i])));
  return e;
}

struct Dims {
  int64_t M, N, K;
};
// Past the 2^22 multiply-adds below which the path is not tried; the dense side's extent
// (N for a sparse a, M for a sparse b) not a multiple of the 16-wide panels, or under 16.
const Dims kShapes[] = {{40, 333, 320}, {2100, 8, 260}, {9, 2100, 240}};

}  // namespace

TEST_CASE("runtime sparse matmul: a or b mostly zeros, every transpose combination, equals the triple loop") {
  for (const Dims& d : kShapes)
    for (bool sparse_a : {true, false})
      for (bool ta : {false, true})
        for (bool tb : {false, true}) {
          const size_t n = static_cast<size_t>(sparse_a ? d.M * d.K : d.K * d.N);
          // All zero, one nonzero, ~1 % (the click matrices), and exactly at the limit.
          for (size_t nonzeros : {size_t(0), size_t(1), n / 100, limit(n)}) {
            CAPTURE(d.M);
            CAPTURE(d.N);
            CAPTURE(d.K);
            CAPTURE(sparse_a);
            CAPTURE(ta);
            CAPTURE(tb);
            CAPTURE(nonzeros);
            std::vector<float> s = sparse(n, nonzeros, 11);
            std::vector<float> dense = random_floats(static_cast<size_t>(sparse_a ? d.K * d.N : d.M * d.K), 12);
            const std::vector<float>& a = sparse_a ? s : dense;
            const std::vector<float>& b = sparse_a ? dense : s;
            std::vector<float> c(d.M * d.N, 123.f);  // every element is written
            const uint64_t before = lib::sparse_gemm_calls();
            lib::matmul(a.data(), b.data(), c.data(), d.M, d.N, d.K, ta, tb);
            CHECK(lib::sparse_gemm_calls() == before + 1);
            CHECK(worst(c, reference(a, b, d.M, d.N, d.K, ta, tb)) < 1e-5);
          }
        }
}

TEST_CASE("runtime sparse matmul: one nonzero past the limit, or both operands dense, goes through sgemm") {
  const Dims d = kShapes[0];
  for (bool sparse_a : {true, false})
    for (bool tb : {false, true}) {
      CAPTURE(sparse_a);
      CAPTURE(tb);
      const size_t n = static_cast<size_t>(sparse_a ? d.M * d.K : d.K * d.N);
      std::vector<float> s = sparse(n, limit(n) + 1, 13);
      std::vector<float> dense = random_floats(static_cast<size_t>(sparse_a ? d.K * d.N : d.M * d.K), 14);
      const std::vector<float>& a = sparse_a ? s : dense;
      const std::vector<float>& b = sparse_a ? dense : s;
      std::vector<float> c(d.M * d.N, 123.f);
      const uint64_t before = lib::sparse_gemm_calls();
      lib::matmul(a.data(), b.data(), c.data(), d.M, d.N, d.K, false, tb);
      CHECK(lib::sparse_gemm_calls() == before);
      CHECK(worst(c, reference(a, b, d.M, d.N, d.K, false, tb)) < 1e-5);
    }
  std::vector<float> a = random_floats(d.M * d.K, 15), b = random_floats(d.K * d.N, 16), c(d.M * d.N);
  const uint64_t before = lib::sparse_gemm_calls();
  lib::matmul(a.data(), b.data(), c.data(), d.M, d.N, d.K, false, false);
  CHECK(lib::sparse_gemm_calls() == before);
  CHECK(worst(c, reference(a, b, d.M, d.N, d.K, false, false)) < 1e-5);
}

TEST_CASE("runtime sparse matmul: small products are not looked at") {
  const int64_t M = 32, N = 64, K = 64;  // 2^17 multiply-adds
  std::vector<float> a = sparse(M * K, 3, 17), b = random_floats(K * N, 18), c(M * N);
  const uint64_t before = lib::sparse_gemm_calls();
  lib::matmul(a.data(), b.data(), c.data(), M, N, K, false, false);
  CHECK(lib::sparse_gemm_calls() == before);
  CHECK(worst(c, reference(a, b, M, N, K, false, false)) < 1e-5);
}

TEST_CASE("runtime sparse fully_connected: a sparse input with and without bias; sparse weights stay dense") {
  for (const Dims& d : {Dims{500, 600, 2011}, Dims{40, 333, 320}, Dims{2100, 8, 260}})
    for (bool bias : {false, true}) {
      const size_t n = static_cast<size_t>(d.M * d.K);
      for (size_t nonzeros : {size_t(0), size_t(1), n / 100, limit(n), limit(n) + 1}) {
        CAPTURE(d.M);
        CAPTURE(d.N);
        CAPTURE(d.K);
        CAPTURE(bias);
        CAPTURE(nonzeros);
        std::vector<float> x = sparse(n, nonzeros, 19), w = random_floats(d.N * d.K, 20), b = random_floats(d.N, 21);
        std::vector<float> y(d.M * d.N, 9.f);
        const uint64_t before = lib::sparse_gemm_calls();
        lib::fully_connected(x.data(), w.data(), bias ? b.data() : nullptr, y.data(), d.M, d.N, d.K);
        CHECK(lib::sparse_gemm_calls() == before + (nonzeros <= limit(n) ? 1 : 0));
        std::vector<double> want = reference(x, w, d.M, d.N, d.K, false, true);
        if (bias)
          for (int64_t i = 0; i < d.M; ++i)
            for (int64_t j = 0; j < d.N; ++j) want[i * d.N + j] += b[j];
        CHECK(worst(y, want) < 1e-5);
        if (nonzeros == 0) {  // no products at all: exactly the bias (or zero)
          int64_t off = 0;
          for (int64_t i = 0; i < d.M * d.N; ++i) off += y[i] != (bias ? b[i % d.N] : 0.f);
          CHECK(off == 0);
        }
      }
    }
  // The weights are never the sparse operand of a layer (only its input is offered).
  const Dims d{40, 333, 320};
  std::vector<float> x = random_floats(d.M * d.K, 22), w = sparse(d.N * d.K, 5, 23), y(d.M * d.N);
  const uint64_t before = lib::sparse_gemm_calls();
  lib::fully_connected(x.data(), w.data(), nullptr, y.data(), d.M, d.N, d.K);
  CHECK(lib::sparse_gemm_calls() == before);
  CHECK(worst(y, reference(x, w, d.M, d.N, d.K, false, true)) < 1e-5);
}

TEST_CASE("runtime sparse GEMM: an Inf or NaN in the dense operand reaches the output as with sgemm") {
  // 0 * Inf is NaN in the dense product; skipping the zeros would hide it, so such a call
  // goes dense and every output element that sums over the Inf is NaN.
  const Dims d{40, 333, 320};
  std::vector<float> x = sparse(d.M * d.K, 50, 24), w = random_floats(d.N * d.K, 25), y(d.M * d.N);
  w[7 * d.K + 3] = std::numeric_limits<float>::infinity();  // w[7, 3]: output column 7
  w[200 * d.K + 9] = std::numeric_limits<float>::quiet_NaN();  // output column 200
  const uint64_t before = lib::sparse_gemm_calls();
  lib::fully_connected(x.data(), w.data(), nullptr, y.data(), d.M, d.N, d.K);
  CHECK(lib::sparse_gemm_calls() == before);
  for (int64_t i = 0; i < d.M; ++i) {
    CHECK(!std::isfinite(y[i * d.N + 7]));  // NaN, or Inf where x[i, 3] is nonzero
    CHECK(std::isnan(y[i * d.N + 200]));
    CHECK(std::isfinite(y[i * d.N + 8]));
  }
  // In the sparse operand an Inf is a nonzero like any other: it spreads as in sgemm.
  std::vector<float> a = sparse(d.M * d.K, 50, 26), b = random_floats(d.K * d.N, 27), c(d.M * d.N);
  a[5 * d.K + 17] = std::numeric_limits<float>::infinity();  // row 5 of the output
  lib::matmul(a.data(), b.data(), c.data(), d.M, d.N, d.K, false, false);
  CHECK(lib::sparse_gemm_calls() == before + 1);
  for (int64_t j = 0; j < d.N; ++j) CHECK(std::isinf(c[5 * d.N + j]));
  CHECK(std::isfinite(c[6 * d.N]));
}
