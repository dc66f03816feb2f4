// The global thread pool: its size is settable only before first use.
#include <doctest/doctest.h>

#include <atomic>

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
