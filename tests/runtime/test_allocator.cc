// The caching host allocator (hgc/base/allocator.h): exact-size reuse, and a large scratch
// request served from a cached block up to 16x its size (a smaller batch reuses a larger
// batch's arena), filed back under the block's real size when released.
#include <doctest/doctest.h>

#include <cstring>

#include "hgc/base/allocator.h"

using namespace hgc;

TEST_CASE("caching allocator: a smaller scratch request reuses a cached larger block, which keeps its size") {
  CachingAllocator& a = CachingAllocator::global();
  a.trim();  // no blocks cached by earlier tests in between
  const std::size_t big = (std::size_t(3) << 20) + 4096, small = std::size_t(2) << 20;
  void* p = a.allocate(big);
  std::memset(p, 1, big);
  a.release(p, big);
  void* t = a.allocate(small);  // a tensor (not scratch): exact sizes only, a fresh block
  CHECK(t != p);
  a.release(t, small);
  a.trim();
  p = a.allocate(big);
  a.release(p, big);
  void* q = a.allocate(small, true);  // scratch: the 3 MiB block (at most 16x as big)
  CHECK(q == p);
  std::memset(q, 2, small);
  a.release(q, small);          // filed back as the 3 MiB block
  void* r = a.allocate(big);
  CHECK(r == p);
  std::memset(r, 3, big);       // its whole size is usable (ASan would catch a short block)
  a.release(r, big);
  // More than 16x as big is not lent: a fresh block.
  void* tiny = a.allocate(big / 32, true);
  CHECK(tiny != p);
  a.release(tiny, big / 32);
}
