// Pool or one thread, per plan, by measurement (Executable::PoolChoice). A plan's split
// steps and groups win on big steps; on a chain of small ones the hand-offs, and each core
// reading what the other just wrote (about half speed on these VMs), can cost more than the
// second core gives. Which one wins depends on the model and the machine, so a plan's first
// calls run both ways and the faster stays. Both ways compute the same values (the one-thread
// way cuts the work as the pool does and runs the parts on the caller, ThreadPool::Inline), so
// measuring costs only the slower way's extra time.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "hgc/runtime/executable.h"

namespace hgc {

namespace {

// Per way: untimed calls first (a way's first calls create its library primitives and warm
// its arenas), then timed ones; the fastest timed call stands for the way.
constexpr int kWarm = 2;
constexpr int kTimed = 5;
// One thread must beat the pool by this factor: the pool is the default, and a disturbed
// measurement should not take the second core from a plan that gains from it.
constexpr double kMargin = 0.9;
// A pool call this long decides for the pool at once: hand-offs cost microseconds, and one
// thread would take about twice as long on each measured call.
constexpr double kLongCall = 5e-3;

// HGC_POOL_CHOICE=pool|serial fixes the way for every plan (comparisons); unset or `auto`:
// measured.
Executable::PoolWay forced_way() {
  static const Executable::PoolWay way = [] {
    const char* v = std::getenv("HGC_POOL_CHOICE");
    if (v && std::strcmp(v, "pool") == 0) return Executable::PoolWay::Pool;
    if (v && std::strcmp(v, "serial") == 0) return Executable::PoolWay::Serial;
    return Executable::PoolWay::Measuring;
  }();
  return way;
}

}  // namespace

Executable::PoolChoice& Executable::PoolChoice::operator=(const PoolChoice&) {
  std::lock_guard<std::mutex> lock(mu);
  decided.store(0, std::memory_order_release);
  runs[0] = runs[1] = 0;
  best[0] = best[1] = 0;
  return *this;
}

bool Executable::PoolChoice::next_serial() {
  if (forced_way() != PoolWay::Measuring) return forced_way() == PoolWay::Serial;
  std::lock_guard<std::mutex> lock(mu);
  // The pool's calls first, then one thread's, never in turn: a pool call right after a
  // one-thread call finds its workers asleep (they spin 100 us, then sleep) and pays their
  // wake-up, which made W1b's AOT plan (58 us a call on the pool, 100 on one thread) pick one
  // thread in one process of three when the ways took turns.
  return runs[0] >= kWarm + kTimed;
}

Executable::PoolWay Executable::PoolChoice::record(bool serial, double seconds) {
  std::lock_guard<std::mutex> lock(mu);
  if (decided.load(std::memory_order_relaxed) != 0) return PoolWay::Measuring;  // decided meanwhile
  PoolWay way = forced_way();
  if (way == PoolWay::Measuring) {
    const int w = serial ? 1 : 0;
    const int n = runs[w]++;
    if (n >= kWarm) best[w] = n == kWarm ? seconds : std::min(best[w], seconds);
    if (!serial && n == kWarm && seconds > kLongCall) way = PoolWay::Pool;
    else if (runs[0] >= kWarm + kTimed && runs[1] >= kWarm + kTimed)
      way = best[1] < kMargin * best[0] ? PoolWay::Serial : PoolWay::Pool;
  }
  if (way != PoolWay::Measuring) decided.store(static_cast<int>(way), std::memory_order_release);
  return way;
}

}  // namespace hgc
