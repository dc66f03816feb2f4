// Reference kernels of the `_contrib_quantized_*` ops (quantization family) with MXNet 1.9's
// oneDNN semantics (src/operator/quantization/mkldnn/mkldnn_quantized_*.cc): scales are
// float32 as MXNet computes them, the scaled values are rounded to nearest even and
// saturated to the output type.
#include <algorithm>
#include <cmath>

#include "ref_kernels.h"

namespace hgc::ref {
namespace {

double range_of(DType t) { return t == DType::i8 ? 127.5 : t == DType::u8 ? 255.5 : 2147483648.0; }

float max_abs(double a, double b) { return static_cast<float>(std::max(std::fabs(a), std::fabs(b))); }

double sat(double v, DType t) {
  v = std::nearbyint(v);
  double lo = t == DType::u8 ? 0 : t == DType::i8 ? -128 : -2147483648.0;
  double hi = t == DType::u8 ? 255 : t == DType::i8 ? 127 : 2147483647.0;
  return std::clamp(v, lo, hi);
}

void pass_range(Ctx& c) {
  c.out[1].v[0] = c.in[1].v[0];
  c.out[2].v[0] = c.in[2].v[0];
}

// Max or average over each window; the average divides by the whole kernel when padding
// counts (count_include_pad, MXNet's default), else by the positions inside the input.
void quantized_pooling(Ctx& c) {
  const Arr& x = c.in[0];
  Arr& y = c.out[0];
  const int nsp = x.ndim() - 2;
  const bool global = c.a.b("global_pool");
  auto attr = [&](const char* n, int64_t def) {
    std::vector<int64_t> v = c.a.tuple(n);
    if (v.empty()) v.assign(nsp, def);
    return v;
  };
  std::vector<int64_t> k = global ? Dims(x.shape.begin() + 2, x.shape.end()) : attr("kernel", 1);
  std::vector<int64_t> st = global ? std::vector<int64_t>(nsp, 1) : attr("stride", 1);
  std::vector<int64_t> pd = global ? std::vector<int64_t>(nsp, 0) : attr("pad", 0);
  const bool avg = c.a.s("pool_type") == "avg";
  const bool include_pad = c.a.is_none("count_include_pad") || c.a.b("count_include_pad");
  int64_t ksize = 1, in_sp = 1, out_sp = 1;
  for (int d = 0; d < nsp; ++d) ksize *= k[d], in_sp *= x.shape[2 + d], out_sp *= y.shape[2 + d];
  for (int64_t nc = 0; nc < x.shape[0] * x.shape[1]; ++nc)
    for (int64_t o = 0; o < out_sp; ++o) {
      std::vector<int64_t> oi(nsp);
      for (int d = nsp - 1, r = static_cast<int>(o); d >= 0; --d) oi[d] = r % y.shape[2 + d], r /= static_cast<int>(y.shape[2 + d]);
      double best = -1e300, sum = 0;
      int64_t count = 0;
      for (int64_t t = 0; t < ksize; ++t) {  // every kernel tap
        int64_t flat = 0, rest = t;
        bool inside = true;
        for (int d = nsp - 1; d >= 0; --d) {
          int64_t kd = rest % k[d];
          rest /= k[d];
          int64_t pos = oi[d] * st[d] - pd[d] + kd;
          if (pos < 0 || pos >= x.shape[2 + d]) inside = false;
        }
        if (!inside) continue;
        int64_t mul = 1;
        rest = t;
        for (int d = nsp - 1; d >= 0; --d) {
          int64_t kd = rest % k[d];
          rest /= k[d];
          flat += (oi[d] * st[d] - pd[d] + kd) * mul;
          mul *= x.shape[2 + d];
        }
        double v = x.v[nc * in_sp + flat];
        best = std::max(best, v), sum += v, ++count;
      }
      double out = !avg ? (count ? best : 0.0) : sat(sum / static_cast<double>(include_pad ? ksize : count), c.out_dtypes[0]);
      y.v[nc * out_sp + o] = out;
    }
  pass_range(c);
}

void quantized_flatten(Ctx& c) {
  c.out[0].v = c.in[0].v;
  pass_range(c);
}

void quantized_act(Ctx& c) {
  for (int64_t i = 0; i < c.in[0].numel(); ++i) c.out[0].v[i] = std::max(0.0, c.in[0].v[i]);
  pass_range(c);
}

// out = sa * a + sb * b with sa, sb taking each input's steps to the output's; a uint8 input
// beside an int8 one goes through int8 first (MXNet reorders it with its scale).
void quantized_elemwise_add(Ctx& c) {
  const DType ta = c.in_dtypes[0], tb = c.in_dtypes[1], to = c.out_dtypes[0];
  const float aabs = max_abs(c.in[2].v[0], c.in[3].v[0]), babs = max_abs(c.in[4].v[0], c.in[5].v[0]);
  const float out_range = static_cast<float>(range_of(to));
  float sa, sb;
  if (!c.a.is_none("min_calib_range") && !c.a.is_none("max_calib_range")) {
    const float lo = static_cast<float>(c.a.f("min_calib_range")), hi = static_cast<float>(c.a.f("max_calib_range"));
    const float out_scale = out_range / max_abs(lo, hi);
    sa = out_scale / (static_cast<float>(range_of(ta)) / aabs);
    sb = out_scale / (static_cast<float>(range_of(tb)) / babs);
    c.out[1].v[0] = lo, c.out[2].v[0] = hi;
  } else {
    sa = aabs * out_range / ((aabs + babs) * static_cast<float>(range_of(ta)));
    sb = babs * out_range / ((aabs + babs) * static_cast<float>(range_of(tb)));
    c.out[1].v[0] = -(aabs + babs), c.out[2].v[0] = aabs + babs;
  }
  for (int64_t i = 0; i < c.in[0].numel(); ++i) {
    double a = c.in[0].v[i] * sa, b = c.in[1].v[i] * sb;
    if (ta != tb && ta == DType::u8) a = sat(a, DType::i8);
    if (ta != tb && tb == DType::u8) b = sat(b, DType::i8);
    c.out[0].v[i] = sat(a + b, to);
  }
}

// The output range spans every input's and 0; each input is rescaled to the output's steps.
void quantized_concat(Ctx& c) {
  const int64_t k = c.a.i("num_args");
  const DType to = c.out_dtypes[0];
  double lo = 0, hi = 0;
  for (int64_t i = 0; i < k; ++i) lo = std::min(lo, c.in[k + 2 * i].v[0]), hi = std::max(hi, c.in[k + 2 * i + 1].v[0]);
  const float out_scale = static_cast<float>(range_of(to)) / max_abs(lo, hi);
  Arr& y = c.out[0];
  const int ax = c.axis(c.a.i("dim"), y.ndim());
  AxisView yv(y.shape, ax);
  int64_t at = 0;
  for (int64_t i = 0; i < k; ++i) {
    const Arr& x = c.in[i];
    const float in_scale = static_cast<float>(range_of(c.in_dtypes[i])) / max_abs(c.in[k + 2 * i].v[0], c.in[k + 2 * i + 1].v[0]);
    const bool copy = c.in_dtypes[i] == to && in_scale == out_scale;
    const float s = out_scale / in_scale;
    AxisView xv(x.shape, ax);
    for (int64_t o = 0; o < xv.outer; ++o)
      for (int64_t j = 0; j < xv.len; ++j)
        for (int64_t n = 0; n < xv.inner; ++n) {
          double v = x.v[(o * xv.len + j) * xv.inner + n];
          y.v[(o * yv.len + at + j) * yv.inner + n] = copy ? v : sat(v * s, to);
        }
    at += xv.len;
  }
  c.out[1].v[0] = static_cast<float>(lo), c.out[2].v[0] = static_cast<float>(hi);
}

}  // namespace

void add_quantization_ops_kernels(KernelTable& t) {
  t.add("_contrib_quantized_pooling", quantized_pooling);
  t.add("_contrib_quantized_flatten", quantized_flatten);
  t.add("_contrib_quantized_act", quantized_act);
  t.add("_contrib_quantized_elemwise_add", quantized_elemwise_add);
  t.add("_contrib_quantized_concat", quantized_concat);
}

}  // namespace hgc::ref
