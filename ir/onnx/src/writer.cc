// ONNX export: an inferred ir::Graph with its parameter values -> ModelProto (opset 13..17),
// checked with onnx::checker (full check, shape inference included). Each registry op maps
// to one or a few ONNX nodes; ops without a mapping are an error naming the node.
#include <cmath>
#include <cstring>
#include <optional>
#include <set>
#include <sstream>

#include "hgc/base/files.h"
#include "importer.h"
#include "onnx/checker.h"
#include "onnx/shape_inference/implementation.h"

namespace hgc {
namespace onnx_detail {
namespace {

struct Writer {
  const Graph& g;
  const std::map<std::string, OnnxTensor>& params;
  int64_t opset;
  pb::GraphProto* gp;
  std::map<ValueRef, std::string> names;
  int counter = 0;
  std::set<std::string> used;

  std::string fresh(const std::string& base) { return base + "__" + std::to_string(counter++); }
  const std::string& name(ValueRef v) { return names.at(v); }

  pb::NodeProto* node(const std::string& op, const std::vector<std::string>& ins, const std::vector<std::string>& outs) {
    pb::NodeProto* n = gp->add_node();
    n->set_op_type(op);
    n->set_name(outs.empty() ? fresh(op) : outs[0]);
    for (const auto& i : ins) n->add_input(i);
    for (const auto& o : outs) n->add_output(o);
    return n;
  }
  static void ints(pb::NodeProto* n, const std::string& k, const std::vector<int64_t>& v) {
    auto* a = n->add_attribute();
    a->set_name(k);
    a->set_type(pb::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }
  static void i(pb::NodeProto* n, const std::string& k, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(k);
    a->set_type(pb::AttributeProto::INT);
    a->set_i(v);
  }
  static void f(pb::NodeProto* n, const std::string& k, double v) {
    auto* a = n->add_attribute();
    a->set_name(k);
    a->set_type(pb::AttributeProto::FLOAT);
    a->set_f(static_cast<float>(v));
  }
  static void s(pb::NodeProto* n, const std::string& k, const std::string& v) {
    auto* a = n->add_attribute();
    a->set_name(k);
    a->set_type(pb::AttributeProto::STRING);
    a->set_s(v);
  }
  void tensor(pb::TensorProto* t, const std::string& nm, const OnnxTensor& v) {
    t->set_name(nm);
    t->set_data_type(onnx_from_dtype(v.dtype));
    for (int64_t d : v.shape) t->add_dims(d);
    t->set_raw_data(v.bytes);
  }
  std::string constant(const OnnxTensor& v, const std::string& base) {
    std::string nm = fresh(base);
    tensor(gp->add_initializer(), nm, v);
    return nm;
  }
  std::string shape_const(const std::vector<int64_t>& s) { return constant(int_tensor(s), "shape"); }

  [[noreturn]] void unsupported(const Node& n, const std::string& why) {
    fail("onnx", "export: ", n.describe(), ": ", why);
  }

  void emit(int id) {
    const Node& n = g.nodes[id];
    AttrView a = n.attr_view();
    const std::string& op = n.op->name;
    std::vector<std::string> in;
    for (const ValueRef& v : n.inputs) in.push_back(name(v));
    // MXNet graphs may repeat a node name (a block called twice): ONNX values are SSA.
    std::string out = used.insert(n.name).second ? n.name : fresh(n.name);
    names[{id, 0}] = out;
    const Shape& os = n.out_shapes[0];
    static const std::map<std::string, std::string> unary = {
        {"relu", "Relu"}, {"sigmoid", "Sigmoid"}, {"tanh", "Tanh"}, {"exp", "Exp"}, {"log", "Log"},
        {"sqrt", "Sqrt"}, {"abs", "Abs"}, {"negative", "Neg"}, {"floor", "Floor"}, {"ceil", "Ceil"},
        {"reciprocal", "Reciprocal"}, {"erf", "Erf"}, {"sin", "Sin"}, {"cos", "Cos"}, {"_copy", "Identity"},
        {"BlockGrad", "Identity"}, {"softsign", "Softsign"}, {"sign", "Sign"}};
    static const std::map<std::string, std::string> binary = {
        {"elemwise_add", "Add"}, {"elemwise_sub", "Sub"}, {"elemwise_mul", "Mul"}, {"elemwise_div", "Div"},
        {"broadcast_add", "Add"}, {"broadcast_sub", "Sub"}, {"broadcast_mul", "Mul"}, {"broadcast_div", "Div"},
        {"broadcast_power", "Pow"}, {"broadcast_maximum", "Max"}, {"broadcast_minimum", "Min"},
        {"_maximum", "Max"}, {"_minimum", "Min"}, {"_power", "Pow"}};
    static const std::map<std::string, std::string> scalar = {
        {"_plus_scalar", "Add"}, {"_minus_scalar", "Sub"}, {"_mul_scalar", "Mul"}, {"_div_scalar", "Div"},
        {"_power_scalar", "Pow"}, {"_maximum_scalar", "Max"}, {"_minimum_scalar", "Min"},
        {"_rminus_scalar", "Sub"}, {"_rdiv_scalar", "Div"}};
    if (auto u = unary.find(op); u != unary.end()) {
      node(u->second, in, {out});
    } else if (auto b = binary.find(op); b != binary.end()) {
      node(b->second, in, {out});
    } else if (auto sc = scalar.find(op); sc != scalar.end()) {
      OnnxTensor k = Importer::scalar_tensor(a.f("scalar"), n.out_dtypes[0]);
      std::string c = constant(k, "scalar");
      bool rev = op == "_rminus_scalar" || op == "_rdiv_scalar";
      node(sc->second, rev ? std::vector<std::string>{c, in[0]} : std::vector<std::string>{in[0], c}, {out});
    } else if (op == "Activation") {
      static const std::map<std::string, std::string> acts = {
          {"relu", "Relu"}, {"sigmoid", "Sigmoid"}, {"tanh", "Tanh"}, {"softrelu", "Softplus"}, {"softsign", "Softsign"}};
      auto it = acts.find(a.s("act_type"));
      if (it == acts.end()) unsupported(n, "act_type " + a.s("act_type") + " has no ONNX export");
      node(it->second, in, {out});
    } else if (op == "LeakyReLU" && a.s("act_type") == "leaky") {
      f(node("LeakyRelu", in, {out}), "alpha", a.f("slope"));
    } else if (op == "LeakyReLU" && a.s("act_type") == "elu") {
      f(node("Elu", in, {out}), "alpha", a.f("slope"));
    } else if (op == "FullyConnected") {
      std::string x = in[0];
      const Shape& xs = g.shape(n.inputs[0]);
      if (a.b("flatten") && xs.ndim() != 2) {
        x = fresh(out + "_flat");
        i(node("Flatten", {in[0]}, {x}), "axis", 1);
      }
      if (a.b("flatten") || xs.ndim() == 2) {
        std::vector<std::string> gi{x, in[1]};
        if (!a.b("no_bias")) gi.push_back(in[2]);
        i(node("Gemm", gi, {out}), "transB", 1);
      } else {  // (..., k) x W^T + b
        std::string wt = fresh(out + "_wt"), mm = a.b("no_bias") ? out : fresh(out + "_mm");
        ints(node("Transpose", {in[1]}, {wt}), "perm", {1, 0});
        node("MatMul", {x, wt}, {mm});
        if (!a.b("no_bias")) node("Add", {mm, in[2]}, {out});
      }
    } else if (op == "Convolution") {
      pb::NodeProto* c = node("Conv", a.b("no_bias") ? std::vector<std::string>{in[0], in[1]} : in, {out});
      std::vector<int64_t> k = a.tuple("kernel"), st = a.tuple("stride"), d = a.tuple("dilate"), p = a.tuple("pad");
      int nd = static_cast<int>(k.size());
      if (st.empty()) st.assign(nd, 1);
      if (d.empty()) d.assign(nd, 1);
      if (p.empty()) p.assign(nd, 0);
      std::vector<int64_t> pads(p);
      pads.insert(pads.end(), p.begin(), p.end());
      ints(c, "kernel_shape", k);
      ints(c, "strides", st);
      ints(c, "dilations", d);
      ints(c, "pads", pads);
      i(c, "group", a.i("num_group"));
    } else if (op == "Pooling") {
      std::string pt = a.s("pool_type");
      if (pt != "max" && pt != "avg") unsupported(n, "pool_type " + pt + " has no ONNX export");
      if (a.b("global_pool")) {
        node(pt == "max" ? "GlobalMaxPool" : "GlobalAveragePool", in, {out});
      } else {
        pb::NodeProto* p = node(pt == "max" ? "MaxPool" : "AveragePool", in, {out});
        std::vector<int64_t> k = a.tuple("kernel"), st = a.tuple("stride"), pd = a.tuple("pad");
        int nd = static_cast<int>(k.size());
        if (st.empty()) st.assign(nd, 1);
        if (pd.empty()) pd.assign(nd, 0);
        std::vector<int64_t> pads(pd);
        pads.insert(pads.end(), pd.begin(), pd.end());
        ints(p, "kernel_shape", k);
        ints(p, "strides", st);
        ints(p, "pads", pads);
        if (a.s("pooling_convention") == "full") i(p, "ceil_mode", 1);
        if (pt == "avg") i(p, "count_include_pad", a.is_none("count_include_pad") || a.b("count_include_pad") ? 1 : 0);
      }
    } else if (op == "BatchNorm") {
      std::string gamma = in[1];
      if (a.b("fix_gamma")) {
        OnnxTensor ones = make_tensor(g.dtype(n.inputs[1]), g.shape(n.inputs[1]).dims());
        for (int64_t k = 0; k < ones.numel(); ++k) set_elem(ones, k, 1.0);
        gamma = constant(ones, "gamma_fixed");
      }
      if (a.i("axis") != 1) unsupported(n, "BatchNorm over axis " + std::to_string(a.i("axis")));
      f(node("BatchNormalization", {in[0], gamma, in[2], in[3], in[4]}, {out}), "epsilon", a.f("eps"));
    } else if (op == "LayerNorm") {
      int64_t ax = a.i("axis");
      if (ax != -1 && ax != g.shape(n.inputs[0]).ndim() - 1) unsupported(n, "LayerNorm over a non-last axis");
      if (opset >= 17) {
        pb::NodeProto* l = node("LayerNormalization", {in[0], in[1], in[2]}, {out});
        i(l, "axis", -1);
        f(l, "epsilon", a.f("eps"));
      } else {  // LayerNormalization is opset 17: the same from reductions
        auto mean = [&](const std::string& x, const std::string& tag) {
          std::string m = fresh(out + tag);
          pb::NodeProto* r = node("ReduceMean", {x}, {m});
          ints(r, "axes", {-1});
          i(r, "keepdims", 1);
          return m;
        };
        std::string d = fresh(out + "_centered"), sq = fresh(out + "_sq"), ve = fresh(out + "_var_eps"),
                    sd = fresh(out + "_std"), nrm = fresh(out + "_norm"), sc = fresh(out + "_scaled");
        node("Sub", {in[0], mean(in[0], "_mean")}, {d});
        node("Mul", {d, d}, {sq});
        node("Add", {mean(sq, "_var"), constant(Importer::scalar_tensor(a.f("eps"), n.out_dtypes[0]), "eps")}, {ve});
        node("Sqrt", {ve}, {sd});
        node("Div", {d, sd}, {nrm});
        node("Mul", {nrm, in[1]}, {sc});
        node("Add", {sc, in[2]}, {out});
      }
    } else if (op == "Flatten") {
      i(node("Flatten", in, {out}), "axis", 1);
    } else if (op == "Reshape" || op == "_np_reshape" || op == "expand_dims" || op == "squeeze") {
      node("Reshape", {in[0], shape_const(os.dims())}, {out});
    } else if (op == "transpose") {
      std::vector<int64_t> axes = a.is_none("axes") ? std::vector<int64_t>{} : a.tuple("axes");
      pb::NodeProto* t = node("Transpose", in, {out});
      if (!axes.empty()) ints(t, "perm", axes);
    } else if (op == "Concat") {
      i(node("Concat", in, {out}), "axis", a.i("dim"));
    } else if (op == "softmax" || op == "log_softmax" || op == "SoftmaxOutput" || op == "SoftmaxActivation") {
      bool log = op == "log_softmax";
      int64_t ax = op == "softmax" || log ? a.i("axis") : (op == "SoftmaxActivation" ? 1 : -1);
      i(node(log ? "LogSoftmax" : "Softmax", {in[0]}, {out}), "axis", ax);
    } else if (op == "Dropout") {
      node("Identity", {in[0]}, {out});
    } else if (op == "dot" || op == "batch_dot") {
      std::string x = in[0], y = in[1];
      int r = g.shape(n.inputs[0]).ndim();
      auto tr = [&](const std::string& v, int rank) {
        std::vector<int64_t> p;
        for (int k = 0; k < rank - 2; ++k) p.push_back(k);
        p.insert(p.end(), {rank - 1, rank - 2});
        std::string t = fresh(v + "_t");
        ints(node("Transpose", {v}, {t}), "perm", p);
        return t;
      };
      if (op == "dot" && r != 2) unsupported(n, "dot of rank " + std::to_string(r));
      if (a.b("transpose_a")) x = tr(x, r);
      if (a.b("transpose_b")) y = tr(y, g.shape(n.inputs[1]).ndim());
      node("MatMul", {x, y}, {out});
    } else if (op == "Embedding") {
      std::string idx = fresh(out + "_idx");
      i(node("Cast", {in[0]}, {idx}), "to", pb::TensorProto::INT64);
      node("Gather", {in[1], idx}, {out});
    } else if (op == "Cast") {
      i(node("Cast", in, {out}), "to", onnx_from_dtype(n.out_dtypes[0]));
    } else if (op == "sum" || op == "mean" || op == "max" || op == "min") {
      static const std::map<std::string, std::string> red = {{"sum", "ReduceSum"}, {"mean", "ReduceMean"}, {"max", "ReduceMax"}, {"min", "ReduceMin"}};
      if (a.b("exclude")) unsupported(n, "exclude=True");
      std::vector<int64_t> axes = a.is_none("axis") ? std::vector<int64_t>{} : a.tuple("axis");
      std::vector<std::string> ri{in[0]};
      pb::NodeProto* rn;
      if (op == "sum" && !axes.empty()) {
        ri.push_back(constant(int_tensor(axes), "axes"));
        rn = node("ReduceSum", ri, {out});
      } else {
        rn = node(red.at(op), ri, {out});
        if (!axes.empty()) ints(rn, "axes", axes);
      }
      i(rn, "keepdims", a.b("keepdims") ? 1 : 0);
    } else if (op == "clip") {
      std::string lo = constant(Importer::scalar_tensor(a.f("a_min"), n.out_dtypes[0]), "min");
      std::string hi = constant(Importer::scalar_tensor(a.f("a_max"), n.out_dtypes[0]), "max");
      node("Clip", {in[0], lo, hi}, {out});
    } else if (!emit_more(id, n, a, in, out)) {
      unsupported(n, "op " + op + " has no ONNX export yet");
    }
  }

  // Slice of `x` on `axes` from `starts` to `ends` (constant inputs, opset >= 10).
  void slice(const std::string& x, const std::vector<int64_t>& starts, const std::vector<int64_t>& ends,
             const std::vector<int64_t>& axes, const std::vector<int64_t>& steps, const std::string& out) {
    node("Slice", {x, constant(int_tensor(starts), "starts"), constant(int_tensor(ends), "ends"), constant(int_tensor(axes), "axes"),
                   constant(int_tensor(steps), "steps")},
         {out});
  }
  std::string float_const(const std::vector<double>& v) {
    OnnxTensor t = make_tensor(DType::f32, {static_cast<int64_t>(v.size())});
    for (size_t k = 0; k < v.size(); ++k) set_elem(t, static_cast<int64_t>(k), v[k]);
    return constant(t, "scales");
  }

  // The ops of the transformer blocks (slices, splits, broadcasts, where, take) and of the
  // nn_resize family; false when `n` has none.
  bool emit_more(int id, const Node& n, const AttrView& a, const std::vector<std::string>& in, const std::string& out) {
    const std::string& op = n.op->name;
    const Shape& xs = g.shape(n.inputs[0]);
    const Shape& os = n.out_shapes[0];
    int r = xs.ndim();
    if (op == "slice_axis") {
      int ax = static_cast<int>(a.i("axis") < 0 ? a.i("axis") + r : a.i("axis"));
      int64_t b = a.i("begin") < 0 ? a.i("begin") + xs[ax] : a.i("begin");
      slice(in[0], {b}, {b + os[ax]}, {ax}, {1}, out);
    } else if (op == "slice") {
      auto entries = [](std::string t) {
        std::vector<std::optional<int64_t>> v;
        for (char& ch : t)
          if (ch == '(' || ch == ')' || ch == '[' || ch == ']' || ch == ',') ch = ' ';
        std::istringstream is(t);
        for (std::string w; is >> w;) v.push_back(w == "None" ? std::nullopt : std::optional<int64_t>(std::stoll(w)));
        return v;
      };
      auto begin = entries(a.s("begin"));
      auto step = entries(a.is_none("step") ? "()" : a.s("step"));
      std::vector<int64_t> st, en, ax, sp;
      for (int d = 0; d < static_cast<int>(begin.size()); ++d) {
        int64_t k = d < static_cast<int>(step.size()) && step[d] ? *step[d] : 1;
        int64_t b = begin[d] ? *begin[d] : (k > 0 ? 0 : xs[d] - 1);
        if (b < 0) b += xs[d];
        int64_t e = b + (os[d] - 1) * k + (k > 0 ? 1 : -1);
        st.push_back(b), en.push_back(e < 0 ? INT64_MIN : e), ax.push_back(d), sp.push_back(k);
      }
      slice(in[0], st, en, ax, sp, out);
    } else if (op == "SliceChannel" || op == "_split_v2") {
      if (op == "_split_v2" && !a.tuple("indices").empty()) unsupported(n, "split at indices has no ONNX export yet");
      int ax = static_cast<int>(a.i("axis") < 0 ? a.i("axis") + r : a.i("axis"));
      bool squeeze = a.b("squeeze_axis");
      int k = static_cast<int>(n.out_shapes.size());
      std::vector<std::string> parts;
      for (int j = 0; j < k; ++j) {
        std::string nm = j == 0 ? out : fresh(n.name + "_output" + std::to_string(j));
        names[{id, j}] = nm;
        parts.push_back(squeeze ? fresh(nm + "_part") : nm);
      }
      i(node("Split", {in[0]}, parts), "axis", ax);
      if (squeeze)
        for (int j = 0; j < k; ++j)
          node("Squeeze", {parts[j], constant(int_tensor({ax}), "axes")},
               {names[{id, j}]});
    } else if (op == "broadcast_to" || op == "broadcast_axis" || op == "broadcast_like") {
      node("Expand", {in[0], shape_const(os.dims())}, {out});
    } else if (op == "where") {
      std::string c = fresh(out + "_cond");
      i(node("Cast", {in[0]}, {c}), "to", pb::TensorProto::BOOL);
      node("Where", {c, in[1], in[2]}, {out});
    } else if (op == "_contrib_div_sqrt_dim") {
      OnnxTensor k = Importer::scalar_tensor(std::sqrt(static_cast<double>(xs[r - 1])), n.out_dtypes[0]);
      node("Div", {in[0], constant(k, "sqrt_dim")}, {out});
    } else if (op == "take") {
      std::string idx = fresh(out + "_idx");
      i(node("Cast", {in[1]}, {idx}), "to", pb::TensorProto::INT64);
      int64_t len = xs[a.i("axis") < 0 ? a.i("axis") + r : a.i("axis")];
      std::string ids = fresh(out + "_ids");
      if (a.s("mode") == "wrap") {
        // MXNet's wrap mode takes ids modulo the axis length, negatives too: ONNX's integer
        // Mod (fmod=0) has the divisor's sign, so the result is in [0, len).
        node("Mod", {idx, constant(int_tensor({len}, true), "len")}, {ids});
      } else {
        // clip clamps the ids; raise (an error for bad ids in MXNet) exports the same clamp,
        // which is exact for every id MXNet accepts.
        std::string lo = constant(int_tensor({0}, true), "lo"), hi = constant(int_tensor({len - 1}, true), "hi");
        node("Clip", {idx, lo, hi}, {ids});
      }
      i(node("Gather", {in[0], ids}, {out}), "axis", a.i("axis"));
    } else if (op == "UpSampling" && a.s("sample_type") == "nearest") {
      bool sum = a.s("multi_input_mode") == "sum";
      std::vector<std::string> ups;
      for (size_t j = 0; j < in.size(); ++j) {
        double f = static_cast<double>(os[2] / g.shape(n.inputs[j])[2]);
        std::string u = in.size() == 1 ? out : fresh(out + "_up");
        pb::NodeProto* rn = node("Resize", {in[j], "", float_const({1, 1, f, f})}, {u});
        s(rn, "mode", "nearest");
        s(rn, "coordinate_transformation_mode", "asymmetric");
        s(rn, "nearest_mode", "floor");
        ups.push_back(u);
      }
      if (ups.size() > 1) {
        if (sum) node("Sum", ups, {out});
        else i(node("Concat", ups, {out}), "axis", 1);
      }
    } else if (op == "UpSampling") {  // bilinear: a depthwise ConvTranspose
      int64_t sc = a.i("scale"), k = 2 * sc - sc % 2, p = sc / 2;
      pb::NodeProto* c = node("ConvTranspose", {in[0], in[1]}, {out});
      ints(c, "kernel_shape", {k, k});
      ints(c, "strides", {sc, sc});
      ints(c, "pads", {p, p, p, p});
      i(c, "group", xs[1]);
    } else if (op == "Crop") {
      bool center = a.b("center_crop");
      int64_t oy = center ? (xs[2] - os[2]) / 2 : a.tuple("offset")[0], ox = center ? (xs[3] - os[3]) / 2 : a.tuple("offset")[1];
      slice(in[0], {oy, ox}, {oy + os[2], ox + os[3]}, {2, 3}, {1, 1}, out);
    } else if (op == "_contrib_BilinearResize2D") {
      if (xs[2] == os[2] && xs[3] == os[3]) {
        node("Identity", {in[0]}, {out});
        return true;
      }
      pb::NodeProto* rn = node("Resize", {in[0], "", "", shape_const(os.dims())}, {out});
      s(rn, "mode", "linear");
      // MXNet clamps source coordinates below 0 and samples pixel 0 for a 1-wide output:
      // pytorch_half_pixel, not half_pixel.
      s(rn, "coordinate_transformation_mode", a.b("align_corners") ? "align_corners" : "pytorch_half_pixel");
    } else if (op == "_contrib_AdaptiveAvgPooling2D") {
      if (os[2] == 1 && os[3] == 1) {
        node("GlobalAveragePool", {in[0]}, {out});
      } else if (xs[2] % os[2] == 0 && xs[3] % os[3] == 0) {
        pb::NodeProto* p = node("AveragePool", {in[0]}, {out});
        ints(p, "kernel_shape", {xs[2] / os[2], xs[3] / os[3]});
        ints(p, "strides", {xs[2] / os[2], xs[3] / os[3]});
      } else {
        unsupported(n, "adaptive pooling " + xs.str() + " -> " + os.str() + " has uneven windows (no ONNX equivalent)");
      }
    } else {
      return false;
    }
    return true;
  }
};

}  // namespace
}  // namespace onnx_detail

std::string write_onnx_bytes(const Graph& g, const std::map<std::string, OnnxTensor>& params, int64_t opset) {
  using namespace onnx_detail;
  if (opset < 13 || opset > 17) fail("onnx", "export: opset ", opset, " is outside 13..17");
  pb::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("hgc");
  m.add_opset_import()->set_version(opset);
  pb::GraphProto* gp = m.mutable_graph();
  gp->set_name("hgc");
  Writer w{g, params, opset, gp, {}, 0};
  for (int id = 0; id < static_cast<int>(g.nodes.size()); ++id) {
    const Node& n = g.nodes[id];
    if (n.out_shapes.empty() || !n.out_shapes[0].known())
      fail("onnx", "export: ", n.describe(), " has no inferred shape (infer the graph first)");
    if (!n.is_variable()) {
      if (!n.op) fail("onnx", "export: ", n.describe(), ": unknown op");
      w.emit(id);
      continue;
    }
    w.names[{id, 0}] = n.name;
    w.used.insert(n.name);
    auto p = params.find(n.name);
    if (p != params.end()) {
      w.tensor(gp->add_initializer(), n.name, p->second);
      continue;
    }
    if (g.role(id) != VarRole::Input) fail("onnx", "export: parameter '", n.name, "' has no value");
    auto* in = gp->add_input();
    in->set_name(n.name);
    auto* tt = in->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx_from_dtype(n.out_dtypes[0]));
    for (int64_t d : n.out_shapes[0].dims()) tt->mutable_shape()->add_dim()->set_dim_value(d);
  }
  for (const ValueRef& h : g.heads) {
    auto* o = gp->add_output();
    o->set_name(w.name(h));
    auto* tt = o->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx_from_dtype(g.dtype(h)));
    for (int64_t d : g.shape(h).dims()) tt->mutable_shape()->add_dim()->set_dim_value(d);
  }
  try {
    // onnx.checker.check_model(full_check=True): the checker, then strict, type-checking
    // shape inference on a copy.
    ::onnx::checker::check_model(m);
    pb::ModelProto inferred = m;
    ::onnx::shape_inference::InferShapes(inferred, ::onnx::OpSchemaRegistry::Instance(),
                                         ::onnx::ShapeInferenceOptions(true, 1, false));
  } catch (const std::exception& e) {
    fail("onnx", "export: the model fails onnx::checker: ", e.what());
  }
  std::string bytes;
  if (!m.SerializeToString(&bytes)) fail("onnx", "export: serialization failed");
  return bytes;
}

void write_onnx_file(const std::string& path, const Graph& g, const std::map<std::string, OnnxTensor>& params, int64_t opset) {
  write_file_atomic(path, write_onnx_bytes(g, params, opset), "onnx");
}

}  // namespace hgc
