// dot and batch_dot (MXNet 1.x src/operator/tensor/dot-inl.h).
#include "nn_movement_util.h"

namespace hgc::ops {
namespace {

using util::known;

// Merges the contraction dims of both sides: a deferred dim on one side takes the other's.
void contract(ShapeCtx& c, int li, int ri) {
  int64_t lk = c.in[0][li], rk = c.in[1][ri];
  if (known(lk) && known(rk) && lk != rk)
    c.error("contraction dims differ: " + c.in[0].str() + " x " + c.in[1].str());
  if (known(lk) != known(rk)) {
    int64_t k = known(lk) ? lk : rk;
    Shape l = Shape::of_rank(c.in[0].ndim()), r = Shape::of_rank(c.in[1].ndim());
    l[li] = k;
    r[ri] = k;
    c.assign_in(0, l);
    c.assign_in(1, r);
  }
}

// N-D dot contracts lhs's last axis (first with transpose_a) with rhs's first axis (last with
// transpose_b); the remaining axes of lhs then rhs form the output.
bool dot_shape(ShapeCtx& c) {
  bool ta = c.attrs.b("transpose_a"), tb = c.attrs.b("transpose_b");
  if (!c.in[0].rank_known() || !c.in[1].rank_known()) return false;
  int nl = c.in[0].ndim(), nr = c.in[1].ndim();
  if (nl == 0 || nr == 0) c.error("scalar inputs are not supported");
  if (nl == 1 && nr == 1 && (ta || tb)) c.error("cannot transpose vectors");
  contract(c, ta ? 0 : nl - 1, tb ? nr - 1 : 0);
  const Shape &l = c.in[0], &r = c.in[1];
  std::vector<int64_t> out;
  if (nl > 1) out.insert(out.end(), l.dims().begin() + (ta ? 1 : 0), l.dims().end() - (ta ? 0 : 1));
  if (nr > 1) out.insert(out.end(), r.dims().begin() + (tb ? 0 : 1), r.dims().end() - (tb ? 1 : 0));
  if (nl == 1 && nr == 1) out = {1};
  c.assign_out(0, Shape(out));
  return c.out[0].known();
}

// (B..., M, K) x (B..., K, N) -> (B..., M, N), rank >= 3 on both sides.
bool batch_dot_shape(ShapeCtx& c) {
  bool ta = c.attrs.b("transpose_a"), tb = c.attrs.b("transpose_b");
  if (!c.in[0].rank_known() || !c.in[1].rank_known()) return false;
  int n = c.in[0].ndim();
  if (n < 3 || c.in[1].ndim() != n)
    c.error("needs two inputs of the same rank >= 3, got " + c.in[0].str() + " x " + c.in[1].str());
  // Batch dims must agree; a deferred one on either side is taken from the other.
  Shape lb = c.in[0], rb = c.in[1];
  for (int i = 0; i < n - 2; ++i) {
    int64_t x = lb[i], y = rb[i];
    if (known(x) && known(y) && x != y)
      c.error("batch dims differ: " + c.in[0].str() + " x " + c.in[1].str());
    lb[i] = rb[i] = known(x) ? x : y;
  }
  c.assign_in(0, lb);
  c.assign_in(1, rb);
  contract(c, ta ? n - 2 : n - 1, tb ? n - 1 : n - 2);
  const Shape &l = c.in[0], &r = c.in[1];
  Shape out = l;
  out[n - 2] = ta ? l[n - 1] : l[n - 2];
  out[n - 1] = tb ? r[n - 2] : r[n - 1];
  c.assign_out(0, out);
  return c.out[0].known();
}

OpBuilder dot_attrs(OpBuilder b) {
  return b.attr(AttrSpec::boolean("transpose_a").def(false))
      .attr(AttrSpec::boolean("transpose_b").def(false))
      .attr(AttrSpec::one_of("forward_stype", {"default", "row_sparse", "csr"}).opt())
      .binary()
      .traits(kGemm);
}

}  // namespace

void register_matmul(OpRegistry& r) {
  dot_attrs(r.add("dot")).shape(dot_shape);
  dot_attrs(r.add("batch_dot")).shape(batch_dot_shape);
}

}  // namespace hgc::ops
