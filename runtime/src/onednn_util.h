// What the runtime's oneDNN primitives (conv_onednn.cc, batch_matmul_onednn.cc) share: the
// CPU engine, a stream per calling thread (oneDNN streams are not shared between threads),
// and growable 64-byte-aligned buffers for user-managed scratchpads and reordered operands
// (per thread, so that concurrent runs of one primitive never share one).
#pragma once
#include <cstddef>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>

namespace hgc::lib::detail {

const dnnl::engine& onednn_engine();
dnnl::stream& onednn_stream();  // the calling thread's

struct AlignedScratch {
  std::unique_ptr<char[]> p;
  size_t bytes = 0;
  void* get(size_t n);  // at least n bytes, 64-byte aligned; grows, never shrinks
};

}  // namespace hgc::lib::detail
