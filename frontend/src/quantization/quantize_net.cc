// quantize_net (quantization.h): export the float32 graph, calibrate the values that cross
// into int8 by running it (with those values as extra heads) on the calibration batches,
// then rewrite each quantizable layer into MXNet 1.9's oneDNN subgraph form.
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>
#include <unistd.h>

#include "hgc/base/error.h"
#include "hgc/compiler/compile.h"
#include "hgc/frontend/quantization/quantization.h"
#include "hgc/ir/infer.h"
#include "hgc/ir/json_io.h"
#include "hgc/runtime/tensor_io.h"

namespace hgc::quantization {
namespace {

constexpr int kHistBins = 8001;  // MXNet's _LayerHistogramCollector default

// A quantizable layer: its head op, the BatchNorm and ReLU it absorbs, its input and output.
struct Group {
  int head = -1, bn = -1, act = -1;
  bool conv = true;
  ValueRef in{}, out{};
};

struct Uses {
  std::vector<std::vector<int>> by_node;  // consumers of output 0 of each node
  std::set<int> heads;
};

Uses uses_of(const Graph& g) {
  Uses u;
  u.by_node.resize(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const ValueRef& v : g.nodes[i].inputs)
      if (v.index == 0) u.by_node[v.node].push_back(static_cast<int>(i));
  for (const ValueRef& h : g.heads) u.heads.insert(h.node);
  return u;
}

// The single consumer of node i's output 0 when it is op `op` (and i is no head), else -1.
int sole(const Graph& g, const Uses& u, int i, const char* op) {
  if (u.heads.count(i) || u.by_node[i].size() != 1) return -1;
  int j = u.by_node[i][0];
  return g.nodes[j].op_name == op ? j : -1;
}

// Whether the user keeps `n` in float32 (QuantizeOptions::exclude_layers/exclude_operators).
bool is_excluded(const Node& n, const QuantizeOptions& o) {
  for (const auto& e : o.exclude_layers_)
    if (n.name == e) return true;
  for (const auto& e : o.exclude_operators_)
    if (n.op_name == e) return true;
  return false;
}

std::vector<Group> find_groups(const Graph& g, const QuantizeOptions& o) {
  Uses u = uses_of(g);
  std::vector<Group> out;
  auto excluded = [&](const Node& n) { return is_excluded(n, o); };
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if ((n.op_name != "Convolution" && n.op_name != "FullyConnected") || excluded(n)) continue;
    if (n.out_dtypes.empty() || n.out_dtypes[0] != DType::f32) continue;
    Group gr;
    gr.head = static_cast<int>(i);
    gr.conv = n.op_name == "Convolution";
    AttrView a = n.attr_view();
    if (gr.conv) {
      size_t nk = a.tuple("kernel").size();
      if ((nk != 1 && nk != 2) || (!a.is_none("layout") && a.s("layout") != "NCHW" && a.s("layout") != "NCW")) continue;
    }
    int last = gr.head;
    if (gr.conv) {
      int bn = sole(g, u, last, "BatchNorm");
      if (bn >= 0 && g.nodes[bn].attr_view().i("axis") == 1 && !g.nodes[bn].attr_view().b("output_mean_var"))
        gr.bn = bn, last = bn;
    }
    int act = sole(g, u, last, "Activation");
    if (act >= 0 && g.nodes[act].attr_view().s("act_type") == "relu") gr.act = act, last = act;
    gr.in = n.inputs[0];
    gr.out = {last, 0};
    out.push_back(gr);
  }
  return out;
}

std::string temp_folder() {
  static std::atomic<int> counter{0};
  auto d = std::filesystem::temp_directory_path() /
           ("hgc-quantize-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::create_directories(d);
  return d.string();
}

struct Range {
  float lo = std::numeric_limits<float>::max(), hi = std::numeric_limits<float>::lowest();
  std::vector<double> hist;
  float th = 0;
};

// Runs the float graph on every batch with `values` as heads; `each(k, tensor)` sees value k.
template <typename F>
void run_values(const Graph& g, const std::vector<ValueRef>& values, const std::string& input,
                const std::map<std::string, HostTensor>& params, const std::vector<NDArray>& batches, F each) {
  Graph probe = g;
  probe.heads = values;
  std::map<std::string, HostTensor> vars = params;
  std::shared_ptr<const Executable> exe;
  std::vector<int64_t> shape;
  for (const NDArray& b : batches) {
    vars[input] = b.as_in_context(cpu()).tensor();
    if (!exe || shape != vars[input].shape()) {
      shape = vars[input].shape();
      InferOptions io;
      for (const auto& [k, v] : vars) io.shapes[k] = Shape(v.shape()), io.dtypes[k] = v.dtype();
      Graph inferred = probe;
      infer(inferred, io);
      exe = compile(inferred);
    }
    std::vector<HostTensor> outs = exe->run(vars);
    for (size_t k = 0; k < outs.size(); ++k) each(k, outs[k]);
  }
}

AttrMap calib_attrs(std::pair<float, float> r) {
  return {{"min_calib_range", static_cast<double>(r.first)}, {"max_calib_range", static_cast<double>(r.second)}};
}

}  // namespace

QuantizedNet quantize_net(gluon::HybridBlock& net, const std::vector<NDArray>& calib_data, const QuantizeOptions& o) {
  if (o.calib_mode_ != "naive" && o.calib_mode_ != "entropy")
    fail("quantization", "calib_mode '", o.calib_mode_, "' is not one of naive, entropy");
  if (o.quantized_dtype_ != "auto" && o.quantized_dtype_ != "int8" && o.quantized_dtype_ != "uint8")
    fail("quantization", "quantized_dtype '", o.quantized_dtype_, "' is not one of auto, int8, uint8");
  if (calib_data.empty()) fail("quantization", "quantize_net needs at least one calibration batch");

  // The float32 model as MXNet files (what MXNet's quantize_net starts from too).
  const std::string dir = temp_folder();
  net.export_model(dir + "/fp32", 0);
  Graph g = load_json_file(dir + "/fp32-symbol.json");
  std::map<std::string, HostTensor> params;
  for (auto& [k, v] : load_params(dir + "/fp32-0000.params")) params[k.substr(k.find(':') + 1)] = v;
  std::vector<std::string> inputs = g.names_with_role(VarRole::Input);
  std::erase_if(inputs, [&](const std::string& n) { return params.count(n) != 0; });
  if (inputs.size() != 1) fail("quantization", "quantize_net handles nets with one input, this one has ", inputs.size());
  const std::string input = inputs[0];
  {
    InferOptions io;
    io.shapes[input] = Shape(calib_data[0].shape());
    for (const auto& [k, v] : params) io.shapes[k] = Shape(v.shape()), io.dtypes[k] = v.dtype();
    infer(g, io);
  }
  std::vector<Group> groups = find_groups(g, o);
  if (groups.empty()) fail("quantization", "the net has no Convolution or FullyConnected layer to quantize");

  // Calibration of every value that is quantized: the layers' inputs and outputs.
  std::vector<ValueRef> values;
  std::map<std::pair<int, int>, size_t> slot;
  for (const Group& gr : groups)
    for (ValueRef v : {gr.in, gr.out})
      if (slot.emplace(std::make_pair(v.node, v.index), values.size()).second) values.push_back(v);
  // elemwise_add may run in int8 (when both its inputs come out of int8 layers); its output
  // range is calibrated like a layer's.
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (g.nodes[i].op_name == "elemwise_add" && !g.nodes[i].out_dtypes.empty() && g.nodes[i].out_dtypes[0] == DType::f32 &&
        slot.emplace(std::make_pair(static_cast<int>(i), 0), values.size()).second)
      values.push_back({static_cast<int>(i), 0});
  std::vector<Range> ranges(values.size());
  run_values(g, values, input, params, calib_data, [&](size_t k, const HostTensor& t) {
    const float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) ranges[k].lo = std::min(ranges[k].lo, p[i]), ranges[k].hi = std::max(ranges[k].hi, p[i]);
  });
  if (o.calib_mode_ == "entropy") {
    for (Range& r : ranges) r.th = std::max(std::fabs(r.lo), std::fabs(r.hi)), r.hist.assign(kHistBins, 0.0);
    run_values(g, values, input, params, calib_data, [&](size_t k, const HostTensor& t) {
      Range& r = ranges[k];
      if (r.th == 0) return;
      const float* p = t.data<float>();
      for (int64_t i = 0; i < t.numel(); ++i) {  // numpy.histogram's bins on [-th, th]
        auto b = static_cast<int64_t>(std::floor((p[i] + r.th) / (2 * r.th) * kHistBins));
        r.hist[static_cast<size_t>(std::clamp<int64_t>(b, 0, kHistBins - 1))] += 1;
      }
    });
  }
  auto range_of = [&](ValueRef v) -> std::pair<float, float> {
    const Range& r = ranges[slot.at({v.node, v.index})];
    bool nonneg = r.lo >= 0 && o.quantized_dtype_ != "int8";
    if (o.calib_mode_ == "naive" || r.th == 0) return {nonneg ? 0.0f : r.lo, r.hi};
    float th = entropy_threshold(r.hist, r.th, nonneg);
    return nonneg ? std::make_pair(0.0f, th) : std::make_pair(-th, th);
  };

  // The rewrite: nodes in order; each group becomes quantize_v2 (shared per value) ->
  // _sg_mkldnn_* -> dequantize, the rest is copied. As in MXNet, values stay int8 between
  // int8 layers: max/avg Pooling, Flatten, ReLU and elemwise_add of int8 values become their
  // `_contrib_quantized_*` forms, a layer reads an int8 value without a quantize_v2, and a
  // dequantize is made only where a float32 op (or a head) reads the value.
  QuantizedNet q;
  Graph& ng = q.graph;
  ng.mxnet_version = g.mxnet_version;
  std::map<std::pair<int, int>, ValueRef> map;  // old value -> new float value
  std::map<std::pair<int, int>, int> quantized;  // old float value -> its quantize_v2 node
  std::map<std::pair<int, int>, int> int8_of;    // old float value -> new node giving (int8, min, max)
  auto mapped = [&](ValueRef v) {
    auto m = map.find({v.node, v.index});
    if (m != map.end()) return m->second;
    auto i8 = int8_of.find({v.node, v.index});
    if (i8 == int8_of.end())
      fail("quantization", "value ", g.nodes[v.node].name, ":", v.index, " was absorbed into an int8 layer but is used");
    const int src = i8->second;
    int dq = ng.add_node("_contrib_dequantize", ng.nodes[src].name + "_dequantize", {{src, 0}, {src, 1}, {src, 2}},
                         {{"out_type", std::string("float32")}});
    return map[{v.node, v.index}] = ValueRef{dq, 0};
  };
  auto excluded = [&](const Node& n) { return is_excluded(n, o); };
  auto int8_input = [&](const Node& n, size_t k) {
    auto it = int8_of.find({n.inputs[k].node, n.inputs[k].index});
    return it == int8_of.end() ? -1 : it->second;
  };
  // The `_contrib_quantized_*` form of node n (on int8 inputs), or -1 when it stays float32.
  auto quantized_op = [&](int i) -> int {
    const Node& n = g.nodes[i];
    if (excluded(n) || n.inputs.empty()) return -1;
    AttrView a = n.attr_view();
    const int x = int8_input(n, 0);
    if (x < 0) return -1;
    std::string op;
    if (n.op_name == "Pooling") {
      const std::string t = a.s("pool_type");
      if ((t != "max" && t != "avg") || n.out_shapes.empty() || n.out_shapes[0].ndim() != 4 ||
          (!a.is_none("layout") && a.s("layout") != "NCHW") || a.s("pooling_convention") == "same")
        return -1;
      op = "_contrib_quantized_pooling";
    } else if (n.op_name == "Flatten") {
      op = "_contrib_quantized_flatten";
    } else if (n.op_name == "Activation" && a.s("act_type") == "relu") {
      op = "_contrib_quantized_act";
    } else if (n.op_name == "elemwise_add") {
      const int y = int8_input(n, 1);
      if (y < 0) return -1;
      auto r = range_of({i, 0});
      q.ranges[n.name] = r;
      return ng.add_node("_contrib_quantized_elemwise_add", "quantized_" + n.name,
                         {{x, 0}, {y, 0}, {x, 1}, {x, 2}, {y, 1}, {y, 2}}, calib_attrs(r));
    } else {
      return -1;
    }
    return ng.add_node(op, "quantized_" + n.name, {{x, 0}, {x, 1}, {x, 2}}, n.attrs);
  };
  std::set<int> absorbed;
  std::map<int, const Group*> by_head;
  // A group is written where its last member was (its parameters, which may come after
  // its head in node order, are copied by then); the other members disappear.
  for (const Group& gr : groups) {
    by_head[gr.out.node] = &gr;
    for (int m : {gr.head, gr.bn, gr.act})
      if (m >= 0 && m != gr.out.node) absorbed.insert(m);
  }
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (absorbed.count(static_cast<int>(i))) continue;
    auto it = by_head.find(static_cast<int>(i));
    if (it == by_head.end()) {
      if (int qn = quantized_op(static_cast<int>(i)); qn >= 0) {
        int8_of[{static_cast<int>(i), 0}] = qn;
        continue;
      }
      Node c = n;
      for (ValueRef& v : c.inputs) v = mapped(v);
      c.out_shapes.clear(), c.out_dtypes.clear();
      ng.nodes.push_back(std::move(c));
      for (int k = 0; k < n.num_outputs(); ++k) map[{static_cast<int>(i), k}] = {static_cast<int>(ng.nodes.size()) - 1, k};
      continue;
    }
    const Group& gr = *it->second;
    auto in_range = range_of(gr.in), out_range = range_of(gr.out);
    q.ranges[g.nodes[gr.in.node].name + (gr.in.index ? ":" + std::to_string(gr.in.index) : "")] = in_range;
    q.ranges[g.nodes[gr.out.node].name] = out_range;
    int qn;
    if (auto i8 = int8_of.find({gr.in.node, gr.in.index}); i8 != int8_of.end()) {
      qn = i8->second;  // already int8: read as it is, with its own range
    } else if (auto f = quantized.find({gr.in.node, gr.in.index}); f != quantized.end()) {
      qn = f->second;
    } else {
      AttrMap a = calib_attrs(in_range);
      a["out_type"] = std::string(o.quantized_dtype_ == "auto" ? (in_range.first >= 0 ? "uint8" : "int8") : o.quantized_dtype_);
      qn = ng.add_node("_contrib_quantize_v2", g.nodes[gr.in.node].name + "_quantize", {mapped(gr.in)}, a);
      quantized[{gr.in.node, gr.in.index}] = qn;
    }
    // The inner graph: the float layer's nodes over variables named as in the outer graph.
    auto sub = std::make_shared<Graph>();
    std::map<int, int> inner;  // old node id -> subgraph node id
    std::vector<ValueRef> outer_in{{qn, 0}};
    inner[gr.in.node] = sub->add_variable("data");
    std::vector<int> members{gr.head};
    if (gr.bn >= 0) members.push_back(gr.bn);
    if (gr.act >= 0) members.push_back(gr.act);
    for (int m : members) {
      Node c = g.nodes[m];
      c.out_shapes.clear(), c.out_dtypes.clear();
      for (ValueRef& v : c.inputs) {
        if (!inner.count(v.node)) {  // a parameter or statistic of the layer
          inner[v.node] = sub->add_variable(g.nodes[v.node].name);
          outer_in.push_back(mapped(v));
        }
        v = {inner[v.node], v.index};
      }
      sub->nodes.push_back(std::move(c));
      inner[m] = static_cast<int>(sub->nodes.size()) - 1;
    }
    sub->heads = {{inner[members.back()], 0}};
    outer_in.push_back({qn, 1});
    outer_in.push_back({qn, 2});
    AttrMap a = calib_attrs(out_range);
    a["quantized"] = true;
    std::string op = gr.conv ? "_sg_mkldnn_conv" : "_sg_mkldnn_fully_connected";
    if (gr.conv) {
      if (gr.bn >= 0) a["with_bn"] = true;
      if (gr.act >= 0) a["with_act"] = true;
    } else {
      a["channel_wise_quantize"] = true;
      if (gr.act >= 0) a["with_eltwise"] = true;
    }
    int sg = ng.add_node(op, "quantized_" + g.nodes[gr.out.node].name, outer_in, a);
    ng.nodes[sg].subgraphs.push_back(sub);
    int8_of[{gr.out.node, gr.out.index}] = sg;  // dequantized where a float32 op reads it
  }
  for (const ValueRef& h : g.heads) ng.heads.push_back(mapped(h));
  // Through MXNet's JSON once: the loader hoists the inner layers' attributes and checks arity.
  ng = load_json(save_json(ng), "quantize_net");
  for (int id : ng.variable_ids())
    if (auto p = params.find(ng.nodes[id].name); p != params.end()) q.params[p->first] = p->second;
  q.export_model(dir + "/int8", 0);
  q.block = gluon::SymbolBlock::imports(dir + "/int8-symbol.json", {input}, dir + "/int8-0000.params");
  q.block->hybridize();  // one compiled graph, not op-by-op replay
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return q;
}

void QuantizedNet::export_model(const std::string& path, int epoch) const {
  save_json_file(graph, path + "-symbol.json");
  ParamList list;
  for (int id : graph.variable_ids()) {
    const std::string& n = graph.nodes[id].name;
    if (auto p = params.find(n); p != params.end())
      list.emplace_back((graph.role(id) == VarRole::AuxState ? "aux:" : "arg:") + n, p->second);
  }
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, "-%04d.params", epoch);
  save_params(path + suffix, list);
}

}  // namespace hgc::quantization
