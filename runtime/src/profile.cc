#include "hgc/runtime/profile.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <mutex>
#include <vector>

namespace hgc::profile {

namespace detail {
std::atomic<bool> on{false};
}

namespace {
struct Entry {
  int64_t ns = 0, calls = 0;
};
std::mutex mu;
std::map<std::string, Entry>& table() {
  static auto* t = new std::map<std::string, Entry>();
  return *t;
}
}  // namespace

void enable(bool v) { detail::on.store(v); }

void record(const std::string& label, int64_t ns) {
  std::lock_guard<std::mutex> lock(mu);
  Entry& e = table()[label];
  e.ns += ns;
  ++e.calls;
}

void report(std::ostream& os, int per) {
  std::vector<std::pair<std::string, Entry>> rows;
  int64_t total = 0;
  {
    std::lock_guard<std::mutex> lock(mu);
    rows.assign(table().begin(), table().end());
  }
  for (const auto& r : rows) total += r.second.ns;
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.ns > b.second.ns; });
  per = std::max(per, 1);
  char line[512];
  std::snprintf(line, sizeof line, "%10s %7s %6s  %s\n", "ms/iter", "calls", "share", "step");
  os << line;
  for (const auto& [label, e] : rows) {
    std::snprintf(line, sizeof line, "%10.3f %7lld %5.1f%%  %s\n", static_cast<double>(e.ns) / 1e6 / per,
                  static_cast<long long>(e.calls / per), total ? 100.0 * static_cast<double>(e.ns) / static_cast<double>(total) : 0.0,
                  label.c_str());
    os << line;
  }
  std::snprintf(line, sizeof line, "%10.3f %7s %6s  total\n", static_cast<double>(total) / 1e6 / per, "", "");
  os << line;
}

void reset() {
  std::lock_guard<std::mutex> lock(mu);
  table().clear();
}

}  // namespace hgc::profile
