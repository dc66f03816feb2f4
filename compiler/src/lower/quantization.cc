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


// The window of a quantized pooling, padded to 3 spatial dims (D, H, W) as q_pool takes it.
std::vector<int64_t> pool_params(const NodeCtx& c) {
  const AttrView& a = c.attrs;
  const Dims& x = c.in_shapes[0];
  const Dims& y = c.out_shapes[0];
  const size_t nsp = x.size() - 2;
  if (x.size() < 3 || x.size() > 5) c.error("data must be N, C and 1 to 3 spatial dims");
  if (!a.is_none("layout") && a.s("layout").rfind("NC", 0) != 0) c.error("only NCW/NCHW/NCDHW layouts are supported");
  const bool global = a.b("global_pool");
  auto per = [&](const char* n, int64_t def) {
    std::vector<int64_t> v = a.tuple(n);
    if (v.empty()) v.assign(nsp, def);
    if (v.size() != nsp) c.error(std::string(n) + " must have " + std::to_string(nsp) + " entries");
    return v;
  };
  std::vector<int64_t> k = global ? std::vector<int64_t>(x.begin() + 2, x.end()) : per("kernel", 1);
  std::vector<int64_t> st = global ? std::vector<int64_t>(nsp, 1) : per("stride", 1);
  std::vector<int64_t> pd = global ? std::vector<int64_t>(nsp, 0) : per("pad", 0);
  auto pad3 = [&](const std::vector<int64_t>& v, int64_t fill) {
    std::vector<int64_t> r(3 - nsp, fill);
    r.insert(r.end(), v.begin(), v.end());
    return r;
  };
  const bool include_pad = a.is_none("count_include_pad") || a.b("count_include_pad");
  std::vector<int64_t> q{dtype_code(c.in_types[0]), a.s("pool_type") == "avg", include_pad, x[0], x[1]};
  for (const auto& v : {pad3(std::vector<int64_t>(x.begin() + 2, x.end()), 1), pad3(std::vector<int64_t>(y.begin() + 2, y.end()), 1),
                        pad3(k, 1), pad3(st, 1), pad3(pd, 0)})
    q.insert(q.end(), v.begin(), v.end());
  return q;
}


void register_quantized_ops(LoweringTable& t);

}  // namespace

void register_quantization(LoweringTable& t) {
  register_quantized_ops(t);
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
    // Without channel_wise_quantize the weight and bias come as int8 with their ranges.
    f.int8_weights = f.quantized && (a.is_none("channel_wise_quantize") || !a.b("channel_wise_quantize"));
    f.data_dtype = dtype_code(c.in_types[0]);
    f.out_dtype = dtype_code(c.out_types[0]);
    f.float_output = a.b("enable_float_output");
    f.with_relu = a.b("with_eltwise");
    if (f.with_relu) require_act(c, "act_type");
    f.has_calib = !a.is_none("min_calib_range") && !a.is_none("max_calib_range");
    if (f.has_calib) f.min_calib = static_cast<float>(a.f("min_calib_range")), f.max_calib = static_cast<float>(a.f("max_calib_range"));
    if (f.quantized && !f.int8_weights && !f.float_output && !f.has_calib)
      c.error("channel-wise quantization needs a calibrated (min/max_calib_range) or float output, as in MXNet");
    if (f.int8_weights && (c.in_types[1] != DType::i8 || (!a.b("no_bias") && c.in_types[2] != DType::i8)))
      c.error("with channel_wise_quantize=False the weight and bias must be int8 (with their ranges), got " +
              dtype_name(c.in_types[1]));
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

namespace {

// The `_contrib_quantized_*` ops: loops in the runtime (library_int8_ops.cc).
void register_quantized_ops(LoweringTable& t) {
  t.library("_contrib_quantized_pooling", [](const NodeCtx& c) -> LibraryCall { return {"q_pool", pool_params(c), {}}; });
  t.library("_contrib_quantized_flatten", [](const NodeCtx& c) -> LibraryCall {
    return {"q_copy", {numel(c.in_shapes[0]) * static_cast<int64_t>(dtype_size(c.in_types[0]))}, {}};
  });
  t.library("_contrib_quantized_act", [](const NodeCtx& c) -> LibraryCall {
    return {"q_relu", {numel(c.in_shapes[0]), dtype_code(c.in_types[0])}, {}};
  });
  t.library("_contrib_quantized_elemwise_add", [](const NodeCtx& c) -> LibraryCall {
    std::vector<int64_t> q{numel(c.in_shapes[0]), dtype_code(c.in_types[0]), dtype_code(c.in_types[1]), dtype_code(c.out_types[0])};
    calib(c, q);
    return {"q_add", q, {}};
  });
  t.library("_contrib_quantized_concat", [](const NodeCtx& c) -> LibraryCall {
    const int64_t k = c.attrs.i("num_args");
    const Dims& y = c.out_shapes[0];
    int64_t ax = c.attrs.i("dim");
    if (ax < 0) ax += static_cast<int64_t>(y.size());
    if (ax < 0 || ax >= static_cast<int64_t>(y.size())) c.error("dim is out of range");
    std::vector<int64_t> q{k, dtype_code(c.out_types[0]), prod(y, 0, static_cast<size_t>(ax)),
                           prod(y, static_cast<size_t>(ax) + 1, y.size())};
    for (int64_t i = 0; i < k; ++i) q.insert(q.end(), {dtype_code(c.in_types[i]), c.in_shapes[i][ax]});
    return {"q_concat", q, {}};
  });
}

}  // namespace

}  // namespace hgc::lower
