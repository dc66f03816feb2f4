// The kernel ABI shared by JIT and AOT code: MLIR's packed C-interface convention over
// memref descriptors (see compiler/include/hgc/compiler/jit.h for the full story).
//
//   MemRefArg a(ptr, {2, 3});          // {ptr, ptr, 0, [2, 3], [3, 1]}, any rank
//   void* pa = a.get();  void* args[] = {&pa, ...};  kernel(args);
#pragma once
#include <array>
#include <cstdint>
#include <vector>

namespace hgc {

// args[i] points at the i-th argument value of `_mlir_ciface_<kernel>`; for a memref that
// value is a pointer to its descriptor.
using PackedKernel = void (*)(void** args);

// The strided memref descriptor MLIR's C interface points at, for a rank known statically.
template <int N>
struct MemRefDesc {
  void* allocated;
  void* aligned;
  int64_t offset;
  int64_t sizes[N];
  int64_t strides[N];
};

// The same layout for a rank known at run time; row-major contiguous. Ranks up to kInline
// live in the object itself: executables build one per kernel argument per step, and a heap
// block each was a visible share of a small graph's run time.
class MemRefArg {
 public:
  static constexpr int kInline = 6;
  MemRefArg(void* data, const std::vector<int64_t>& shape);
  void* get() { return words(); }
  int rank() const { return rank_; }

 private:
  int64_t* words() { return heap_.empty() ? inline_.data() : heap_.data(); }
  // Pointer-sized words: allocated, aligned, offset, sizes, strides.
  std::array<int64_t, 3 + 2 * kInline> inline_;
  std::vector<int64_t> heap_;  // ranks above kInline
  int rank_ = 0;
};

}  // namespace hgc
