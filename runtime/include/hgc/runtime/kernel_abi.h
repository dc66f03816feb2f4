// The kernel ABI shared by JIT and AOT code: MLIR's packed C-interface convention over
// memref descriptors (see compiler/include/hgc/compiler/jit.h for the full story).
//
//   MemRefArg a(ptr, {2, 3});          // {ptr, ptr, 0, [2, 3], [3, 1]}, any rank
//   void* pa = a.get();  void* args[] = {&pa, ...};  kernel(args);
#pragma once
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

// The same layout for a rank known at run time; row-major contiguous.
class MemRefArg {
 public:
  MemRefArg(void* data, const std::vector<int64_t>& shape);
  void* get() { return words_.data(); }
  int rank() const { return static_cast<int>((words_.size() - 3) / 2); }

 private:
  std::vector<int64_t> words_;  // pointer-sized words: allocated, aligned, offset, sizes, strides
};

}  // namespace hgc
