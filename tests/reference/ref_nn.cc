// Reference kernels: FullyConnected, dot, batch_dot, Activation, LeakyReLU and Dropout in
// predict mode (MXNet 1.9 nn/fully_connected-inl.h, tensor/dot-inl.h, nn/activation-inl.h,
// leaky_relu-inl.h, nn/dropout-inl.h).
#include <algorithm>
#include <cmath>

#include "reference/ref_kernels.h"

namespace hgc::ref {
namespace {

// out (rows, H) = x (rows, K) . W(H, K)^T + b. With flatten, rows = dim 0 and K = the rest;
// without it, K is the last dim and every leading dim is a row.
void fully_connected(Ctx& c) {
  const Arr &x = c.in[0], &w = c.in[1];
  int64_t hidden = w.shape[0], k = w.shape[1];
  int64_t rows = k == 0 ? 0 : x.numel() / k;
  if (rows * k != x.numel()) c.fail("data does not fit weight columns");
  const Arr* bias = c.a.b("no_bias") ? nullptr : &c.in[2];
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t h = 0; h < hidden; ++h) {
      double acc = bias ? bias->v[h] : 0.0;
      for (int64_t j = 0; j < k; ++j) acc += x.v[r * k + j] * w.v[h * k + j];
      c.out[0].v[r * hidden + h] = acc;
    }
}

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

double activation(const std::string& act, double x) {
  if (act == "relu") return std::isnan(x) ? x : x > 0 ? x : 0.0;
  if (act == "sigmoid") return sigmoid(x);
  if (act == "tanh") return std::tanh(x);
  if (act == "softrelu") return softrelu(x);
  if (act == "softsign") return x / (1.0 + std::fabs(x));
  if (act == "log_sigmoid") return -softrelu(-x);
  if (act == "mish") return x * std::tanh(softrelu(x));
  return std::nan("");
}

// MXNet's SELU constants (mshadow_op.h).
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluLambda = 1.0507009873554804934193349852946;

// leaky/rrelu: x or slope*x; elu: slope*(e^x - 1) below 0; selu: scaled elu with fixed
// constants; gelu: the erf form; prelu: a learned slope per channel (axis 1) or one
// shared slope. rrelu in predict mode uses the mean slope (lower + upper) / 2, which is
// also written to its mask output (the slope training would have sampled).
void leaky_relu(Ctx& c) {
  const std::string& act = c.a.s("act_type");
  const Arr& x = c.in[0];
  Arr& o = c.out[0];
  double slope = c.a.f("slope");
  if (act == "rrelu") slope = (c.a.f("lower_bound") + c.a.f("upper_bound")) / 2.0;
  if (act == "prelu") {
    const Arr& g = c.in[1];
    AxisView v(x.shape, 1);
    for (int64_t a = 0; a < v.outer; ++a)
      for (int64_t j = 0; j < v.len; ++j)
        for (int64_t i = 0; i < v.inner; ++i) {
          double xv = x.v[v.at(a, j, i)], gv = g.v[g.numel() == 1 ? 0 : j];
          o.v[v.at(a, j, i)] = xv > 0 ? xv : gv * xv;
        }
    return;
  }
  for (int64_t i = 0; i < o.numel(); ++i) {
    double xv = x.v[i];
    if (act == "leaky" || act == "rrelu")
      o.v[i] = xv > 0 ? xv : slope * xv;
    else if (act == "elu")
      o.v[i] = xv > 0 ? xv : slope * std::expm1(xv);
    else if (act == "selu")
      o.v[i] = kSeluLambda * (xv > 0 ? xv : kSeluAlpha * std::expm1(xv));
    else if (act == "gelu")
      o.v[i] = 0.5 * xv * (1.0 + std::erf(xv / std::sqrt(2.0)));
    else
      c.fail("unsupported act_type " + act);
  }
  if (act == "rrelu" && c.out.size() > 1)
    for (double& m : c.out[1].v) m = slope;
}

// Predict mode passes data through; the mask output (not written by MXNet at inference)
// is filled with ones, "everything kept". mode=always would drop at random even here,
// which no deterministic oracle can reproduce.
void dropout(Ctx& c) {
  if (c.a.s("mode") == "always" && c.a.f("p") > 0)
    c.fail("mode=always draws random numbers in predict mode; the reference cannot reproduce it");
  c.out[0].v = c.in[0].v;
  for (double& m : c.out[1].v) m = 1.0;
}

}  // namespace

void add_nn_kernels(KernelTable& t) {
  t["FullyConnected"] = fully_connected;
  t["dot"] = dot;
  t["batch_dot"] = batch_dot;
  t["Activation"] = [](Ctx& c) {
    const std::string& act = c.a.s("act_type");
    for (int64_t i = 0; i < c.out[0].numel(); ++i) c.out[0].v[i] = activation(act, c.in[0].v[i]);
  };
  t["LeakyReLU"] = leaky_relu;
  t["Dropout"] = dropout;
}

}  // namespace hgc::ref
