// Reference kernels of the nn family in predict mode: FullyConnected, Activation,
// LeakyReLU, Dropout, Embedding, Flatten, SequenceMask and the loss heads (MXNet 1.9
// nn/fully_connected-inl.h, nn/activation-inl.h, leaky_relu-inl.h, nn/dropout-inl.h,
// indexing_op.h, sequence_mask-inl.h, softmax_output-inl.h, regression_output-inl.h):
// SoftmaxOutput = softmax over the flattened instance (over axis 1 with multi_output, over
// the last axis with preserve_shape), LinearRegressionOutput/MAERegressionOutput = identity,
// LogisticRegressionOutput = sigmoid.
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
int64_t to_index(double v) { return static_cast<int64_t>(v); }

// Rows of weight, indices clipped to [0, input_dim - 1] (MXNet's Embedding never raises).
void embedding(Ctx& c) {
  const Arr &idx = c.in[0], &w = c.in[1];
  int64_t rows = w.shape[0], dim = w.shape[1];
  for (int64_t k = 0; k < idx.numel(); ++k) {
    int64_t r = std::clamp<int64_t>(to_index(idx.v[k]), 0, rows - 1);
    for (int64_t j = 0; j < dim; ++j) c.out[0].v[k * dim + j] = w.v[r * dim + j];
  }
}

// data is (T, N, ...) with axis 0 or (N, T, ...) with axis 1; steps t >= length[n] take
// `value`. Without use_sequence_length it is the identity.
void sequence_mask(Ctx& c) {
  const Arr& x = c.in[0];
  Arr& o = c.out[0];
  o.v = x.v;
  if (!c.a.b("use_sequence_length")) return;
  const Arr& len = c.in[1];
  double value = c.a.f("value");
  bool batch_major = c.a.i("axis") == 1;
  int64_t d0 = x.shape[0], d1 = x.shape[1], inner = x.numel() / std::max<int64_t>(1, d0 * d1);
  for (int64_t p = 0; p < d0; ++p)
    for (int64_t q = 0; q < d1; ++q) {
      int64_t t = batch_major ? q : p, n = batch_major ? p : q;
      if (t < to_index(len.v[n])) continue;
      for (int64_t i = 0; i < inner; ++i) o.v[(p * d1 + q) * inner + i] = value;
    }
}

void softmax_output(Ctx& c) {
  const Arr& x = c.in[0];
  int64_t n = x.shape[0];
  if (c.a.b("multi_output")) {
    softmax_3d(x, c.out[0], n, x.shape[1]);
  } else if (c.a.b("preserve_shape")) {
    int64_t last = x.shape.back();
    softmax_3d(x, c.out[0], x.numel() / std::max<int64_t>(1, last), last);
  } else {
    softmax_3d(x, c.out[0], n, n == 0 ? 0 : x.numel() / n);  // the whole instance
  }
}

// contrib count_sketch (MXNet 1.9 contrib/count_sketch-inl.h): each row of data's last dim
// scattered, signed, into out_dim buckets: out[r, h[i]] += s[i] * data[r, i].
void count_sketch(Ctx& c) {
  const Arr &x = c.in[0], &h = c.in[1], &s = c.in[2];
  int64_t d = x.shape.back(), k = c.a.i("out_dim");
  int64_t rows = d == 0 ? 0 : x.numel() / d;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < d; ++i) {
      int64_t b = static_cast<int64_t>(h.v[i]);  // truncated, as the kernel's float -> index
      if (b < 0 || b >= k) continue;             // outside the buckets: dropped
      c.out[0].v[r * k + b] += s.v[i] * x.v[r * d + i];
    }
}

}  // namespace

void add_nn_kernels(KernelTable& t) {
  t.add("Flatten", [](Ctx& c) {  // a row-major copy; inference worked out the shape
    if (c.in[0].numel() != c.out[0].numel()) c.fail("input and output sizes differ");
    c.out[0].v = c.in[0].v;
  });
  t.add("FullyConnected", fully_connected);
  t.add("Activation", [](Ctx& c) {
    const std::string& act = c.a.s("act_type");
    for (int64_t i = 0; i < c.out[0].numel(); ++i) c.out[0].v[i] = activation(act, c.in[0].v[i]);
  });
  t.add("LeakyReLU", leaky_relu);
  t.add("Dropout", dropout);
  t.add("Embedding", embedding);
  t.add("SequenceMask", sequence_mask);
  t.add("SoftmaxOutput", softmax_output);
  t.add("LinearRegressionOutput", [](Ctx& c) { c.out[0].v = c.in[0].v; });
  t.add("MAERegressionOutput", [](Ctx& c) { c.out[0].v = c.in[0].v; });
  t.add("_contrib_count_sketch", count_sketch);
  t.add("LogisticRegressionOutput", [](Ctx& c) {
    for (int64_t i = 0; i < c.out[0].numel(); ++i) c.out[0].v[i] = sigmoid(c.in[0].v[i]);
  });
}

}  // namespace hgc::ref
