// Reference kernels of the quantization family with MXNet 1.9's oneDNN semantics
// (src/operator/quantization/mkldnn/, src/operator/subgraph/mkldnn/): int8 maps [-r, r] to
// [-127.5, 127.5], uint8 [0, r] to [0, 255.5], rounding to nearest even with saturation.
// Scales are float32 as in MXNet; products and sums are exact (integers in double).
#include <algorithm>
#include <cmath>
#include <limits>

#include "ref_kernels.h"

namespace hgc::ref {
namespace {

float max_abs(double a, double b) { return static_cast<float>(std::max(std::fabs(a), std::fabs(b))); }

float qscale(DType t, double lo, double hi) {
  float r = max_abs(lo, hi);
  return r != 0 ? (t == DType::i8 ? 127.5f : 255.5f) / r : static_cast<float>(std::numeric_limits<int32_t>::max());
}

double sat(double v, DType t) {
  v = std::nearbyint(v);
  double lo = t == DType::u8 ? 0 : t == DType::i8 ? -128 : -2147483648.0;
  double hi = t == DType::u8 ? 255 : t == DType::i8 ? 127 : 2147483647.0;
  return std::clamp(v, lo, hi);
}

bool calibrated(const AttrView& a) { return !a.is_none("min_calib_range") && !a.is_none("max_calib_range"); }

void quantize_v2(Ctx& c) {
  const Arr& x = c.in[0];
  DType ot = c.out_dtypes[0];
  if (c.in_dtypes[0] != DType::f32) {  // passed through
    c.out[0].v = x.v;
    bool cal = calibrated(c.a);
    c.out[1].v[0] = cal ? c.a.f("min_calib_range") : c.in_dtypes[0] == DType::u8 ? 0.0 : -127.5;
    c.out[2].v[0] = cal ? c.a.f("max_calib_range") : c.in_dtypes[0] == DType::u8 ? 255.5 : 127.5;
    return;
  }
  double lo, hi;
  if (calibrated(c.a)) {
    lo = static_cast<float>(c.a.f("min_calib_range")), hi = static_cast<float>(c.a.f("max_calib_range"));
  } else {
    lo = *std::min_element(x.v.begin(), x.v.end()), hi = *std::max_element(x.v.begin(), x.v.end());
  }
  float s = qscale(ot, lo, hi);
  for (int64_t i = 0; i < x.numel(); ++i) c.out[0].v[i] = sat(static_cast<float>(x.v[i] * s), ot);
  float r = max_abs(lo, hi);
  c.out[1].v[0] = ot == DType::u8 ? lo : -r;
  c.out[2].v[0] = ot == DType::u8 ? hi : r;
}

void dequantize(Ctx& c) {
  float r = max_abs(c.in[1].v[0], c.in[2].v[0]);
  DType t = c.in_dtypes[0];
  double s = t == DType::i32 ? r / 2147483647.0f : r / (t == DType::u8 ? 255.5f : 127.5f);
  for (int64_t i = 0; i < c.in[0].numel(); ++i) c.out[0].v[i] = c.in[0].v[i] * static_cast<float>(s);
}

void requantize(Ctx& c) {
  const Arr& x = c.in[0];
  float in_real = max_abs(c.in[1].v[0], c.in[2].v[0]);
  float real;
  if (calibrated(c.a)) {
    real = max_abs(c.a.f("min_calib_range"), c.a.f("max_calib_range"));
  } else {
    double lo = *std::min_element(x.v.begin(), x.v.end()), hi = *std::max_element(x.v.begin(), x.v.end());
    real = max_abs(lo, hi) * in_real / 2147483647.0f;
  }
  DType ot = c.out_dtypes[0];
  float s = (in_real / 2147483647.0f) * ((ot == DType::u8 ? 255.0f : 127.0f) / real);
  for (int64_t i = 0; i < x.numel(); ++i) c.out[0].v[i] = sat(static_cast<float>(x.v[i]) * s, ot);
  c.out[1].v[0] = ot == DType::u8 ? 0.0 : -real;
  c.out[2].v[0] = real;
}

// y[n, o, p] = sum w[o, i, k] x[n, g*Cg + i, window(p, k)] (2-D or 1-D, NC(H)W).
void conv_accumulate(const Ctx& c, const Arr& x, const std::vector<double>& w, int64_t O, Arr& y) {
  const AttrView& a = c.a;
  const auto& k = a.tuple("kernel");
  const int nk = static_cast<int>(k.size());
  auto per = [&](const char* n, int64_t d) {
    std::vector<int64_t> v = a.tuple(n);
    if (v.empty()) v.assign(nk, d);
    return v;
  };
  auto st = per("stride", 1), pd = per("pad", 0), dl = per("dilate", 1);
  const int64_t N = x.shape[0], C = x.shape[1], G = a.i("num_group"), Cg = C / G, Og = O / G;
  const int64_t H = x.shape[2], W = nk == 2 ? x.shape[3] : 1, OH = y.shape[2], OW = nk == 2 ? y.shape[3] : 1;
  const int64_t KH = k[0], KW = nk == 2 ? k[1] : 1;
  const int64_t sh = st[0], sw = nk == 2 ? st[1] : 1, ph = pd[0], pw = nk == 2 ? pd[1] : 0;
  const int64_t dh = dl[0], dw = nk == 2 ? dl[1] : 1;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double acc = 0;
          const int64_t g = o / Og;
          for (int64_t i = 0; i < Cg; ++i)
            for (int64_t kh = 0; kh < KH; ++kh)
              for (int64_t kw = 0; kw < KW; ++kw) {
                int64_t ih = oh * sh - ph + kh * dh, iw = ow * sw - pw + kw * dw;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                acc += w[((o * Cg + i) * KH + kh) * KW + kw] * x.v[((n * C + g * Cg + i) * H + ih) * W + iw];
              }
          y.v[((n * O + o) * OH + oh) * OW + ow] = acc;
        }
}

void sg_conv(Ctx& c) {
  const AttrView& a = c.a;
  Names names = c.node.op->input_names(a);
  auto in = [&](const std::string& n) -> const Arr* {
    auto it = std::find(names.begin(), names.end(), n);
    return it == names.end() ? nullptr : &c.in[it - names.begin()];
  };
  const Arr& x = c.in[0];
  const Arr& w = *in("weight");
  const int64_t O = a.i("num_filter"), per = w.numel() / O;
  // BatchNorm folded into float32 weights and bias (MXNet's UpdateConvWeightBias).
  std::vector<float> wf(w.v.begin(), w.v.end()), bf(O, 0.0f);
  if (const Arr* b = in("bias")) std::copy(b->v.begin(), b->v.end(), bf.begin());
  const bool has_bias = in("bias") || a.b("with_bn");
  if (a.b("with_bn")) {
    for (int64_t o = 0; o < O; ++o) {
      float alpha = (a.b("fix_gamma") ? 1.0f : static_cast<float>(in("gamma")->v[o])) /
                    std::sqrt(static_cast<float>(in("var")->v[o]) + static_cast<float>(a.f("eps")));
      bf[o] = static_cast<float>(in("beta")->v[o]) + alpha * (bf[o] - static_cast<float>(in("mean")->v[o]));
      for (int64_t k = 0; k < per; ++k) wf[o * per + k] *= alpha;
    }
  }
  Arr& y = c.out[0];
  auto relu = [](double v) { return std::max(0.0, v); };
  const Arr* sum = in("sum");
  if (!a.b("quantized")) {
    conv_accumulate(c, x, std::vector<double>(wf.begin(), wf.end()), O, y);
    const int64_t sp = y.numel() / (y.shape[0] * O);
    for (int64_t i = 0; i < y.numel(); ++i) {
      double v = y.v[i] + bf[(i / sp) % O];
      if (a.b("with_act")) v = relu(v);
      if (sum) v += sum->v[i];
      if (a.b("with_postsum_act")) v = relu(v);
      y.v[i] = v;
    }
    return;
  }
  DType dt = c.in_dtypes[0], ot = c.out_dtypes[0];
  const float dmin = static_cast<float>(in("data_min")->v[0]), dmax = static_cast<float>(in("data_max")->v[0]);
  const float dscale = qscale(dt, dmin, dmax);
  std::vector<float> wscale;
  float output_scale;
  std::vector<double> oscale(O, 1.0);
  if (calibrated(a)) {
    for (int64_t o = 0; o < O; ++o) {
      auto [lo, hi] = std::minmax_element(wf.begin() + o * per, wf.begin() + (o + 1) * per);
      float s = qscale(DType::i8, *lo, *hi);
      if (has_bias && bf[o] != 0)
        s = std::min(s, static_cast<float>(bf[o] > 0 ? 2147483647.0 : -2147483648.0) / 2 / bf[o] / dscale);
      wscale.push_back(s);
    }
    output_scale = qscale(ot == DType::u8 ? DType::u8 : DType::i8, a.f("min_calib_range"), a.f("max_calib_range"));
    for (int64_t o = 0; o < O; ++o) oscale[o] = output_scale / dscale / wscale[o];
    c.out[1].v[0] = static_cast<float>(a.f("min_calib_range"));
    c.out[2].v[0] = static_cast<float>(a.f("max_calib_range"));
  } else {
    auto [lo, hi] = std::minmax_element(wf.begin(), wf.end());
    wscale.assign(O, qscale(DType::i8, *lo, *hi));
    float wl = max_abs(*lo, *hi) / 127.0f, dl = max_abs(dmin, dmax) / (dt == DType::i8 ? 127.0f : 255.0f);
    c.out[2].v[0] = wl * dl * 2147483647.0f;
    c.out[1].v[0] = -c.out[2].v[0];
    output_scale = dscale * wscale[0];
  }
  std::vector<double> wq(wf.size());
  for (int64_t o = 0; o < O; ++o)
    for (int64_t k = 0; k < per; ++k) wq[o * per + k] = sat(static_cast<float>(wf[o * per + k] * wscale[o]), DType::i8);
  conv_accumulate(c, x, wq, O, y);
  double sum_scale = 1;
  if (sum) sum_scale = output_scale / qscale(c.in_dtypes[std::find(names.begin(), names.end(), "sum") - names.begin()],
                                             in("sum_min")->v[0], in("sum_max")->v[0]);
  const int64_t sp = y.numel() / (y.shape[0] * O);
  for (int64_t i = 0; i < y.numel(); ++i) {
    const int64_t o = (i / sp) % O;
    double bias = has_bias ? sat(static_cast<double>(bf[o]) * dscale * wscale[o], DType::i32) : 0.0;
    double v = (y.v[i] + bias) * oscale[o];
    if (a.b("with_act")) v = relu(v);
    if (sum) v += sum_scale * sum->v[i];
    if (a.b("with_postsum_act")) v = relu(v);
    y.v[i] = sat(v, ot);
  }
}

void sg_fc(Ctx& c) {
  const AttrView& a = c.a;
  const Arr& x = c.in[0];
  const Arr& w = c.in[1];
  const int64_t N = a.i("num_hidden"), K = w.numel() / N, M = x.numel() / K;
  const bool has_bias = !a.b("no_bias");
  const Arr* b = has_bias ? &c.in[2] : nullptr;
  Arr& y = c.out[0];
  if (!a.b("quantized")) {
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double acc = b ? b->v[n] : 0.0;
        for (int64_t k = 0; k < K; ++k) acc += x.v[m * K + k] * w.v[n * K + k];
        y.v[m * N + n] = a.b("with_eltwise") ? std::max(0.0, acc) : acc;
      }
    return;
  }
  const bool channel_wise = !a.is_none("channel_wise_quantize") && a.b("channel_wise_quantize");
  const size_t mk = has_bias ? 3 : 2;
  const float dmin = static_cast<float>(c.in[mk].v[0]), dmax = static_cast<float>(c.in[mk + 1].v[0]);
  const float dscale = qscale(c.in_dtypes[0], dmin, dmax);
  DType ot = c.out_dtypes[0];
  const bool flt = a.b("enable_float_output");
  float tmp = 1.0f / dscale;  // the output scale times the weight scale
  bool raw = false;           // the int32 accumulator itself (uncalibrated, int8 weights)
  if (!flt) {
    if (calibrated(a)) {
      tmp = qscale(ot == DType::u8 ? DType::u8 : DType::i8, a.f("min_calib_range"), a.f("max_calib_range")) / dscale;
      c.out[1].v[0] = static_cast<float>(a.f("min_calib_range"));
      c.out[2].v[0] = static_cast<float>(a.f("max_calib_range"));
    } else if (channel_wise) {
      c.fail("channel-wise quantization needs a calibrated or float output");
    } else {
      raw = true;
    }
  }
  // Per output channel: the int8 weights, the int32 bias and the weight scale.
  std::vector<double> wq(w.v.size()), bias(N, 0.0);
  std::vector<float> wscale(N);
  if (channel_wise) {
    for (int64_t n = 0; n < N; ++n) {
      auto [lo, hi] = std::minmax_element(w.v.begin() + n * K, w.v.begin() + (n + 1) * K);
      float s = qscale(DType::i8, *lo, *hi);
      if (b && b->v[n] != 0)
        s = std::min(s, static_cast<float>(b->v[n] > 0 ? 2147483647.0 : -2147483648.0) / 2 / static_cast<float>(b->v[n]) / dscale);
      wscale[n] = s;
      bias[n] = b ? sat(b->v[n] * dscale * s, DType::i32) : 0.0;
      for (int64_t k = 0; k < K; ++k) wq[n * K + k] = sat(static_cast<float>(w.v[n * K + k] * s), DType::i8);
    }
  } else {  // int8 weight and bias with their ranges (MXNet's SgMKLDNNFCOp, one weight scale)
    const float wmin = static_cast<float>(c.in[mk + 2].v[0]), wmax = static_cast<float>(c.in[mk + 3].v[0]);
    float s = qscale(DType::i8, wmin, wmax);
    wq = w.v;
    if (b) {
      const float bmin = static_cast<float>(c.in[mk + 4].v[0]), bmax = static_cast<float>(c.in[mk + 5].v[0]);
      const float bscale = qscale(DType::i8, bmin, bmax);
      float rescale = dscale * s / bscale;
      const float limit = 2147483647.0f / 2 / max_abs(bmin, bmax) / bscale;
      if (rescale > limit) {  // keep the bias clear of INT_MAX / 2: scale the weights down
        rescale = limit;
        const float wr = rescale * bscale / dscale / s;
        for (double& v : wq) v = std::round(static_cast<float>(v) * wr);
        s *= wr;
      }
      for (int64_t n = 0; n < N; ++n) bias[n] = std::round(static_cast<float>(b->v[n]) * rescale);
    }
    wscale.assign(N, s);
    if (raw) {  // MXNet's QuantizationRangeForMultiplication
      float wl = max_abs(wmin, wmax) / 127.0f, dl = max_abs(dmin, dmax) / (c.in_dtypes[0] == DType::i8 ? 127.0f : 255.0f);
      c.out[2].v[0] = wl * dl * 2147483647.0f;
      c.out[1].v[0] = -c.out[2].v[0];
    }
  }
  for (int64_t n = 0; n < N; ++n) {
    const double os = raw ? 1.0 : static_cast<double>(tmp / wscale[n]);
    for (int64_t m = 0; m < M; ++m) {
      double acc = bias[n];
      for (int64_t k = 0; k < K; ++k) acc += x.v[m * K + k] * wq[n * K + k];
      double v = acc * os;
      if (a.b("with_eltwise")) v = std::max(0.0, v);
      y.v[m * N + n] = flt ? v : sat(v, ot);
    }
  }
}

}  // namespace

void add_quantization_kernels(KernelTable& t) {
  t.add("_contrib_quantize_v2", quantize_v2);
  t.add("_contrib_dequantize", dequantize);
  t.add("_contrib_requantize", requantize);
  t.add("_sg_mkldnn_conv", sg_conv);
  t.add("_sg_mkldnn_fully_connected", sg_fc);
}

}  // namespace hgc::ref
