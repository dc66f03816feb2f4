// SymbolBlock: runs a loaded or traced graph through the same cached compile as hybridize().
#include "hgc/frontend/gluon/symbol_block.h"

#include <cstring>
#include <optional>
#include <set>

#include "gluon/cached_graph.h"
#include "hgc/frontend/autograd/autograd.h"
#include "hgc/frontend/nd/op.h"
#include "hgc/base/error.h"
#include "hgc/ir/infer.h"
#include "hgc/onnx/onnx.h"
#include "hgc/ir/json_io.h"
#include "hgc/runtime/tensor_io.h"
#include "gluon/nn/train_layers.h"
#include "symbol/trace.h"

namespace hgc::gluon {

struct SymbolBlock::Entry {
  std::vector<std::vector<int64_t>> shapes;
  std::vector<DType> dtypes;
  std::shared_ptr<CachedGraph> graph;
};

namespace {

std::vector<int64_t> hint_dims(const Node& n) {
  auto it = n.hidden.find("__shape__");
  if (it == n.hidden.end()) return {};
  try {
    return parse_int_tuple(it->second);
  } catch (const Error&) {
    return {};
  }
}

DType hint_dtype(const Node& n) {
  auto it = n.hidden.find("__dtype__");
  if (it == n.hidden.end()) return DType::f32;
  try {
    if (auto d = dtype_from_code(parse_int_tuple(it->second).at(0))) return *d;
  } catch (...) {
  }
  return DType::f32;
}

// The `__init__` hint ("zeros", or "[\"xavier\", {...}]": the name, default arguments).
std::shared_ptr<Initializer> hint_init(const Node& n) {
  auto it = n.hidden.find("__init__");
  if (it == n.hidden.end()) return nullptr;
  std::string v = it->second;
  if (!v.empty() && v[0] == '[') {
    size_t a = v.find('"'), b = a == std::string::npos ? a : v.find('"', a + 1);
    if (b == std::string::npos) return nullptr;
    v = v.substr(a + 1, b - a - 1);
  }
  try {
    return init::create(v);
  } catch (const Error&) {
    return nullptr;  // an initializer hgc does not have: the one given to initialize()
  }
}

// Dropout and BatchNorm op nodes in training mode: what nn::Dropout and nn::BatchNorm
// compute (the ops' lowerings are their predict mode). Nothing for other nodes.
bool trains(const Node& n) {
  if (!n.op) return false;
  AttrView a = n.attr_view();
  if (n.op->name == "Dropout") return a.s("mode") == "training" && a.f("p") > 0;
  if (n.op->name == "BatchNorm") return !a.b("use_global_stats") && !a.b("output_mean_var");
  return false;
}

}  // namespace

std::optional<NDArray> SymbolBlock::train_op(const Node& n, const std::vector<NDArray>& ins, const std::string& who) {
  if (!trains(n)) return std::nullopt;
  AttrView a = n.attr_view();
  if (n.op->name == "Dropout") return nn::detail::dropout_train(ins[0], a.f("p"), a.tuple("axes"), who);
  // The running statistics must be parameters (aux states) to be updated.
  std::shared_ptr<Parameter> stats[2];
  for (int k = 0; k < 2; ++k) {
    const Node& v = graph_.nodes[n.inputs.at(3 + k).node];
    if (!v.is_variable() || !params().contains(v.name))
      fail("gluon", "SymbolBlock '", who, "': ", n.describe(), " in training mode: its ", k ? "moving_var" : "moving_mean",
           " input is not a parameter of the block, so it cannot be updated");
    stats[k] = params()[v.name];
  }
  nn::detail::BatchNormTrain o;
  o.axis = static_cast<int>(a.i("axis"));
  o.eps = a.f("eps");
  o.momentum = a.f("momentum");
  o.scale = !a.b("fix_gamma");
  return nn::detail::batch_norm_train(ins[0], ins[1], ins[2], stats[0], stats[1], o, who);
}

SymbolBlock::SymbolBlock(Graph graph, std::vector<std::string> input_names, BlockArgs args)
    : HybridBlock("symbolblock", args.prefix_ ? args : args.prefix("")), graph_(std::move(graph)), inputs_(std::move(input_names)) {
  std::set<std::string> ins(inputs_.begin(), inputs_.end());
  for (const std::string& n : inputs_)
    if (graph_.find(n) < 0 || !graph_.nodes[graph_.find(n)].is_variable())
      fail("gluon", "SymbolBlock: the graph has no input variable named '", n, "'");
  for (int id : graph_.variable_ids()) {
    const Node& n = graph_.nodes[id];
    VarRole role = graph_.role(id);
    if (ins.count(n.name) || role == VarRole::Input) continue;  // inputs; labels stay unbound
    std::vector<int64_t> dims = hint_dims(n);
    ParamOptions o = ParamOptions().shape(dims).dtype(hint_dtype(n)).grad_req(role == VarRole::AuxState ? "null" : "write");
    if (auto i = hint_init(n)) o.init(*i);
    auto p = params().get(n.name, o);
    p->set_block(name().empty() ? "symbolblock" : name());
  }
  for (const Node& n : graph_.nodes) trains_ = trains_ || trains(n);
}

SymbolBlock::SymbolBlock(const Symbol& outputs, std::vector<std::string> input_names, BlockArgs args)
    : SymbolBlock(outputs.graph(), std::move(input_names), std::move(args)) {}

SymbolBlock::~SymbolBlock() = default;

std::shared_ptr<SymbolBlock> SymbolBlock::imports(const std::string& symbol_file, const std::vector<std::string>& input_names,
                                                  const std::string& param_file) {
  if (is_onnx_path(symbol_file)) {  // the model's initializers are its parameters
    OnnxModel m = read_onnx_file(symbol_file);
    auto b = std::make_shared<SymbolBlock>(m.graph, input_names.empty() ? m.inputs : input_names);
    std::map<std::string, NDArray> arrays;
    for (auto& [n, t] : m.params) {
      HostTensor h(t.dtype, t.shape);
      if (!t.bytes.empty()) std::memcpy(h.raw(), t.bytes.data(), t.bytes.size());
      arrays.emplace(n, NDArray(h));
    }
    b->params().load_arrays(arrays, symbol_file);
    return b;
  }
  auto b = std::make_shared<SymbolBlock>(load_json_file(symbol_file), input_names);
  if (param_file.empty()) return b;
  std::map<std::string, NDArray> arrays;
  for (auto& [n, t] : hgc::load_params(param_file)) {
    std::string key = strip_param_prefix(n);
    if (key.empty()) fail("gluon", "imports ", param_file, ": the file holds unnamed arrays, not parameters");
    // An input-role variable that the file names is a parameter after all.
    if (!b->params().contains(key) && b->graph_.find(key) >= 0 &&
        std::find(input_names.begin(), input_names.end(), key) == input_names.end())
      b->params().get(key, ParamOptions().dtype(t.dtype()));
    arrays.emplace(key, NDArray(t));
  }
  b->params().load_arrays(arrays, param_file);
  return b;
}

std::vector<NDArray> SymbolBlock::hybrid_forward_multi(const std::vector<NDArray>& xs) {
  std::string who = name().empty() ? "symbolblock" : name();
  if (xs.size() != inputs_.size()) fail("gluon", "SymbolBlock '", who, "' takes ", inputs_.size(), " inputs, got ", xs.size());
  std::shared_ptr<TraceGraph> tg;
  for (const NDArray& x : xs)
    if (x.is_symbolic()) tg = x.symbolic_value()->graph;
  std::map<std::string, size_t> input_pos;
  for (size_t i = 0; i < inputs_.size(); ++i) input_pos[inputs_[i]] = i;
  std::optional<Graph> inferred;  // label shapes, computed on arrays only when there are labels
  std::vector<std::vector<NDArray>> vals(graph_.nodes.size());
  auto value = [&](ValueRef v) -> NDArray {
    const std::vector<NDArray>& outs = vals.at(v.node);
    if (v.index >= static_cast<int>(outs.size()))
      fail("gluon", "SymbolBlock '", who, "': ", graph_.nodes[v.node].describe(), " output ", v.index,
           " is hidden (not one the op returns); it cannot be replayed");
    return outs[v.index];
  };
  for (size_t id = 0; id < graph_.nodes.size(); ++id) {
    const Node& n = graph_.nodes[id];
    if (n.is_variable()) {
      if (auto i = input_pos.find(n.name); i != input_pos.end()) vals[id] = {xs[i->second]};
      else if (params().contains(n.name)) vals[id] = {params()[n.name]->data()};  // a variable when traced
      else if (tg) vals[id] = {trace::input(tg, n.name, Shape::unknown(), DType::f32)};  // a label: zeros when compiled
      else {
        if (!inferred) {
          inferred = graph_;
          InferOptions o;
          o.require_complete = false;
          for (size_t i = 0; i < xs.size(); ++i) o.shapes[inputs_[i]] = Shape(xs[i].shape());
          for (const auto& p : params().values())
            if (p->shape_known()) o.shapes[p->name()] = Shape(p->shape());
          infer(*inferred, o);
        }
        const Shape& s = inferred->nodes[id].out_shapes[0];
        if (!s.known())
          fail("gluon", "SymbolBlock '", who, "': graph variable '", n.name,
               "' is neither an input nor a parameter, and its shape cannot be inferred");
        vals[id] = {nd::zeros(s.dims())};
      }
      continue;
    }
    if (!n.op) fail("gluon", "SymbolBlock '", who, "': ", n.describe(), " is an op hgc does not know");
    if (!n.subgraphs.empty())
      fail("gluon", "SymbolBlock '", who, "': ", n.describe(), " has subgraphs, which cannot be replayed op by op yet");
    std::vector<NDArray> ins;
    for (const ValueRef& v : n.inputs) ins.push_back(value(v));
    if (is_training() && (!tg || tg->for_compile)) {  // as the nn layers train (nn_train.h)
      if (auto y = train_op(n, ins, who)) {
        vals[id] = {*y};
        continue;
      }
    }
    vals[id] = nd::op_all(n.op_name, n.attrs, ins, n.name);
  }
  std::vector<NDArray> outs;
  for (const ValueRef& h : graph_.heads) outs.push_back(value(h));
  return outs;
}

std::vector<NDArray> SymbolBlock::run(const std::vector<NDArray>& xs) {
  if (xs.size() != inputs_.size())
    fail("gluon", "SymbolBlock takes ", inputs_.size(), " inputs, got ", xs.size());
  // In a hybridized parent's trace (inlined) or under record() (taped): HybridBlock's paths
  // over hybrid_forward_multi. Otherwise the whole graph compiled, cached by input shapes.
  // So is training mode when the graph has Dropout or BatchNorm (drops, batch statistics).
  bool traced = false;
  for (const NDArray& x : xs) traced = traced || x.is_symbolic();
  if (traced || autograd::is_recording() || (trains_ && is_training())) return HybridBlock::run(xs);
  // The inputs' context (one for all, as MXNet): gpu(i) compiles the graph for that device.
  Context ctx = xs.empty() ? Context() : xs[0].context();
  for (size_t i = 1; i < xs.size(); ++i)
    if (xs[i].context() != ctx)
      fail("gluon", "SymbolBlock '", name(), "': input 0 lives on ", ctx.str(), " and input ", i, " on ",
           xs[i].context().str(), "; copy them to one context with as_in_context()");
  for (auto it = cache_.begin(); it != cache_.end(); ++it) {
    bool same = (*it)->graph->ctx == ctx;
    // The batch axis (axis 0) is symbolic on cpu (issue 19): any batch size shares the entry.
    auto key = [&](std::vector<int64_t> d) {
      if (ctx.device_type != DeviceType::gpu && !d.empty()) d[0] = -1;
      return d;
    };
    for (size_t i = 0; same && i < xs.size(); ++i)
      same = key((*it)->shapes[i]) == key(xs[i].shape()) && (*it)->dtypes[i] == xs[i].dtype();
    if (!same) continue;
    if (it != cache_.begin()) cache_.splice(cache_.begin(), cache_, it);
    return (*it)->graph->run(xs);
  }
  std::map<std::string, std::shared_ptr<Parameter>> ps;
  for (const auto& p : params().values()) ps[p->name()] = p;
  // Deferred parameter dims: infer them from the inputs first.
  bool deferred = false;
  for (const auto& p : params().values()) deferred = deferred || p->deferred();
  if (deferred) {
    Graph g = graph_;
    InferOptions o;
    o.require_complete = false;
    for (size_t i = 0; i < xs.size(); ++i) o.shapes[inputs_[i]] = Shape(xs[i].shape());
    for (const auto& p : params().values())
      if (p->initialized()) o.shapes[p->name()] = Shape(p->shape());
    infer(g, o);
    for (const auto& p : params().values()) {
      const Shape& s = g.nodes[g.find(p->name())].out_shapes[0];
      if (!p->deferred() || !s.known()) continue;
      p->set_shape(s.dims());
      p->finish_deferred_init();
    }
  }
  auto e = std::make_shared<Entry>();
  for (const NDArray& x : xs) {
    e->shapes.push_back(x.shape());
    e->dtypes.push_back(x.dtype());
  }
  std::vector<std::vector<int64_t>> probe;
  if (ctx.device_type != DeviceType::gpu)
    for (const NDArray& x : xs) {
      probe.push_back(x.shape());
      if (!probe.back().empty()) probe.back()[0] += 1;
    }
  e->graph = CachedGraph::build(graph_, inputs_, xs, ps, {}, {}, name().empty() ? "symbolblock" : name(), ctx, probe,
                                compile_hook(false, cache_.empty() ? "first call" : "static axis changed"));
  cache_.push_front(e);
  while (cache_.size() > 8) cache_.pop_back();
  return e->graph->run(xs);
}

std::string SymbolBlock::repr() const {
  std::string outs;
  for (const ValueRef& h : graph_.heads) outs += (outs.empty() ? "" : ", ") + graph_.nodes[h.node].name;
  return "SymbolBlock(" + outs + ")";
}

}  // namespace hgc::gluon
