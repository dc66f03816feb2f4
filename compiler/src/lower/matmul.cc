// Lowering records of the matmul family: dot and batch_dot are library calls (library_util.h).
#include "../lowering.h"
#include "hgc/base/error.h"
#include "library_util.h"

namespace hgc::lower {

void register_matmul(LoweringTable& t) {
  t.library("dot", [](const NodeCtx& c) -> LibraryCall {
    std::string kind = gemm_kind(c, "matmul");
    const Dims &a = c.in_shapes[0], &b = c.in_shapes[1];
    bool ta = c.attrs.b("transpose_a"), tb = c.attrs.b("transpose_b");
    // MXNet dot: lhs collapses to 2-D around its last axis (first when transposed), rhs likewise.
    int64_t K = ta ? a[0] : a.back();
    int64_t M = prod(a, 0, a.size()) / K;
    int64_t N = prod(b, 0, b.size()) / K;
    return {kind, {M, N, K, ta, tb}, {}};
  });
  t.library("batch_dot", [](const NodeCtx& c) -> LibraryCall {
    std::string kind = gemm_kind(c, "batch_matmul");
    const Dims &a = c.in_shapes[0], &o = c.out_shapes[0];
    bool ta = c.attrs.b("transpose_a"), tb = c.attrs.b("transpose_b");
    int64_t B = o[0], M = o[1], N = o[2], K = ta ? a[1] : a[2];
    return {kind, {B, M, N, K, ta, tb}, {}};
  });
}

}  // namespace hgc::lower
