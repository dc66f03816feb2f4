// Lowering records of the linalg family (MXNet's _linalg_* ops, ir/ops/linalg.cc).
//
// The products (gemm, gemm2, trmm, syrk) and the diagonal ops are linalg.generics: one
// reduction dim for the products, a select on the loop indices where only one triangle of A
// counts (trmm). The factorization and the solves (potrf, potri, trsm) are sequential by
// nature: each is a nest of scf.for loops over a batch of matrices viewed as (batch, rows,
// cols), carrying the result tensor through the loops and writing it with tensor.insert (one-
// shot bufferization turns that into in-place stores). Matrices here are small (state-space
// models, covariances), so the plain O(n^3) loops are the right size of tool.
#include "../lowering.h"
#include "hgc/base/error.h"
#include "movement_util.h"

namespace hgc::lower {
namespace {

// Scalar code outside linalg regions: index math, tensor.extract/insert and scf.for loops.
// Names come from the writer (w.fresh()): a fused group lowers several members into one
// function, so two Seqs there must never hand out the same name.
class Seq {
 public:
  Seq(KernelWriter& w, DType t) : w_(w), t_(t), os_(&w.body()) {}
  std::string ty() const { return elem_type(t_); }
  std::string raw(const std::string& text) {
    std::string r = w_.fresh();
    *os_ << "    " << r << " = " << text << "\n";
    return r;
  }
  std::string idx(int64_t v) { return raw("arith.constant " + std::to_string(v) + " : index"); }
  std::string iop(const std::string& op, const std::string& a, const std::string& b) {
    return raw("arith." + op + " " + a + ", " + b + " : index");
  }
  std::string num(double v) { return raw("arith.constant " + float_literal(v, t_) + " : " + ty()); }
  std::string fop(const std::string& op, const std::string& a, const std::string& b) {
    return raw("arith." + op + " " + a + ", " + b + " : " + ty());
  }
  std::string get(const std::string& t, const Dims& shape, const std::vector<std::string>& at) {
    return raw("tensor.extract " + t + "[" + list(at) + "] : " + tensor_type(shape, t_));
  }
  std::string put(const std::string& v, const std::string& t, const Dims& shape, const std::vector<std::string>& at) {
    return raw("tensor.insert " + v + " into " + t + "[" + list(at) + "] : " + tensor_type(shape, t_));
  }
  // scf.for iv in [lb, ub) carrying one value of type `type` (init -> body's result). At the
  // top level a tensor result is registered with the writer (shape given), so generics can
  // take it.
  std::string loop(const std::string& lb, const std::string& ub, const std::string& init, const std::string& type,
                   const std::function<std::string(const std::string& iv, const std::string& arg)>& body,
                   const Dims* shape = nullptr) {
    std::string one = idx(1);
    std::string iv = w_.fresh(), arg = w_.fresh();
    std::ostringstream inner;
    std::ostringstream* saved = os_;
    os_ = &inner;
    ++depth_;
    std::string y = body(iv, arg);
    --depth_;
    os_ = saved;
    std::string text = "scf.for " + iv + " = " + lb + " to " + ub + " step " + one + " iter_args(" + arg + " = " + init +
                       ") -> (" + type + ") {\n" + inner.str() + "    scf.yield " + y + " : " + type + "\n  }";
    if (depth_ == 0 && shape) return w_.emit(text, *shape, t_);
    return raw(text);
  }

 private:
  static std::string list(const std::vector<std::string>& v) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
    return s;
  }
  KernelWriter& w_;
  DType t_;
  std::ostringstream* os_;
  int depth_ = 0;
};

Dims three_d(const Dims& s) {
  int r = static_cast<int>(s.size());
  int64_t b = 1;
  for (int i = 0; i < r - 2; ++i) b *= s[i];
  return {b, s[r - 2], s[r - 1]};
}

std::string batch_groups(int r) {
  std::string g = "[[";
  for (int i = 0; i < r - 2; ++i) g += (i ? ", " : "") + std::to_string(i);
  return g + "], [" + std::to_string(r - 2) + "], [" + std::to_string(r - 1) + "]]";
}

// x of shape s (rank >= 2) viewed as (batch, rows, cols), and back.
std::string to_3d(KernelWriter& w, const std::string& x, const Dims& s, DType t) {
  int r = static_cast<int>(s.size());
  Dims s3 = three_d(s);
  if (r == 3) return x;
  if (r == 2)
    return w.emit("tensor.expand_shape " + x + " [[0, 1], [2]] output_shape [" + join(s3) + "] : " + tensor_type(s, t) +
                      " into " + tensor_type(s3, t),
                  s3, t);
  return w.emit("tensor.collapse_shape " + x + " " + batch_groups(r) + " : " + tensor_type(s, t) + " into " +
                    tensor_type(s3, t),
                s3, t);
}

std::string from_3d(KernelWriter& w, const std::string& x3, const Dims& s, DType t) {
  int r = static_cast<int>(s.size());
  Dims s3 = three_d(s);
  if (r == 3) return x3;
  if (r == 2)
    return w.emit("tensor.collapse_shape " + x3 + " [[0, 1], [2]] : " + tensor_type(s3, t) + " into " + tensor_type(s, t), s, t);
  return w.emit("tensor.expand_shape " + x3 + " " + batch_groups(r) + " output_shape [" + join(s) + "] : " +
                    tensor_type(s3, t) + " into " + tensor_type(s, t),
                s, t);
}

void need_static(const NodeCtx& c) {
  for (const Dims& s : c.in_shapes)
    for (int64_t d : s)
      if (d < 0) c.error("linalg ops are generated for static shapes");
}

// gemm/gemm2: iteration space = out's dims + k (dim n). Rows on `axis`, columns last.
void lower_gemm(const NodeCtx& c, KernelWriter& w, const std::vector<std::string>& ins, const std::vector<std::string>& outs,
                bool with_c) {
  need_static(c);
  DType t = c.out_types[0];
  int n = static_cast<int>(c.out_shapes[0].size());
  int ax = normalize_axis(c.attrs.i("axis"), n, c.node.describe());
  bool ta = c.attrs.b("transpose_a"), tb = c.attrs.b("transpose_b");
  double alpha = c.attrs.f("alpha");
  std::vector<std::string> am, bm, om;
  for (int i = 0; i < n; ++i) {
    om.push_back(d(i));
    if (i == ax) {
      am.push_back(ta ? d(n) : d(ax));
      bm.push_back(tb ? d(n - 1) : d(n));
    } else if (i == n - 1) {
      am.push_back(ta ? d(ax) : d(n));
      bm.push_back(tb ? d(n) : d(n - 1));
    } else {
      am.push_back(d(i));
      bm.push_back(d(i));
    }
  }
  std::string init;
  if (with_c) {
    double beta = c.attrs.f("beta");
    init = w.generic({ins[2]}, {identity_map(n)}, outs[0], "", parallel(n), t,
                     [&](ScalarBuilder& b, auto& a) { return b.binary("arith.mulf", a[0], b.constant(beta)); });
  } else {
    init = w.fill(outs[0], 0);
  }
  std::vector<std::string> its = parallel(n);
  its.push_back("reduction");
  w.result(0, w.generic({ins[0], ins[1]}, {affine_map(n + 1, am), affine_map(n + 1, bm)}, init, affine_map(n + 1, om), its, t,
                        [&](ScalarBuilder& b, auto& a) {
                          auto p = b.binary("arith.mulf", a[0], a[1]);
                          if (alpha != 1.0) p = b.binary("arith.mulf", p, b.constant(alpha));
                          return b.reduce_step("arith.addf", a[2], p);
                        }, true));
}

// The position of element (p, q) of the stored triangle: (p, q) for lower, (q, p) for upper
// (an upper factor is handled as the transpose of a lower one).
std::vector<std::string> at(const std::string& b, const std::string& p, const std::string& q, bool lower) {
  return lower ? std::vector<std::string>{b, p, q} : std::vector<std::string>{b, q, p};
}

// potrf: column by column, L[j][j] = sqrt(A[j][j] - sum_k<j L[j][k]^2) and
// L[i][j] = (A[i][j] - sum_k<j L[i][k] L[j][k]) / L[j][j] for i > j; the other triangle is 0.
// A matrix that is not positive definite gives NaN (MXNet raises LAPACK's error instead).
std::string cholesky(KernelWriter& w, Seq& s, const std::string& a3, const Dims& s3, DType t, bool lower) {
  std::string ty = tensor_type(s3, t);
  std::string zero = w.fill(w.empty(s3, t), 0);
  std::string c0 = s.idx(0), nb = s.idx(s3[0]), n = s.idx(s3[1]);
  return s.loop(c0, nb, zero, ty, [&](const std::string& b, const std::string& L0) {
    return s.loop(c0, n, L0, ty, [&](const std::string& j, const std::string& L1) {
      std::string sum = s.loop(c0, j, s.get(a3, s3, {b, j, j}), s.ty(), [&](const std::string& k, const std::string& acc) {
        std::string l = s.get(L1, s3, at(b, j, k, lower));
        return s.fop("subf", acc, s.fop("mulf", l, l));
      });
      std::string djj = s.raw("math.sqrt " + sum + " : " + s.ty());
      std::string L2 = s.put(djj, L1, s3, {b, j, j});
      std::string j1 = s.iop("addi", j, s.idx(1));
      return s.loop(j1, n, L2, ty, [&](const std::string& i, const std::string& L3) {
        std::string sum2 = s.loop(c0, j, s.get(a3, s3, at(b, i, j, lower)), s.ty(), [&](const std::string& k, const std::string& acc) {
          std::string p = s.fop("mulf", s.get(L3, s3, at(b, i, k, lower)), s.get(L3, s3, at(b, j, k, lower)));
          return s.fop("subf", acc, p);
        });
        return s.put(s.fop("divf", sum2, djj), L3, s3, at(b, i, j, lower));
      });
    });
  }, &s3);
}

// The inverse of a lower-triangular L (stored triangle of `a3`, `lower` as above), lower
// triangular itself: X[j][j] = 1 / L[j][j], X[i][j] = -(sum_{j<=k<i} L[i][k] X[k][j]) / L[i][i].
std::string tri_inverse(KernelWriter& w, Seq& s, const std::string& a3, const Dims& s3, DType t, bool lower) {
  std::string ty = tensor_type(s3, t);
  std::string zero = w.fill(w.empty(s3, t), 0);
  std::string c0 = s.idx(0), nb = s.idx(s3[0]), n = s.idx(s3[1]);
  return s.loop(c0, nb, zero, ty, [&](const std::string& b, const std::string& X0) {
    return s.loop(c0, n, X0, ty, [&](const std::string& j, const std::string& X1) {
      std::string X2 = s.put(s.fop("divf", s.num(1), s.get(a3, s3, {b, j, j})), X1, s3, {b, j, j});
      std::string j1 = s.iop("addi", j, s.idx(1));
      return s.loop(j1, n, X2, ty, [&](const std::string& i, const std::string& X3) {
        std::string sum = s.loop(j, i, s.num(0), s.ty(), [&](const std::string& k, const std::string& acc) {
          std::string p = s.fop("mulf", s.get(a3, s3, at(b, i, k, lower)), s.get(X3, s3, {b, k, j}));
          return s.fop("addf", acc, p);
        });
        std::string v = s.fop("divf", s.raw("arith.negf " + sum + " : " + s.ty()), s.get(a3, s3, {b, i, i}));
        return s.put(v, X3, s3, {b, i, j});
      });
    });
  }, &s3);
}

// trsm: X starts as alpha B and is solved in place. The sequential index p runs over rows
// (left side: op(A) X = alpha B) or columns (right side: X op(A) = alpha B), forwards when
// the triangle of op(A) that matters is below p's diagonal entry, backwards otherwise.
std::string solve(KernelWriter& w, Seq& s, const std::string& a3, const std::string& x3, const Dims& xs, DType t,
                  bool lower, bool transpose, bool right) {
  std::string ty = tensor_type(xs, t);
  Dims as3 = {xs[0], right ? xs[2] : xs[1], right ? xs[2] : xs[1]};
  int64_t np = right ? xs[2] : xs[1], nq = right ? xs[1] : xs[2];
  bool op_lower = lower != transpose;
  // Left: rows in order for a lower op(A); right: columns in order for an upper op(A).
  bool forward = right ? !op_lower : op_lower;
  auto opa = [&](const std::string& b, const std::string& r, const std::string& c) {
    return transpose ? s.get(a3, as3, {b, c, r}) : s.get(a3, as3, {b, r, c});
  };
  std::string c0 = s.idx(0), nb = s.idx(xs[0]), n = s.idx(np), m = s.idx(nq);
  return s.loop(c0, nb, x3, ty, [&](const std::string& b, const std::string& X0) {
    return s.loop(c0, n, X0, ty, [&](const std::string& pp, const std::string& X1) {
      std::string p = forward ? pp : s.iop("subi", s.iop("subi", n, s.idx(1)), pp);
      std::string lo = forward ? c0 : s.iop("addi", p, s.idx(1)), hi = forward ? p : n;
      std::string diag = opa(b, p, p);
      return s.loop(c0, m, X1, ty, [&](const std::string& q, const std::string& X2) {
        auto xat = [&](const std::string& row_or_col) {  // X at (p-like index, q)
          return right ? std::vector<std::string>{b, q, row_or_col} : std::vector<std::string>{b, row_or_col, q};
        };
        std::string sum = s.loop(lo, hi, s.get(X2, xs, xat(p)), s.ty(), [&](const std::string& k, const std::string& acc) {
          std::string coef = right ? opa(b, k, p) : opa(b, p, k);
          return s.fop("subf", acc, s.fop("mulf", coef, s.get(X2, xs, xat(k))));
        });
        return s.put(s.fop("divf", sum, diag), X2, xs, xat(p));
      });
    });
  }, &xs);
}

void register_solvers(LoweringTable& t) {
  t.kernel("_linalg_potrf", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    need_static(c);
    DType dt = c.out_types[0];
    Seq s(w, dt);
    Dims s3 = three_d(c.in_shapes[0]);
    std::string L = cholesky(w, s, to_3d(w, ins[0], c.in_shapes[0], dt), s3, dt, c.attrs.b("lower"));
    w.result(0, from_3d(w, L, c.out_shapes[0], dt));
  });
  // potri: out = X^T X with X = L^-1 (lower L; an upper factor U is read as L = U^T, and
  // U^-1 U^-T = (U^T U)^-1 is the same product).
  t.kernel("_linalg_potri", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    need_static(c);
    DType dt = c.out_types[0];
    Seq s(w, dt);
    Dims s3 = three_d(c.in_shapes[0]);
    std::string X = tri_inverse(w, s, to_3d(w, ins[0], c.in_shapes[0], dt), s3, dt, c.attrs.b("lower"));
    std::string acc = w.fill(w.empty(s3, dt), 0);
    std::string P = w.generic({X, X}, {affine_map(4, {d(0), d(3), d(1)}), affine_map(4, {d(0), d(3), d(2)})}, acc,
                              affine_map(4, {d(0), d(1), d(2)}), {"parallel", "parallel", "parallel", "reduction"}, dt,
                              [](ScalarBuilder& b, auto& a) { return b.reduce_step("arith.addf", a[2], b.binary("arith.mulf", a[0], a[1])); },
                              true);
    w.result(0, from_3d(w, P, c.out_shapes[0], dt));
  });
  t.kernel("_linalg_trsm", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    need_static(c);
    DType dt = c.out_types[0];
    Seq s(w, dt);
    const Dims& bs = c.in_shapes[1];
    int r = static_cast<int>(bs.size());
    double alpha = c.attrs.f("alpha");
    std::string x = w.generic({ins[1]}, {identity_map(r)}, w.empty(bs, dt), "", parallel(r), dt,
                              [&](ScalarBuilder& b, auto& a) { return b.binary("arith.mulf", a[0], b.constant(alpha)); });
    std::string X = solve(w, s, to_3d(w, ins[0], c.in_shapes[0], dt), to_3d(w, x, bs, dt), three_d(bs), dt,
                          c.attrs.b("lower"), c.attrs.b("transpose"), c.attrs.b("rightside"));
    w.result(0, from_3d(w, X, c.out_shapes[0], dt));
  });
}

// trmm: out = alpha op(A) B (or alpha B op(A)), reading only A's `lower` triangle: the
// product runs over all k and a select drops the entries of the other triangle.
void lower_trmm(const NodeCtx& c, KernelWriter& w, const std::vector<std::string>& ins, const std::vector<std::string>& outs) {
  need_static(c);
  DType t = c.out_types[0];
  bool lower = c.attrs.b("lower"), tr = c.attrs.b("transpose"), right = c.attrs.b("rightside");
  double alpha = c.attrs.f("alpha");
  Dims a3 = three_d(c.in_shapes[0]), o3 = three_d(c.out_shapes[0]);
  std::string A = to_3d(w, ins[0], c.in_shapes[0], t), B = to_3d(w, ins[1], c.in_shapes[1], t);
  // Loop dims (b, i, j, k). Left: op(A)[i][k] B[k][j]; right: B[i][k] op(A)[k][j].
  // The stored element of A (x, y): op(A)[r][s] is A[r][s], or A[s][r] when transposed.
  std::string r = right ? d(3) : d(1), s = right ? d(2) : d(3);
  std::string amap = tr ? affine_map(4, {d(0), s, r}) : affine_map(4, {d(0), r, s});
  std::string bmap = right ? affine_map(4, {d(0), d(1), d(3)}) : affine_map(4, {d(0), d(3), d(2)});
  int xr = right ? 3 : 1, xs = right ? 2 : 3;  // loop dims of op(A)'s row and column
  if (tr) std::swap(xr, xs);                    // -> the stored row x and column y
  std::string acc = w.fill(w.empty(o3, t), 0);
  std::string P = w.generic({A, B}, {amap, bmap}, acc, affine_map(4, {d(0), d(1), d(2)}),
                            {"parallel", "parallel", "parallel", "reduction"}, t, [&](ScalarBuilder& b, auto& a) {
                              auto x = b.raw(KernelWriter::index_op(xr)), y = b.raw(KernelWriter::index_op(xs));
                              auto keep = b.raw("arith.cmpi " + std::string(lower ? "uge" : "ule") + ", " + x + ", " + y + " : index");
                              auto p = b.binary("arith.mulf", a[0], a[1]);
                              if (alpha != 1.0) p = b.binary("arith.mulf", p, b.constant(alpha));
                              return b.reduce_step("arith.addf", a[2], b.select(keep, p, b.constant(0)));
                            }, true);
  w.result(0, from_3d(w, P, c.out_shapes[0], t));
}

// syrk: out[i][j] = alpha sum_k A[i][k] A[j][k] (A^T A: A[k][i] A[k][j]), over (batch..., i, j, k).
void lower_syrk(const NodeCtx& c, KernelWriter& w, const std::vector<std::string>& ins, const std::vector<std::string>& outs) {
  need_static(c);
  DType t = c.out_types[0];
  int n = static_cast<int>(c.out_shapes[0].size());
  bool tr = c.attrs.b("transpose");
  double alpha = c.attrs.f("alpha");
  std::vector<std::string> im, jm, om;
  for (int i = 0; i < n - 2; ++i) im.push_back(d(i)), jm.push_back(d(i));
  for (int i = 0; i < n; ++i) om.push_back(d(i));
  auto pair = [&](std::vector<std::string>& m, int row) {
    if (tr) m.push_back(d(n)), m.push_back(d(row));
    else m.push_back(d(row)), m.push_back(d(n));
  };
  pair(im, n - 2);
  pair(jm, n - 1);
  std::vector<std::string> its = parallel(n);
  its.push_back("reduction");
  w.result(0, w.generic({ins[0], ins[0]}, {affine_map(n + 1, im), affine_map(n + 1, jm)}, w.fill(outs[0], 0),
                        affine_map(n + 1, om), its, t, [&](ScalarBuilder& b, auto& a) {
                          auto p = b.binary("arith.mulf", a[0], a[1]);
                          if (alpha != 1.0) p = b.binary("arith.mulf", p, b.constant(alpha));
                          return b.reduce_step("arith.addf", a[2], p);
                        }, true));
}

// The diagonal ops. offset k > 0 is above the main diagonal: element i of diagonal k sits at
// (i + max(-k, 0), i + max(k, 0)).
void register_diag(LoweringTable& t) {
  t.kernel("_linalg_sumlogdiag", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    need_static(c);
    DType dt = c.out_types[0];
    int n = static_cast<int>(c.in_shapes[0].size());
    // Iteration: the batch dims (or the one dim of the (1,) result) then i.
    int nb = std::max(1, n - 2);
    std::vector<std::string> im, om;
    for (int i = 0; i < n - 2; ++i) im.push_back(d(i));
    im.push_back(d(nb));
    im.push_back(d(nb));
    for (int i = 0; i < nb; ++i) om.push_back(d(i));
    std::vector<std::string> its = parallel(nb);
    its.push_back("reduction");
    w.result(0, w.generic({ins[0]}, {affine_map(nb + 1, im)}, w.fill(outs[0], 0), affine_map(nb + 1, om), its, dt,
                          [](ScalarBuilder& b, auto& a) { return b.reduce_step("arith.addf", a[1], b.unary("math.log", a[0])); },
                          true));
  });
  // extractdiag reads with tensor.extract: a map like (d0, d1) -> (d0, d1, d1 + 1) would make
  // linalg size the loop over d1 by A's rows, not by the diagonal's length.
  t.kernel("_linalg_extractdiag", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    need_static(c);
    DType dt = c.out_types[0];
    int64_t k = c.attrs.i("offset");
    int n = static_cast<int>(c.out_shapes[0].size());  // batch dims + i
    std::string x = ins[0];
    w.result(0, w.generic({}, {}, outs[0], "", parallel(n), dt, [&](ScalarBuilder& b, auto&) {
      std::string coords;
      for (int j = 0; j < n - 1; ++j) coords += b.raw(KernelWriter::index_op(j)) + ", ";
      auto i = b.raw(KernelWriter::index_op(n - 1));
      auto r = b.raw("arith.addi " + i + ", " + idx_const(b, std::max<int64_t>(-k, 0)) + " : index");
      auto col = b.raw("arith.addi " + i + ", " + idx_const(b, std::max<int64_t>(k, 0)) + " : index");
      return b.raw("tensor.extract " + x + "[" + coords + r + ", " + col + "] : " + tensor_type(c.in_shapes[0], dt));
    }));
  });
  t.kernel("_linalg_makediag", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    need_static(c);
    DType dt = c.out_types[0];
    int64_t k = c.attrs.i("offset");
    const Dims& is = c.in_shapes[0];
    int n = static_cast<int>(c.out_shapes[0].size());  // batch dims + row + col
    std::string x = ins[0];
    w.result(0, w.generic({}, {}, outs[0], "", parallel(n), dt, [&](ScalarBuilder& b, auto&) {
      auto r = b.raw(KernelWriter::index_op(n - 2)), col = b.raw(KernelWriter::index_op(n - 1));
      auto diff = b.raw("arith.subi " + col + ", " + r + " : index");
      auto on = b.raw("arith.cmpi eq, " + diff + ", " + idx_const(b, k) + " : index");
      auto i = b.raw("arith.subi " + r + ", " + idx_const(b, std::max<int64_t>(-k, 0)) + " : index");
      auto safe = b.raw("arith.select " + on + ", " + i + ", " + idx_const(b, 0) + " : index");
      std::string coords;
      for (int j = 0; j < n - 2; ++j) coords += b.raw(KernelWriter::index_op(j)) + ", ";
      auto v = b.raw("tensor.extract " + x + "[" + coords + safe + "] : " + tensor_type(is, dt));
      return b.select(on, v, b.constant(0));
    }));
  });
}

}  // namespace

void register_linalg(LoweringTable& t) {
  t.kernel("_linalg_gemm", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) { lower_gemm(c, w, ins, outs, true); });
  t.kernel("_linalg_gemm2", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) { lower_gemm(c, w, ins, outs, false); });
  t.kernel("_linalg_trmm", lower_trmm);
  t.kernel("_linalg_syrk", lower_syrk);
  register_solvers(t);
  register_diag(t);
}

}  // namespace hgc::lower
