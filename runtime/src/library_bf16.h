// bfloat16 library calls: GEMMs and convolutions on bfloat16 operands through oneDNN (which
// accumulates in float32 and picks AVX512_BF16 or AMX kernels where the CPU has them, its
// reference kernels elsewhere). Operands are bfloat16 bit patterns (uint16_t), bias included;
// shapes and layouts as the float32 calls of library.h.
#pragma once
#include <cstdint>

#include "hgc/runtime/library.h"

namespace hgc::lib {

using bf16_t = uint16_t;

// c[b] = op(a[b]) . op(b[b]) (+ bias[N] broadcast over rows), for b < batch.
void bf16_matmul(const bf16_t* a, const bf16_t* b, const bf16_t* bias, bf16_t* c, int64_t batch, int64_t M,
                 int64_t N, int64_t K, bool ta, bool tb);
// The same writing float32 (the float32 accumulators, not rounded to bfloat16): a GEMM whose
// result AMP casts back to float32 at once (fuse.h, gemm_widens).
void bf16_matmul_f32_out(const bf16_t* a, const bf16_t* b, const bf16_t* bias, float* c, int64_t batch, int64_t M,
                         int64_t N, int64_t K, bool ta, bool tb);
// Forward: a = x, b = w, out = y; DataGrad: a = dy, b = w, out = dx; WeightGrad: a = dy,
// b = x, out = dw (library.h's operand orders).
void bf16_convolution(ConvDirection dir, const ConvShape& s, const bf16_t* a, const bf16_t* b, const bf16_t* bias,
                      bf16_t* out);
// The same on operands widened to float32 through the float32 convolution() / conv_*_grad()
// (their Auto choice), the result rounded once: what bf16_convolution runs for a shape where it
// measured that faster than oneDNN's bfloat16 primitives (or where oneDNN has none).
void bf16_convolution_widened(ConvDirection dir, const ConvShape& s, const bf16_t* a, const bf16_t* b,
                              const bf16_t* bias, bf16_t* out);

}  // namespace hgc::lib
