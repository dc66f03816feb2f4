// mx.nd.linalg: MXNet's linear-algebra operators on batches of matrices (the last two dims;
// for gemm/gemm2 the `axis` dim and the last). Each is one registered op (_linalg_<name>,
// alias linalg_<name>) with MXNet's argument order and defaults, float32 and float64 only,
// and a gradient rule (MXNet's la_op backward formulas).
//
//   NDArray L = nd::linalg::potrf(S);                        // S = L L^T
//   NDArray X = nd::linalg::trsm(L, B);                      // L X = B
//   NDArray Y = nd::linalg::trsm(L, B, /*transpose=*/true);  // L^T Y = B
//   NDArray logdet = 2 * nd::linalg::sumlogdiag(L);          // log det S
//   NDArray P = nd::linalg::gemm2(A, B, false, true);        // A B^T
#pragma once
#include "hgc/frontend/nd/ndarray.h"

namespace hgc::nd::linalg {

// alpha op(A) op(B) + beta C; rows on `axis` (default -2), columns on the last dim.
NDArray gemm(const NDArray& A, const NDArray& B, const NDArray& C, bool transpose_a = false, bool transpose_b = false,
             double alpha = 1.0, double beta = 1.0, int axis = -2);
// alpha op(A) op(B).
NDArray gemm2(const NDArray& A, const NDArray& B, bool transpose_a = false, bool transpose_b = false,
              double alpha = 1.0, int axis = -2);
// Cholesky factor of a symmetric positive definite A: A = L L^T (lower) or A = U^T U; only
// that triangle of A is read. Not positive definite: NaN entries (MXNet raises an error).
NDArray potrf(const NDArray& A, bool lower = true);
// The inverse of L L^T (lower) or U^T U from the Cholesky factor.
NDArray potri(const NDArray& A, bool lower = true);
// alpha op(A) B, or alpha B op(A) with rightside; A triangular (its `lower` triangle is read).
NDArray trmm(const NDArray& A, const NDArray& B, bool transpose = false, bool rightside = false, bool lower = true,
             double alpha = 1.0);
// X solving op(A) X = alpha B, or X op(A) = alpha B with rightside; A triangular.
NDArray trsm(const NDArray& A, const NDArray& B, bool transpose = false, bool rightside = false, bool lower = true,
             double alpha = 1.0);
// alpha A A^T, or alpha A^T A with transpose.
NDArray syrk(const NDArray& A, bool transpose = false, double alpha = 1.0);
// sum_i log A[..., i, i]: shape A.shape[:-2], (1,) for one matrix.
NDArray sumlogdiag(const NDArray& A);
// Diagonal `offset` (> 0 above the main one) of each matrix: (..., n - |offset|).
NDArray extractdiag(const NDArray& A, int offset = 0);
// Square matrices with A's last dim on diagonal `offset`: (..., n + |offset|, n + |offset|).
NDArray makediag(const NDArray& A, int offset = 0);

}  // namespace hgc::nd::linalg
