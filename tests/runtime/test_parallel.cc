// The runtime's parallel paths against their serial selves (issue 16): the thread pool runs
// every index once, also with three callers at once; GEMMs and batched matmuls cut into
// blocks across the pool agree with the uncut product (summation order may differ: within
// 1e-6 of the magnitude) and give the same bits on every call and for concurrent callers.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

#include "hgc/runtime/library.h"
#include "hgc/runtime/thread_pool.h"
#include "support/random_vec.h"

using namespace hgc;

namespace {

// max |got - want| / (sum |a||b| scale): the relative error that a reordered sum may have.
double rel_diff(const std::vector<float>& got, const std::vector<float>& want, double scale) {
  REQUIRE(got.size() == want.size());
  double e = 0;
  for (size_t i = 0; i < got.size(); ++i) e = std::max(e, std::abs(double(got[i]) - double(want[i])) / scale);
  return e;
}

struct Case {
  int64_t M, N, K;
  bool ta, tb;
};

}  // namespace

TEST_CASE("ThreadPool: every index once, for any count and with three callers at once") {
  ThreadPool& pool = ThreadPool::global();
  for (int n : {1, 2, 3, 7, 64, 1000}) {
    std::vector<std::atomic<int>> hits(n);
    pool.parallel_for(n, [&](int i) { hits[i]++; });
    for (int i = 0; i < n; ++i) CHECK(hits[i] == 1);
  }
  std::vector<long> sums(3, 0);
  std::vector<std::thread> callers;
  for (int c = 0; c < 3; ++c)
    callers.emplace_back([&, c] {
      for (int rep = 0; rep < 200; ++rep) {
        std::atomic<long> s{0};
        pool.parallel_for(50, [&](int i) { s += i; });
        sums[c] += s;
      }
    });
  for (auto& t : callers) t.join();
  for (long s : sums) CHECK(s == 200L * 1225);
  CHECK(pool.parts_for(100, 10) == std::min(pool.size(), 10));
  CHECK(pool.parts_for(15, 10) == 1);
  {
    ThreadPool::Serial serial;
    CHECK(pool.parts_for(1 << 30, 1) == 1);
    std::thread::id me = std::this_thread::get_id();
    std::atomic<int> elsewhere{0};
    pool.parallel_for(16, [&](int) { elsewhere += std::this_thread::get_id() != me; });
    CHECK(elsewhere == 0);
  }
}

TEST_CASE("sgemm in blocks across the pool equals the uncut product; same bits every call and caller") {
  const Case cases[] = {{64, 256, 512, false, true}, {64, 784, 256, false, false}, {256, 64, 784, true, false},
                        {1024, 32, 32, false, true},  {33, 1000, 70, true, true},   {500, 600, 700, false, true}};
  for (const Case& c : cases) {
    CAPTURE(c.M);
    CAPTURE(c.N);
    CAPTURE(c.K);
    CAPTURE(c.ta);
    CAPTURE(c.tb);
    std::vector<float> a = test::random_floats(c.M * c.K, 1), b = test::random_floats(c.K * c.N, 2);
    std::vector<float> split(c.M * c.N), again(c.M * c.N), serial(c.M * c.N);
    lib::matmul(a.data(), b.data(), split.data(), c.M, c.N, c.K, c.ta, c.tb);
    lib::matmul(a.data(), b.data(), again.data(), c.M, c.N, c.K, c.ta, c.tb);
    CHECK(split == again);
    {
      ThreadPool::Serial one;
      CHECK(lib::gemm_threads(c.M, c.N, c.K) == 1);
      lib::matmul(a.data(), b.data(), serial.data(), c.M, c.N, c.K, c.ta, c.tb);
    }
    // random_floats are in [-1, 1): |sum a b| <= K; 1e-6 of that scale.
    CHECK(rel_diff(split, serial, double(c.K)) <= 1e-6);
    if (ThreadPool::global().size() > 1 && c.M * c.N * c.K >= (int64_t(1) << 21))
      CHECK(lib::gemm_threads(c.M, c.N, c.K) > 1);
    // Three callers at once (only one gets the pool; the others run the same blocks inline).
    std::vector<std::vector<float>> outs(3, std::vector<float>(c.M * c.N));
    std::vector<std::thread> callers;
    for (int k = 0; k < 3; ++k)
      callers.emplace_back([&, k] {
        for (int rep = 0; rep < 3; ++rep)
          lib::matmul(a.data(), b.data(), outs[k].data(), c.M, c.N, c.K, c.ta, c.tb);
      });
    for (auto& t : callers) t.join();
    for (const auto& o : outs) CHECK(o == split);
  }
}

TEST_CASE("fully_connected and batch_matmul on the pool match their serial runs") {
  const int64_t M = 128, N = 300, K = 400;
  std::vector<float> x = test::random_floats(M * K, 3), w = test::random_floats(N * K, 4), b = test::random_floats(N, 5);
  std::vector<float> par(M * N), ser(M * N);
  lib::fully_connected(x.data(), w.data(), b.data(), par.data(), M, N, K);
  {
    ThreadPool::Serial one;
    lib::fully_connected(x.data(), w.data(), b.data(), ser.data(), M, N, K);
  }
  CHECK(rel_diff(par, ser, double(K + 1)) <= 1e-6);

  const int64_t B = 64, m = 32, n = 48, k = 64;  // 2^22.6 multiply-adds: cut into batch blocks
  std::vector<float> a = test::random_floats(B * m * k, 6), bb = test::random_floats(B * k * n, 7);
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      CAPTURE(ta);
      CAPTURE(tb);
      std::vector<float> p(B * m * n), p2(B * m * n), s(B * m * n);
      lib::batch_matmul(a.data(), bb.data(), p.data(), B, m, n, k, ta, tb);
      lib::batch_matmul(a.data(), bb.data(), p2.data(), B, m, n, k, ta, tb);
      CHECK(p == p2);
      {
        ThreadPool::Serial one;
        lib::batch_matmul(a.data(), bb.data(), s.data(), B, m, n, k, ta, tb);
      }
      CHECK(rel_diff(p, s, double(k)) <= 1e-6);
    }
}

TEST_CASE("ThreadPool: ranges run every index once, the caller's range first; warm_up; copy equals memmove") {
  ThreadPool& pool = ThreadPool::global();
  for (int n : {1, 2, 3, 7, 8, 64, 1000}) {
    std::vector<std::atomic<int>> hits(n);
    pool.parallel_for_ranges(n, [&](int i) { hits[i]++; });
    for (int i = 0; i < n; ++i) CHECK(hits[i] == 1);
  }
  // The caller starts on index 0, whoever else is on time.
  {
    std::thread::id me = std::this_thread::get_id(), first{};
    std::atomic<bool> seen{false};
    pool.parallel_for_ranges(8, [&](int i) {
      if (i == 0) first = std::this_thread::get_id(), seen = true;
    });
    CHECK(seen);
    CHECK(first == me);
  }
  // Serially (a Serial scope), in index order on the caller.
  {
    ThreadPool::Serial serial;
    std::vector<int> order;
    pool.parallel_for_ranges(9, [&](int i) { order.push_back(i); });
    CHECK(order == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8});
  }
  // Three callers at once, and workers woken from sleep by warm_up() in between.
  std::vector<long> sums(3, 0);
  std::vector<std::thread> callers;
  for (int c = 0; c < 3; ++c)
    callers.emplace_back([&, c] {
      for (int rep = 0; rep < 100; ++rep) {
        if (rep % 25 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));  // the workers sleep
        pool.warm_up();
        std::atomic<long> s{0};
        pool.parallel_for_ranges(50, [&](int i) { s += i; });
        sums[c] += s;
      }
    });
  for (auto& t : callers) t.join();
  for (long s : sums) CHECK(s == 100L * 1225);
  // copy(): memmove's bytes, cut in parts from 2^18 bytes; overlapping ranges whole.
  for (size_t bytes : {size_t(0), size_t(100), (size_t(1) << 18) - 4, size_t(1) << 18, (size_t(3) << 18) + 40}) {
    CAPTURE(bytes);
    std::vector<float> src = test::random_floats(bytes / 4 + 2, 7), dst(bytes / 4 + 2, -1.f);
    ThreadPool::copy(dst.data(), src.data(), bytes);
    for (size_t i = 0; i < bytes / 4; ++i) REQUIRE(dst[i] == src[i]);
    CHECK(dst[bytes / 4 + 1] == -1.f);
  }
  std::vector<float> v = test::random_floats(1 << 18, 8), want = v;
  std::memmove(want.data() + 1000, want.data(), (want.size() - 1000) * 4);
  ThreadPool::copy(v.data() + 1000, v.data(), (v.size() - 1000) * 4);
  CHECK(v == want);
}
