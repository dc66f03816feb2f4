// The global thread pool: its size is settable only before first use.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "hgc/runtime/thread_pool.h"

using hgc::ThreadPool;

TEST_CASE("ThreadPool::configure is refused once the global pool runs") {
  ThreadPool& p = ThreadPool::global();
  CHECK(p.size() >= 1);
  CHECK_FALSE(ThreadPool::configure(3));
  CHECK_FALSE(ThreadPool::configure(0));
  CHECK(&ThreadPool::global() == &p);
  std::atomic<int> sum{0};
  p.parallel_for(10, [&](int i) { sum += i; });
  CHECK(sum == 45);
}

TEST_CASE("ThreadPool::Inline: the caller runs every index in order; the pool's size and parts stand") {
  ThreadPool pool(3);
  const int parts = pool.parts_for(int64_t(1) << 30, 1);
  std::vector<std::thread::id> who;
  std::vector<int> order;
  {
    ThreadPool::Inline one;
    CHECK(ThreadPool::inline_here());
    CHECK_FALSE(ThreadPool::serial_here());
    CHECK(pool.size() == 3);
    CHECK(pool.parts_for(int64_t(1) << 30, 1) == parts);  // the work is cut as on the pool
    pool.warm_up();                                         // wakes nobody: nothing to hand off
    pool.parallel_for(7, [&](int i) {
      who.push_back(std::this_thread::get_id());  // unsynchronized on purpose: one thread only
      order.push_back(i);
    });
  }
  CHECK_FALSE(ThreadPool::inline_here());
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4, 5, 6});
  for (const auto& id : who) CHECK(id == std::this_thread::get_id());
}
