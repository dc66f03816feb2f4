#include "onednn_util.h"

#include <cstdint>

namespace hgc::lib::detail {

const dnnl::engine& onednn_engine() {
  static const dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::stream& onednn_stream() {
  thread_local dnnl::stream s(onednn_engine());
  return s;
}

void* AlignedScratch::get(size_t n) {
  if (n > bytes) {
    p.reset(new char[n + 64]);
    bytes = n;
  }
  auto a = reinterpret_cast<uintptr_t>(p.get());
  return reinterpret_cast<void*>((a + 63) & ~uintptr_t(63));
}

}  // namespace hgc::lib::detail
