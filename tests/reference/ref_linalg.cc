// Reference kernels of the linalg family: MXNet's _linalg_* ops (src/operator/tensor/la_op.h,
// la_op-inl.h, and the BLAS/LAPACK routines they call), written as the textbook loops.
// Triangular inputs are read on their `lower` side only, as BLAS and LAPACK read them.
#include <algorithm>
#include <array>
#include <cmath>

#include "reference/ref_kernels.h"

namespace hgc::ref {
namespace {

// A batch of row-major matrices inside an Arr: matrix b, element (i, j).
struct Mats {
  int64_t batch, rows, cols;
  explicit Mats(const Dims& s)
      : batch(numel_of(Dims(s.begin(), s.end() - 2))), rows(s[s.size() - 2]), cols(s[s.size() - 1]) {}
  int64_t at(int64_t b, int64_t i, int64_t j) const { return (b * rows + i) * cols + j; }
};

// op(X)[i][j] of a stored matrix.
double op_at(const Arr& x, const Mats& m, int64_t b, int64_t i, int64_t j, bool t) {
  return t ? x.v[m.at(b, j, i)] : x.v[m.at(b, i, j)];
}

// A triangular matrix's (i, j), zero outside its `lower` triangle.
double tri_at(const Arr& a, const Mats& m, int64_t b, int64_t i, int64_t j, bool lower) {
  return (lower ? i >= j : i <= j) ? a.v[m.at(b, i, j)] : 0.0;
}

// gemm/gemm2 with rows on `axis`: the data viewed as (outer, rows, inner, cols), every
// (outer, inner) pair one matrix (MXNet's LaOpFlatten for a non-default axis).
void gemm(Ctx& c, bool with_c) {
  const Arr &A = c.in[0], &B = c.in[1];
  Arr& out = c.out[0];
  int n = A.ndim();
  int ax = c.axis(c.a.i("axis"), n);
  bool ta = c.a.b("transpose_a"), tb = c.a.b("transpose_b");
  double alpha = c.a.f("alpha"), beta = with_c ? c.a.f("beta") : 0.0;
  auto view = [&](const Dims& s) {  // (outer, rows, inner, cols)
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < ax; ++i) outer *= s[i];
    for (int i = ax + 1; i < n - 1; ++i) inner *= s[i];
    return std::array<int64_t, 4>{outer, s[ax], inner, s[n - 1]};
  };
  auto va = view(A.shape), vb = view(B.shape), vo = view(out.shape);
  auto idx = [](const std::array<int64_t, 4>& v, int64_t o, int64_t r, int64_t i, int64_t col) {
    return ((o * v[1] + r) * v[2] + i) * v[3] + col;
  };
  int64_t M = vo[1], N = vo[3], K = ta ? va[1] : va[3];
  for (int64_t o = 0; o < vo[0]; ++o)
    for (int64_t in = 0; in < vo[2]; ++in)
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
          double s = 0;
          for (int64_t k = 0; k < K; ++k) {
            double a = ta ? A.v[idx(va, o, k, in, i)] : A.v[idx(va, o, i, in, k)];
            double b = tb ? B.v[idx(vb, o, j, in, k)] : B.v[idx(vb, o, k, in, j)];
            s += a * b;
          }
          int64_t p = idx(vo, o, i, in, j);
          out.v[p] = alpha * s + (with_c ? beta * c.in[2].v[p] : 0.0);
        }
}

// Cholesky (LAPACK potrf): A = L L^T from A's lower triangle, or A = U^T U from its upper
// one; the other triangle of the result is zero. Not positive definite: NaN, as the kernel.
void potrf(Ctx& c) {
  const Arr& A = c.in[0];
  Arr& L = c.out[0];
  Mats m(A.shape);
  bool lower = c.a.b("lower");
  // Work on the lower factor; (i, j) of an upper one is stored at (j, i).
  auto pos = [&](int64_t b, int64_t i, int64_t j) { return lower ? m.at(b, i, j) : m.at(b, j, i); };
  for (int64_t b = 0; b < m.batch; ++b)
    for (int64_t j = 0; j < m.rows; ++j) {
      double s = A.v[pos(b, j, j)];
      for (int64_t k = 0; k < j; ++k) s -= L.v[pos(b, j, k)] * L.v[pos(b, j, k)];
      double d = std::sqrt(s);
      L.v[pos(b, j, j)] = d;
      for (int64_t i = j + 1; i < m.rows; ++i) {
        double t = A.v[pos(b, i, j)];
        for (int64_t k = 0; k < j; ++k) t -= L.v[pos(b, i, k)] * L.v[pos(b, j, k)];
        L.v[pos(b, i, j)] = t / d;
      }
    }
}

// potri: (L L^T)^-1 from the lower factor L, (U^T U)^-1 from an upper U.
void potri(Ctx& c) {
  const Arr& A = c.in[0];
  Arr& out = c.out[0];
  Mats m(A.shape);
  bool lower = c.a.b("lower");
  int64_t n = m.rows;
  std::vector<double> X(n * n);
  for (int64_t b = 0; b < m.batch; ++b) {
    auto l = [&](int64_t i, int64_t j) { return lower ? A.v[m.at(b, i, j)] : A.v[m.at(b, j, i)]; };
    std::fill(X.begin(), X.end(), 0.0);  // X = L^-1, lower triangular
    for (int64_t j = 0; j < n; ++j) {
      X[j * n + j] = 1.0 / l(j, j);
      for (int64_t i = j + 1; i < n; ++i) {
        double s = 0;
        for (int64_t k = j; k < i; ++k) s += l(i, k) * X[k * n + j];
        X[i * n + j] = -s / l(i, i);
      }
    }
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t k = std::max(i, j); k < n; ++k) s += X[k * n + i] * X[k * n + j];
        out.v[m.at(b, i, j)] = s;
      }
  }
}

// trmm: alpha op(A) B, or alpha B op(A) with rightside; A triangular.
void trmm(Ctx& c) {
  const Arr &A = c.in[0], &B = c.in[1];
  Arr& out = c.out[0];
  Mats ma(A.shape), mb(B.shape);
  bool lower = c.a.b("lower"), tr = c.a.b("transpose"), right = c.a.b("rightside");
  double alpha = c.a.f("alpha");
  auto opa = [&](int64_t b, int64_t i, int64_t j) { return tr ? tri_at(A, ma, b, j, i, lower) : tri_at(A, ma, b, i, j, lower); };
  int64_t K = ma.rows;
  for (int64_t b = 0; b < mb.batch; ++b)
    for (int64_t i = 0; i < mb.rows; ++i)
      for (int64_t j = 0; j < mb.cols; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k)
          s += right ? B.v[mb.at(b, i, k)] * opa(b, k, j) : opa(b, i, k) * B.v[mb.at(b, k, j)];
        out.v[mb.at(b, i, j)] = alpha * s;
      }
}

// trsm: X with op(A) X = alpha B, or X op(A) = alpha B with rightside, by substitution.
void trsm(Ctx& c) {
  const Arr &A = c.in[0], &B = c.in[1];
  Arr& X = c.out[0];
  Mats ma(A.shape), mb(B.shape);
  bool lower = c.a.b("lower"), tr = c.a.b("transpose"), right = c.a.b("rightside");
  double alpha = c.a.f("alpha");
  auto opa = [&](int64_t b, int64_t i, int64_t j) { return tr ? tri_at(A, ma, b, j, i, lower) : tri_at(A, ma, b, i, j, lower); };
  int64_t n = ma.rows;
  bool op_lower = lower != tr;
  for (int64_t b = 0; b < mb.batch; ++b) {
    if (!right) {
      for (int64_t j = 0; j < mb.cols; ++j)
        for (int64_t s = 0; s < n; ++s) {
          int64_t i = op_lower ? s : n - 1 - s;
          double v = alpha * B.v[mb.at(b, i, j)];
          for (int64_t k = 0; k < n; ++k)
            if (op_lower ? k < i : k > i) v -= opa(b, i, k) * X.v[mb.at(b, k, j)];
          X.v[mb.at(b, i, j)] = v / opa(b, i, i);
        }
    } else {
      for (int64_t i = 0; i < mb.rows; ++i)
        for (int64_t s = 0; s < n; ++s) {
          int64_t j = op_lower ? n - 1 - s : s;
          double v = alpha * B.v[mb.at(b, i, j)];
          for (int64_t k = 0; k < n; ++k)
            if (op_lower ? k > j : k < j) v -= X.v[mb.at(b, i, k)] * opa(b, k, j);
          X.v[mb.at(b, i, j)] = v / opa(b, j, j);
        }
    }
  }
}

// syrk: alpha A A^T, or alpha A^T A with transpose.
void syrk(Ctx& c) {
  const Arr& A = c.in[0];
  Arr& out = c.out[0];
  Mats ma(A.shape), mo(out.shape);
  bool tr = c.a.b("transpose");
  double alpha = c.a.f("alpha");
  int64_t K = tr ? ma.rows : ma.cols;
  for (int64_t b = 0; b < ma.batch; ++b)
    for (int64_t i = 0; i < mo.rows; ++i)
      for (int64_t j = 0; j < mo.cols; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k) s += op_at(A, ma, b, i, k, tr) * op_at(A, ma, b, j, k, tr);
        out.v[mo.at(b, i, j)] = alpha * s;
      }
}

void sumlogdiag(Ctx& c) {
  const Arr& A = c.in[0];
  Mats m(A.shape);
  for (int64_t b = 0; b < m.batch; ++b) {
    double s = 0;
    for (int64_t i = 0; i < m.rows; ++i) s += std::log(A.v[m.at(b, i, i)]);
    c.out[0].v[b] = s;
  }
}

// Diagonal `offset` (above the main one when positive): element i at (i + max(-k, 0), i + max(k, 0)).
void extractdiag(Ctx& c) {
  const Arr& A = c.in[0];
  Mats m(A.shape);
  int64_t k = c.a.i("offset"), len = m.rows - std::abs(k);
  for (int64_t b = 0; b < m.batch; ++b)
    for (int64_t i = 0; i < len; ++i) c.out[0].v[b * len + i] = A.v[m.at(b, i + std::max<int64_t>(-k, 0), i + std::max<int64_t>(k, 0))];
}

void makediag(Ctx& c) {
  const Arr& A = c.in[0];
  Arr& out = c.out[0];
  Mats m(out.shape);
  int64_t k = c.a.i("offset"), len = A.shape.back();
  for (int64_t b = 0; b < m.batch; ++b)
    for (int64_t i = 0; i < len; ++i) out.v[m.at(b, i + std::max<int64_t>(-k, 0), i + std::max<int64_t>(k, 0))] = A.v[b * len + i];
}

}  // namespace

void add_linalg_kernels(KernelTable& t) {
  t.add("_linalg_gemm", [](Ctx& c) { gemm(c, true); });
  t.add("_linalg_gemm2", [](Ctx& c) { gemm(c, false); });
  t.add("_linalg_potrf", potrf);
  t.add("_linalg_potri", potri);
  t.add("_linalg_trmm", trmm);
  t.add("_linalg_trsm", trsm);
  t.add("_linalg_syrk", syrk);
  t.add("_linalg_sumlogdiag", sumlogdiag);
  t.add("_linalg_extractdiag", extractdiag);
  t.add("_linalg_makediag", makediag);
}

}  // namespace hgc::ref
