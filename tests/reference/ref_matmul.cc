// Reference kernels of the matmul family: dot and batch_dot (MXNet 1.9 tensor/dot-inl.h).
#include <algorithm>

#include "reference/ref_kernels.h"

namespace hgc::ref {
namespace {

// One (m x k) . (k x n) product with optional transposes, reading lhs/rhs at offsets.
void matmul(const Arr& l, int64_t lo, bool ta, const Arr& r, int64_t ro, bool tb, Arr& out, int64_t oo,
            int64_t m, int64_t k, int64_t n) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t p = 0; p < k; ++p) {
        double a = ta ? l.v[lo + p * m + i] : l.v[lo + i * k + p];
        double b = tb ? r.v[ro + j * k + p] : r.v[ro + p * n + j];
        acc += a * b;
      }
      out.v[oo + i * n + j] = acc;
    }
}

// N-D dot: lhs is (M, K) with K its last dim, or (K, M) with K its first dim when
// transpose_a; rhs is (K, N) with K its first dim, or (N, K) with K its last when
// transpose_b. The free dims of both, in order, form the output.
void dot(Ctx& c) {
  const Arr &l = c.in[0], &r = c.in[1];
  bool ta = c.a.b("transpose_a"), tb = c.a.b("transpose_b");
  int64_t k = ta ? l.shape.front() : l.shape.back();
  if (k != (tb ? r.shape.back() : r.shape.front())) c.fail("contraction dims differ");
  int64_t m = k == 0 ? 0 : l.numel() / k, n = k == 0 ? 0 : r.numel() / k;
  matmul(l, 0, ta, r, 0, tb, c.out[0], 0, m, k, n);
}

// Batched over all leading dims; each matrix is the last two dims.
void batch_dot(Ctx& c) {
  const Arr &l = c.in[0], &r = c.in[1];
  bool ta = c.a.b("transpose_a"), tb = c.a.b("transpose_b");
  int nd = l.ndim();
  int64_t lr = l.shape[nd - 2], lc = l.shape[nd - 1], rr = r.shape[nd - 2], rc = r.shape[nd - 1];
  int64_t m = ta ? lc : lr, k = ta ? lr : lc, n = tb ? rr : rc;
  if (k != (tb ? rc : rr)) c.fail("contraction dims differ");
  int64_t batch = l.numel() / std::max<int64_t>(1, lr * lc);
  for (int64_t b = 0; b < batch; ++b)
    matmul(l, b * lr * lc, ta, r, b * rr * rc, tb, c.out[0], b * m * n, m, k, n);
}

}  // namespace

void add_matmul_kernels(KernelTable& t) {
  t.add("dot", dot);
  t.add("batch_dot", batch_dot);
}

}  // namespace hgc::ref
