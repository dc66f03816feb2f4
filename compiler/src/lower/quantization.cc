// Lowering records of the quantization family: every op is a library call into the runtime's
// int8 routines (runtime/src/library_int8.h), whose parameters are written here.
#include <algorithm>

#include "../lowering.h"
#include "hgc/base/error.h"
#include "library_util.h"
#include "hgc/runtime/library_int8.h"

namespace hgc::lower {
namespace {

int64_t numel(const Dims& d) { return prod(d, 0, d.size()); }

// {has_calib, min_bits, max_bits}
void calib(const NodeCtx& c, std::vector<int64_t>& q) {
  bool has = !c.attrs.is_none("min_calib_range") && !c.attrs.is_none("max_calib_range");
  q.push_back(has);
  q.push_back(lib::float_param(has ? static_cast<float>(c.attrs.f("min_calib_range")) : 0.0f));
  q.push_back(lib::float_param(has ? static_cast<float>(c.attrs.f("max_calib_range")) : 0.0f));
}

void require_act(const NodeCtx& c, const char* key) {
  if (c.attrs.s(key) != "relu")
    c.error(std::string("only a ReLU activation is fused here, got ") + key + "=" + c.attrs.s(key));
}

}  // namespace

void register_quantization(LoweringTable& t) {
  t.library("_contrib_quantize_v2", [](const NodeCtx& c) -> LibraryCall {
    std::vector<int64_t> q{numel(c.in_shapes[0]), dtype_code(c.out_types[0]), dtype_code(c.in_types[0])};
    calib(c, q);
    return {"quantize_v2", q, {}};
  });
  t.library("_contrib_dequantize", [](const NodeCtx& c) -> LibraryCall {
    return {"dequantize", {numel(c.in_shapes[0]), dtype_code(c.in_types[0])}, {}};
  });
  t.library("_contrib_requantize", [](const NodeCtx& c) -> LibraryCall {
    std::vector<int64_t> q{numel(c.in_shapes[0]), dtype_code(c.out_types[0])};
    calib(c, q);
    return {"requantize", q, {}};
  });
  t.library("_sg_mkldnn_conv", [](const NodeCtx& c) -> LibraryCall {
    const AttrView& a = c.attrs;
    const Dims& x = c.in_shapes[0];
    const Dims& y = c.out_shapes[0];
    NodeCtx conv = c;  // conv_call reads the window attributes and wants float32 operands
    conv.in_types.assign(c.in_types.size(), DType::f32);
    LibraryCall call = conv_call(conv, "convolution", x, y, !a.b("no_bias"));
    lib::ConvFlags f;
    f.quantized = a.b("quantized");
    f.data_dtype = dtype_code(c.in_types[0]);
    f.out_dtype = dtype_code(c.out_types[0]);
    f.with_bn = a.b("with_bn"), f.fix_gamma = a.b("fix_gamma"), f.eps = static_cast<float>(a.f("eps"));
    f.with_act = a.b("with_act"), f.with_sum = a.b("with_sum"), f.with_postsum_act = a.b("with_postsum_act");
    if (f.with_act) require_act(c, "act_type");
    if (f.with_postsum_act) require_act(c, "postsum_act_type");
    if (f.with_sum) {
      Names names = c.node.op->input_names(a);
      size_t k = std::find(names.begin(), names.end(), "sum") - names.begin();
      f.sum_dtype = dtype_code(c.in_types[k]);
      if (f.quantized && f.sum_dtype != f.out_dtype && dtype_size(c.in_types[k]) != dtype_size(c.out_types[0]))
        c.error("the sum input is " + dtype_name(c.in_types[k]) + ", the output " + dtype_name(c.out_types[0]));
      if (!f.quantized && c.in_types[k] != DType::f32) c.error("a float conv sums float32 only");
    }
    f.has_calib = !a.is_none("min_calib_range") && !a.is_none("max_calib_range");
    if (f.has_calib) f.min_calib = static_cast<float>(a.f("min_calib_range")), f.max_calib = static_cast<float>(a.f("max_calib_range"));
    call.kind = "int8_conv";
    f.write(call.params);
    return call;
  });
  t.library("_sg_mkldnn_fully_connected", [](const NodeCtx& c) -> LibraryCall {
    const AttrView& a = c.attrs;
    lib::FcFlags f;
    f.quantized = a.b("quantized");
    if (f.quantized && (a.is_none("channel_wise_quantize") || !a.b("channel_wise_quantize")))
      c.error("quantized with int8 weights and weight ranges (channel_wise_quantize=False) is not supported yet; "
              "quantize with channel_wise_quantize=True (float weights)");
    f.data_dtype = dtype_code(c.in_types[0]);
    f.out_dtype = dtype_code(c.out_types[0]);
    f.float_output = a.b("enable_float_output");
    f.with_relu = a.b("with_eltwise");
    if (f.with_relu) require_act(c, "act_type");
    f.has_calib = !a.is_none("min_calib_range") && !a.is_none("max_calib_range");
    if (f.has_calib) f.min_calib = static_cast<float>(a.f("min_calib_range")), f.max_calib = static_cast<float>(a.f("max_calib_range"));
    if (f.quantized && !f.float_output && !f.has_calib) c.error("an uncalibrated int32 output is not supported yet");
    const Dims& x = c.in_shapes[0];
    const bool flatten = a.b("flatten");
    const int64_t N = a.i("num_hidden");
    const int64_t K = flatten ? prod(x, 1, x.size()) : x.back();
    const int64_t M = flatten ? x[0] : prod(x, 0, x.size() - 1);
    std::vector<int64_t> q{M, N, K, !a.b("no_bias")};
    f.write(q);
    return {"int8_fc", q, {}};
  });
}

}  // namespace hgc::lower
