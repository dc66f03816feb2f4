#include "hgc/base/allocator.h"

#include <cstdlib>
#include <unordered_map>

#include "hgc/base/error.h"

namespace hgc {

CachingAllocator& CachingAllocator::global() {
  static CachingAllocator* a = new CachingAllocator();  // lives for the process
  return *a;
}

std::size_t CachingAllocator::round(std::size_t bytes) { return (bytes + 63) / 64 * 64 + 64; }

namespace {
// Blocks handed out for a smaller request than their size (below), by address: release()
// files them under their real size. Guarded by the allocator's mutex.
std::unordered_map<void*, std::size_t>& lent() {
  static auto* m = new std::unordered_map<void*, std::size_t>();
  return *m;
}
// A scratch request this large may take a cached block up to kBestFitRatio times its size: a
// smaller batch then reuses the arena of a larger one instead of faulting in fresh pages (a
// ResNet-18 arena at a new batch size is tens of MB: thousands of page faults, ~3 ms, on its
// first call).
constexpr std::size_t kBestFitMin = std::size_t(1) << 16;
constexpr std::size_t kBestFitRatio = 16;
}  // namespace

void* CachingAllocator::allocate(std::size_t bytes, bool scratch) {
  std::size_t n = round(bytes);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = free_.find(n);
    if (it != free_.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      cached_ -= n;
      return p;
    }
    if (scratch && n >= kBestFitMin)
      for (auto b = free_.lower_bound(n); b != free_.end() && b->first <= kBestFitRatio * n; ++b)
        if (!b->second.empty()) {
          void* p = b->second.back();
          b->second.pop_back();
          cached_ -= b->first;
          lent()[p] = b->first;
          return p;
        }
  }
  void* p = std::aligned_alloc(64, n);
  if (!p) fail("runtime", "out of memory allocating ", bytes, " bytes");
  return p;
}

void CachingAllocator::release(void* p, std::size_t bytes) {
  if (!p) return;
  std::size_t n = round(bytes);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (n >= kBestFitMin)
      if (auto it = lent().find(p); it != lent().end()) {
        n = it->second;
        lent().erase(it);
      }
    if (cached_ + n <= kLimit) {
      free_[n].push_back(p);
      cached_ += n;
      return;
    }
  }
  std::free(p);
}

void CachingAllocator::trim() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [n, v] : free_)
    for (void* p : v) std::free(p);
  free_.clear();
  cached_ = 0;
}

std::size_t CachingAllocator::cached_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cached_;
}

CachingAllocator::~CachingAllocator() { trim(); }

}  // namespace hgc
