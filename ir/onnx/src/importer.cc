// The ONNX reader: model checks, graph inputs/initializers/outputs, and the node loop that
// folds constants or maps each node through the op table (map_*.cc).
#include <algorithm>

#include "hgc/base/files.h"
#include "importer.h"

namespace hgc {
namespace onnx_detail {
namespace {

// Debian's libonnx 1.12 writes IR version 8; IR 3 is the oldest with opset imports.
constexpr int64_t kMinIrVersion = 3, kMaxIrVersion = 8;

bool is_sequence_op(const std::string& op) {
  return op.rfind("Sequence", 0) == 0 || op.rfind("Optional", 0) == 0 || op == "SplitToSequence" ||
         op == "ConcatFromSequence";
}

std::string format_shape_hint(const Shape& s) {
  std::string r = "(";
  for (int i = 0; i < s.ndim(); ++i) r += (i ? ", " : "") + std::to_string(s[i] < 0 ? 0 : s[i]);
  return r + (s.ndim() == 1 ? ",)" : ")");
}

}  // namespace

std::string Importer::where() const {
  std::string name = node_->name().empty() ? (node_->output_size() ? node_->output(0) : "#" + std::to_string(node_index_))
                                           : node_->name();
  return origin_ + ": node '" + name + "' (" + node_->op_type() + ")";
}

void Importer::error(const std::string& msg) const { fail("onnx", where(), ": ", msg); }

void Importer::unsupported(OnnxUnsupportedKind k, const std::string& msg) const {
  throw OnnxUnsupported(k, where() + ": " + msg);
}

Val& Importer::value(int i) {
  if (!has_input(i)) error("input " + std::to_string(i) + " is missing");
  auto it = values_.find(node_->input(i));
  if (it == values_.end())
    error("input '" + node_->input(i) + "' is not defined before this node (the graph is not topologically sorted, or is cyclic)");
  return it->second;
}

const OnnxTensor* Importer::constant(int i) {
  if (!has_input(i)) return nullptr;
  Val& v = value(i);
  return v.is_const ? &v.c : nullptr;
}

const OnnxTensor& Importer::need_constant(int i, const std::string& what) {
  const OnnxTensor* c = constant(i);
  if (!c && has_input(i)) {
    auto v = opts_.values.find(node_->input(i));
    if (v != opts_.values.end() && !value(i).is_const && g_.nodes[value(i).ref.node].is_variable()) {
      if (Shape(v->second.shape) != g_.shape(value(i).ref) && g_.shape(value(i).ref).known())
        error("the value given for input '" + v->first + "' has shape " + Shape(v->second.shape).str());
      c = &v->second;
    }
  }
  if (!c) error(what + " (input " + std::to_string(i) + " '" + (has_input(i) ? node_->input(i) : "") +
                "') must be a constant or computable from shapes");
  return *c;
}

ValueRef Importer::in(int i) {
  Val& v = value(i);
  if (v.is_const && !v.has_ref) {
    bool own = initializers_.erase(node_->input(i)) > 0;  // an initializer keeps its name
    v.ref = const_ref(v.c, node_->input(i), own);
    v.has_ref = true;
  }
  return v.ref;
}

Shape Importer::shape(int i) {
  Val& v = value(i);
  return v.is_const ? Shape(v.c.shape) : g_.shape(v.ref);
}

DType Importer::dtype(int i) {
  Val& v = value(i);
  return v.is_const ? v.c.dtype : g_.dtype(v.ref);
}

int Importer::rank(int i) {
  Shape s = shape(i);
  if (!s.rank_known()) error("the rank of input '" + node_->input(i) + "' is not known");
  return s.ndim();
}

const pb::AttributeProto* Importer::attr(const std::string& n) const {
  for (const auto& a : node_->attribute())
    if (a.name() == n) return &a;
  return nullptr;
}
bool Importer::has_attr(const std::string& n) const { return attr(n) != nullptr; }
int64_t Importer::attr_i(const std::string& n, int64_t def) const {
  auto* a = attr(n);
  return a ? a->i() : def;
}
double Importer::attr_f(const std::string& n, double def) const {
  auto* a = attr(n);
  return a ? a->f() : def;
}
std::string Importer::attr_s(const std::string& n, const std::string& def) const {
  auto* a = attr(n);
  return a ? a->s() : def;
}
std::vector<int64_t> Importer::attr_ints(const std::string& n) const {
  auto* a = attr(n);
  return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : std::vector<int64_t>{};
}
std::vector<double> Importer::attr_floats(const std::string& n) const {
  auto* a = attr(n);
  return a ? std::vector<double>(a->floats().begin(), a->floats().end()) : std::vector<double>{};
}

AttrMap Importer::attrs(const std::string& op, const std::vector<std::pair<std::string, AttrValue>>& kv) const {
  const OpDef& d = OpRegistry::global().get(op);
  AttrMap m;
  for (const auto& [k, v] : kv) {
    const AttrSpec* s = d.attr_spec(k);
    if (!s) fail("onnx", "internal: op ", op, " has no attribute '", k, "'");
    if (auto* str = std::get_if<std::string>(&v); str && s->type != AttrType::String) {
      m[k] = parse_attr(*s, *str);
    } else if (auto* iv = std::get_if<int64_t>(&v); iv && s->type == AttrType::Float) {
      m[k] = static_cast<double>(*iv);
    } else if (auto* bv = std::get_if<bool>(&v); bv && s->type == AttrType::Int) {
      m[k] = static_cast<int64_t>(*bv);
    } else {
      m[k] = v;
    }
  }
  return m;
}

std::string Importer::unique_name(const std::string& base_in) {
  std::string base = base_in.empty() ? "node" : base_in;
  std::string n = base;
  while (names_.count(n)) n = base + "_" + std::to_string(++name_counter_);
  names_.insert(n);
  return n;
}

void Importer::infer_node(int id) {
  Node& n = g_.nodes[id];
  AttrView view = n.attr_view();
  Names names = n.op->input_names(view);
  if (names.size() != n.inputs.size())
    fail("onnx", where(), ": internal: ", n.describe(), " has ", n.inputs.size(), " inputs, op expects ", names.size());
  int nout = n.op->num_outputs(view);
  std::vector<Shape> in, out(nout);
  for (const ValueRef& v : n.inputs) in.push_back(g_.shape(v));
  try {
    ShapeCtx sc{view, names, in, out};
    if (n.op->infer_shape) n.op->infer_shape(sc);
    std::vector<DType> tin, tout(nout, DType::unknown);
    for (const ValueRef& v : n.inputs) tin.push_back(g_.dtype(v));
    TypeCtx tc{view, tin, tout};
    if (n.op->infer_type) n.op->infer_type(tc);
    n.out_shapes = out;
    n.out_dtypes = tout;
  } catch (const Error& e) {
    fail("onnx", where(), ": ", e.what());
  }
}

ValueRef Importer::add_typed(const std::string& op, std::vector<ValueRef> inputs, AttrMap a) {
  std::string base = node_ && node_->output_size() ? node_->output(0) : op;
  int id = g_.add_node(op, unique_name(base), std::move(inputs), std::move(a));
  infer_node(id);
  return {id, 0};
}

ValueRef Importer::cast(ValueRef v, DType t) {
  if (g_.dtype(v) == t) return v;
  return add("Cast", {v}, {{"dtype", dtype_name(t)}});
}

OnnxTensor Importer::scalar_tensor(double v, DType t) {
  OnnxTensor c = make_tensor(t, {});
  set_elem(c, 0, v);
  return c;
}

ValueRef Importer::const_ref(const OnnxTensor& t, const std::string& hint, bool exact) {
  std::string name = exact ? hint : unique_name(hint);
  int id = g_.add_variable(name);
  Node& n = g_.nodes[id];
  n.hidden["__param__"] = "1";  // a parameter wherever it is used (Graph::role)
  n.hidden["__shape__"] = format_shape_hint(Shape(t.shape));
  n.hidden["__dtype__"] = std::to_string(dtype_code(t.dtype));
  n.out_shapes = {Shape(t.shape)};
  n.out_dtypes = {t.dtype};
  params_[name] = t;
  return {id, 0};
}

void Importer::set_output(int k, ValueRef r) {
  if (!has_output(k)) return;
  Val v;
  v.ref = r;
  values_[node_->output(k)] = v;
}

void Importer::set_output(int k, OnnxTensor t) {
  if (!has_output(k)) return;
  Val v;
  v.is_const = true;
  v.c = std::move(t);
  values_[node_->output(k)] = std::move(v);
}

void Importer::check_type(const pb::TypeProto& t, const std::string& what) const {
  if (t.has_sequence_type() || t.has_optional_type() || t.has_map_type())
    throw OnnxUnsupported(OnnxUnsupportedKind::SequenceOrOptional, origin_ + ": " + what + " is not a tensor");
  if (t.has_sparse_tensor_type()) fail("onnx", origin_, ": ", what, " is a sparse tensor");
  if (t.has_tensor_type()) dtype_from_onnx(t.tensor_type().elem_type(), origin_ + ": " + what);
}

void Importer::read_graph_io(const pb::GraphProto& gp) {
  for (const auto& init : gp.initializer()) {
    Val v;
    v.is_const = true;
    v.c = tensor_from_proto(init, base_dir_, origin_ + ": initializer");
    names_.insert(init.name());
    initializers_.insert(init.name());
    values_[init.name()] = std::move(v);
  }
  if (gp.sparse_initializer_size()) fail("onnx", origin_, ": sparse initializers are not supported");
  for (const auto& in : gp.input()) {
    if (values_.count(in.name())) continue;  // IR < 4 lists initializers as inputs too
    check_type(in.type(), "input '" + in.name() + "'");
    if (!in.type().has_tensor_type()) fail("onnx", origin_, ": input '", in.name(), "' has no tensor type");
    const auto& tt = in.type().tensor_type();
    DType dt = dtype_from_onnx(tt.elem_type(), origin_ + ": input '" + in.name() + "'");
    Shape s;
    if (tt.has_shape()) {
      std::vector<int64_t> dims;
      for (const auto& d : tt.shape().dim()) dims.push_back(d.has_dim_value() && d.dim_value() >= 0 ? d.dim_value() : Shape::kUnknownDim);
      s = Shape(dims);
    }
    if (auto o = opts_.shapes.find(in.name()); o != opts_.shapes.end()) {
      if (s.rank_known() && o->second.rank_known() && s.ndim() != o->second.ndim())
        fail("onnx", origin_, ": input '", in.name(), "' has rank ", s.ndim(), ", the given shape ", o->second.str(), " has rank ", o->second.ndim());
      s = o->second;
    }
    if (in.name().empty() || names_.count(in.name())) fail("onnx", origin_, ": input name '", in.name(), "' is empty or repeated");
    names_.insert(in.name());
    int id = g_.add_variable(in.name());
    Node& n = g_.nodes[id];
    if (s.rank_known()) n.hidden["__shape__"] = format_shape_hint(s);
    n.hidden["__dtype__"] = std::to_string(dtype_code(dt));
    n.out_shapes = {s};
    n.out_dtypes = {dt};
    Val v;
    v.ref = {id, 0};
    values_[in.name()] = v;
    model_.inputs.push_back(in.name());
    model_.input_shapes[in.name()] = s;
    model_.input_dtypes[in.name()] = dt;
  }
  for (const auto& [name, s] : opts_.shapes)
    if (!model_.input_shapes.count(name) && !opts_.ignore_unknown_names) fail("onnx", origin_, ": no model input named '", name, "'");
}

void Importer::map_node(const pb::NodeProto& n) {
  const std::string& op = n.op_type();
  const std::string& dom = n.domain();
  if (dom == "ai.onnx.preview.training")
    unsupported(OnnxUnsupportedKind::Training, "training operator " + op);
  if (!dom.empty() && dom != "ai.onnx") error("operator domain '" + dom + "' is not supported");
  if (is_sequence_op(op)) unsupported(OnnxUnsupportedKind::SequenceOrOptional, "operator " + op + " works on sequences or optionals");
  for (int i = 0; i < n.input_size(); ++i)
    if (!n.input(i).empty() && !values_.count(n.input(i)))
      error("input '" + n.input(i) + "' is not defined before this node (the graph is not topologically sorted, or is cyclic)");
  if (try_fold(*this)) return;
  const MapTable& t = map_table();
  auto it = t.find(op);
  if (it == t.end()) error("operator " + op + " (opset " + std::to_string(opset_) + ") is not supported");
  it->second(*this);
  for (int k = 0; k < n.output_size(); ++k)
    if (!n.output(k).empty() && !values_.count(n.output(k)))
      error("output " + std::to_string(k) + " ('" + n.output(k) + "') is not produced by hgc's mapping");
}

OnnxModel Importer::run(const pb::ModelProto& m) {
  if (!m.has_ir_version() || m.ir_version() < kMinIrVersion || m.ir_version() > kMaxIrVersion)
    fail("onnx", origin_, ": IR version ", m.ir_version(), " is not supported (this build reads ", kMinIrVersion, "..", kMaxIrVersion, ")");
  for (const auto& o : m.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") opset_ = o.version();
  }
  if (opset_ <= 0) {
    for (const auto& o : m.opset_import())
      if (o.domain() == "ai.onnx.preview.training")
        throw OnnxUnsupported(OnnxUnsupportedKind::Training, origin_ + ": a training model (ai.onnx.preview.training operators only)");
    fail("onnx", origin_, ": the model imports no ai.onnx opset");
  }
  if (opset_ > 17) fail("onnx", origin_, ": opset ", opset_, " is newer than 17, the newest this build reads");
  if (!m.has_graph()) fail("onnx", origin_, ": the model has no graph");
  const pb::GraphProto& gp = m.graph();
  read_graph_io(gp);
  for (const auto& o : gp.output()) check_type(o.type(), "output '" + o.name() + "'");
  for (int i = 0; i < gp.node_size(); ++i) {
    node_ = &gp.node(i);
    node_index_ = i;
    map_node(*node_);
  }
  node_ = nullptr;
  if (gp.output_size() == 0) fail("onnx", origin_, ": the graph has no outputs");
  std::set<int> used_heads;
  for (const auto& o : gp.output()) {
    auto it = values_.find(o.name());
    if (it == values_.end()) fail("onnx", origin_, ": graph output '", o.name(), "' is not produced by any node");
    Val& v = it->second;
    ValueRef r;
    if (v.is_const && !v.has_ref) {
      r = const_ref(v.c, o.name() + "_value");
    } else {
      r = v.ref;
    }
    // The declared dtype wins where hgc's op computes another (MXNet's float indices).
    if (o.type().has_tensor_type() && o.type().tensor_type().elem_type() != 0) {
      DType want = dtype_from_onnx(o.type().tensor_type().elem_type(), origin_ + ": output '" + o.name() + "'");
      if (g_.dtype(r) != DType::unknown && g_.dtype(r) != want) {
        int id = g_.add_node("Cast", unique_name(o.name() + "_cast"), {r}, attrs("Cast", {{"dtype", dtype_name(want)}}));
        g_.nodes[id].out_shapes = {g_.shape(r)};
        g_.nodes[id].out_dtypes = {want};
        r = {id, 0};
      }
    }
    // A head must be an op's output of its own: copies for variables and repeats.
    if (g_.nodes[r.node].is_variable() || used_heads.count(r.node)) {
      int id = g_.add_node("_copy", unique_name(o.name() + "_copy"), {r});
      g_.nodes[id].out_shapes = {g_.shape(r)};
      g_.nodes[id].out_dtypes = {g_.dtype(r)};
      r = {id, 0};
    }
    used_heads.insert(r.node);
    g_.heads.push_back(r);
    model_.outputs.push_back(o.name());
  }
  // Drop parameters nothing reads any more (constants that only fed folded shape code).
  model_.graph = std::move(g_);
  model_.params = std::move(params_);
  model_.ir_version = m.ir_version();
  model_.opset = opset_;
  return std::move(model_);
}

const MapTable& map_table() {
  static const MapTable t = [] {
    MapTable m;
    register_math(m);
    register_nn(m);
    register_movement(m);
    register_extra(m);
    register_resize(m);
    register_pad(m);
    register_misc(m);
    return m;
  }();
  return t;
}

}  // namespace onnx_detail

InferOptions OnnxModel::infer_options() const {
  InferOptions o;
  for (const auto& [n, s] : input_shapes) o.shapes[n] = s;
  for (const auto& [n, d] : input_dtypes) o.dtypes[n] = d;
  for (const auto& [n, t] : params) {
    o.shapes[n] = Shape(t.shape);
    o.dtypes[n] = t.dtype;
  }
  return o;
}

OnnxModel read_onnx_bytes(const std::string& bytes, const std::string& origin, const std::string& base_dir,
                          const OnnxReadOptions& opts) {
  onnx_detail::pb::ModelProto m;
  if (bytes.empty() || !m.ParseFromString(bytes))
    fail("onnx", origin, ": not an ONNX model (truncated or malformed protobuf)");
  return onnx_detail::Importer(origin, base_dir, opts).run(m);
}

std::vector<std::string> read_onnx_input_names(const std::string& path) {
  onnx_detail::pb::ModelProto m;
  std::string bytes = read_file(path, "onnx");
  if (bytes.empty() || !m.ParseFromString(bytes)) fail("onnx", path, ": not an ONNX model (truncated or malformed protobuf)");
  std::set<std::string> inits;
  for (const auto& t : m.graph().initializer()) inits.insert(t.name());
  std::vector<std::string> names;
  auto check = [&](const onnx_detail::pb::ValueInfoProto& v, const char* what) {
    const auto& t = v.type();
    if (t.has_sequence_type() || t.has_optional_type() || t.has_map_type())
      throw OnnxUnsupported(OnnxUnsupportedKind::SequenceOrOptional, path + ": " + what + " '" + v.name() + "' is not a tensor");
    if (t.has_tensor_type()) onnx_detail::dtype_from_onnx(t.tensor_type().elem_type(), path + ": " + what + " '" + v.name() + "'");
  };
  for (const auto& in : m.graph().input()) {
    if (inits.count(in.name())) continue;
    check(in, "input");
    names.push_back(in.name());
  }
  for (const auto& o : m.graph().output()) check(o, "output");
  return names;
}

std::vector<DType> read_onnx_dtypes(const std::string& path, bool outputs) {
  onnx_detail::pb::ModelProto m;
  std::string bytes = read_file(path, "onnx");
  if (bytes.empty() || !m.ParseFromString(bytes)) fail("onnx", path, ": not an ONNX model (truncated or malformed protobuf)");
  std::set<std::string> inits;
  for (const auto& t : m.graph().initializer()) inits.insert(t.name());
  std::vector<DType> r;
  for (const auto& v : outputs ? m.graph().output() : m.graph().input()) {
    if (!outputs && inits.count(v.name())) continue;
    const auto& t = v.type();
    r.push_back(t.has_tensor_type() ? onnx_detail::dtype_from_onnx(t.tensor_type().elem_type(), path + ": '" + v.name() + "'")
                                    : DType::unknown);
  }
  return r;
}

OnnxModel read_onnx_file(const std::string& path, const OnnxReadOptions& opts) {
  std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  return read_onnx_bytes(read_file(path, "onnx"), path, dir, opts);
}

}  // namespace hgc
