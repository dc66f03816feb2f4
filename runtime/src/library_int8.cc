// int8 library calls (library_int8.h): quantize/dequantize/requantize as loops, the fused
// convolution and inner product as oneDNN primitives.
#include "hgc/runtime/library_int8.h"

#include <algorithm>
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
#include "hgc/base/error.h"
#include "hgc/runtime/executable.h"
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

template <typename T>
T saturate(float v) {
  v = std::nearbyint(v);
  if (v <= static_cast<float>(std::numeric_limits<T>::min())) return std::numeric_limits<T>::min();
  if (v >= static_cast<float>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
  return static_cast<T>(v);
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
  return f;
}
void FcFlags::write(std::vector<int64_t>& q) const {
  q.insert(q.end(), {quantized, data_dtype, out_dtype, with_relu, has_calib, float_output, float_param(min_calib),
                     float_param(max_calib)});
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

void int8_fc(int64_t M, int64_t N, int64_t K, bool has_bias, const FcFlags& f, const std::vector<void*>& ptrs) {
  size_t k = 0;
  void* data = ptrs[k++];
  const auto* w = static_cast<const float*>(ptrs[k++]);
  const float* b = has_bias ? static_cast<const float*>(ptrs[k++]) : nullptr;
  float dmin = 0, dmax = 0;
  if (f.quantized) dmin = *static_cast<const float*>(ptrs[k++]), dmax = *static_cast<const float*>(ptrs[k++]);
  void* out = ptrs[k++];
  float* out_min = f.quantized && !f.float_output ? static_cast<float*>(ptrs[k++]) : nullptr;
  float* out_max = f.quantized && !f.float_output ? static_cast<float*>(ptrs[k++]) : nullptr;

  const int out_dt = f.quantized ? f.out_dtype : kF32;
  const float eltwise_scale = 1.0f;
  std::vector<float> sig;  // as int8_conv's: reuse the int8 weights while nothing changed
  if (f.quantized) {
    sig.assign(w, w + N * K);
    if (b) sig.insert(sig.end(), b, b + N);
    sig.insert(sig.end(), {dmin, dmax});
    std::vector<int64_t> flags{M, N, K, has_bias};
    f.write(flags);
    append_bits(sig, flags);
  }
  std::shared_ptr<const Prepared> prep = prepared(w, sig, [&](Prepared& P) {
    if (f.quantized) {  // channel-wise weight scales (float weights in, as channel_wise_quantize)
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
        fail("runtime", "int8 fully connected: an uncalibrated int32 output is not supported yet");
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
    if (!oscales.empty()) attr.set_output_scales(2, oscales);
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

// ---- dispatch (library_call.h's run/check entry points defer here for these kinds) ----

namespace hgc {
namespace {

constexpr const char* kInt8Kinds[] = {"quantize_v2", "dequantize", "requantize", "int8_conv", "int8_fc"};
constexpr size_t kInt8Params[] = {6, 2, 5, 18 + lib::ConvFlags::kCount, 4 + lib::FcFlags::kCount};

lib::QuantParams quant_params(const std::vector<int64_t>& q, bool requant) {
  lib::QuantParams p;
  p.n = q[0], p.out_dtype = static_cast<int>(q[1]);
  size_t k = 2;
  if (!requant) p.in_dtype = static_cast<int>(q[k++]);
  p.has_calib = q[k], p.min_calib = lib::param_float(q[k + 1]), p.max_calib = lib::param_float(q[k + 2]);
  return p;
}

}  // namespace

bool is_int8_library(const std::string& kind) {
  for (const char* k : kInt8Kinds)
    if (kind == k) return true;
  return false;
}

void run_int8_library(const LibraryCall& c, const StepArgs& a) {
  std::vector<void*> p;
  if (c.operands.empty()) p = a.ptrs;
  else
    for (int k : c.operands) p.push_back(a.ptrs[static_cast<size_t>(k)]);
  const std::vector<int64_t>& q = c.params;
  auto f = [&](size_t k) { return static_cast<float*>(p[k]); };
  if (c.kind == "quantize_v2") lib::quantize_v2(quant_params(q, false), p[0], p[1], f(2), f(3));
  else if (c.kind == "dequantize") lib::dequantize(q[0], static_cast<int>(q[1]), p[0], f(1), f(2), f(3));
  else if (c.kind == "requantize")
    lib::requantize(quant_params(q, true), static_cast<const int32_t*>(p[0]), f(1), f(2), p[3], f(4), f(5));
  else if (c.kind == "int8_conv")
    lib::int8_conv(lib::conv_shape_from_params(q), q[5] != 0, lib::ConvFlags::read(q.data() + 18), p);
  else if (c.kind == "int8_fc") lib::int8_fc(q[0], q[1], q[2], q[3] != 0, lib::FcFlags::read(q.data() + 4), p);
  else fail("runtime", "unknown library call '", c.kind, "'");
}

void check_int8_library(const LibraryCall& c, const std::vector<const BufferInfo*>& step_args) {
  size_t want = 0;
  for (size_t i = 0; i < std::size(kInt8Kinds); ++i)
    if (c.kind == kInt8Kinds[i]) want = kInt8Params[i];
  if (c.params.size() != want)
    fail("runtime", "library call ", c.kind, " takes ", want, " parameters, got ", c.params.size());
  for (int k : c.operands)
    if (k < 0 || static_cast<size_t>(k) >= step_args.size())
      fail("runtime", "library call ", c.kind, ": operand ", k, " is not one of the step's ", step_args.size(), " arguments");
  const size_t n = c.operands.empty() ? step_args.size() : c.operands.size();
  size_t need = c.kind == "quantize_v2" ? 4 : c.kind == "dequantize" ? 4 : c.kind == "requantize" ? 6 : 0;
  if (need && n != need) fail("runtime", "library call ", c.kind, " takes ", need, " operands, got ", n);
  if (c.kind == "int8_conv" && (c.params[0] < 1 || c.params[0] > 2))
    fail("runtime", "library call int8_conv: ", c.params[0], " spatial dims");
}

}  // namespace hgc
