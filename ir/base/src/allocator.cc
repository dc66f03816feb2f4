#include "hgc/base/allocator.h"

#include <cstdlib>

#include "hgc/base/error.h"

namespace hgc {

CachingAllocator& CachingAllocator::global() {
  static CachingAllocator* a = new CachingAllocator();  // lives for the process
  return *a;
}

std::size_t CachingAllocator::round(std::size_t bytes) { return (bytes + 63) / 64 * 64 + 64; }

void* CachingAllocator::allocate(std::size_t bytes) {
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
