// Convolution and its two gradients through oneDNN's convolution primitives, as an alternative
// to the im2col + sgemm routines of library_conv.cc. Primitives are built once per shape,
// direction and thread count and cached; library_conv.cc decides per shape which of the two
// paths runs (library.h, ConvImpl).
#pragma once
#include <atomic>
#include <memory>
#include <mutex>

#include "hgc/runtime/library.h"

namespace hgc::lib::detail {

// The operands of one call, by direction (all plain NC(H)W / (G)OI(H)W, as in library.h):
//   Forward      a = x,  b = w, bias (or null), out = y
//   DataGrad     a = dy, b = w,                 out = dx
//   WeightGrad   a = dy, b = x,                 out = dw
struct ConvOperands {
  const float* a;
  const float* b;
  const float* bias;
  float* out;
};

// One oneDNN primitive of a call, with the reorders between the call's plain layouts and the
// ones it computes in.
struct OnednnConv;
// Its activations' layout: whatever oneDNN prefers (Any: mostly channel-blocked) or
// channels-last (NHWC) - neither wins everywhere (LeNet's second convolution: NHWC weight
// gradient 1.2 ms vs blocked 2.1 ms; its first: blocked 0.47 ms vs NHWC 0.71 ms).
enum class OnednnLayout { Any, ChannelsLast };
constexpr int kOnednnLayouts = 2;

// The cached primitives of (dir, s, has_bias), one per layout, null where oneDNN rejects the
// shape (or where ChannelsLast would repeat Any's choice), and the Auto policy's decision for
// them (library_conv.cc), made once: 2 im2col, 3 + layout that primitive.
struct OnednnConvs {
  std::unique_ptr<OnednnConv> layout[kOnednnLayouts];
  std::once_flag measured;
  std::atomic<int> choice{2};
  ~OnednnConvs();
};
// `bf16`: bfloat16 operands and bias (the ConvOperands pointers then point at bfloat16).
OnednnConvs& onednn_convs(ConvDirection dir, const ConvShape& s, bool has_bias, bool bf16 = false);
// Runs one (reordering to and from the layouts it chose). Thread-safe: each calling thread
// has its own stream and scratch buffers.
void run_onednn_conv(OnednnConv& c, const ConvOperands& ops);
// oneDNN's name of the implementation it picked ("jit:avx512_core", "brgconv:avx512_core", ...).
const char* onednn_conv_impl(const OnednnConv& c);

}  // namespace hgc::lib::detail
