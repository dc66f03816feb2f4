// The reference evaluator's driver: walks the graph in node order, converts each input to
// doubles, runs the op's kernel and stores the outputs in the node's inferred dtypes (so
// intermediates are rounded to float32 exactly where MXNet rounds them).
#include "reference/reference.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "hgc/base/error.h"
#include "reference/ref_kernels.h"

namespace hgc::ref {

[[noreturn]] void Ctx::fail(const std::string& msg) const {
  throw Error("reference", node.describe() + ": " + msg);
}

int Ctx::axis(int64_t ax, int ndim) const {
  int64_t r = ax < 0 ? ax + ndim : ax;
  if (r < 0 || r >= ndim)
    fail("axis " + std::to_string(ax) + " is out of range for rank " + std::to_string(ndim));
  return static_cast<int>(r);
}

std::vector<HostTensor> evaluate(const Graph& g, const std::map<std::string, HostTensor>& variables);

namespace {

// ---- half-precision conversions (IEEE binary16 and bfloat16), round to nearest even ----

double half_to_double(uint16_t h) {
  int sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  double v;
  if (exp == 0)
    v = std::ldexp(mant, -24);  // subnormal
  else if (exp == 31)
    v = mant ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  else
    v = std::ldexp(1024 + mant, exp - 25);
  return sign ? -v : v;
}

uint16_t double_to_half(double v) {
  uint16_t sign = std::signbit(v) ? 0x8000 : 0;
  double a = std::fabs(v);
  if (std::isnan(v)) return 0x7e00;
  if (a >= 65520.0) return sign | 0x7c00;  // rounds to infinity
  if (a < std::ldexp(1.0, -14)) {
    // Subnormal: units of 2^-24; a result of 1024 is the smallest normal, encoded the same.
    return sign | static_cast<uint16_t>(std::nearbyint(std::ldexp(a, 24)));
  }
  int e;
  std::frexp(a, &e);  // a = f * 2^e, f in [0.5, 1)
  int exp = e - 1;
  auto mant = static_cast<int>(std::nearbyint(std::ldexp(a, 10 - exp) - 1024));
  if (mant == 1024) mant = 0, ++exp;
  return sign | static_cast<uint16_t>((exp + 15) << 10) | static_cast<uint16_t>(mant);
}

double bf16_to_double(uint16_t b) {
  uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t double_to_bf16(double v) {
  float f = static_cast<float>(v);
  if (std::isnan(f)) return 0x7fc0;
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  bits += 0x7fff + ((bits >> 16) & 1);
  return static_cast<uint16_t>(bits >> 16);
}

// An integer store: truncation toward zero like a C++ cast, but NaN and out-of-range values
// saturate instead of being undefined behaviour.
template <typename T>
T to_int(double x) {
  if (std::isnan(x)) return 0;
  double t = std::trunc(x);
  if (t <= static_cast<double>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
  if (t >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
  return static_cast<T>(t);
}

template <typename T>
void read_as(const HostTensor& t, std::vector<double>& v) {
  const T* p = t.data<T>();
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(p[i]);
}

template <typename T>
void write_int(const std::vector<double>& v, HostTensor& t) {
  T* p = t.data<T>();
  for (size_t i = 0; i < v.size(); ++i) p[i] = to_int<T>(v[i]);
}

Arr to_arr(const HostTensor& t, const std::string& where) {
  Arr a(t.shape());
  switch (t.dtype()) {
    case DType::f32: read_as<float>(t, a.v); break;
    case DType::f64: read_as<double>(t, a.v); break;
    case DType::i8: read_as<int8_t>(t, a.v); break;
    case DType::u8: read_as<uint8_t>(t, a.v); break;
    case DType::i16: read_as<int16_t>(t, a.v); break;
    case DType::u16: read_as<uint16_t>(t, a.v); break;
    case DType::i32: read_as<int32_t>(t, a.v); break;
    case DType::u32: read_as<uint32_t>(t, a.v); break;
    case DType::i64: read_as<int64_t>(t, a.v); break;
    case DType::u64: read_as<uint64_t>(t, a.v); break;
    case DType::boolean: read_as<uint8_t>(t, a.v); break;
    case DType::f16:
      for (size_t i = 0; i < a.v.size(); ++i) a.v[i] = half_to_double(t.data<uint16_t>()[i]);
      break;
    case DType::bf16:
      for (size_t i = 0; i < a.v.size(); ++i) a.v[i] = bf16_to_double(t.data<uint16_t>()[i]);
      break;
    default: throw Error("reference", where + ": unsupported dtype " + dtype_name(t.dtype()));
  }
  return a;
}

HostTensor from_arr(const Arr& a, DType dt, const std::string& where) {
  HostTensor t(dt, a.shape);
  const std::vector<double>& v = a.v;
  switch (dt) {
    case DType::f32:
      for (size_t i = 0; i < v.size(); ++i) t.data<float>()[i] = static_cast<float>(v[i]);
      break;
    case DType::f64: std::copy(v.begin(), v.end(), t.data<double>()); break;
    case DType::i8: write_int<int8_t>(v, t); break;
    case DType::u8: write_int<uint8_t>(v, t); break;
    case DType::i16: write_int<int16_t>(v, t); break;
    case DType::u16: write_int<uint16_t>(v, t); break;
    case DType::i32: write_int<int32_t>(v, t); break;
    case DType::u32: write_int<uint32_t>(v, t); break;
    case DType::i64: write_int<int64_t>(v, t); break;
    case DType::u64: write_int<uint64_t>(v, t); break;
    case DType::boolean:
      for (size_t i = 0; i < v.size(); ++i) t.data<uint8_t>()[i] = v[i] != 0 ? 1 : 0;
      break;
    case DType::f16:
      for (size_t i = 0; i < v.size(); ++i) t.data<uint16_t>()[i] = double_to_half(v[i]);
      break;
    case DType::bf16:
      for (size_t i = 0; i < v.size(); ++i) t.data<uint16_t>()[i] = double_to_bf16(v[i]);
      break;
    default: throw Error("reference", where + ": unsupported output dtype " + dtype_name(dt));
  }
  return t;
}

}  // namespace

void KernelTable::add(const std::string& op, Kernel fn, std::source_location where) {
  if (entries_.count(op)) throw Error("reference", "kernel for " + op + " registered twice");
  entries_[op] = {std::move(fn), where.file_name()};
}

const KernelTable::Entry* KernelTable::find(const std::string& op) const {
  auto it = entries_.find(op);
  return it == entries_.end() ? nullptr : &it->second;
}

namespace {

const KernelTable& kernels() {
  static const KernelTable table = [] {
    KernelTable t;
    add_elementwise_kernels(t);
    add_broadcast_kernels(t);
    add_reduce_kernels(t);
    add_movement_kernels(t);
    add_movement_index_kernels(t);
    add_init_kernels(t);
    add_matmul_kernels(t);
    add_nn_kernels(t);
    add_nn_norm_kernels(t);
    add_nn_conv_kernels(t);
    add_nn_resize_kernels(t);
    add_ordering_kernels(t);
    add_random_kernels(t);
    add_rnn_kernels(t);
    add_linalg_kernels(t);
    add_detection_kernels(t);
    add_quantization_kernels(t);
    add_quantization_ops_kernels(t);
    return t;
  }();
  return table;
}

std::string out_key(const Node& n, int k) { return k == 0 ? n.name : n.name + ":" + std::to_string(k); }

// Runs the graph; values[node][k] holds output k. With `keep_all` false a value is dropped
// once its last consumer (or head) has run, which keeps big models within memory.
std::vector<std::vector<HostTensor>> run(const Graph& g, const std::map<std::string, HostTensor>& vars,
                                         bool keep_all) {
  const int n_nodes = static_cast<int>(g.nodes.size());
  std::vector<int> last_use(n_nodes, -1);
  for (int i = 0; i < n_nodes; ++i)
    for (const ValueRef& r : g.nodes[i].inputs) last_use[r.node] = std::max(last_use[r.node], i);
  for (const ValueRef& h : g.heads) last_use[h.node] = n_nodes;

  std::vector<std::vector<HostTensor>> values(n_nodes);
  for (int i = 0; i < n_nodes; ++i) {
    const Node& n = g.nodes[i];
    const std::string where = n.describe();
    if (n.out_shapes.empty() || n.out_dtypes.size() != n.out_shapes.size())
      throw Error("reference", where + ": has no inferred outputs; run hgc::infer first");
    for (size_t k = 0; k < n.out_shapes.size(); ++k) {
      if (!n.out_shapes[k].known() || n.out_dtypes[k] == DType::unknown)
        throw Error("reference", where + ": output " + std::to_string(k) + " has unknown shape " +
                                     n.out_shapes[k].str() + " or dtype");
    }

    if (n.is_variable()) {
      auto it = vars.find(n.name);
      if (it == vars.end()) throw Error("reference", where + ": no value was given for this variable");
      const HostTensor& t = it->second;
      if (t.shape() != n.out_shapes[0].dims() || t.dtype() != n.out_dtypes[0])
        throw Error("reference", where + ": given " + t.describe() + " but the graph was inferred with " +
                                     n.out_shapes[0].str() + " " + dtype_name(n.out_dtypes[0]));
      values[i] = {t};
      continue;
    }

    if (!n.op) throw Error("reference", where + ": unknown op '" + n.op_name + "'");
    if (n.op->has(kSubgraph)) {  // a kernel group: evaluate its members
      if (n.subgraphs.empty()) throw Error("reference", where + ": kernel group without members");
      const Graph& sub = *n.subgraphs[0];
      std::map<std::string, HostTensor> sv;
      std::vector<int> ids = sub.variable_ids();
      for (size_t k = 0; k < ids.size(); ++k) sv[sub.nodes[ids[k]].name] = values[n.inputs[k].node].at(n.inputs[k].index);
      values[i] = evaluate(sub, sv);
      continue;
    }
    const KernelTable::Entry* kit = kernels().find(n.op->name);
    if (!kit)
      throw Error("reference", where + ": op " + n.op->name + " has no reference kernel");

    AttrView view = n.attr_view();
    Ctx c{n, view, {}, {}, {}, {}};
    for (const ValueRef& r : n.inputs) {
      const HostTensor& t = values[r.node].at(r.index);
      if (!t.defined())
        throw Error("reference", where + ": input " + out_key(g.nodes[r.node], r.index) + " was freed");
      c.in.push_back(to_arr(t, where));
      c.in_dtypes.push_back(t.dtype());
    }
    for (size_t k = 0; k < n.out_shapes.size(); ++k) {
      c.out.emplace_back(n.out_shapes[k].dims());
      c.out_dtypes.push_back(n.out_dtypes[k]);
    }
    kit->fn(c);
    for (size_t k = 0; k < c.out.size(); ++k) {
      if (c.out[k].shape != n.out_shapes[k].dims())  // a kernel bug, not a user error
        throw Error("reference", where + ": kernel changed the shape of output " + std::to_string(k));
      values[i].push_back(from_arr(c.out[k], n.out_dtypes[k], where));
    }

    if (!keep_all) {
      for (const ValueRef& r : n.inputs)
        if (last_use[r.node] == i) values[r.node].clear();
    }
  }
  return values;
}

}  // namespace

std::map<std::string, HostTensor> evaluate_all(const Graph& g,
                                               const std::map<std::string, HostTensor>& variables) {
  auto values = run(g, variables, true);
  std::map<std::string, HostTensor> out;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (size_t k = 0; k < values[i].size(); ++k) out[out_key(g.nodes[i], static_cast<int>(k))] = values[i][k];
  return out;
}

std::vector<HostTensor> evaluate(const Graph& g, const std::map<std::string, HostTensor>& variables) {
  auto values = run(g, variables, false);
  std::vector<HostTensor> heads;
  for (const ValueRef& h : g.heads) heads.push_back(values[h.node].at(h.index));
  return heads;
}

bool supports(const std::string& op_name) {
  const OpDef* d = OpRegistry::global().find(op_name);
  return d && (kernels().find(d->name) || d->has(kSubgraph));
}

std::vector<std::string> supported_ops() {
  std::vector<std::string> names;
  for (const auto& [name, k] : kernels().entries()) names.push_back(name);
  return names;
}

std::map<std::string, std::string> kernel_files() {
  std::map<std::string, std::string> files;
  for (const auto& [name, k] : kernels().entries()) files[name] = k.file;
  return files;
}

}  // namespace hgc::ref
