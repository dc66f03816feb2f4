// Whether a symbolic graph can run as independent row chunks of its batch (dynamic.h,
// batch_split_refusal): every value that carries the batch symbol carries it as axis 0 only,
// and every op computes row r of its outputs from row r of those inputs.
#include <algorithm>
#include <set>

#include "hgc/compiler/dynamic.h"
#include "lowering.h"
#include "node_ctx.h"

namespace hgc {

namespace {

using lower::Dims;

bool carries(const Dims& d, int64_t s) { return std::find(d.begin(), d.end(), s) != d.end(); }
bool leads_only(const Dims& d, int64_t s) { return !d.empty() && d[0] == s && !carries(Dims(d.begin() + 1, d.end()), s); }

int64_t product(const Dims& d, size_t from) {
  int64_t n = 1;
  for (size_t k = from; k < d.size(); ++k) n *= d[k] < 0 ? 1 : d[k];
  return n;
}

// An axis attribute that names axis 0 of a value of rank `rank` (negative ones count back).
bool names_axis0(const AttrView& a, const char* key, size_t rank) {
  if (a.is_none(key)) return true;  // all axes
  int64_t ax = a.i(key);
  return ax == 0 || ax + static_cast<int64_t>(rank) == 0;
}

// Row r of every output from row r of the inputs that carry the batch (the shape checks are
// done by the caller): the ops a batch-split forward meets, by their meaning.
bool row_local(const Node& n, const lower::NodeCtx& c, int64_t s, std::string& why) {
  const std::string& op = n.op->name;
  const size_t rank = c.in_shapes.empty() ? 0 : c.in_shapes[0].size();
  auto only_input0 = [&] {
    for (size_t k = 1; k < c.in_shapes.size(); ++k)
      if (carries(c.in_shapes[k], s)) return false;
    return true;
  };
  if (op == "FullyConnected" || op == "Convolution" || op == "Deconvolution" || op == "Embedding")
    return only_input0();
  if (op == "Pooling") return c.attrs.is_none("layout") || c.attrs.s("layout")[0] == 'N';
  if (op == "softmax" || op == "log_softmax" || op == "softmin" || op == "LayerNorm")
    return !names_axis0(c.attrs, "axis", rank);
  // Each normalizes within a sample (over a row, a channel or a spatial position of it).
  if (op == "L2Normalization" || op == "SoftmaxActivation" || op == "SoftmaxOutput") return true;
  // Compiled training graphs spell batch statistics and dropout masks with other ops (means
  // over axis 0, random draws); these two ops are the inference forms.
  if (op == "BatchNorm" || op == "Dropout") return true;
  if (op == "Flatten" || op == "Reshape" || op == "reshape" || op == "expand_dims" || op == "squeeze" ||
      op == "_copy" || op == "identity" || op == "BlockGrad" || op == "stop_gradient")
    return true;  // rows stay rows: the row count (axis 0, the batch) is kept and rows are contiguous
  if (op == "batch_dot" || op == "dot") return op == "batch_dot" || only_input0();
  if (op == "Concat" || op == "concat") return c.attrs.i("dim") != 0;
  if (op == "sum" || op == "mean" || op == "max" || op == "min") {
    if (c.attrs.is_none("axis")) return false;
    for (int64_t ax : c.attrs.tuple("axis"))
      if (ax == 0 || ax + static_cast<int64_t>(rank) == 0) return false;
    return !c.attrs.b("exclude");
  }
  if (op == "LeakyReLU" && c.attrs.s("act_type") == "rrelu") return false;
  if (op.find("random") != std::string::npos || op.rfind("_sample", 0) == 0) return false;  // one draw per call
  const lower::Lowering* l = lower::LoweringTable::global().find(*n.op);
  if (l && l->shape_polymorphic) return true;  // elementwise and broadcasting
  why = n.describe() + " (" + op + ") may mix batch rows";
  return false;
}

std::string refusal(const Graph& g, int64_t s, int64_t& row_cost) {
  for (const Node& n : g.nodes) {
    if (n.is_variable()) {
      for (const Shape& sh : n.out_shapes)
        if (carries(sh.dims(), s) && !leads_only(sh.dims(), s)) return "input " + n.name + " carries the batch off axis 0";
      continue;
    }
    if (!n.op) return n.describe() + " has no op";
    lower::NodeCtx c = lower::node_ctx(g, n);
    bool any_in = false;
    for (const Dims& d : c.in_shapes) {
      if (carries(d, s) && !leads_only(d, s)) return n.describe() + " reads the batch off axis 0";
      any_in = any_in || carries(d, s);
    }
    for (const Dims& d : c.out_shapes) {
      if (any_in ? !leads_only(d, s) : carries(d, s)) return n.describe() + " does not keep the batch as axis 0";
      row_cost += product(d, 1);
    }
    if (!any_in) continue;  // batch-free (weights' own arithmetic): each chunk does it whole
    if (n.op->has(kSubgraph) && !n.subgraphs.empty()) {
      int64_t inner = 0;  // members' shapes are symbolic too
      std::string r = refusal(*n.subgraphs[0], s, inner);
      if (!r.empty()) return r;
      row_cost += inner;
      continue;
    }
    std::string why;
    if (!row_local(n, c, s, why)) return why.empty() ? n.describe() + " mixes batch rows" : why;
    if (n.op->name == "FullyConnected" || n.op->name == "Convolution" || n.op->name == "Deconvolution")
      row_cost += product(c.out_shapes[0], 1) * product(c.in_shapes[1], 1);  // multiply-adds per row
  }
  return "";
}

void symbols(const Graph& g, std::set<int64_t>& out) {
  for (const Node& n : g.nodes) {
    for (const Shape& sh : n.out_shapes)
      for (int64_t d : sh.dims())
        if (d <= -2) out.insert(d);
    for (const auto& sub : n.subgraphs) symbols(*sub, out);
  }
}

}  // namespace

std::string batch_split_refusal(const Graph& sym, int64_t* row_cost) {
  std::set<int64_t> ids;
  symbols(sym, ids);
  if (ids.size() != 1) return ids.empty() ? "no symbolic dims" : "more than one symbolic size";
  const int64_t s = *ids.begin();
  int64_t cost = 0;
  std::string r = refusal(sym, s, cost);
  if (!r.empty()) return r;
  for (const ValueRef& h : sym.heads)
    if (!leads_only(sym.shape(h).dims(), s)) return "an output does not carry the batch as axis 0";
  if (row_cost) *row_cost = cost;
  return "";
}

}  // namespace hgc
