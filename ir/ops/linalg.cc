// MXNet's linear-algebra operators (src/operator/tensor/la_op.{h,cc}, v1.9): batched over the
// leading dims, the last two dims (gemm/gemm2: the `axis` dim and the last) are the matrix.
// Each is registered as `_linalg_<name>` with MXNet's `linalg_<name>` alias, input names
// A, B, C and the parameter structs' attributes and defaults (LaMatrixMacParam,
// LaMatrixMultParam, LaCholeskyParam, LaTriangMatrixMultParam, LaSyrkParam, LaDiagParam).
// Like MXNet they take float32 and float64 only; triangular inputs are read on their
// `lower` side only (as BLAS/LAPACK do), the other triangle is ignored.
#include "families.h"
#include "nn_movement_util.h"

namespace hgc::ops {
namespace {

using util::known;

bool float_only(TypeCtx& c) {
  DType t = DType::unknown;
  for (DType d : c.in)
    if (d != DType::unknown) t = d;
  if (t == DType::unknown)
    for (DType d : c.out)
      if (d != DType::unknown) t = d;
  if (t == DType::unknown) return false;
  if (t != DType::f32 && t != DType::f64)
    c.error("supports float32 and float64 only (as MXNet's la_op), got " + dtype_name(t));
  for (DType& d : c.in) {
    if (d != DType::unknown && d != t) c.error("inputs disagree: " + dtype_name(d) + " vs " + dtype_name(t));
    d = t;
  }
  for (DType& d : c.out) d = t;
  return true;
}

// Merges dim `b` into `a` (unknown takes the other), failing on a conflict.
void agree(const ShapeCtx& c, int64_t& a, int64_t b, const std::string& what) {
  if (known(a) && known(b) && a != b)
    c.error(what + ": " + c.in[0].str() + " vs " + c.in[1].str());
  if (!known(a)) a = b;
}

void need_matrices(const ShapeCtx& c, int i) {
  if (c.in[i].ndim() < 2)
    c.error("input " + c.input_names[i] + " must have rank >= 2 (a batch of matrices), got " + c.in[i].str());
}

void need_square(const ShapeCtx& c, int i) {
  const Shape& s = c.in[i];
  int n = s.ndim();
  if (known(s[n - 2]) && known(s[n - 1]) && s[n - 2] != s[n - 1])
    c.error("input " + c.input_names[i] + " must be a batch of square matrices, got " + c.in[i].str());
}

// gemm/gemm2 (LaMatrixMultMacOpShape): rows on `axis`, columns on the last dim; all other
// dims are batch dims and must agree. out = op(A) op(B); gemm's C takes out's shape.
bool gemm_shape(ShapeCtx& c) {
  if (!c.in[0].rank_known() || !c.in[1].rank_known()) return false;
  need_matrices(c, 0);
  int n = c.in[0].ndim();
  if (c.in[1].ndim() != n) c.error("A and B must have the same rank: " + c.in[0].str() + " vs " + c.in[1].str());
  int ax = util::axis(c, c.attrs.i("axis"), n);
  if (ax >= n - 1) c.error("axis=" + std::to_string(c.attrs.i("axis")) + " must name a row axis before the last");
  bool ta = c.attrs.b("transpose_a"), tb = c.attrs.b("transpose_b");
  Shape out = Shape::of_rank(n);
  for (int i = 0; i < n - 1; ++i) {
    if (i == ax) continue;
    int64_t d = c.in[0][i];
    agree(c, d, c.in[1][i], "A and B must agree on the batch dims");
    out[i] = d;
  }
  int64_t ka = ta ? c.in[0][ax] : c.in[0][n - 1], kb = tb ? c.in[1][n - 1] : c.in[1][ax];
  agree(c, ka, kb, "incompatible matrix dims for multiplication");
  out[ax] = ta ? c.in[0][n - 1] : c.in[0][ax];
  out[n - 1] = tb ? c.in[1][ax] : c.in[1][n - 1];
  c.assign_out(0, out);
  if (c.in.size() > 2) c.assign_in(2, c.out[0]);
  return c.out[0].known();
}

// trmm/trsm (LaTriangMatrixMultOpShape): A square; out = op(A) B, or B op(A) with rightside.
bool triangular_shape(ShapeCtx& c) {
  if (!c.in[0].rank_known() || !c.in[1].rank_known()) return false;
  need_matrices(c, 0);
  int n = c.in[0].ndim();
  if (c.in[1].ndim() != n) c.error("A and B must have the same rank: " + c.in[0].str() + " vs " + c.in[1].str());
  need_square(c, 0);
  Shape out = c.in[1];
  for (int i = 0; i < n - 2; ++i) agree(c, out[i], c.in[0][i], "A and B must agree on the batch dims");
  int64_t m = known(c.in[0][n - 1]) ? c.in[0][n - 1] : c.in[0][n - 2];
  bool right = c.attrs.b("rightside");
  agree(c, right ? out[n - 1] : out[n - 2], m, "incompatible matrix dims for multiplication");
  c.assign_out(0, out);
  return c.out[0].known();
}

bool square_same_shape(ShapeCtx& c) {
  if (!c.in[0].rank_known()) return false;
  need_matrices(c, 0);
  need_square(c, 0);
  c.assign_out(0, c.in[0]);
  return c.out[0].known();
}

// syrk: (..., M, N) -> (..., M, M), or (..., N, N) with transpose.
bool syrk_shape(ShapeCtx& c) {
  if (!c.in[0].rank_known()) return false;
  need_matrices(c, 0);
  int n = c.in[0].ndim();
  Shape out = c.in[0];
  int64_t m = c.attrs.b("transpose") ? c.in[0][n - 1] : c.in[0][n - 2];
  out[n - 2] = out[n - 1] = m;
  c.assign_out(0, out);
  return c.out[0].known();
}

// sumlogdiag (LaReduceShape<2>): the batch dims, or (1,) for one matrix.
bool sumlogdiag_shape(ShapeCtx& c) {
  if (!c.in[0].rank_known()) return false;
  need_matrices(c, 0);
  need_square(c, 0);
  int n = c.in[0].ndim();
  c.assign_out(0, n == 2 ? Shape{1} : util::splice(c.in[0], n - 2, n, {}));
  return c.out[0].known();
}

// extractdiag: (..., n, n) -> (..., n - |offset|); makediag: (..., n) -> (..., n + |k|, n + |k|).
bool extractdiag_shape(ShapeCtx& c) {
  if (!c.in[0].rank_known()) return false;
  need_matrices(c, 0);
  need_square(c, 0);
  int n = c.in[0].ndim();
  int64_t k = c.attrs.i("offset"), m = c.in[0][n - 1];
  if (known(m) && m - std::abs(k) <= 0)
    c.error("offset " + std::to_string(k) + " leaves no diagonal in " + std::to_string(m) + "x" + std::to_string(m) + " matrices");
  c.assign_out(0, util::splice(c.in[0], n - 2, n, {known(m) ? m - std::abs(k) : Shape::kUnknownDim}));
  return c.out[0].known();
}

bool makediag_shape(ShapeCtx& c) {
  if (!c.in[0].rank_known()) return false;
  int n = c.in[0].ndim();
  if (n < 1) c.error("input A must have rank >= 1 (a batch of diagonals), got " + c.in[0].str());
  int64_t k = c.attrs.i("offset"), m = c.in[0][n - 1];
  int64_t s = known(m) ? m + std::abs(k) : Shape::kUnknownDim;
  c.assign_out(0, util::splice(c.in[0], n - 1, n, {s, s}));
  return c.out[0].known();
}

OpBuilder add(OpRegistry& r, const std::string& name, Names inputs,
              std::source_location where = std::source_location::current()) {
  return r.add("_linalg_" + name, where).alias("linalg_" + name).inputs(std::move(inputs)).type(float_only);
}

}  // namespace

void register_linalg(OpRegistry& r) {
  auto mult = [](OpBuilder b) {
    return b.attr(AttrSpec::boolean("transpose_a").def(false))
        .attr(AttrSpec::boolean("transpose_b").def(false))
        .attr(AttrSpec::real("alpha").def(1.0));
  };
  // out = alpha op(A) op(B) + beta C
  mult(add(r, "gemm", {"A", "B", "C"}))
      .attr(AttrSpec::real("beta").def(1.0))
      .attr(AttrSpec::integer("axis").def(int64_t(-2)))
      .shape(gemm_shape);
  // out = alpha op(A) op(B)
  mult(add(r, "gemm2", {"A", "B"})).attr(AttrSpec::integer("axis").def(int64_t(-2))).shape(gemm_shape);
  // Cholesky factor: A = L L^T (lower) or A = U^T U; the other triangle is zero.
  add(r, "potrf", {"A"}).attr(AttrSpec::boolean("lower").def(true)).shape(square_same_shape);
  // Inverse from a Cholesky factor: out = A^-T A^-1 (lower) or A^-1 A^-T.
  add(r, "potri", {"A"}).attr(AttrSpec::boolean("lower").def(true)).shape(square_same_shape);
  auto tri = [](OpBuilder b) {
    return b.attr(AttrSpec::boolean("transpose").def(false))
        .attr(AttrSpec::boolean("rightside").def(false))
        .attr(AttrSpec::boolean("lower").def(true))
        .attr(AttrSpec::real("alpha").def(1.0))
        .shape(triangular_shape);
  };
  // out = alpha op(A) B, or alpha B op(A) with rightside; A triangular.
  tri(add(r, "trmm", {"A", "B"}));
  // Solves op(A) out = alpha B, or out op(A) = alpha B with rightside; A triangular.
  tri(add(r, "trsm", {"A", "B"}));
  // out = alpha A A^T, or alpha A^T A with transpose.
  add(r, "syrk", {"A"})
      .attr(AttrSpec::boolean("transpose").def(false))
      .attr(AttrSpec::real("alpha").def(1.0))
      .shape(syrk_shape);
  // sum_i log A[..., i, i]
  add(r, "sumlogdiag", {"A"}).shape(sumlogdiag_shape);
  add(r, "extractdiag", {"A"}).attr(AttrSpec::integer("offset").def(int64_t(0))).shape(extractdiag_shape);
  add(r, "makediag", {"A"}).attr(AttrSpec::integer("offset").def(int64_t(0))).shape(makediag_shape);
}

}  // namespace hgc::ops
