// Executable::PoolChoice, the bookkeeping behind a plan's measured choice between the thread
// pool and one thread (runtime/src/executable_choice.cc), fed made-up call times.
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "hgc/runtime/executable.h"

using hgc::Executable;
using Way = Executable::PoolWay;

namespace {

bool forced() { return std::getenv("HGC_POOL_CHOICE") && std::string(std::getenv("HGC_POOL_CHOICE")) != "auto"; }

// Runs calls until a decision, each way taking its given time; returns the decision and how
// many calls ran one thread.
Way measure(double pool_s, double one_s, int& serial_calls, int& calls) {
  Executable::PoolChoice c;
  serial_calls = calls = 0;
  for (; calls < 100; ++calls) {
    const bool serial = c.next_serial();
    serial_calls += serial;
    const Way w = c.record(serial, serial ? one_s : pool_s);
    if (w != Way::Measuring) {
      CHECK(static_cast<Way>(c.decided.load()) == w);
      ++calls;
      return w;
    }
  }
  return Way::Measuring;
}

}  // namespace

TEST_CASE("PoolChoice: the pool's calls, then one thread's; one thread must win by a margin") {
  if (forced()) {
    MESSAGE("SKIP: HGC_POOL_CHOICE fixes the way");
    return;
  }
  int serial_calls = 0, calls = 0;
  // One thread clearly faster: chosen after 7 calls each way (2 warm-ups, 5 timed).
  CHECK(measure(1e-3, 0.5e-3, serial_calls, calls) == Way::Serial);
  CHECK(serial_calls == 7);
  CHECK(calls == 14);
  // Within the margin (8% faster), the pool stays.
  CHECK(measure(1e-3, 0.92e-3, serial_calls, calls) == Way::Pool);
  // A long call on the pool decides at once: one thread never runs.
  CHECK(measure(20e-3, 1e-3, serial_calls, calls) == Way::Pool);
  CHECK(serial_calls == 0);
  CHECK(calls == 3);

  Executable::PoolChoice c;
  std::vector<bool> ways;
  for (int i = 0; i < 9; ++i) {
    ways.push_back(c.next_serial());
    c.record(ways.back(), 1e-3);
  }
  CHECK(ways == std::vector<bool>{false, false, false, false, false, false, false, true, true});
  // A decided choice ignores later records (calls that started before the decision).
  Executable::PoolChoice d;
  while (d.record(d.next_serial(), 10e-3) == Way::Measuring) {
  }
  CHECK(d.record(true, 1e-9) == Way::Measuring);
  CHECK(static_cast<Way>(d.decided.load()) == Way::Pool);
  // A copy (another plan) measures again.
  Executable::PoolChoice e(d);
  CHECK(e.decided.load() == 0);
  e = d;
  CHECK(e.decided.load() == 0);
}
