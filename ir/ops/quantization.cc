// int8 inference ops with MXNet 1.9's names and attributes (src/operator/quantization/,
// src/operator/subgraph/mkldnn/): _contrib_quantize_v2, _contrib_dequantize,
// _contrib_requantize, the fused oneDNN subgraph ops _sg_mkldnn_conv and
// _sg_mkldnn_fully_connected as GluonCV's int8 symbol files spell them, and the quantized
// forms of Pooling, Flatten, Activation(relu), elemwise_add and Concat
// (_contrib_quantized_*: each data input followed, after all data, by its min and max).
//
// A `_sg_mkldnn_*` node keeps its inner graph (Convolution [+ BatchNorm] [+ Activation]
// [+ elemwise_add + Activation], or FullyConnected [+ Activation]) in node.subgraphs[0], as
// MXNet's JSON stores it. The inner ops' attributes that decide arity and shapes (no_bias,
// kernel, num_filter, eps, act_type, ...) are hoisted onto the node when it is loaded
// (hoist_subgraph_attrs), so input names and shapes can be read from the node's own
// attributes; the JSON writer leaves them out again (is_hoisted_attr), as MXNet expects.
#include <algorithm>

#include "families.h"
#include "hgc/base/error.h"
#include "hgc/ir/graph.h"

namespace hgc::ops {
namespace {

bool known_shape(const Shape& s) { return s.rank_known() && s.known(); }

OpBuilder calib(OpBuilder b) {
  return b.attr(AttrSpec::real("min_calib_range").opt()).attr(AttrSpec::real("max_calib_range").opt());
}

bool has_calib(const AttrView& a) { return !a.is_none("min_calib_range") && !a.is_none("max_calib_range"); }

// MXNet's GetQuantizeOutputType: auto picks uint8 for a calibrated range that starts at 0.
DType out_type_of(const AttrView& a) {
  const std::string& t = a.s("out_type");
  if (t == "uint8") return DType::u8;
  if (t == "auto" && has_calib(a) && a.f("min_calib_range") >= 0.0) return DType::u8;
  return DType::i8;
}

bool is_int8(DType t) { return t == DType::i8 || t == DType::u8; }

void scalar_outputs(ShapeCtx& c, int from) {
  for (size_t k = from; k < c.out.size(); ++k) c.assign_out(static_cast<int>(k), Shape{1});
}

// ---- _sg_mkldnn_conv ----

Names conv_inputs(const AttrView& a) {
  Names n{"data", "weight"};
  if (!a.b("no_bias")) n.push_back("bias");
  if (a.b("with_bn")) n.insert(n.end(), {"gamma", "beta", "mean", "var"});
  if (a.b("with_sum")) n.push_back("sum");
  if (a.b("quantized")) {
    n.insert(n.end(), {"data_min", "data_max"});
    if (a.b("with_sum")) n.insert(n.end(), {"sum_min", "sum_max"});
  }
  return n;
}

// Whether the fused output is non-negative (MXNet's IsOutputUInt8 for ReLU).
bool conv_out_unsigned(const AttrView& a) {
  if (!a.b("with_sum") && a.b("with_act")) return a.s("act_type") == "relu";
  if (a.b("with_postsum_act")) return a.s("postsum_act_type") == "relu";
  return false;
}

bool sg_conv_shape(ShapeCtx& c) {
  const AttrView& a = c.attrs;
  const auto& k = a.tuple("kernel");
  if (k.empty()) c.error("the inner Convolution's kernel is unknown (no subgraph and no kernel attribute)");
  const int nk = static_cast<int>(k.size());
  if (nk > 2) c.error("only 1-D and 2-D convolutions are supported");
  auto per = [&](const char* n, int64_t def) {
    std::vector<int64_t> v = a.tuple(n);
    if (v.empty()) v.assign(nk, def);
    if (static_cast<int>(v.size()) != nk) c.error(std::string(n) + " must have " + std::to_string(nk) + " entries");
    return v;
  };
  auto st = per("stride", 1), dl = per("dilate", 1), pd = per("pad", 0);
  const int64_t O = a.i("num_filter"), G = a.i("num_group");
  if (O <= 0 || G <= 0) c.error("num_filter and num_group must be positive");
  Names names = conv_inputs(a);
  auto slot = [&](const std::string& n) {
    return static_cast<int>(std::find(names.begin(), names.end(), n) - names.begin());
  };
  const Shape& x = c.in[0];
  if (!x.rank_known()) return false;
  if (x.ndim() != nk + 2) c.error("data must be N,C plus " + std::to_string(nk) + " spatial dims, got " + x.str());
  if (x[1] >= 0) {
    if (x[1] % G) c.error("channels " + std::to_string(x[1]) + " not divisible by num_group");
    std::vector<int64_t> w{O, x[1] / G};
    w.insert(w.end(), k.begin(), k.end());
    c.assign_in(1, Shape(w));
  }
  for (const char* n : {"bias", "gamma", "beta", "mean", "var"})
    if (slot(n) < static_cast<int>(names.size())) c.assign_in(slot(n), Shape{O});
  for (const char* n : {"data_min", "data_max", "sum_min", "sum_max"})
    if (slot(n) < static_cast<int>(names.size())) c.assign_in(slot(n), Shape{1});
  if (!known_shape(x)) return false;
  std::vector<int64_t> y{x[0], O};
  for (int d = 0; d < nk; ++d) {
    int64_t span = dl[d] * (k[d] - 1) + 1, in = x[2 + d] + 2 * pd[d];
    if (st[d] <= 0 || in < span) c.error("the window does not fit the input " + x.str());
    y.push_back((in - span) / st[d] + 1);
  }
  c.assign_out(0, Shape(y));
  if (a.b("with_sum")) c.assign_in(slot("sum"), Shape(y));
  scalar_outputs(c, 1);
  return true;
}

bool sg_conv_type(TypeCtx& c) {
  const AttrView& a = c.attrs;
  Names names = conv_inputs(a);
  for (size_t i = 1; i < names.size(); ++i)
    if (names[i] != "sum" && c.in[i] == DType::unknown) c.in[i] = DType::f32;
  if (c.in[0] == DType::unknown) return false;
  if (!a.b("quantized")) {
    if (c.in[0] != DType::f32) c.error("a float _sg_mkldnn_conv takes float32 data, got " + dtype_name(c.in[0]));
    c.out[0] = DType::f32;
    return true;
  }
  if (!is_int8(c.in[0])) c.error("a quantized _sg_mkldnn_conv takes int8 or uint8 data, got " + dtype_name(c.in[0]));
  c.out[0] = has_calib(a) ? (conv_out_unsigned(a) ? DType::u8 : DType::i8) : DType::i32;
  c.out[1] = c.out[2] = DType::f32;
  return true;
}

// ---- _sg_mkldnn_fully_connected ----

bool fc_channel_wise(const AttrView& a) { return !a.is_none("channel_wise_quantize") && a.b("channel_wise_quantize"); }

Names fc_inputs(const AttrView& a) {
  Names n{"data", "weight"};
  if (!a.b("no_bias")) n.push_back("bias");
  if (a.b("quantized")) {
    n.insert(n.end(), {"min_data", "max_data"});
    if (!fc_channel_wise(a)) {
      n.insert(n.end(), {"min_weight", "max_weight"});
      if (!a.b("no_bias")) n.insert(n.end(), {"min_bias", "max_bias"});
    }
  }
  return n;
}

int fc_outputs(const AttrView& a) { return a.b("quantized") && !a.b("enable_float_output") ? 3 : 1; }

bool sg_fc_shape(ShapeCtx& c) {
  const AttrView& a = c.attrs;
  const int64_t H = a.i("num_hidden");
  if (H <= 0) c.error("num_hidden must be positive");
  const Shape& x = c.in[0];
  if (!x.rank_known()) return false;
  if (x.ndim() < 1) c.error("data must have rank >= 1");
  const bool flat = a.b("flatten");
  int64_t K = flat ? 1 : x[x.ndim() - 1];
  if (flat)
    for (int i = 1; i < x.ndim(); ++i) K = (K < 0 || x[i] < 0) ? Shape::kUnknownDim : K * x[i];
  if (K >= 0) c.assign_in(1, Shape{H, K});
  Names names = fc_inputs(a);
  for (size_t i = 2; i < names.size(); ++i) c.assign_in(static_cast<int>(i), names[i] == "bias" ? Shape{H} : Shape{1});
  if (!known_shape(x)) return false;
  std::vector<int64_t> y = flat ? std::vector<int64_t>{x[0], H} : x.dims();
  y.back() = H;
  if (flat) y = {x[0], H};
  c.assign_out(0, Shape(y));
  scalar_outputs(c, 1);
  return true;
}

bool sg_fc_type(TypeCtx& c) {
  const AttrView& a = c.attrs;
  // Without channel_wise_quantize the weight and bias are int8 (their ranges float32).
  const Names names = fc_inputs(a);
  const bool int8_params = a.b("quantized") && !fc_channel_wise(a);
  for (size_t i = 1; i < c.in.size(); ++i)
    if (c.in[i] == DType::unknown)
      c.in[i] = int8_params && (names[i] == "weight" || names[i] == "bias") ? DType::i8 : DType::f32;
  if (c.in[0] == DType::unknown) return false;
  if (!a.b("quantized")) {
    if (c.in[0] != DType::f32) c.error("a float _sg_mkldnn_fully_connected takes float32 data");
    c.out[0] = DType::f32;
    return true;
  }
  if (!is_int8(c.in[0])) c.error("a quantized _sg_mkldnn_fully_connected takes int8 or uint8 data, got " + dtype_name(c.in[0]));
  if (a.b("enable_float_output")) c.out[0] = DType::f32;
  else c.out[0] = has_calib(a) ? (a.b("with_eltwise") && a.s("act_type") == "relu" ? DType::u8 : DType::i8) : DType::i32;
  for (size_t k = 1; k < c.out.size(); ++k) c.out[k] = DType::f32;
  return true;
}

// The inner ops' attributes a `_sg_mkldnn_*` node carries, by inner op.
struct Hoist {
  const char* inner;
  std::vector<const char*> keys;
};
const std::vector<Hoist>& hoisted(const std::string& op) {
  static const std::vector<Hoist> conv = {
      {"Convolution", {"kernel", "stride", "dilate", "pad", "num_filter", "num_group", "no_bias", "layout"}},
      {"BatchNorm", {"eps", "fix_gamma"}}};
  static const std::vector<Hoist> fc = {{"FullyConnected", {"num_hidden", "no_bias", "flatten"}}};
  static const std::vector<Hoist> none;
  return op == "_sg_mkldnn_conv" ? conv : op == "_sg_mkldnn_fully_connected" ? fc : none;
}


// ---- _contrib_quantized_*: a float op on int8 data, each data input with its (min, max) ----

// The float op's shape rule on the first `n` inputs (the data); the ranges are scalars.
ShapeFn on_data(const OpDef* f, int n) {
  return [f, n](ShapeCtx& c) {
    std::vector<Shape> in(c.in.begin(), c.in.begin() + n), out{c.out[0]};
    Names names = f->input_names ? f->input_names(c.attrs) : Names{"data"};
    names.resize(static_cast<size_t>(n));
    ShapeCtx fc{c.attrs, names, in, out};
    bool done = f->infer_shape(fc);
    for (int i = 0; i < n; ++i) c.assign_in(i, in[static_cast<size_t>(i)]);
    c.assign_out(0, out[0]);
    for (size_t i = static_cast<size_t>(n); i < c.in.size(); ++i) c.assign_in(static_cast<int>(i), Shape{1});
    scalar_outputs(c, 1);
    return done;
  };
}

// The ranges are float32; the data must be int8 or uint8.
void range_types(TypeCtx& c, size_t n_data) {
  for (size_t i = n_data; i < c.in.size(); ++i)
    if (c.in[i] == DType::unknown) c.in[i] = DType::f32;
  for (size_t i = 0; i < n_data; ++i)
    if (c.in[i] != DType::unknown && !is_int8(c.in[i]))
      c.error("takes int8 or uint8 data, got " + dtype_name(c.in[i]) + " for input " + std::to_string(i));
  for (size_t k = 1; k < c.out.size(); ++k) c.out[k] = DType::f32;
}

int64_t concat_args(const AttrView& a) {
  int64_t k = a.i("num_args");
  if (k < 1 || k > 100000) fail("ir", a.where(), ": num_args=", k, " is out of range");
  return k;
}

// MXNet's order: arg0..argN-1, then arg0_min, arg0_max, arg1_min, ...
Names concat_inputs(const AttrView& a) {
  Names n;
  const int64_t k = concat_args(a);
  for (int64_t i = 0; i < k; ++i) n.push_back("arg" + std::to_string(i));
  for (int64_t i = 0; i < k; ++i) n.insert(n.end(), {"arg" + std::to_string(i) + "_min", "arg" + std::to_string(i) + "_max"});
  return n;
}

// A quantized op's builder with the float op's attributes (MXNet parses them with the same
// parameter struct).
OpBuilder like(OpRegistry& r, const char* name, const OpDef* f) {
  OpBuilder b = r.add(name);
  for (const AttrSpec& s : f->attrs) b.attr(s);
  b.outputs(3).output_names([](const AttrView&) { return Names{"output", "min_output", "max_output"}; });
  return b;
}

void register_quantized_ops(OpRegistry& r) {
  const Names one{"data", "min_data", "max_data"};
  const OpDef* pool = r.find("Pooling");
  like(r, "_contrib_quantized_pooling", pool)
      .inputs(one)
      .shape(on_data(pool, 1))
      .type([](TypeCtx& c) {
        const std::string& t = c.attrs.s("pool_type");
        if (t != "max" && t != "avg") c.error("only pool_type=max/avg is quantized, got " + t);
        range_types(c, 1);
        if (c.in[0] == DType::unknown) return false;
        c.out[0] = c.in[0];
        return true;
      });
  const OpDef* flat = r.find("Flatten");
  like(r, "_contrib_quantized_flatten", flat).inputs(one).shape(on_data(flat, 1)).type([](TypeCtx& c) {
    range_types(c, 1);
    if (c.in[0] == DType::unknown) return false;
    c.out[0] = c.in[0];
    return true;
  });
  // MXNet declares an int8 output even for uint8 data, while its oneDNN kernel writes the
  // input's type; the output here keeps the input's type, so uint8 values above 127 survive.
  const OpDef* act = r.find("Activation");
  like(r, "_contrib_quantized_act", act).inputs(one).shape(on_data(act, 1)).type([](TypeCtx& c) {
    if (c.attrs.s("act_type") != "relu") c.error("only act_type=relu is quantized, got " + c.attrs.s("act_type"));
    range_types(c, 1);
    if (c.in[0] == DType::unknown) return false;
    c.out[0] = c.in[0];
    return true;
  });
  // MXNet's ElemwiseAddType: calibrated, the inputs' common type (int8 when they differ);
  // uncalibrated, int32 with the range |lhs| + |rhs|.
  calib(r.add("_contrib_quantized_elemwise_add"))
      .inputs(Names{"lhs", "rhs", "lhs_min", "lhs_max", "rhs_min", "rhs_max"})
      .outputs(3)
      .output_names([](const AttrView&) { return Names{"output", "min_output", "max_output"}; })
      .shape([](ShapeCtx& c) {
        Shape s = c.in[0];
        if (!Shape::merge(s, c.in[1])) c.error("lhs " + c.in[0].str() + " and rhs " + c.in[1].str() + " differ");
        c.assign_in(0, s), c.assign_in(1, s);
        for (int i = 2; i < 6; ++i) c.assign_in(i, Shape{1});
        if (!s.rank_known()) return false;
        c.assign_out(0, s);
        scalar_outputs(c, 1);
        return s.known();
      })
      .type([](TypeCtx& c) {
        range_types(c, 2);
        if (c.in[0] == DType::unknown || c.in[1] == DType::unknown) return false;
        c.out[0] = has_calib(c.attrs) ? (c.in[0] == c.in[1] ? c.in[0] : DType::i8) : DType::i32;
        return true;
      });
  // MXNet's QuantizedConcatType: int8 when any input is int8, else uint8; every input is
  // rescaled to the widest range.
  const OpDef* cat = r.find("Concat");
  like(r, "_contrib_quantized_concat", cat)
      .inputs(concat_inputs)
      .shape([cat](ShapeCtx& c) { return on_data(cat, static_cast<int>(concat_args(c.attrs)))(c); })
      .type([](TypeCtx& c) {
        const size_t n = static_cast<size_t>(concat_args(c.attrs));
        range_types(c, n);
        DType t = DType::u8;
        for (size_t i = 0; i < n; ++i) {
          if (c.in[i] == DType::unknown) return false;
          if (c.in[i] == DType::i8) t = DType::i8;
        }
        c.out[0] = t;
        return true;
      });
}

}  // namespace

bool is_hoisted_attr(const Node& n, const std::string& key) {
  if (n.subgraphs.empty()) return false;
  for (const Hoist& h : hoisted(n.op_name))
    for (const char* k : h.keys)
      if (key == k) return true;
  return key == "act_type" || key == "postsum_act_type" ? !hoisted(n.op_name).empty() : false;
}

void hoist_subgraph_attrs(Node& n, const std::string& where) {
  const auto& table = hoisted(n.op_name);
  if (table.empty() || !n.op) return;
  if (n.subgraphs.size() != 1) fail("json", where, ": ", n.op_name, " needs exactly one subgraph, got ", n.subgraphs.size());
  const Graph& sub = *n.subgraphs[0];
  std::vector<AttrValue> acts;  // Activation act_types in graph order
  for (const Node& m : sub.nodes) {
    if (m.is_variable()) continue;
    for (const Hoist& h : table)
      if (m.op_name == h.inner)
        for (const char* k : h.keys)
          if (auto it = m.attrs.find(k); it != m.attrs.end()) n.attrs[k] = it->second;
    if (m.op_name == "Activation") {
      if (auto it = m.attrs.find("act_type"); it != m.attrs.end()) acts.push_back(it->second);
    } else if (m.op_name != "Convolution" && m.op_name != "BatchNorm" && m.op_name != "FullyConnected" &&
               m.op_name != "elemwise_add" && m.op_name != "_plus" && m.op_name != "broadcast_add")
      fail("json", where, ": ", n.op_name, " subgraph op ", m.op_name, " ('", m.name, "') is not supported (Convolution, ",
           "BatchNorm, Activation, elemwise_add, FullyConnected)");
  }
  // Conv: Convolution [BatchNorm] [Activation (with_act)] [add (with_sum)] [Activation
  // (with_postsum_act)]; without with_act the only activation is the post-sum one.
  auto flag = [&](const char* k) {
    auto it = n.attrs.find(k);
    return it != n.attrs.end() && std::holds_alternative<bool>(it->second) && std::get<bool>(it->second);
  };
  const bool first_is_act = n.op_name != "_sg_mkldnn_conv" || flag("with_act");
  size_t next = 0;
  if (first_is_act && next < acts.size()) n.attrs["act_type"] = acts[next++];
  if (n.op_name == "_sg_mkldnn_conv" && next < acts.size()) n.attrs["postsum_act_type"] = acts[next++];
}

void register_quantization(OpRegistry& r) {
  calib(r.add("_contrib_quantize_v2").attr(AttrSpec::one_of("out_type", {"auto", "int8", "uint8"}).def(std::string("int8"))))
      .unary()
      .outputs([](const AttrView&) { return 3; }, [](const AttrView&) { return 3; })
      .output_names([](const AttrView&) { return Names{"output", "min_output", "max_output"}; })
      .shape([](ShapeCtx& c) {
        if (!c.in[0].rank_known()) return false;
        c.assign_out(0, c.in[0]);
        scalar_outputs(c, 1);
        return known_shape(c.in[0]);
      })
      .type([](TypeCtx& c) {
        if (c.in[0] == DType::unknown) return false;
        if (c.in[0] != DType::f32 && !is_int8(c.in[0])) c.error("takes float32, int8 or uint8, got " + dtype_name(c.in[0]));
        c.out[0] = is_int8(c.in[0]) ? c.in[0] : out_type_of(c.attrs);
        c.out[1] = c.out[2] = DType::f32;
        return true;
      });

  r.add("_contrib_dequantize")
      .attr(AttrSpec::one_of("out_type", {"float32"}).def(std::string("float32")))
      .inputs(Names{"data", "min_range", "max_range"})
      .shape([](ShapeCtx& c) {
        c.assign_in(1, Shape{1});
        c.assign_in(2, Shape{1});
        if (!c.in[0].rank_known()) return false;
        c.assign_out(0, c.in[0]);
        return known_shape(c.in[0]);
      })
      .type([](TypeCtx& c) {
        if (c.in[1] == DType::unknown) c.in[1] = DType::f32;
        if (c.in[2] == DType::unknown) c.in[2] = DType::f32;
        if (c.in[0] == DType::unknown) return false;
        if (!is_int8(c.in[0]) && c.in[0] != DType::i32) c.error("takes int8, uint8 or int32, got " + dtype_name(c.in[0]));
        c.out[0] = DType::f32;
        return true;
      });

  calib(r.add("_contrib_requantize").attr(AttrSpec::one_of("out_type", {"auto", "int8", "uint8"}).def(std::string("int8"))))
      .inputs(Names{"data", "min_range", "max_range"})
      .outputs([](const AttrView&) { return 3; }, [](const AttrView&) { return 3; })
      .output_names([](const AttrView&) { return Names{"output", "min_output", "max_output"}; })
      .shape([](ShapeCtx& c) {
        c.assign_in(1, Shape{1});
        c.assign_in(2, Shape{1});
        if (!c.in[0].rank_known()) return false;
        c.assign_out(0, c.in[0]);
        scalar_outputs(c, 1);
        return known_shape(c.in[0]);
      })
      .type([](TypeCtx& c) {
        if (c.in[1] == DType::unknown) c.in[1] = DType::f32;
        if (c.in[2] == DType::unknown) c.in[2] = DType::f32;
        if (c.in[0] == DType::unknown) return false;
        if (c.in[0] != DType::i32) c.error("takes int32, got " + dtype_name(c.in[0]));
        c.out[0] = out_type_of(c.attrs);
        c.out[1] = c.out[2] = DType::f32;
        return true;
      });

  auto quantized_outputs = [](const AttrView& a) { return a.b("quantized") ? 3 : 1; };
  calib(r.add("_sg_mkldnn_conv")
            .attr(AttrSpec::boolean("quantized").def(false))
            .attr(AttrSpec::boolean("with_bn").def(false))
            .attr(AttrSpec::boolean("with_act").def(false))
            .attr(AttrSpec::boolean("with_sum").def(false))
            .attr(AttrSpec::boolean("with_postsum_act").def(false)))
      // Hoisted from the subgraph (see the file comment); MXNet's Convolution defaults.
      .attr(AttrSpec::int_tuple("kernel").def(std::vector<int64_t>{}))
      .attr(AttrSpec::int_tuple("stride").def(std::vector<int64_t>{}))
      .attr(AttrSpec::int_tuple("dilate").def(std::vector<int64_t>{}))
      .attr(AttrSpec::int_tuple("pad").def(std::vector<int64_t>{}))
      .attr(AttrSpec::integer("num_filter").def(int64_t(0)))
      .attr(AttrSpec::integer("num_group").def(int64_t(1)))
      .attr(AttrSpec::boolean("no_bias").def(false))
      .attr(AttrSpec::one_of("layout", {"NCW", "NCHW"}).opt())
      .attr(AttrSpec::real("eps").def(1e-3))
      .attr(AttrSpec::boolean("fix_gamma").def(true))
      .attr(AttrSpec::string("act_type").def(std::string("relu")))
      .attr(AttrSpec::string("postsum_act_type").def(std::string("relu")))
      .inputs(conv_inputs)
      .params({"weight", "bias", "gamma", "beta"})
      .aux_inputs({"mean", "var"})
      .outputs(quantized_outputs, quantized_outputs)
      .output_names([](const AttrView& a) {
        return a.b("quantized") ? Names{"output", "output_min", "output_max"} : Names{"output"};
      })
      .shape(sg_conv_shape)
      .type(sg_conv_type);

  calib(r.add("_sg_mkldnn_fully_connected")
            .attr(AttrSpec::boolean("quantized").def(false))
            .attr(AttrSpec::boolean("enable_float_output").def(false))
            .attr(AttrSpec::boolean("with_eltwise").def(false))
            .attr(AttrSpec::boolean("channel_wise_quantize").opt()))
      .attr(AttrSpec::integer("num_hidden").def(int64_t(0)))
      .attr(AttrSpec::boolean("no_bias").def(false))
      .attr(AttrSpec::boolean("flatten").def(true))
      .attr(AttrSpec::string("act_type").def(std::string("relu")))
      .inputs(fc_inputs)
      .params({"weight", "bias"})
      .outputs(fc_outputs, fc_outputs)
      .output_names([](const AttrView& a) {
        return fc_outputs(a) == 3 ? Names{"output", "min_output", "max_output"} : Names{"output"};
      })
      .shape(sg_fc_shape)
      .type(sg_fc_type);

  register_quantized_ops(r);
}

}  // namespace hgc::ops
