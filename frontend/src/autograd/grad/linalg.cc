// Gradient rules of the linalg family: MXNet's la_op backward formulas (src/operator/tensor/
// la_op-inl.h: gemm_backward, potrf_backward, potri_backward, trsm_backward, trmm_backward,
// syrk_backward, sumlogdiag_backward, copydiag), written with the linalg ops themselves so
// they run on the tape and trace into graphs alike. Triangular inputs get gradients on their
// `lower` triangle only (the other one is never read); potrf's gradient is the symmetric one
// (half the partial derivative off the diagonal), as MXNet's.
#include "autograd/grad_rules.h"
#include "hgc/frontend/nd/linalg.h"
#include "hgc/frontend/nd/op.h"

namespace hgc::grad {

namespace la = nd::linalg;

namespace {

// 1 where row >= col (lower) or row <= col, strictly so when `strict`: an (n, n) mask that
// broadcasts over the batch dims.
NDArray triangle_mask(const NDArray& like, bool lower, bool strict) {
  int64_t n = like.shape().back();
  NDArray r = nd::arange(0, static_cast<double>(n), 1, like.dtype()).reshape({n, 1});
  NDArray c = nd::arange(0, static_cast<double>(n), 1, like.dtype()).reshape({1, n});
  NDArray m = lower ? (strict ? r > c : r >= c) : (strict ? r < c : r <= c);
  return m.astype(like.dtype());
}

NDArray swap_last(const NDArray& x) { return nd::swapaxes(x, x.ndim() - 2, x.ndim() - 1); }

// The symmetric matrix with m's `lower` triangle (MXNet's CopyTriangularToOppositeSide).
NDArray symmetrize(const NDArray& m, bool lower) {
  return m * triangle_mask(m, lower, false) + swap_last(m * triangle_mask(m, lower, true));
}

NDArray keep_triangle(const NDArray& m, bool lower) { return m * triangle_mask(m, lower, false); }

}  // namespace

void register_linalg_rules(RuleTable& t) {
  // out = alpha op(A) op(B) (+ beta C): the transposes fold into gemm2's flags.
  for (const char* op : {"_linalg_gemm", "_linalg_gemm2"}) {
    bool mac = std::string(op) == "_linalg_gemm";
    t.add(op, [mac](const GradCtx& c) -> Grads {
      const NDArray &a = c.in[0], &b = c.in[1], &g = c.og[0];
      bool ta = c.attrs.b("transpose_a"), tb = c.attrs.b("transpose_b");
      double alpha = c.attrs.f("alpha");
      int axis = static_cast<int>(c.attrs.i("axis"));
      NDArray da = ta ? la::gemm2(b, g, tb, true, alpha, axis) : la::gemm2(g, b, false, !tb, alpha, axis);
      NDArray db = tb ? la::gemm2(g, a, true, ta, alpha, axis) : la::gemm2(a, g, !ta, false, alpha, axis);
      if (!mac) return {da, db};
      return {da, db, g * c.attrs.f("beta")};
    });
  }
  // B = potrf(A): dA = 0.5 B^-T copyLTU(B^T dB) B^-1 (lower; the transposed steps for upper).
  t.add("_linalg_potrf", [](const GradCtx& c) -> Grads {
    const NDArray &l = c.out[0], &g = c.og[0];
    bool lo = c.attrs.b("lower");
    NDArray m = symmetrize(la::trmm(l, g, true, !lo, lo), lo);
    m = la::trsm(l, m, lo, false, lo);
    return {la::trsm(l, m, !lo, true, lo, 0.5)};
  });
  // A = potri(B): dB = -tril(A (dA + dA^T) B^-T) (lower; mirrored for upper).
  t.add("_linalg_potri", [](const GradCtx& c) -> Grads {
    const NDArray &b = c.in[0], &a = c.out[0], &g = c.og[0];
    bool lo = c.attrs.b("lower");
    NDArray s = lo ? la::gemm2(a, g) + la::gemm2(a, g, false, true) : la::gemm2(g, a) + la::gemm2(g, a, true, false);
    return {keep_triangle(la::trsm(b, s, true, lo, lo, -1.0), lo)};
  });
  // C = trsm(A, B): dB solves the transposed system; dA = -op(dB) op(C) / alpha on A's triangle.
  t.add("_linalg_trsm", [](const GradCtx& c) -> Grads {
    const NDArray &a = c.in[0], &out = c.out[0], &g = c.og[0];
    bool tr = c.attrs.b("transpose"), right = c.attrs.b("rightside"), lo = c.attrs.b("lower");
    double alpha = c.attrs.f("alpha");
    NDArray db = la::trsm(a, g, !tr, right, lo, alpha);
    double scale = -1.0 / alpha;
    NDArray da = right == tr ? la::gemm2(db, out, tr, !tr, scale) : la::gemm2(out, db, !tr, tr, scale);
    return {keep_triangle(da, lo), db};
  });
  // C = trmm(A, B): dA = alpha op(dC) op(B) on A's triangle; dB = trmm with op(A) transposed.
  t.add("_linalg_trmm", [](const GradCtx& c) -> Grads {
    const NDArray &a = c.in[0], &b = c.in[1], &g = c.og[0];
    bool tr = c.attrs.b("transpose"), right = c.attrs.b("rightside"), lo = c.attrs.b("lower");
    double alpha = c.attrs.f("alpha");
    NDArray da = right == tr ? la::gemm2(g, b, tr, !tr, alpha) : la::gemm2(b, g, !tr, tr, alpha);
    return {keep_triangle(da, lo), la::trmm(a, g, !tr, right, lo, alpha)};
  });
  // B = alpha A A^T: dA = alpha (dB + dB^T) A; for A^T A: alpha A (dB + dB^T).
  t.add("_linalg_syrk", [](const GradCtx& c) -> Grads {
    const NDArray &a = c.in[0], &g = c.og[0];
    double alpha = c.attrs.f("alpha");
    if (c.attrs.b("transpose")) return {la::gemm2(a, g, false, false, alpha) + la::gemm2(a, g, false, true, alpha)};
    return {la::gemm2(g, a, false, false, alpha) + la::gemm2(g, a, true, false, alpha)};
  });
  // d/dA sum log A_ii = diag(dB / A_ii).
  t.add("_linalg_sumlogdiag", [](const GradCtx& c) -> Grads {
    const NDArray &a = c.in[0], &g = c.og[0];
    NDArray gg = a.ndim() == 2 ? g : g.expand_dims(g.ndim());
    return {la::makediag(gg / la::extractdiag(a))};
  });
  t.add("_linalg_extractdiag", [](const GradCtx& c) -> Grads {
    return {la::makediag(c.og[0], static_cast<int>(c.attrs.i("offset")))};
  });
  t.add("_linalg_makediag", [](const GradCtx& c) -> Grads {
    return {la::extractdiag(c.og[0], static_cast<int>(c.attrs.i("offset")))};
  });
}

}  // namespace hgc::grad
