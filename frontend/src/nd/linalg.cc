// mx.nd.linalg (nd/linalg.h): each function is one _linalg_* op through nd_detail::call.
#include "hgc/frontend/nd/linalg.h"

#include "nd/detail.h"

namespace hgc::nd::linalg {

using nd_detail::call;

NDArray gemm(const NDArray& A, const NDArray& B, const NDArray& C, bool transpose_a, bool transpose_b, double alpha,
             double beta, int axis) {
  return call("_linalg_gemm", {{"transpose_a", transpose_a}, {"transpose_b", transpose_b}, {"alpha", alpha},
                               {"beta", beta}, {"axis", int64_t(axis)}}, {A, B, C});
}
NDArray gemm2(const NDArray& A, const NDArray& B, bool transpose_a, bool transpose_b, double alpha, int axis) {
  return call("_linalg_gemm2", {{"transpose_a", transpose_a}, {"transpose_b", transpose_b}, {"alpha", alpha},
                                {"axis", int64_t(axis)}}, {A, B});
}
NDArray potrf(const NDArray& A, bool lower) { return call("_linalg_potrf", {{"lower", lower}}, {A}); }
NDArray potri(const NDArray& A, bool lower) { return call("_linalg_potri", {{"lower", lower}}, {A}); }
NDArray trmm(const NDArray& A, const NDArray& B, bool transpose, bool rightside, bool lower, double alpha) {
  return call("_linalg_trmm", {{"transpose", transpose}, {"rightside", rightside}, {"lower", lower}, {"alpha", alpha}},
              {A, B});
}
NDArray trsm(const NDArray& A, const NDArray& B, bool transpose, bool rightside, bool lower, double alpha) {
  return call("_linalg_trsm", {{"transpose", transpose}, {"rightside", rightside}, {"lower", lower}, {"alpha", alpha}},
              {A, B});
}
NDArray syrk(const NDArray& A, bool transpose, double alpha) {
  return call("_linalg_syrk", {{"transpose", transpose}, {"alpha", alpha}}, {A});
}
NDArray sumlogdiag(const NDArray& A) { return call("_linalg_sumlogdiag", {}, {A}); }
NDArray extractdiag(const NDArray& A, int offset) { return call("_linalg_extractdiag", {{"offset", int64_t(offset)}}, {A}); }
NDArray makediag(const NDArray& A, int offset) { return call("_linalg_makediag", {{"offset", int64_t(offset)}}, {A}); }

}  // namespace hgc::nd::linalg
