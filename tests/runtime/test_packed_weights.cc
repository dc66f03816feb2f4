// Packed weights (runtime/src/gemm_packed.cc) and the stable-buffer registry they key on
// (hgc/runtime/stable_buffers.h): fully_connected on an announced weight packs it once per
// generation, from the second call on (the first runs the same primitive on the weights as
// they are: repeated calls agree bit for bit), and gives the sgemm path's values within float
// reassociation (the primitive sums K in its own order); an announced write makes the next
// calls see the new values; two weights of one shape in one buffer are kept apart.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "hgc/runtime/library.h"
#include "hgc/runtime/stable_buffers.h"
#include "hgc/runtime/thread_pool.h"
#include "support/random_vec.h"

using namespace hgc;

namespace {

using test::random_floats;

// y = x . w^T + b in double; `mag` the sum of |terms| per element (the rounding scale).
void reference(const float* x, const float* w, const float* b, int64_t M, int64_t N, int64_t K, std::vector<double>& y,
               std::vector<double>& mag) {
  y.assign(M * N, 0.0);
  mag.assign(M * N, 0.0);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = b ? b[j] : 0.0, m = b ? std::abs(b[j]) : 0.0;
      for (int64_t k = 0; k < K; ++k) {
        double t = double(x[i * K + k]) * w[j * K + k];
        s += t;
        m += std::abs(t);
      }
      y[i * N + j] = s;
      mag[i * N + j] = m;
    }
}

// Largest error in units of 2 sqrt(K) u sum|terms| (test_library_gemm.cc's bound): any
// correct summation order stays under 1.
double worst(const std::vector<float>& got, const float* x, const float* w, const float* b, int64_t M, int64_t N,
             int64_t K) {
  std::vector<double> y, mag;
  reference(x, w, b, M, N, K, y, mag);
  const double unit = 2 * std::ldexp(1.0, -24) * std::sqrt(double(K + 1));
  double e = 0;
  for (size_t i = 0; i < got.size(); ++i) e = std::max(e, std::abs(got[i] - y[i]) / (unit * mag[i] + 1e-30));
  return e;
}

std::vector<float> fc(const float* x, const float* w, const float* b, int64_t M, int64_t N, int64_t K) {
  std::vector<float> y(M * N, -1.f);
  lib::fully_connected(x, w, b, y.data(), M, N, K);
  return y;
}

}  // namespace

TEST_CASE("stable buffers: find, generations and the end of an announcement") {
  std::vector<float> buf(100);
  CHECK(stable::find(buf.data(), 400) == nullptr);
  auto a = stable::announce(buf.data(), 400);
  auto r = stable::find(buf.data() + 10, 40);  // inside
  REQUIRE(r);
  CHECK(r->begin() == reinterpret_cast<const char*>(buf.data()));
  CHECK(stable::find(buf.data() + 90, 80) == nullptr);  // runs past the end
  const uint64_t g = r->generation();
  stable::note_write(buf.data() + 99, 4);  // overlaps the last float
  CHECK(r->generation() == g + 1);
  stable::note_write(buf.data() + 100, 4);  // just past it
  CHECK(r->generation() == g + 1);
  int made = 0;
  auto f1 = r->form("k", [&] { return std::make_shared<int>(++made); });
  auto f2 = r->form("k", [&] { return std::make_shared<int>(++made); });
  CHECK(f1 == f2);
  stable::note_write(buf.data(), 4);
  auto f3 = r->form("k", [&] { return std::make_shared<int>(++made); });
  CHECK(f3 != f1);
  CHECK(made == 2);
  a.reset();
  CHECK(stable::find(buf.data(), 400) == nullptr);  // gone even though `r` still holds the range
}

TEST_CASE("packed weights: fully_connected on an announced weight matches sgemm, at 1 and 2 threads") {
  // W1b's first layer at batch 64 and an odd batch (uneven row blocks), with and without bias.
  struct Case {
    int64_t M, N, K;
    bool bias;
  };
  for (Case c : {Case{64, 256, 512, true}, Case{37, 96, 200, false}}) {
    CAPTURE(c.M);
    std::vector<float> x = random_floats(c.M * c.K, 1), w = random_floats(c.N * c.K, 2), b = random_floats(c.N, 3);
    const float* bp = c.bias ? b.data() : nullptr;
    const std::vector<float> plain = fc(x.data(), w.data(), bp, c.M, c.N, c.K);  // not announced: sgemm
    CHECK(worst(plain, x.data(), w.data(), bp, c.M, c.N, c.K) <= 1);
    auto a = stable::announce(w.data(), w.size() * sizeof(float));
    for (bool serial : {true, false}) {
      CAPTURE(serial);
      std::optional<ThreadPool::Serial> one;
      if (serial) one.emplace();
      const int64_t before = a->range().forms_made();
      for (int call = 0; call < 3; ++call) {
        std::vector<float> y = fc(x.data(), w.data(), bp, c.M, c.N, c.K);
        // Float reassociation only: within the rounding bound of any summation order.
        CHECK(worst(y, x.data(), w.data(), bp, c.M, c.N, c.K) <= 1);
      }
      // Packed at most once per layout, not per call.
      CHECK(a->range().forms_made() - before <= 3);
    }
    CHECK(a->range().forms_made() >= 2);  // the packed path ran (a first-call mark, a packed copy)
  }
}

TEST_CASE("packed weights: an announced write between calls gives the new values") {
  const int64_t M = 64, N = 128, K = 256;
  std::vector<float> x = random_floats(M * K, 4), w = random_floats(N * K, 5);
  auto a = stable::announce(w.data(), w.size() * sizeof(float));
  for (int call = 0; call < 3; ++call) fc(x.data(), w.data(), nullptr, M, N, K);  // packed now
  const int64_t made = a->range().forms_made();
  for (int call = 0; call < 3; ++call) fc(x.data(), w.data(), nullptr, M, N, K);
  CHECK(a->range().forms_made() == made);  // kept
  for (float& v : w) v = -2 * v;
  stable::note_write(w.data() + 7, 4);  // any overlapping write notice
  {
    // The first call after the write (unpacked weights) and the next (packed) agree bit for
    // bit: how many calls came before never changes a result.
    std::vector<float> y1 = fc(x.data(), w.data(), nullptr, M, N, K);
    const int64_t after_first = a->range().forms_made();
    std::vector<float> y2 = fc(x.data(), w.data(), nullptr, M, N, K);
    CHECK(a->range().forms_made() > after_first);  // the second call packed
    CHECK(y1 == y2);
    stable::note_write(w.data(), 4);  // the checks below start from a fresh generation again
  }
  for (int call = 0; call < 3; ++call) {
    std::vector<float> y = fc(x.data(), w.data(), nullptr, M, N, K);
    CHECK(worst(y, x.data(), w.data(), nullptr, M, N, K) <= 1);
  }
}

TEST_CASE("packed weights: two weights of one shape in one announced buffer are kept apart") {
  const int64_t M = 32, N = 64, K = 128;
  std::vector<float> x = random_floats(M * K, 6), both = random_floats(2 * N * K, 7);
  auto a = stable::announce(both.data(), both.size() * sizeof(float));
  const float* w0 = both.data();
  const float* w1 = both.data() + N * K;
  for (int call = 0; call < 3; ++call) {
    std::vector<float> y0 = fc(x.data(), w0, nullptr, M, N, K), y1 = fc(x.data(), w1, nullptr, M, N, K);
    CHECK(worst(y0, x.data(), w0, nullptr, M, N, K) <= 1);
    CHECK(worst(y1, x.data(), w1, nullptr, M, N, K) <= 1);
  }
}
