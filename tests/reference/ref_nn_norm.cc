// Reference kernels: normalization layers in predict mode (MXNet 1.9 nn/layer_norm-inl.h,
// nn/batch_norm.cc, instance_norm-inl.h, nn/group_norm-inl.h, l2_normalization-inl.h).
// Variances are population variances (divide by the count, not count - 1).
#include <algorithm>
#include <cmath>

#include "reference/ref_kernels.h"

namespace hgc::ref {
namespace {

struct Moments {
  double mean = 0, var = 0;
};

// Mean and population variance of the `n` values produced by at(0..n-1).
template <typename At>
Moments moments(int64_t n, At at) {
  Moments m;
  if (n == 0) return m;
  for (int64_t j = 0; j < n; ++j) m.mean += at(j);
  m.mean /= static_cast<double>(n);
  for (int64_t j = 0; j < n; ++j) m.var += (at(j) - m.mean) * (at(j) - m.mean);
  m.var /= static_cast<double>(n);
  return m;
}

// Normalizes every line along `axis`; outputs: out, mean, std = sqrt(var + eps), the
// last two with the axis kept as 1.
void layer_norm(Ctx& c) {
  const Arr &x = c.in[0], &gamma = c.in[1], &beta = c.in[2];
  double eps = c.a.f("eps");
  AxisView v(x.shape, c.axis(c.a.i("axis"), x.ndim()));
  for (int64_t a = 0; a < v.outer; ++a)
    for (int64_t i = 0; i < v.inner; ++i) {
      Moments m = moments(v.len, [&](int64_t j) { return x.v[v.at(a, j, i)]; });
      double sd = std::sqrt(m.var + eps);
      for (int64_t j = 0; j < v.len; ++j)
        c.out[0].v[v.at(a, j, i)] = (x.v[v.at(a, j, i)] - m.mean) / sd * gamma.v[j] + beta.v[j];
      c.out[1].v[a * v.inner + i] = m.mean;
      c.out[2].v[a * v.inner + i] = sd;
    }
}

// Predict mode normalizes with the moving statistics (whatever use_global_stats says), and
// fix_gamma means gamma is taken as 1. The hidden outputs are the statistics used:
// moving_mean and moving_var. (MXNet's CPU kernel writes 1/sqrt(moving_var + eps) to the
// second one and cuDNN leaves both untouched, so no caller should rely on them.)
void batch_norm(Ctx& c) {
  const Arr &x = c.in[0], &gamma = c.in[1], &beta = c.in[2], &mm = c.in[3], &mv = c.in[4];
  double eps = c.a.f("eps");
  bool fix_gamma = c.a.b("fix_gamma");
  AxisView v(x.shape, c.axis(c.a.i("axis"), x.ndim()));
  for (int64_t a = 0; a < v.outer; ++a)
    for (int64_t j = 0; j < v.len; ++j) {
      double scale = (fix_gamma ? 1.0 : gamma.v[j]) / std::sqrt(mv.v[j] + eps);
      for (int64_t i = 0; i < v.inner; ++i)
        c.out[0].v[v.at(a, j, i)] = (x.v[v.at(a, j, i)] - mm.v[j]) * scale + beta.v[j];
    }
  c.out[1].v = mm.v;
  c.out[2].v = mv.v;
}

// Per (n, c) over the spatial dims; outputs: out, mean (N, C), var (N, C).
void instance_norm(Ctx& c) {
  const Arr &x = c.in[0], &gamma = c.in[1], &beta = c.in[2];
  double eps = c.a.f("eps");
  int64_t n = x.shape[0], ch = x.shape[1], rest = x.numel() / std::max<int64_t>(1, n * ch);
  for (int64_t p = 0; p < n * ch; ++p) {
    const double* row = &x.v[p * rest];
    Moments m = moments(rest, [&](int64_t j) { return row[j]; });
    int64_t k = p % ch;
    for (int64_t j = 0; j < rest; ++j)
      c.out[0].v[p * rest + j] = (row[j] - m.mean) / std::sqrt(m.var + eps) * gamma.v[k] + beta.v[k];
    c.out[1].v[p] = m.mean;
    c.out[2].v[p] = m.var;
  }
}

// Per (n, group) over the group's channels and the spatial dims; gamma/beta have one
// entry per group (MXNet 1.x). Outputs: out, mean (N, G), std (N, G) = sqrt(var + eps).
void group_norm(Ctx& c) {
  const Arr &x = c.in[0], &gamma = c.in[1], &beta = c.in[2];
  double eps = c.a.f("eps");
  int64_t groups = c.a.i("num_groups"), n = x.shape[0];
  int64_t size = x.numel() / std::max<int64_t>(1, n * groups);  // elements per group
  for (int64_t p = 0; p < n * groups; ++p) {
    const double* blk = &x.v[p * size];
    Moments m = moments(size, [&](int64_t j) { return blk[j]; });
    double sd = std::sqrt(m.var + eps);
    int64_t g = p % groups;
    for (int64_t j = 0; j < size; ++j)
      c.out[0].v[p * size + j] = (blk[j] - m.mean) / sd * gamma.v[g] + beta.v[g];
    c.out[1].v[p] = m.mean;
    c.out[2].v[p] = sd;
  }
}

// x / sqrt(sum x^2 + eps) over dims 1.. (instance), axis 1 (channel) or dims 2.. (spatial);
// the second output holds the norms.
void l2_normalization(Ctx& c) {
  const Arr& x = c.in[0];
  double eps = c.a.f("eps");
  const std::string& mode = c.a.s("mode");
  int64_t n = x.shape[0], per_n = x.numel() / std::max<int64_t>(1, n);
  AxisView v(x.shape, 1);                             // channel: along axis 1
  if (mode == "instance") v = AxisView(Dims{n, per_n}, 1);  // everything after dim 0
  if (mode == "spatial") {                            // dims 2.. of every (n, c)
    int64_t nc = n * x.shape[1];
    v = AxisView(Dims{nc, x.numel() / std::max<int64_t>(1, nc)}, 1);
  }
  for (int64_t a = 0; a < v.outer; ++a)
    for (int64_t i = 0; i < v.inner; ++i) {
      double ss = 0;
      for (int64_t j = 0; j < v.len; ++j) ss += x.v[v.at(a, j, i)] * x.v[v.at(a, j, i)];
      double norm = std::sqrt(ss + eps);
      for (int64_t j = 0; j < v.len; ++j) c.out[0].v[v.at(a, j, i)] = x.v[v.at(a, j, i)] / norm;
      c.out[1].v[a * v.inner + i] = norm;
    }
}

}  // namespace

void add_nn_norm_kernels(KernelTable& t) {
  t.add("LayerNorm", layer_norm);
  t.add("BatchNorm", batch_norm);
  t.add("InstanceNorm", instance_norm);
  t.add("GroupNorm", group_norm);
  t.add("L2Normalization", l2_normalization);
}

}  // namespace hgc::ref
