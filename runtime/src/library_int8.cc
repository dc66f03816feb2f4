// int8 library calls (library_int8.h): quantize/dequantize/requantize as loops, the fused
// convolution and inner product as oneDNN primitives.
#include "hgc/runtime/library_int8.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>

#include "gemm.h"
#include "int8_util.h"
#include "hgc/base/error.h"
#include "hgc/runtime/library_call.h"
#include "onednn_util.h"

namespace hgc::lib {

namespace {

using dnnl::memory;
constexpr int kF32 = 0, kU8 = 3, kI32 = 4, kI8 = 5;
constexpr float kInt8Range = 127.5f, kUint8Range = 255.5f;

float max_abs(float a, float b) { return std::max(std::fabs(a), std::fabs(b)); }

// MXNet's GetQuantizeScale.
float quantize_scale(int dtype, float lo, float hi) {
  float r = max_abs(lo, hi);
  return r != 0 ? (dtype == kI8 ? kInt8Range : kUint8Range) / r : static_cast<float>(std::numeric_limits<int32_t>::max());
}

int32_t saturate_i32(double v) {
  v = std::nearbyint(v);
  if (v <= std::numeric_limits<int32_t>::min()) return std::numeric_limits<int32_t>::min();
  if (v >= std::numeric_limits<int32_t>::max()) return std::numeric_limits<int32_t>::max();
  return static_cast<int32_t>(v);
}

memory::data_type dnnl_type(int code) {
  switch (code) {
    case kF32: return memory::data_type::f32;
    case kU8: return memory::data_type::u8;
    case kI8: return memory::data_type::s8;
    case kI32: return memory::data_type::s32;
    default: fail("runtime", "int8 library call: unsupported dtype code ", code);
  }
}

// The quantization ranges of a product of int8 operands (MXNet's
// QuantizationRangeForMultiplication over int32 accumulators).
void product_range(int data_dtype, float dmin, float dmax, float wmin, float wmax, float* lo, float* hi) {
  const float wlevel = max_abs(wmin, wmax) / 127.0f;
  const float dlevel = max_abs(dmin, dmax) / (data_dtype == kI8 ? 127.0f : 255.0f);
  *hi = wlevel * dlevel * static_cast<float>(std::numeric_limits<int32_t>::max());
  *lo = -*hi;
}

// A cached oneDNN primitive with the reorders between plain user layouts and its own.
struct Prim {
  dnnl::primitive prim;
  memory::desc src, wei, dst, bias;        // the primitive's
  memory::desc user_src, user_wei, user_dst;  // plain
  size_t scratch_bytes = 0;
};

std::mutex cache_mu;
std::map<std::vector<int64_t>, std::shared_ptr<Prim>>& cache() {
  static auto* c = new std::map<std::vector<int64_t>, std::shared_ptr<Prim>>();  // alive until exit
  return *c;
}

// `user` bytes in the layout `want` (a reorder into `buf` when they differ).
void* to_layout(const memory::desc& user, const memory::desc& want, void* ptr, detail::AlignedScratch& buf) {
  if (user == want) return ptr;
  const dnnl::engine& eng = detail::onednn_engine();
  memory from(user, eng, ptr), to(want, eng, buf.get(want.get_size()));
  dnnl::reorder(from, to).execute(detail::onednn_stream(), from, to);
  return to.get_data_handle();
}

}  // namespace

ConvFlags ConvFlags::read(const int64_t* q) {
  ConvFlags f;
  f.quantized = q[0], f.data_dtype = static_cast<int>(q[1]), f.out_dtype = static_cast<int>(q[2]);
  f.sum_dtype = static_cast<int>(q[3]), f.with_bn = q[4], f.fix_gamma = q[5], f.with_act = q[6];
  f.with_sum = q[7], f.with_postsum_act = q[8], f.eps = param_float(q[9]), f.has_calib = q[10];
  f.min_calib = param_float(q[11]), f.max_calib = param_float(q[12]);
  return f;
}
void ConvFlags::write(std::vector<int64_t>& q) const {
  q.insert(q.end(), {quantized, data_dtype, out_dtype, sum_dtype, with_bn, fix_gamma, with_act, with_sum,
                     with_postsum_act, float_param(eps), has_calib, float_param(min_calib), float_param(max_calib)});
}
FcFlags FcFlags::read(const int64_t* q) {
  FcFlags f;
  f.quantized = q[0], f.data_dtype = static_cast<int>(q[1]), f.out_dtype = static_cast<int>(q[2]);
  f.with_relu = q[3], f.has_calib = q[4], f.float_output = q[5];
  f.min_calib = param_float(q[6]), f.max_calib = param_float(q[7]);
  f.int8_weights = q[8];
  return f;
}
void FcFlags::write(std::vector<int64_t>& q) const {
  q.insert(q.end(), {quantized, data_dtype, out_dtype, with_relu, has_calib, float_output, float_param(min_calib),
                     float_param(max_calib), int8_weights});
}

// ---- quantize / dequantize / requantize ----

void quantize_v2(const QuantParams& p, const void* x, void* y, float* y_min, float* y_max) {
  const int64_t n = p.n;
  if (p.in_dtype == kI8 || p.in_dtype == kU8) {  // already quantized: passed through
    std::memcpy(y, x, static_cast<size_t>(n));
    *y_min = p.has_calib ? p.min_calib : p.in_dtype == kU8 ? 0.0f : -kInt8Range;
    *y_max = p.has_calib ? p.max_calib : p.in_dtype == kU8 ? kUint8Range : kInt8Range;
    return;
  }
  const float* in = static_cast<const float*>(x);
  float lo = p.min_calib, hi = p.max_calib;
  if (!p.has_calib) {  // not calibrated: the data's own range
    lo = std::numeric_limits<float>::max(), hi = std::numeric_limits<float>::lowest();
    for (int64_t i = 0; i < n; ++i) lo = std::min(lo, in[i]), hi = std::max(hi, in[i]);
  }
  const float real = max_abs(lo, hi);
  const float scale = p.out_dtype == kU8 ? kUint8Range / real : kInt8Range / real;
  if (p.out_dtype == kU8) {
    auto* out = static_cast<uint8_t*>(y);
    for (int64_t i = 0; i < n; ++i) out[i] = saturate<uint8_t>(in[i] * scale);
    *y_min = lo, *y_max = hi;
  } else {
    auto* out = static_cast<int8_t*>(y);
    for (int64_t i = 0; i < n; ++i) out[i] = saturate<int8_t>(in[i] * scale);
    *y_min = -real, *y_max = real;
  }
}

void dequantize(int64_t n, int in_dtype, const void* x, const float* min, const float* max, float* y) {
  const float real = max_abs(*min, *max);
  if (in_dtype == kI32) {  // MXNet's QuantizedToFloat<int32_t>
    const float scale = real / static_cast<float>(std::numeric_limits<int32_t>::max());
    const auto* in = static_cast<const int32_t*>(x);
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(in[i]) * scale;
    return;
  }
  const float scale = real / (in_dtype == kU8 ? kUint8Range : kInt8Range);
  if (in_dtype == kU8) {
    const auto* in = static_cast<const uint8_t*>(x);
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(in[i]) * scale;
  } else {
    const auto* in = static_cast<const int8_t*>(x);
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(in[i]) * scale;
  }
}

void requantize(const QuantParams& p, const int32_t* x, const float* min, const float* max, void* y, float* y_min,
                float* y_max) {
  const float src_range = static_cast<float>(std::numeric_limits<int32_t>::max());
  const float in_real = max_abs(*min, *max);
  float real;
  if (p.has_calib) {
    real = max_abs(p.min_calib, p.max_calib);
  } else {  // the data's own range
    int32_t lo = std::numeric_limits<int32_t>::max(), hi = std::numeric_limits<int32_t>::min();
    for (int64_t i = 0; i < p.n; ++i) lo = std::min(lo, x[i]), hi = std::max(hi, x[i]);
    real = max_abs(static_cast<float>(lo), static_cast<float>(hi)) * in_real / src_range;
  }
  const bool u8 = p.out_dtype == kU8;
  const float scale = (in_real / src_range) * ((u8 ? 255.0f : 127.0f) / real);
  *y_min = u8 ? 0.0f : -real, *y_max = real;
  for (int64_t i = 0; i < p.n; ++i) {
    float v = static_cast<float>(x[i]) * scale;
    if (u8) static_cast<uint8_t*>(y)[i] = saturate<uint8_t>(v);
    else static_cast<int8_t*>(y)[i] = saturate<int8_t>(v);
  }
}

// ---- the fused convolution ----

namespace {

// Folds BatchNorm into the weights and bias (MXNet's UpdateConvWeightBias).
void fold(const ConvShape& s, const ConvFlags& f, const float* w, const float* b, const float* gamma,
          const float* beta, const float* mean, const float* var, std::vector<float>& wf, std::vector<float>& bf) {
  const int64_t per = static_cast<int64_t>(wf.size()) / s.O;
  std::copy(w, w + wf.size(), wf.begin());
  for (int64_t o = 0; o < s.O; ++o) bf[o] = b ? b[o] : 0.0f;
  if (!f.with_bn) return;
  for (int64_t o = 0; o < s.O; ++o) {
    float alpha = (f.fix_gamma ? 1.0f : gamma[o]) / std::sqrt(var[o] + f.eps);
    bf[o] = beta[o] + alpha * (bf[o] - mean[o]);
    for (int64_t k = 0; k < per; ++k) wf[o * per + k] *= alpha;
  }
}

memory::dims spatial(const ConvShape& s, const int64_t* v) {
  return s.nsp == 1 ? memory::dims{v[0]} : memory::dims{v[0], v[1]};
}

std::shared_ptr<Prim> build_conv(const ConvShape& s, const ConvFlags& f, bool bias, int out_dt,
                                 const std::vector<float>& oscales, float sum_scale) {
  auto p = std::make_shared<Prim>();
  const bool q = f.quantized;
  const auto src_t = q ? dnnl_type(f.data_dtype) : memory::data_type::f32;
  const auto wei_t = q ? memory::data_type::s8 : memory::data_type::f32;
  const auto dst_t = dnnl_type(out_dt);
  const auto bias_t = q ? memory::data_type::s32 : memory::data_type::f32;
  memory::dims src{s.N, s.C}, dst{s.N, s.O}, wei;
  for (memory::dim d : spatial(s, s.in)) src.push_back(d);
  for (memory::dim d : spatial(s, s.out)) dst.push_back(d);
  if (s.groups > 1) wei = {s.groups, s.O / s.groups, s.C / s.groups};
  else wei = {s.O, s.C};
  for (memory::dim d : spatial(s, s.k)) wei.push_back(d);
  const bool two = s.nsp == 2;
  using tag = memory::format_tag;
  p->user_src = memory::desc(src, src_t, two ? tag::nchw : tag::ncw);
  p->user_dst = memory::desc(dst, dst_t, two ? tag::nchw : tag::ncw);
  p->user_wei = memory::desc(wei, wei_t, s.groups > 1 ? (two ? tag::goihw : tag::goiw) : (two ? tag::oihw : tag::oiw));
  memory::dims strides = spatial(s, s.stride), pad = spatial(s, s.pad), dil = spatial(s, s.dilate);
  for (auto& d : dil) d -= 1;  // oneDNN counts the gaps
  memory::dims pad_r = pad;
  for (int d = 0; d < s.nsp; ++d)  // the right padding that makes the output size come out
    pad_r[d] = (s.out[d] - 1) * s.stride[d] + (s.k[d] - 1) * s.dilate[d] + 1 - s.in[d] - s.pad[d];
  memory::desc any_src(src, src_t, tag::any), any_dst(dst, dst_t, tag::any), any_wei(wei, wei_t, tag::any);
  memory::desc bias_md = bias ? memory::desc({s.O}, bias_t, tag::x) : memory::desc();
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, any_src,
                                    any_wei, bias_md, any_dst, strides, dil, pad, pad_r);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (!oscales.empty()) attr.set_output_scales(oscales.size() == 1 ? 0 : 2, oscales);
  dnnl::post_ops po;
  if (f.with_act) po.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
  if (f.with_sum) po.append_sum(sum_scale, q ? dnnl_type(f.sum_dtype) : memory::data_type::undef);
  if (f.with_postsum_act) po.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
  attr.set_post_ops(po);
  dnnl::convolution_forward::primitive_desc pd(d, attr, detail::onednn_engine());
  p->src = pd.src_desc(), p->wei = pd.weights_desc(), p->dst = pd.dst_desc(), p->bias = bias_md;
  p->scratch_bytes = pd.scratchpad_desc().get_size();
  p->prim = dnnl::convolution_forward(pd);
  return p;
}

std::shared_ptr<Prim> cached(std::vector<int64_t> key, const std::function<std::shared_ptr<Prim>()>& make,
                             const char* what) {
  std::lock_guard<std::mutex> lock(cache_mu);
  auto it = cache().find(key);
  if (it == cache().end()) {
    try {
      it = cache().emplace(std::move(key), make()).first;
    } catch (const dnnl::error& e) {
      fail("runtime", "oneDNN rejects the ", what, ": ", e.what());
    }
  }
  return it->second;
}

// What a fused layer derives from its parameters: folded float weights, their int8 form with
// the int32 bias, the output scales and ranges.
struct Prepared {
  std::vector<float> sig;  // the parameters and input ranges it was made from
  std::vector<float> wf, bf, oscales;
  std::vector<int8_t> wq;
  std::vector<int32_t> bq;
  float sum_scale = 1.0f, omin = 0, omax = 0;
};

// The bits of `v` appended to a signature (compared with memcmp, never as numbers).
void append_bits(std::vector<float>& sig, const std::vector<int64_t>& v) {
  size_t at = sig.size();
  sig.resize(at + 2 * v.size());
  std::memcpy(sig.data() + at, v.data(), v.size() * sizeof(int64_t));
}

std::shared_ptr<const Prepared> prepared(const void* key, std::vector<float>& sig,
                                         const std::function<void(Prepared&)>& make) {
  static std::mutex mu;
  static auto* cache = new std::map<const void*, std::shared_ptr<const Prepared>>();  // alive until exit
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache->find(key);
    if (it != cache->end() && it->second->sig.size() == sig.size() &&
        std::memcmp(it->second->sig.data(), sig.data(), sig.size() * sizeof(float)) == 0)
      return it->second;
  }
  auto p = std::make_shared<Prepared>();
  make(*p);
  p->sig = std::move(sig);
  std::lock_guard<std::mutex> lock(mu);
  (*cache)[key] = p;
  return p;
}

}  // namespace

void int8_conv(const ConvShape& s, bool conv_bias, const ConvFlags& f, const std::vector<void*>& ptrs) {
  size_t k = 0;
  void* data = ptrs[k++];
  const auto* w = static_cast<const float*>(ptrs[k++]);
  const float* b = conv_bias ? static_cast<const float*>(ptrs[k++]) : nullptr;
  const float *gamma = nullptr, *beta = nullptr, *mean = nullptr, *var = nullptr;
  if (f.with_bn) {
    gamma = static_cast<const float*>(ptrs[k++]), beta = static_cast<const float*>(ptrs[k++]);
    mean = static_cast<const float*>(ptrs[k++]), var = static_cast<const float*>(ptrs[k++]);
  }
  void* sum = f.with_sum ? ptrs[k++] : nullptr;
  float dmin = 0, dmax = 0, smin = 0, smax = 0;
  if (f.quantized) {
    dmin = *static_cast<const float*>(ptrs[k++]), dmax = *static_cast<const float*>(ptrs[k++]);
    if (f.with_sum) smin = *static_cast<const float*>(ptrs[k++]), smax = *static_cast<const float*>(ptrs[k++]);
  }
  void* out = ptrs[k++];
  float* out_min = f.quantized ? static_cast<float*>(ptrs[k++]) : nullptr;
  float* out_max = f.quantized ? static_cast<float*>(ptrs[k++]) : nullptr;

  const int64_t per = (s.C / s.groups) * s.k[0] * (s.nsp == 2 ? s.k[1] : 1);
  const bool has_bias = conv_bias || f.with_bn;
  const int out_dt = f.quantized ? f.out_dtype : kF32;
  // Folded and quantized weights are kept per weight buffer while the parameters and input
  // ranges they came from stay the same (MXNet keys its cache on the weights' version).
  std::vector<float> sig(w, w + s.O * per);
  for (const float* v : {b, gamma, beta, mean, var})
    if (v) sig.insert(sig.end(), v, v + s.O);
  sig.insert(sig.end(), {dmin, dmax, smin, smax});
  std::vector<int64_t> flags{s.O, per, conv_bias};
  f.write(flags);
  append_bits(sig, flags);
  std::shared_ptr<const Prepared> prep = prepared(w, sig, [&](Prepared& P) {
    std::vector<float>& wf = P.wf;
    std::vector<float>& bf = P.bf;
    wf.resize(static_cast<size_t>(s.O * per)), bf.resize(static_cast<size_t>(s.O));
    fold(s, f, w, b, gamma, beta, mean, var, wf, bf);

    std::vector<float> wscale;
    std::vector<float>& oscales = P.oscales;
    float& sum_scale = P.sum_scale;
    std::vector<int8_t>& wq = P.wq;
    std::vector<int32_t>& bq = P.bq;
    float* out_min = &P.omin;
    float* out_max = &P.omax;
    if (f.quantized) {
      const float dscale = quantize_scale(f.data_dtype, dmin, dmax);
      std::vector<float> cmin(s.O), cmax(s.O);
      for (int64_t o = 0; o < s.O; ++o) {
        auto [lo, hi] = std::minmax_element(wf.begin() + o * per, wf.begin() + (o + 1) * per);
        cmin[o] = *lo, cmax[o] = *hi;
      }
      float output_scale;
      if (f.has_calib) {  // channel-wise weight scales, requantized output
        wscale.resize(s.O);
        for (int64_t o = 0; o < s.O; ++o) {
          float sc = quantize_scale(kI8, cmin[o], cmax[o]);
          if (has_bias && bf[o] != 0) {  // keep the int32 bias clear of overflow (MXNet: INT_MAX / 2)
            float lim = static_cast<float>(bf[o] > 0 ? std::numeric_limits<int32_t>::max()
                                                     : std::numeric_limits<int32_t>::min()) / 2 / bf[o] / dscale;
            sc = std::min(sc, lim);
          }
          wscale[o] = sc;
        }
        output_scale = quantize_scale(f.out_dtype == kU8 ? kU8 : kI8, f.min_calib, f.max_calib);
        for (int64_t o = 0; o < s.O; ++o) oscales.push_back(output_scale / dscale / wscale[o]);
        *out_min = f.min_calib, *out_max = f.max_calib;
      } else {  // one weight scale, int32 output
        float lo = *std::min_element(cmin.begin(), cmin.end()), hi = *std::max_element(cmax.begin(), cmax.end());
        wscale.assign(1, quantize_scale(kI8, lo, hi));
        product_range(f.data_dtype, dmin, dmax, lo, hi, out_min, out_max);
        output_scale = dscale * wscale[0];
      }
      if (f.with_sum) sum_scale = output_scale / quantize_scale(f.sum_dtype, smin, smax);
      wq.resize(wf.size());
      for (int64_t o = 0; o < s.O; ++o) {
        float sc = wscale[wscale.size() == 1 ? 0 : o];
        for (int64_t i = 0; i < per; ++i) wq[o * per + i] = saturate<int8_t>(wf[o * per + i] * sc);
        if (has_bias) bq.push_back(saturate_i32(static_cast<double>(bf[o]) * dscale * sc));
      }
    }
  });
  const std::vector<float>& wf = prep->wf;
  const std::vector<float>& bf = prep->bf;
  const std::vector<float>& oscales = prep->oscales;
  const std::vector<int8_t>& wq = prep->wq;
  const std::vector<int32_t>& bq = prep->bq;
  const float sum_scale = prep->sum_scale;
  if (f.quantized) *out_min = prep->omin, *out_max = prep->omax;

  std::vector<int64_t> key{1, s.nsp, s.N, s.C, s.O, s.groups, has_bias, out_dt};
  for (int d = 0; d < 2; ++d) key.insert(key.end(), {s.in[d], s.out[d], s.k[d], s.stride[d], s.pad[d], s.dilate[d]});
  f.write(key);
  key.push_back(float_param(sum_scale));
  for (float v : oscales) key.push_back(float_param(v));
  auto p = cached(std::move(key), [&] { return build_conv(s, f, has_bias, out_dt, oscales, sum_scale); },
                  "int8 convolution");

  const int64_t macs = s.N * s.O * per * s.out[0] * (s.nsp == 2 ? s.out[1] : 1);
  detail::dnnl_use_threads_for(macs);
  thread_local detail::AlignedScratch src_buf, wei_buf, dst_buf, scratch;
  const dnnl::engine& eng = detail::onednn_engine();
  dnnl::stream& stream = detail::onednn_stream();
  void* wptr = f.quantized ? static_cast<void*>(const_cast<int8_t*>(wq.data())) : static_cast<void*>(const_cast<float*>(wf.data()));
  void* bptr = f.quantized ? static_cast<void*>(const_cast<int32_t*>(bq.data())) : const_cast<float*>(bf.data());
  void* src_p = to_layout(p->user_src, p->src, data, src_buf);
  void* wei_p = to_layout(p->user_wei, p->wei, wptr, wei_buf);
  void* dst_p = p->dst == p->user_dst ? out : dst_buf.get(p->dst.get_size());
  if (sum) {  // the sum post-op reads the destination: start it from the sum input
    // Same layout as dst; a quantized sum keeps its own 1-byte dtype (the post-op reads it so).
    memory::desc sum_user = p->user_dst, sum_want = p->dst;
    if (f.quantized) {
      sum_user.data.data_type = static_cast<dnnl_data_type_t>(dnnl_type(f.sum_dtype));
      sum_want.data.data_type = static_cast<dnnl_data_type_t>(dnnl_type(f.sum_dtype));
    }
    memory from(sum_user, eng, sum), to(sum_want, eng, dst_p);
    if (sum_user == sum_want) std::memcpy(dst_p, sum, sum_user.get_size());
    else dnnl::reorder(from, to).execute(stream, from, to);
  }
  memory sm(memory::desc({static_cast<memory::dim>(p->scratch_bytes)}, memory::data_type::u8, memory::dims{1}), eng,
            scratch.get(p->scratch_bytes));
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, memory(p->src, eng, src_p)},
                                       {DNNL_ARG_WEIGHTS, memory(p->wei, eng, wei_p)},
                                       {DNNL_ARG_DST, memory(p->dst, eng, dst_p)},
                                       {DNNL_ARG_SCRATCHPAD, sm}};
  if (has_bias) args.emplace(DNNL_ARG_BIAS, memory(p->bias, eng, bptr));
  p->prim.execute(stream, args);
  if (dst_p != out) {
    memory from(p->dst, eng, dst_p), to(p->user_dst, eng, out);
    dnnl::reorder(from, to).execute(stream, from, to);
  }
  stream.wait();
}

// ---- the fused inner product (a oneDNN matmul on plain layouts) ----

namespace {

// MXNet's SgMKLDNNFCOp for int8 weights and bias with their ranges (channel_wise_quantize
// unset or False): one weight scale; the int8 bias is rescaled to the int32 accumulator's
// steps (std::round, half away from zero) and, where that would pass INT_MAX / 2, the
// weights are scaled down instead. Uncalibrated, the output is the raw int32 accumulator
// with MXNet's QuantizationRangeForMultiplication range.
void prepare_int8_weights(int64_t M, int64_t N, int64_t K, const FcFlags& f, const int8_t* w, const int8_t* b,
                          std::array<float, 6> r, Prepared& P) {
  (void)M;
  const auto [dmin, dmax, wmin, wmax, bmin, bmax] = r;
  const float dscale = quantize_scale(f.data_dtype, dmin, dmax);
  float wscale = quantize_scale(kI8, wmin, wmax);
  P.wq.assign(w, w + N * K);
  if (b) {
    const float bscale = quantize_scale(kI8, bmin, bmax);
    float rescale = dscale * wscale / bscale;
    const float limit = static_cast<float>(std::numeric_limits<int32_t>::max()) / 2 / max_abs(bmin, bmax) / bscale;
    if (rescale > limit) {
      rescale = limit;
      const float wrescale = rescale * bscale / dscale / wscale;
      for (int8_t& v : P.wq) v = static_cast<int8_t>(std::round(v * wrescale));
      wscale *= wrescale;
    }
    for (int64_t o = 0; o < N; ++o) P.bq.push_back(static_cast<int32_t>(std::round(b[o] * rescale)));
  }
  if (f.float_output) {
    P.oscales.push_back(1.0f / dscale / wscale);
  } else if (f.has_calib) {
    P.oscales.push_back(quantize_scale(f.out_dtype == kU8 ? kU8 : kI8, f.min_calib, f.max_calib) / dscale / wscale);
    P.omin = f.min_calib, P.omax = f.max_calib;
  } else {
    product_range(f.data_dtype, dmin, dmax, wmin, wmax, &P.omin, &P.omax);
  }
}

}  // namespace

void int8_fc(int64_t M, int64_t N, int64_t K, bool has_bias, const FcFlags& f, const std::vector<void*>& ptrs) {
  size_t k = 0;
  void* data = ptrs[k++];
  const void* wraw = ptrs[k++];
  const void* braw = has_bias ? ptrs[k++] : nullptr;
  const auto* w = static_cast<const float*>(wraw);
  const float* b = static_cast<const float*>(braw);
  float dmin = 0, dmax = 0, wmin = 0, wmax = 0, bmin = 0, bmax = 0;
  if (f.quantized) dmin = *static_cast<const float*>(ptrs[k++]), dmax = *static_cast<const float*>(ptrs[k++]);
  if (f.int8_weights) {
    wmin = *static_cast<const float*>(ptrs[k++]), wmax = *static_cast<const float*>(ptrs[k++]);
    if (has_bias) bmin = *static_cast<const float*>(ptrs[k++]), bmax = *static_cast<const float*>(ptrs[k++]);
  }
  void* out = ptrs[k++];
  float* out_min = f.quantized && !f.float_output ? static_cast<float*>(ptrs[k++]) : nullptr;
  float* out_max = f.quantized && !f.float_output ? static_cast<float*>(ptrs[k++]) : nullptr;

  const int out_dt = f.quantized ? f.out_dtype : kF32;
  const float eltwise_scale = 1.0f;
  std::vector<float> sig;  // as int8_conv's: reuse the int8 weights while nothing changed
  if (f.int8_weights) {
    const auto* w8 = static_cast<const int8_t*>(wraw);
    const auto* b8 = static_cast<const int8_t*>(braw);
    sig.assign(w8, w8 + N * K);
    if (b8) sig.insert(sig.end(), b8, b8 + N);
    sig.insert(sig.end(), {dmin, dmax, wmin, wmax, bmin, bmax});
    std::vector<int64_t> flags{M, N, K, has_bias};
    f.write(flags);
    append_bits(sig, flags);
  } else if (f.quantized) {
    sig.assign(w, w + N * K);
    if (b) sig.insert(sig.end(), b, b + N);
    sig.insert(sig.end(), {dmin, dmax});
    std::vector<int64_t> flags{M, N, K, has_bias};
    f.write(flags);
    append_bits(sig, flags);
  }
  std::shared_ptr<const Prepared> prep = prepared(wraw, sig, [&](Prepared& P) {
    if (f.int8_weights) {
      prepare_int8_weights(M, N, K, f, static_cast<const int8_t*>(wraw), static_cast<const int8_t*>(braw),
                           {dmin, dmax, wmin, wmax, bmin, bmax}, P);
    } else if (f.quantized) {  // channel-wise weight scales (float weights in, as channel_wise_quantize)
      const float dscale = quantize_scale(f.data_dtype, dmin, dmax);
      std::vector<float> wscale(N);
      for (int64_t o = 0; o < N; ++o) {
        auto [lo, hi] = std::minmax_element(w + o * K, w + (o + 1) * K);
        float sc = quantize_scale(kI8, *lo, *hi);
        if (b && b[o] != 0) {
          float lim = static_cast<float>(b[o] > 0 ? std::numeric_limits<int32_t>::max()
                                                  : std::numeric_limits<int32_t>::min()) / 2 / b[o] / dscale;
          sc = std::min(sc, lim);
        }
        wscale[o] = sc;
      }
      float tmp = 1.0f / dscale;
      if (f.float_output) {
      } else if (f.has_calib) {
        tmp = quantize_scale(f.out_dtype == kU8 ? kU8 : kI8, f.min_calib, f.max_calib) / dscale;
        P.omin = f.min_calib, P.omax = f.max_calib;
      } else {
        fail("runtime", "int8 fully connected: channel-wise weights need a calibrated or float output (as MXNet)");
      }
      for (int64_t o = 0; o < N; ++o) P.oscales.push_back(tmp / wscale[o]);
      P.wq.resize(static_cast<size_t>(N * K));
      for (int64_t o = 0; o < N; ++o) {
        for (int64_t i = 0; i < K; ++i) P.wq[o * K + i] = saturate<int8_t>(w[o * K + i] * wscale[o]);
        if (b) P.bq.push_back(saturate_i32(static_cast<double>(b[o]) * dscale * wscale[o]));
      }
    }
  });
  const std::vector<float>& oscales = prep->oscales;
  const std::vector<int8_t>& wq = prep->wq;
  const std::vector<int32_t>& bq = prep->bq;
  if (out_min) *out_min = prep->omin, *out_max = prep->omax;
  std::vector<int64_t> key{2, M, N, K, has_bias, out_dt};
  f.write(key);
  for (float v : oscales) key.push_back(float_param(v));
  key.push_back(float_param(eltwise_scale));
  auto p = cached(std::move(key), [&] {
    auto pr = std::make_shared<Prim>();
    const auto src_t = f.quantized ? dnnl_type(f.data_dtype) : memory::data_type::f32;
    const auto wei_t = f.quantized ? memory::data_type::s8 : memory::data_type::f32;
    pr->src = memory::desc({M, K}, src_t, memory::dims{K, 1});
    pr->wei = memory::desc({K, N}, wei_t, memory::dims{1, K});  // (N, K) rows read transposed
    pr->dst = memory::desc({M, N}, dnnl_type(out_dt), memory::dims{N, 1});
    if (has_bias) pr->bias = memory::desc({1, N}, f.quantized ? memory::data_type::s32 : memory::data_type::f32,
                                          memory::dims{N, 1});
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (!oscales.empty()) attr.set_output_scales(oscales.size() == 1 ? 0 : 2, oscales);
    if (f.with_relu) {
      dnnl::post_ops po;
      po.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
      attr.set_post_ops(po);
    }
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(pr->src, pr->wei, pr->bias, pr->dst), attr,
                                    detail::onednn_engine());
    pr->scratch_bytes = pd.scratchpad_desc().get_size();
    pr->prim = dnnl::matmul(pd);
    return pr;
  }, "int8 inner product");
  detail::dnnl_use_threads_for(M * N * K);
  thread_local detail::AlignedScratch scratch;
  const dnnl::engine& eng = detail::onednn_engine();
  dnnl::stream& stream = detail::onednn_stream();
  void* wptr = f.quantized ? static_cast<void*>(const_cast<int8_t*>(wq.data())) : const_cast<float*>(w);
  void* bptr = f.quantized ? static_cast<void*>(const_cast<int32_t*>(bq.data())) : const_cast<float*>(b);
  memory sm(memory::desc({static_cast<memory::dim>(p->scratch_bytes)}, memory::data_type::u8, memory::dims{1}), eng,
            scratch.get(p->scratch_bytes));
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, memory(p->src, eng, data)},
                                       {DNNL_ARG_WEIGHTS, memory(p->wei, eng, wptr)},
                                       {DNNL_ARG_DST, memory(p->dst, eng, out)},
                                       {DNNL_ARG_SCRATCHPAD, sm}};
  if (has_bias) args.emplace(DNNL_ARG_BIAS, memory(p->bias, eng, bptr));
  p->prim.execute(stream, args);
  stream.wait();
}

}  // namespace hgc::lib
