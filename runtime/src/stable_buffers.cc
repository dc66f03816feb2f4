#include "hgc/runtime/stable_buffers.h"

#include <algorithm>
#include <cstdint>

namespace hgc::stable {

namespace {

// Announced ranges by start address. Ranges may overlap (two owners announcing one block): a
// multimap, and lookups walk back over every range starting at or before the query.
struct Registry {
  std::mutex mu;
  std::multimap<const char*, std::shared_ptr<Range>> by_begin;
  std::atomic<size_t> size{0};  // lets note_write and find skip the lock when empty
  size_t max_len = 0;            // the longest range announced so far: bounds find's walk back
};

Registry& registry() {
  static auto* r = new Registry();  // alive until exit: announcements may end in static destructors
  return *r;
}

}  // namespace

Announcement::~Announcement() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto [lo, hi] = r.by_begin.equal_range(range_->begin());
  for (auto it = lo; it != hi; ++it)
    if (it->second == range_) {
      r.by_begin.erase(it);
      break;
    }
  r.size = r.by_begin.size();
}

std::shared_ptr<const void> Range::form(const std::string& key,
                                        const std::function<std::shared_ptr<const void>()>& make) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t g = generation();
  auto it = forms_.find(key);
  if (it != forms_.end() && it->second.gen == g) return it->second.value;
  std::shared_ptr<const void> v = make();
  ++made_;
  forms_[key] = {g, v};
  return v;
}

std::unique_ptr<Announcement> announce(const void* p, size_t n) {
  const char* b = static_cast<const char*>(p);
  auto r = std::make_shared<Range>(b, b + n);
  Registry& reg = registry();
  std::lock_guard<std::mutex> lock(reg.mu);
  reg.by_begin.emplace(b, r);
  reg.max_len = std::max(reg.max_len, n);
  reg.size = reg.by_begin.size();
  return std::make_unique<Announcement>(std::move(r));
}

void note_write(const void* p, size_t n) {
  Registry& reg = registry();
  if (reg.size.load(std::memory_order_acquire) == 0 || n == 0) return;
  const char *b = static_cast<const char*>(p), *e = b + n;
  std::lock_guard<std::mutex> lock(reg.mu);
  // Only ranges starting within max_len before b can reach it (an optimizer step notes every
  // parameter: a walk over all ranges each time would grow with the square of their number).
  const auto from = reinterpret_cast<const char*>(std::max<uintptr_t>(reinterpret_cast<uintptr_t>(b), reg.max_len) -
                                                  reg.max_len);
  for (auto it = reg.by_begin.lower_bound(from); it != reg.by_begin.end() && it->first < e; ++it)
    if (b < it->second->end()) it->second->bump();
}

std::shared_ptr<Range> find(const void* p, size_t n) {
  Registry& reg = registry();
  if (reg.size.load(std::memory_order_acquire) == 0) return nullptr;
  const char *b = static_cast<const char*>(p), *e = b + n;
  std::lock_guard<std::mutex> lock(reg.mu);
  for (auto it = reg.by_begin.upper_bound(b); it != reg.by_begin.begin();) {
    --it;
    if (static_cast<size_t>(e - it->first) > reg.max_len) break;  // nothing this early reaches e
    if (e <= it->second->end()) return it->second;
  }
  return nullptr;
}

}  // namespace hgc::stable
