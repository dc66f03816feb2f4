// The runtime's GEMM-shaped calls on each of their paths (plain loops for tiny products and
// for one row or column, sgemv for large vectors, sgemm otherwise), every transpose
// combination, against a double-precision triple loop.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "hgc/runtime/library.h"
#include "support/random_vec.h"

using namespace hgc;

namespace {

using test::random_floats;

// op(a) [M,K] . op(b) [K,N] in double, with sum_k |a_ik b_kj| per element (the scale of its
// rounding error); a is stored [M,K] or (ta) [K,M], b [K,N] or (tb) [N,K].
struct Product {
  std::vector<double> c, mag;
  int64_t K;
};
Product reference(const std::vector<float>& a, const std::vector<float>& b, int64_t M, int64_t N, int64_t K, bool ta,
                  bool tb) {
  Product p{std::vector<double>(M * N, 0.0), std::vector<double>(M * N, 0.0), K};
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j)
      for (int64_t k = 0; k < K; ++k) {
        double t = double(ta ? a[k * M + i] : a[i * K + k]) * double(tb ? b[j * K + k] : b[k * N + j]);
        p.c[i * N + j] += t;
        p.mag[i * N + j] += std::abs(t);
      }
  return p;
}

// Largest error in units of the probabilistic rounding bound of a K-term float dot product,
// lambda * sqrt(K) * u * sum_k |a_ik b_kj| with lambda = 2 (u = 2^-24; Higham & Mary 2019):
// <= 1 passes. A bound that grows with K, unlike a fixed relative one, holds for any correct
// summation order: OpenBLAS and oneDNN reach ~0.5 of it at K = 4 and stay under 0.12 from
// K = 200 to 4000, where a fixed 1e-5 relative error failed both by K = 4000.
double worst(const std::vector<float>& got, const Product& want) {
  REQUIRE(got.size() == want.c.size());
  const double unit = 2 * std::ldexp(1.0, -24) * std::sqrt(double(want.K));
  double e = 0;
  for (size_t i = 0; i < got.size(); ++i)
    e = std::max(e, std::abs(got[i] - want.c[i]) / (unit * want.mag[i] + 1e-30));
  return e;
}

struct Dims {
  int64_t M, N, K;
};
// Tiny (the plain loops), one row / one column / few FC rows (dot-product or row loops),
// the same past 2^20 multiply-adds (sgemv), and large enough for sgemm.
const Dims kShapes[] = {{4, 16, 8}, {16, 4, 16}, {32, 32, 4}, {32, 4, 32}, {3, 5, 7}, {1, 1, 9}, {1, 300, 200},
                        {300, 1, 200}, {2, 300, 200}, {1, 1100, 1000}, {1100, 1, 1000}, {2, 1100, 1000},
                        {64, 96, 80}};

}  // namespace

TEST_CASE("runtime matmul: every path and transpose combination equals the triple loop") {
  for (const Dims& d : kShapes)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        CAPTURE(d.M);
        CAPTURE(d.N);
        CAPTURE(d.K);
        CAPTURE(ta);
        CAPTURE(tb);
        std::vector<float> a = random_floats(d.M * d.K, 1), b = random_floats(d.K * d.N, 2), c(d.M * d.N, 123.f);
        lib::matmul(a.data(), b.data(), c.data(), d.M, d.N, d.K, ta, tb);
        CHECK(worst(c, reference(a, b, d.M, d.N, d.K, ta, tb)) <= 1.0);
      }
}

TEST_CASE("runtime batch_matmul: every batch entry, transpose combination and size (one oneDNN matmul)") {
  // Small products (a plain loop each before), attention's per-head shapes (BST: 256 of
  // 32x32x4 and 32x4x32), one entry (the per-product path), and a large one.
  const Dims shapes[] = {{8, 16, 4}, {32, 32, 4}, {32, 4, 32}, {3, 5, 7}, {64, 96, 80}};
  for (int64_t B : {1, 5, 256})
    for (const Dims& d : shapes) {
      if (B == 256 && d.M * d.N * d.K > 4096) continue;
      for (bool ta : {false, true})
        for (bool tb : {false, true}) {
          CAPTURE(B);
          CAPTURE(d.M);
          CAPTURE(d.N);
          CAPTURE(d.K);
          CAPTURE(ta);
          CAPTURE(tb);
          const int64_t M = d.M, N = d.N, K = d.K;
          std::vector<float> a = random_floats(B * M * K, 3), b = random_floats(B * K * N, 4), c(B * M * N, -7.f);
          lib::batch_matmul(a.data(), b.data(), c.data(), B, M, N, K, ta, tb);
          double w = 0;
          for (int64_t e = 0; e < B; ++e) {
            std::vector<float> ae(a.begin() + e * M * K, a.begin() + (e + 1) * M * K);
            std::vector<float> be(b.begin() + e * K * N, b.begin() + (e + 1) * K * N);
            std::vector<float> ce(c.begin() + e * M * N, c.begin() + (e + 1) * M * N);
            w = std::max(w, worst(ce, reference(ae, be, M, N, K, ta, tb)));
          }
          CHECK(w <= 1.0);
        }
    }
}

TEST_CASE("runtime fully_connected: y = x . w^T + b on the loop, sgemv and sgemm paths") {
  for (const Dims& d : kShapes)
    for (bool bias : {false, true}) {
      CAPTURE(d.M);
      CAPTURE(d.N);
      CAPTURE(d.K);
      CAPTURE(bias);
      std::vector<float> x = random_floats(d.M * d.K, 5), w = random_floats(d.N * d.K, 6), b = random_floats(d.N, 7), y(d.M * d.N, 9.f);
      lib::fully_connected(x.data(), w.data(), bias ? b.data() : nullptr, y.data(), d.M, d.N, d.K);
      Product want = reference(x, w, d.M, d.N, d.K, false, true);
      if (bias)
        for (int64_t i = 0; i < d.M; ++i)
          for (int64_t j = 0; j < d.N; ++j) want.c[i * d.N + j] += b[j], want.mag[i * d.N + j] += std::abs(b[j]);
      CHECK(worst(y, want) <= 1.0);
    }
}
