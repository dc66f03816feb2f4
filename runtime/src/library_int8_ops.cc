// The `_contrib_quantized_*` library calls (pooling, flatten, relu, elemwise_add, concat) with
// MXNet 1.9's oneDNN semantics (src/operator/quantization/mkldnn/mkldnn_quantized_*.cc):
//
//   q_pool     {dtype, avg, include_pad, N, C, ID, IH, IW, OD, OH, OW, KD, KH, KW, SD, SH, SW, PD, PH, PW}
//                                                 x, x_min, x_max, y, y_min, y_max
//   q_copy     {bytes}                            x, x_min, x_max, y, y_min, y_max   (flatten)
//   q_relu     {n, dtype}                         x, x_min, x_max, y, y_min, y_max
//   q_add      {n, a_dtype, b_dtype, out_dtype, has_calib, min_bits, max_bits}
//                                                 a, b, a_min, a_max, b_min, b_max, y, y_min, y_max
//   q_concat   {k, out_dtype, outer, inner, dtype_0, len_0, ..., dtype_k-1, len_k-1}
//                                                 x_0..x_k-1, x_0_min, x_0_max, ..., y, y_min, y_max
//
// They are plain loops: pooling and the elementwise ops move a byte per element, so the
// loops run at memory speed and need no oneDNN primitive. Ranges pass through pooling,
// flatten and relu unchanged (the values do not leave the input's range). Rounding is
// oneDNN's: float32 arithmetic, nearest even, saturated to the destination type.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "hgc/base/error.h"
#include "hgc/runtime/executable.h"
#include "hgc/runtime/library_call.h"
#include "hgc/runtime/thread_pool.h"
#include "int8_util.h"

namespace hgc {
namespace {

using lib::saturate;

constexpr int kU8 = 3, kI8 = 5;  // MXNet dtype codes (int32 is 4)
constexpr float kInt8Range = 127.5f, kUint8Range = 255.5f;
// MXNet's kInt32Range (0x7fffffff as size_t) as the float it becomes: 2^31.
constexpr float kInt32Range = static_cast<float>(0x7fffffff);

float max_abs(float a, float b) { return std::max(std::fabs(a), std::fabs(b)); }
float range_of(int dtype) { return dtype == kI8 ? kInt8Range : dtype == kU8 ? kUint8Range : kInt32Range; }

float load(int dtype, const void* p, int64_t i) {
  return dtype == kU8 ? static_cast<const uint8_t*>(p)[i] : static_cast<const int8_t*>(p)[i];
}

void store(int dtype, void* p, int64_t i, float v) {
  if (dtype == kU8) static_cast<uint8_t*>(p)[i] = saturate<uint8_t>(v);
  else if (dtype == kI8) static_cast<int8_t*>(p)[i] = saturate<int8_t>(v);
  else static_cast<int32_t*>(p)[i] = saturate<int32_t>(v);
}

void pass_range(void* const* p) {
  *static_cast<float*>(p[4]) = *static_cast<const float*>(p[1]);
  *static_cast<float*>(p[5]) = *static_cast<const float*>(p[2]);
}

// Max: the window's largest value (padding never wins). Avg: the window's sum over the
// divisor oneDNN uses: the whole kernel with count_include_pad (MXNet's default), else the
// positions inside the input. Row by row: each kernel tap updates a whole output row with
// a strided read (a loop the compiler vectorizes); the planes split over the thread pool.
template <typename T>
void pool(const std::vector<int64_t>& q, const T* x, T* y) {
  const bool avg = q[1] != 0, include_pad = q[2] != 0;
  const int64_t N = q[3], C = q[4], ID = q[5], IH = q[6], IW = q[7], OD = q[8], OH = q[9], OW = q[10];
  const int64_t KD = q[11], KH = q[12], KW = q[13], SD = q[14], SH = q[15], SW = q[16], PD = q[17], PH = q[18], PW = q[19];
  // Per kernel column: the output columns whose input column is inside [0, IW).
  std::vector<int64_t> ow_lo(static_cast<size_t>(KW)), ow_hi(static_cast<size_t>(KW));
  for (int64_t kw = 0; kw < KW; ++kw) {
    int64_t lo = 0, hi = OW;
    while (lo < OW && lo * SW - PW + kw < 0) ++lo;
    while (hi > lo && (hi - 1) * SW - PW + kw >= IW) --hi;
    ow_lo[static_cast<size_t>(kw)] = lo, ow_hi[static_cast<size_t>(kw)] = hi;
  }
  const int64_t planes = N * C;
  ThreadPool& tp = ThreadPool::global();
  const int parts = tp.parts_for(planes * OD * OH * OW * KD * KH * KW, int64_t(1) << 16);
  tp.parallel_for(parts, [&](int part) {
    std::vector<int32_t> acc(static_cast<size_t>(OW)), cols(static_cast<size_t>(OW));
    for (int64_t nc = planes * part / parts; nc < planes * (part + 1) / parts; ++nc) {
      const T* in = x + nc * ID * IH * IW;
      T* out = y + nc * OD * OH * OW;
      for (int64_t od = 0; od < OD; ++od)
        for (int64_t oh = 0; oh < OH; ++oh) {
          std::fill(acc.begin(), acc.end(), avg ? 0 : std::numeric_limits<int32_t>::min());
          std::fill(cols.begin(), cols.end(), 0);
          int64_t rows = 0;  // input rows (and depths) inside the window
          for (int64_t kd = 0; kd < KD; ++kd) {
            const int64_t d = od * SD - PD + kd;
            if (d < 0 || d >= ID) continue;
            for (int64_t kh = 0; kh < KH; ++kh) {
              const int64_t h = oh * SH - PH + kh;
              if (h < 0 || h >= IH) continue;
              ++rows;
              const T* row = in + (d * IH + h) * IW;
              for (int64_t kw = 0; kw < KW; ++kw) {
                const int64_t lo = ow_lo[static_cast<size_t>(kw)], hi = ow_hi[static_cast<size_t>(kw)], off = kw - PW;
                if (avg)
                  for (int64_t ow = lo; ow < hi; ++ow) acc[static_cast<size_t>(ow)] += row[ow * SW + off];
                else
                  for (int64_t ow = lo; ow < hi; ++ow)
                    acc[static_cast<size_t>(ow)] = std::max<int32_t>(acc[static_cast<size_t>(ow)], row[ow * SW + off]);
              }
            }
          }
          for (int64_t kw = 0; kw < KW; ++kw)  // positions inside, per output column
            for (int64_t ow = ow_lo[static_cast<size_t>(kw)]; ow < ow_hi[static_cast<size_t>(kw)]; ++ow) ++cols[static_cast<size_t>(ow)];
          T* o = out + (od * OH + oh) * OW;
          for (int64_t ow = 0; ow < OW; ++ow) {
            const int64_t count = rows * cols[static_cast<size_t>(ow)];
            const int32_t a = acc[static_cast<size_t>(ow)];
            if (!avg) o[ow] = count ? static_cast<T>(a) : T(0);
            else {
              const int64_t div = include_pad ? KD * KH * KW : count;
              o[ow] = div ? saturate<T>(static_cast<float>(a) / static_cast<float>(div)) : T(0);
            }
          }
        }
    }
  });
}

void q_pool(const std::vector<int64_t>& q, void* const* p) {
  if (q[0] == kU8) pool(q, static_cast<const uint8_t*>(p[0]), static_cast<uint8_t*>(p[3]));
  else pool(q, static_cast<const int8_t*>(p[0]), static_cast<int8_t*>(p[3]));
  pass_range(p);
}

void q_relu(const std::vector<int64_t>& q, void* const* p) {
  if (q[1] == kU8) std::memcpy(p[3], p[0], static_cast<size_t>(q[0]));
  else {
    const auto* x = static_cast<const int8_t*>(p[0]);
    auto* y = static_cast<int8_t*>(p[3]);
    for (int64_t i = 0; i < q[0]; ++i) y[i] = std::max<int8_t>(x[i], 0);
  }
  pass_range(p);
}

// MXNetQuantizedElemwiseAddForward: each input scaled to the output's steps and summed; a
// uint8 input beside an int8 one is first reordered (scaled, rounded, saturated) to int8.
void q_add(const std::vector<int64_t>& q, void* const* p) {
  const int64_t n = q[0];
  const int ta = static_cast<int>(q[1]), tb = static_cast<int>(q[2]), to = static_cast<int>(q[3]);
  const float amin = *static_cast<const float*>(p[2]), amax = *static_cast<const float*>(p[3]);
  const float bmin = *static_cast<const float*>(p[4]), bmax = *static_cast<const float*>(p[5]);
  const float aabs = max_abs(amin, amax), babs = max_abs(bmin, bmax);
  const float out_range = range_of(to);
  float omin, omax, sa, sb;
  if (q[4]) {
    omin = lib::param_float(q[5]), omax = lib::param_float(q[6]);
    const float out_scale = out_range / max_abs(omin, omax);
    sa = out_scale / (range_of(ta) / aabs), sb = out_scale / (range_of(tb) / babs);
  } else {
    omax = aabs + babs, omin = -omax;
    // Same dtypes: MXNet uses lhs's range for both.
    sa = aabs * out_range / ((aabs + babs) * range_of(ta));
    sb = babs * out_range / ((aabs + babs) * range_of(ta == tb ? ta : tb));
  }
  const bool mixed = ta != tb;
  for (int64_t i = 0; i < n; ++i) {
    const float va = load(ta, p[0], i), vb = load(tb, p[1], i);
    float v;
    if (!mixed) v = sa * va + sb * vb;
    else if (ta == kU8) v = static_cast<float>(saturate<int8_t>(va * sa)) + sb * vb;
    else v = sa * va + static_cast<float>(saturate<int8_t>(vb * sb));
    store(to, p[6], i, v);
  }
  *static_cast<float*>(p[7]) = omin, *static_cast<float*>(p[8]) = omax;
}

// MKLDNNQuantizedConcatForward: the output range spans every input's (and 0); an input whose
// scale differs from the output's is reordered with out_scale / in_scale.
void q_concat(const std::vector<int64_t>& q, void* const* p) {
  const int64_t k = q[0], outer = q[2], inner = q[3];
  const int to = static_cast<int>(q[1]);
  float omin = 0, omax = 0;
  for (int64_t i = 0; i < k; ++i) {
    omin = std::min(omin, *static_cast<const float*>(p[k + 2 * i]));
    omax = std::max(omax, *static_cast<const float*>(p[k + 2 * i + 1]));
  }
  const float out_scale = range_of(to) / max_abs(omin, omax);
  int64_t total = 0;
  for (int64_t i = 0; i < k; ++i) total += q[5 + 2 * i];
  void* y = p[3 * k];
  int64_t at = 0;  // the input's first index along the axis
  for (int64_t i = 0; i < k; ++i) {
    const int ti = static_cast<int>(q[4 + 2 * i]);
    const int64_t len = q[5 + 2 * i];
    const float in_scale = range_of(ti) / max_abs(*static_cast<const float*>(p[k + 2 * i]),
                                                  *static_cast<const float*>(p[k + 2 * i + 1]));
    const bool copy = ti == to && in_scale == out_scale;
    const float s = out_scale / in_scale;
    for (int64_t o = 0; o < outer; ++o) {
      const int64_t src = o * len * inner, dst = (o * total + at) * inner;
      if (copy) std::memcpy(static_cast<char*>(y) + dst, static_cast<const char*>(p[i]) + src, static_cast<size_t>(len * inner));
      else
        for (int64_t j = 0; j < len * inner; ++j) store(to, y, dst + j, load(ti, p[i], src + j) * s);
    }
    at += len;
  }
  *static_cast<float*>(p[3 * k + 1]) = omin, *static_cast<float*>(p[3 * k + 2]) = omax;
}

constexpr const char* kKinds[] = {"q_pool", "q_copy", "q_relu", "q_add", "q_concat"};

}  // namespace

bool is_int8_ops_library(const std::string& kind) {
  for (const char* k : kKinds)
    if (kind == k) return true;
  return false;
}

void run_int8_ops_library(const LibraryCall& c, const StepArgs& a) {
  std::vector<void*> p;
  if (c.operands.empty()) p = a.ptrs;
  else
    for (int k : c.operands) p.push_back(a.ptrs[static_cast<size_t>(k)]);
  const std::vector<int64_t>& q = c.params;
  if (c.kind == "q_pool") q_pool(q, p.data());
  else if (c.kind == "q_copy") {
    if (p[3] != p[0]) std::memcpy(p[3], p[0], static_cast<size_t>(q[0]));
    pass_range(p.data());
  } else if (c.kind == "q_relu") q_relu(q, p.data());
  else if (c.kind == "q_add") q_add(q, p.data());
  else if (c.kind == "q_concat") q_concat(q, p.data());
  else fail("runtime", "unknown library call '", c.kind, "'");
}

void check_int8_ops_library(const LibraryCall& c, const std::vector<const BufferInfo*>& args) {
  const std::vector<int64_t>& q = c.params;
  const size_t n = c.operands.empty() ? args.size() : c.operands.size();
  auto want = [&](size_t params, size_t operands) {
    if (q.size() != params) fail("runtime", "library call ", c.kind, " takes ", params, " parameters, got ", q.size());
    if (n != operands) fail("runtime", "library call ", c.kind, " takes ", operands, " operands, got ", n);
  };
  if (c.kind == "q_pool") want(20, 6);
  else if (c.kind == "q_copy") want(1, 6);
  else if (c.kind == "q_relu") want(2, 6);
  else if (c.kind == "q_add") want(7, 9);
  else if (c.kind == "q_concat") {
    if (q.size() < 4 || q[0] < 1 || q.size() != static_cast<size_t>(4 + 2 * q[0]))
      fail("runtime", "library call q_concat: bad parameter list of ", q.size());
    want(q.size(), static_cast<size_t>(3 * q[0] + 3));
  }
  for (int k : c.operands)
    if (k < 0 || static_cast<size_t>(k) >= args.size())
      fail("runtime", "library call ", c.kind, ": operand ", k, " is not one of the step's ", args.size(), " arguments");
}

}  // namespace hgc
