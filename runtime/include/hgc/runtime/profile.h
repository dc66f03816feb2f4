// An opt-in profile of compiled steps: with it on, Executable::execute times every step
// (a kernel, a library call, a library call with its epilogue) and adds the time under the
// step's label (its node or kernel-group name, prefixed by what ran). Off by default; when
// off, a step pays one relaxed atomic load.
//
//   profile::enable(true);
//   for (int i = 0; i < 20; ++i) train_step();
//   profile::enable(false);
//   profile::report(std::cout, 20);   // ms per step (of 20), calls, share, slowest first
//   profile::reset();
#pragma once
#include <atomic>
#include <cstdint>
#include <ostream>
#include <string>

namespace hgc::profile {

namespace detail {
extern std::atomic<bool> on;
}
inline bool enabled() { return detail::on.load(std::memory_order_relaxed); }
void enable(bool on);
// Adds `ns` nanoseconds and one call under `label`.
void record(const std::string& label, int64_t ns);
// The entries, slowest first: total ms divided by `per` (e.g. the number of iterations).
void report(std::ostream& os, int per = 1);
void reset();

}  // namespace hgc::profile
