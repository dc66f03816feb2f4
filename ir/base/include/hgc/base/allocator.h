// A caching host allocator: 64-byte aligned blocks kept on per-size free lists, so the
// per-call arenas of executables (and other short-lived buffers) don't go back to the OS
// and come back zero-filled on every call. Thread-safe.
//
//   void* p = CachingAllocator::global().allocate(1 << 20);
//   CachingAllocator::global().release(p, 1 << 20);      // kept for the next allocate
#pragma once
#include <cstddef>
#include <map>
#include <mutex>
#include <vector>

namespace hgc {

class CachingAllocator {
 public:
  static CachingAllocator& global();
  // Contents are unspecified (a reused block keeps old data). A `scratch` block (an arena,
  // short-lived) may be a larger cached block (the smallest that fits, up to 16x): a smaller
  // batch reuses a larger one's pages instead of faulting in fresh ones; release() files it
  // under its real size.
  void* allocate(std::size_t bytes, bool scratch = false);
  void release(void* p, std::size_t bytes);
  // Frees every cached block.
  void trim();
  std::size_t cached_bytes() const;
  ~CachingAllocator();

 private:
  static std::size_t round(std::size_t bytes);
  mutable std::mutex mu_;
  std::map<std::size_t, std::vector<void*>> free_;
  std::size_t cached_ = 0;
  // Beyond this many cached bytes, released blocks are freed instead.
  static constexpr std::size_t kLimit = std::size_t(1) << 30;
};

// RAII scratch block from the global allocator.
class PooledBuffer {
 public:
  explicit PooledBuffer(std::size_t bytes) : bytes_(bytes), p_(CachingAllocator::global().allocate(bytes, true)) {}
  ~PooledBuffer() { CachingAllocator::global().release(p_, bytes_); }
  PooledBuffer(const PooledBuffer&) = delete;
  PooledBuffer& operator=(const PooledBuffer&) = delete;
  void* get() const { return p_; }

 private:
  std::size_t bytes_;
  void* p_;
};

}  // namespace hgc
