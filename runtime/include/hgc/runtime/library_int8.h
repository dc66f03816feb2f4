// int8 inference library calls (MXNet 1.9's oneDNN quantization semantics, see
// src/operator/quantization/mkldnn/ and src/operator/subgraph/mkldnn/ in apache/mxnet):
//
//   quantize_v2  {n, out_dtype, in_dtype, has_calib, min_bits, max_bits}     x, y, y_min, y_max
//   dequantize   {n, in_dtype}                                               x, min, max, y
//   requantize   {n, out_dtype, has_calib, min_bits, max_bits}               x, min, max, y, y_min, y_max
//   int8_conv    convolution's 18 parameters, then ConvFlags (13)            the node's inputs, then outputs
//   int8_fc      {M, N, K, has_bias} then FcFlags (9)                        the node's inputs, then outputs
//
// dtypes are MXNet codes (f32 0, u8 3, i32 4, i8 5); *_bits are float32 bit patterns (the
// parameters are integers). Scales: int8 data maps [-r, r] to [-127.5, 127.5], uint8 [0, r]
// to [0, 255.5] (MXNet's kInt8Range/kUint8Range), rounded to nearest even and saturated as
// oneDNN's reorders do. The convolution and inner product are oneDNN int8 primitives (u8/s8
// x s8 -> s32 accumulation, per-channel output scales, fused ReLU / sum post-ops); weights
// arrive in float32 (with BatchNorm folded in first) and are quantized as MXNet does on its
// first call, or (int8_fc without channel_wise_quantize) in int8 with their ranges; the
// prepared int8 weights are cached per weight buffer while the parameters stay the same.
// The `_contrib_quantized_*` kinds (q_pool, q_copy, q_relu, q_add, q_concat) are loops in
// library_int8_ops.cc; library_int8_dispatch.cc routes every int8 kind.
#pragma once
#include <cstdint>

#include "hgc/runtime/library_call.h"
#include <vector>

#include "hgc/runtime/library.h"

namespace hgc::lib {

struct QuantParams {
  int64_t n = 0;
  int out_dtype = 5, in_dtype = 0;
  bool has_calib = false;
  float min_calib = 0, max_calib = 0;
};

void quantize_v2(const QuantParams& p, const void* x, void* y, float* y_min, float* y_max);
void dequantize(int64_t n, int in_dtype, const void* x, const float* min, const float* max, float* y);
void requantize(const QuantParams& p, const int32_t* x, const float* min, const float* max, void* y, float* y_min,
                float* y_max);

// The conv's fused parts, after the 18 convolution parameters.
struct ConvFlags {
  bool quantized = false;
  int data_dtype = 0, out_dtype = 0, sum_dtype = 0;
  bool with_bn = false, fix_gamma = true, with_act = false, with_sum = false, with_postsum_act = false;
  float eps = 1e-3f;
  bool has_calib = false;
  float min_calib = 0, max_calib = 0;
  static constexpr size_t kCount = 13;
  static ConvFlags read(const int64_t* q);
  void write(std::vector<int64_t>& q) const;
};
// ptrs: the node's inputs in MXNet's order, then its outputs.
void int8_conv(const ConvShape& s, bool conv_bias, const ConvFlags& f, const std::vector<void*>& ptrs);

struct FcFlags {
  bool quantized = false;
  int data_dtype = 0, out_dtype = 0;
  bool with_relu = false, has_calib = false, float_output = false;
  float min_calib = 0, max_calib = 0;
  // channel_wise_quantize unset/False: int8 weight and bias with their ranges as inputs.
  bool int8_weights = false;
  static constexpr size_t kCount = 9;
  static FcFlags read(const int64_t* q);
  void write(std::vector<int64_t>& q) const;
};
void int8_fc(int64_t M, int64_t N, int64_t K, bool has_bias, const FcFlags& f, const std::vector<void*>& ptrs);

// float <-> parameter bits: float_param/param_float in library_call.h.

}  // namespace hgc::lib
