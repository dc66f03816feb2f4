// Library-call helpers shared by the nn, matmul and nn_conv lowerings (a helper file: it
// registers nothing). GEMM-shaped ops become OpenBLAS/oneDNN calls in the runtime (im2col/
// col2im its C++ loops), described as data (LibraryCall, runtime/library_call.h) so AOT
// programs can carry them in their plan.
#pragma once
#include <string>

#include "../lowering.h"

namespace hgc::lower {

// Fails unless every input is float32.
void require_f32(const NodeCtx& c);
// `kind` when every input is float32, `kind`_bf16 when every input is bfloat16 (the
// oneDNN bfloat16 calls, library_bf16.h); other mixes fail.
std::string gemm_kind(const NodeCtx& c, const std::string& kind);
// The product of d[b..e).
int64_t prod(const Dims& d, size_t b, size_t e);
// im2col/col2im parameters from the image shape (N, C, spatial...) and the column shape.
LibraryCall window_call(const NodeCtx& c, const std::string& kind, const Dims& im, const Dims& col);
// The convolution parameters of image x (N, C, in...) and output y (N, O, out...).
LibraryCall conv_call(const NodeCtx& c, const std::string& kind, const Dims& x, const Dims& y, bool bias);

}  // namespace hgc::lower
