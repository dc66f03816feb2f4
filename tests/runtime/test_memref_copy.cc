// memrefCopy, the runtime's copy between strided views that generated code calls (MLIR's
// C ABI: element size, then two unranked memrefs), against an index-by-index copy.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <vector>

extern "C" void memrefCopy(int64_t elem_size, void* src, void* dst);

namespace {

// A ranked descriptor {allocated, aligned, offset, sizes[3], strides[3]} and its unranked
// wrapper {rank, descriptor*}.
struct Desc3 {
  float* allocated;
  float* aligned;
  int64_t offset;
  int64_t sizes[3];
  int64_t strides[3];
};
struct Unranked {
  int64_t rank;
  void* descriptor;
};

// Copies the view (sizes, src strides, src offset) of `src` into a packed destination
// through memrefCopy and checks every element against the strided read.
void check_copy(const std::vector<float>& src, const int64_t (&sizes)[3], const int64_t (&strides)[3], int64_t offset) {
  std::vector<float> dst(static_cast<std::size_t>(sizes[0] * sizes[1] * sizes[2]), -1.f);
  std::vector<float> s = src;
  Desc3 sd{s.data(), s.data(), offset, {sizes[0], sizes[1], sizes[2]}, {strides[0], strides[1], strides[2]}};
  Desc3 dd{dst.data(), dst.data(), 0, {sizes[0], sizes[1], sizes[2]}, {sizes[1] * sizes[2], sizes[2], 1}};
  Unranked su{3, &sd}, du{3, &dd};
  memrefCopy(sizeof(float), &su, &du);
  int64_t bad = 0;
  for (int64_t i = 0; i < sizes[0]; ++i)
    for (int64_t j = 0; j < sizes[1]; ++j)
      for (int64_t k = 0; k < sizes[2]; ++k) {
        float want = src[static_cast<std::size_t>(offset + i * strides[0] + j * strides[1] + k * strides[2])];
        bad += dst[static_cast<std::size_t>((i * sizes[1] + j) * sizes[2] + k)] != want;
      }
  CHECK(bad == 0);
}

}  // namespace

TEST_CASE("memrefCopy: slices and permuted views of a (4, 6, 5) array") {
  std::vector<float> src(4 * 6 * 5);
  for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<float>(i);
  check_copy(src, {4, 6, 5}, {30, 5, 1}, 0);     // the whole array: one move
  check_copy(src, {4, 3, 5}, {30, 5, 1}, 10);    // rows 2..5 of axis 1: runs of 15
  check_copy(src, {2, 6, 5}, {30, 5, 1}, 60);    // the last two planes: contiguous
  check_copy(src, {4, 6, 2}, {30, 5, 1}, 3);     // columns 3..4 of the last axis: runs of 2
  check_copy(src, {4, 1, 5}, {30, 5, 1}, 20);    // a size-1 middle dim
  check_copy(src, {4, 3, 5}, {30, 10, 1}, 0);    // every other row of axis 1
  check_copy(src, {5, 6, 4}, {1, 5, 30}, 0);     // axes 0 and 2 swapped: element by element
  check_copy(src, {0, 6, 5}, {30, 5, 1}, 0);     // empty: nothing to do
}
