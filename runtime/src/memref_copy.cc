// `memrefCopy`, the one MLIR runtime function generated code may call: bufferization turns
// copies between strided views (slices, padding) into it. MLIR ships it in
// libmlir_c_runner_utils, which would drag libLLVM into every executable, so the runtime
// provides the same C ABI itself (CRunnerUtils.h: elemSize, then two unranked memrefs).
#include <cstdint>
#include <cstring>
#include <vector>

namespace {

struct Unranked {
  int64_t rank;
  void* descriptor;  // {char* allocated; char* aligned; int64_t offset; sizes[rank]; strides[rank]}
};

struct View {
  char* data;
  const int64_t* sizes;
  const int64_t* strides;
};

View view(const Unranked* m) {
  auto* words = static_cast<int64_t*>(m->descriptor);
  char* aligned = reinterpret_cast<char*>(words[1]);
  return {aligned, words + 3, words + 3 + m->rank};
}

}  // namespace

extern "C" void memrefCopy(int64_t elem_size, void* src_v, void* dst_v) {
  auto* src_arg = static_cast<Unranked*>(src_v);
  auto* dst_arg = static_cast<Unranked*>(dst_v);
  const int64_t rank = src_arg->rank;
  auto* sw = static_cast<int64_t*>(src_arg->descriptor);
  auto* dw = static_cast<int64_t*>(dst_arg->descriptor);
  View s = view(src_arg), d = view(dst_arg);
  char* sp = s.data + sw[2] * elem_size;
  char* dp = d.data + dw[2] * elem_size;
  int64_t total = 1;
  for (int64_t i = 0; i < rank; ++i) total *= s.sizes[i];
  if (total == 0) return;
  // The innermost dims that are row-major contiguous on both sides form one run, moved by
  // one memmove; the odometer walks the outer dims only. A slice along an outer axis
  // (slice_axis, the gradient of concat) is then a few long moves: element by element,
  // a (32, 32, 32) slice took ~70 us instead of ~3.
  int64_t run = 1, outer = rank;  // dims [outer, rank) form the run
  while (outer > 0) {
    const int64_t i = outer - 1;
    if (s.sizes[i] != 1 && (s.strides[i] != run || d.strides[i] != run)) break;
    run *= s.sizes[i];
    --outer;
  }
  const size_t run_bytes = static_cast<size_t>(run * elem_size);
  if (outer == 0) {
    std::memmove(dp, sp, run_bytes);
    return;
  }
  std::vector<int64_t> idx(static_cast<size_t>(outer), 0);
  int64_t so = 0, dof = 0;
  for (int64_t n = total / run; n > 0; --n) {
    std::memmove(dp + dof * elem_size, sp + so * elem_size, run_bytes);
    for (int64_t i = outer - 1; i >= 0; --i) {  // odometer over the outer index space
      if (++idx[i] < s.sizes[i]) {
        so += s.strides[i];
        dof += d.strides[i];
        break;
      }
      so -= s.strides[i] * (s.sizes[i] - 1);
      dof -= d.strides[i] * (s.sizes[i] - 1);
      idx[i] = 0;
    }
  }
}
