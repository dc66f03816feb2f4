// Reference kernels: softmax, log_softmax, softmin (temperature, use_length), the legacy
// SoftmaxActivation and the loss heads, whose predict-mode forward is what MXNet 1.9 computes
// (src/operator/nn/softmax-inl.h, softmax_output-inl.h, regression_output-inl.h):
// SoftmaxOutput = softmax over the flattened instance (over axis 1 with multi_output, over
// the last axis with preserve_shape), LinearRegressionOutput/MAERegressionOutput = identity,
// LogisticRegressionOutput = sigmoid.
#include <algorithm>
#include <cmath>
#include <limits>

#include "reference/ref_kernels.h"

namespace hgc::ref {
namespace {

struct SoftmaxKind {
  bool negate = false;  // softmin: softmax of -x
  bool log = false;     // log_softmax
};

// Softmax of every (o, :, i) line of `x` viewed as v; lines are cut to lengths[o*inner + i]
// when given (the rest of the line is 0, as MXNet's SoftmaxWithLength writes).
void softmax_lines(const Arr& x, Arr& out, const AxisView& v, double temperature, SoftmaxKind k,
                   const Arr* lengths = nullptr) {
  for (int64_t o = 0; o < v.outer; ++o)
    for (int64_t i = 0; i < v.inner; ++i) {
      int64_t len = v.len;
      if (lengths) len = std::clamp<int64_t>(static_cast<int64_t>(lengths->v[o * v.inner + i]), 0, v.len);
      auto val = [&](int64_t j) { return (k.negate ? -x.v[v.at(o, j, i)] : x.v[v.at(o, j, i)]); };
      double mx = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < len; ++j) mx = std::max(mx, val(j));
      double sum = 0;
      for (int64_t j = 0; j < len; ++j) sum += std::exp((val(j) - mx) / temperature);
      for (int64_t j = 0; j < v.len; ++j) {
        double& y = out.v[v.at(o, j, i)];
        if (j >= len)
          y = 0;
        else if (k.log)
          y = (val(j) - mx) / temperature - std::log(sum);
        else
          y = std::exp((val(j) - mx) / temperature) / sum;
      }
    }
}

void softmax_op(Ctx& c, SoftmaxKind k) {
  const Arr& x = c.in[0];
  int axis = c.axis(c.a.i("axis"), x.ndim());
  double temperature = c.a.opt_f("temperature").value_or(1.0);
  const Arr* lengths = c.in.size() > 1 ? &c.in[1] : nullptr;
  AxisView v(x.shape, axis);
  if (lengths && lengths->numel() != v.outer * v.inner) c.fail("length does not match data");
  softmax_lines(x, c.out[0], v, temperature, k, lengths);
}

// data viewed as (n, k, rest) with the softmax over k.
void softmax_3d(const Arr& x, Arr& out, int64_t n, int64_t k) {
  AxisView v(Dims{n, k, x.numel() / std::max<int64_t>(1, n * k)}, 1);
  softmax_lines(x, out, v, 1.0, {});
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

void softmax_activation(Ctx& c) {
  const Arr& x = c.in[0];
  int64_t n = x.shape[0];
  if (c.a.s("mode") == "channel")
    softmax_3d(x, c.out[0], n, x.shape[1]);
  else
    softmax_3d(x, c.out[0], n, n == 0 ? 0 : x.numel() / n);
}

}  // namespace

void add_softmax_kernels(KernelTable& t) {
  t["softmax"] = [](Ctx& c) { softmax_op(c, {}); };
  t["log_softmax"] = [](Ctx& c) { softmax_op(c, {false, true}); };
  t["softmin"] = [](Ctx& c) { softmax_op(c, {true, false}); };
  t["SoftmaxActivation"] = softmax_activation;
  t["SoftmaxOutput"] = softmax_output;
  t["LinearRegressionOutput"] = [](Ctx& c) { c.out[0].v = c.in[0].v; };
  t["MAERegressionOutput"] = [](Ctx& c) { c.out[0].v = c.in[0].v; };
  t["LogisticRegressionOutput"] = [](Ctx& c) {
    for (int64_t i = 0; i < c.out[0].numel(); ++i) c.out[0].v[i] = sigmoid(c.in[0].v[i]);
  };
}

}  // namespace hgc::ref
