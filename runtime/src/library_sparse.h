// GEMMs with a mostly-zero operand, computed from its nonzeros only (internal to the runtime's
// library). The case that matters: a recommender's click matrix (~1 % ones) entering its
// first Dense layer, forward (y = x . W^T) and in the weight gradient (dW = dY^T . x); dense
// sgemm spends ~99 % of those multiply-adds on zeros. Callers try this before sgemm; it
// looks at the candidate operand cheaply (a prefix sample, then an exact count that stops at
// the limit) and declines dense ones.
#pragma once
#include <cstdint>

namespace hgc::lib::detail {

// Which operands of op(a) . op(b) may be the sparse one: a fully connected layer's weights
// never are, so fully_connected only offers its input.
enum SparseSide : unsigned { kSparseA = 1, kSparseB = 2 };

// c[M,N] = op(a) . op(b) (+ bias[N] on every row when bias != nullptr), the layouts of
// lib::matmul. Returns false, having written nothing that the caller's dense path will not
// overwrite, when no offered operand is sparse enough, the product is too small to gain, or
// the dense operand holds an Inf or NaN (which the skipped zeros would have spread).
bool sparse_matmul(const float* a, const float* b, float* c, int64_t M, int64_t N, int64_t K, bool ta, bool tb,
                   const float* bias, unsigned sides);

}  // namespace hgc::lib::detail
