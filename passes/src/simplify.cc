// simplify: algebraic simplification.
//
// Algorithm. Rounds until one rewrites nothing (at most 16). A round walks the nodes in
// topological order with use counts of every value (readers plus heads), kept current as it
// rewires; each node's inputs are first resolved through the round's replacements. With x the
// node's first input and "sole reader" meaning the inner node's output has no other use:
//  - predict mode: a training-only op (Dropout, unless mode=always) whose extra outputs (the
//    mask) nobody reads is replaced by x;
//  - x*1, x/1, x+0, x-0 (_mul/_div/_plus/_minus_scalar) are replaced by x when the dtype and
//    shape do not change;
//  - scalar chains, the inner op the sole reader's: mul/div of mul/div becomes one
//    _mul_scalar(x, a*b) (a/b, b/a, ...; div of div stays _div_scalar(x, a*b)), plus/minus of
//    plus/minus one _plus_scalar(x, a+b) (minus of minus _minus_scalar(x, a+b)); float dtypes
//    only (integer division does not compose), never through a zero divisor;
//  - transpose: an identity permutation is replaced by x; a transpose of a transpose reads
//    the inner's input with the composed axes p[j] = inner[outer[j]] (replaced by that input
//    when the composition is the identity, otherwise only when it is the sole reader);
//  - reshapes (Reshape, Flatten, expand_dims, squeeze): one whose output shape equals its
//    input's is replaced by x; one reading another becomes Reshape(inner's input,
//    shape=its own inferred output shape) (a view of a view: the inner one may keep others).
// A rewritten node keeps its name, so dumps and heads keep their names. The round ends with
// the common rebuild: dead inner nodes go, the graph is re-inferred.
#include <cmath>

#include "graph_rewrite.h"
#include "hgc/base/error.h"
#include "hgc/passes/simplify.h"

namespace hgc {
namespace {

using rewrite::op_def;

struct Ops {
  const OpDef* mul = op_def("_mul_scalar");
  const OpDef* div = op_def("_div_scalar");
  const OpDef* plus = op_def("_plus_scalar");
  const OpDef* minus = op_def("_minus_scalar");
  const OpDef* transpose = op_def("transpose");
  const OpDef* reshape = op_def("Reshape");
  std::vector<const OpDef*> views = {reshape, op_def("Flatten"), op_def("expand_dims"), op_def("squeeze")};

  bool is_view(const OpDef* d) const { return std::find(views.begin(), views.end(), d) != views.end(); }
  bool mul_group(const OpDef* d) const { return d == mul || d == div; }
  bool add_group(const OpDef* d) const { return d == plus || d == minus; }
};

class Round {
 public:
  Round(Graph& g, const AlgebraOptions& o) : g_(g), opts_(o), rw_(g), uses_(rewrite::use_counts(g)) {}

  int run() {
    for (int i = 0; i < static_cast<int>(g_.nodes.size()); ++i) {
      Node& n = g_.nodes[i];
      for (ValueRef& v : n.inputs) rewire(v, rw_.resolve(v));
      if (n.is_variable() || !n.op || n.inputs.empty() || !n.control_deps.empty() || !n.subgraphs.empty())
        continue;
      if (visit(i)) ++count_;
    }
    if (count_) rw_.finish();
    return count_;
  }

 private:
  int& uses(ValueRef v) {
    auto& u = uses_[v.node];
    if (static_cast<int>(u.size()) <= v.index) u.resize(v.index + 1, 0);
    return u[v.index];
  }
  void rewire(ValueRef& slot, ValueRef to) {
    if (slot == to) return;
    --uses(slot);
    ++uses(to);
    slot = to;
  }
  // Node i's output 0 is now `to` (node i is dead).
  void forward(int i, ValueRef to) {
    uses(to) += uses({i, 0});
    --uses(g_.nodes[i].inputs[0]);
    uses({i, 0}) = 0;
    rw_.replace({i, 0}, to);
  }
  const Shape* shape(ValueRef v) const {
    const Node& n = g_.nodes[v.node];
    return v.index < static_cast<int>(n.out_shapes.size()) ? &n.out_shapes[v.index] : nullptr;
  }
  DType dtype(ValueRef v) const {
    const Node& n = g_.nodes[v.node];
    return v.index < static_cast<int>(n.out_dtypes.size()) ? n.out_dtypes[v.index] : DType::unknown;
  }
  // Output 0 of node i has the shape and dtype of value x.
  bool same_as(int i, ValueRef x) const {
    const Shape *a = shape({i, 0}), *b = shape(x);
    return a && b && a->known() && *a == *b && dtype({i, 0}) == dtype(x) && dtype(x) != DType::unknown;
  }
  static double scalar(const Node& n) { return n.attr_view().f("scalar"); }

  bool visit(int i) {
    Node& n = g_.nodes[i];
    const ValueRef x = n.inputs[0];
    if (!opts_.training && n.op->has(kTrainingOnly)) return training_only(i);
    if (ops_.mul_group(n.op) || ops_.add_group(n.op)) {
      double s = scalar(n);
      bool neutral = ops_.mul_group(n.op) ? s == 1.0 : s == 0.0;
      if (neutral && same_as(i, x)) return forward(i, x), true;
      return scalar_chain(i);
    }
    if (n.op == ops_.transpose) return transpose(i);
    if (ops_.is_view(n.op)) return reshape(i);
    return false;
  }

  bool training_only(int i) {
    Node& n = g_.nodes[i];
    if (n.op->attr_spec("mode") && n.attr_view().s("mode") == "always") return false;
    for (int k = 1; k < static_cast<int>(uses_[i].size()); ++k)
      if (uses_[i][k]) return false;
    if (!same_as(i, n.inputs[0])) return false;
    forward(i, n.inputs[0]);
    return true;
  }

  bool scalar_chain(int i) {
    Node& n = g_.nodes[i];
    const ValueRef x = n.inputs[0];
    const Node& inner = g_.nodes[x.node];
    if (x.index != 0 || inner.is_variable() || !inner.op || uses(x) != 1) return false;
    bool mul = ops_.mul_group(n.op);
    if (mul ? !ops_.mul_group(inner.op) : !ops_.add_group(inner.op)) return false;
    const ValueRef src = inner.inputs[0];
    DType t = dtype(src);
    if (!dtype_is_float(t) || dtype(x) != t || dtype({i, 0}) != t) return false;
    double a = scalar(inner), b = scalar(n);
    const OpDef* op;
    double c;
    if (mul) {
      if ((inner.op == ops_.div && a == 0) || (n.op == ops_.div && b == 0)) return false;
      if (inner.op == ops_.div && n.op == ops_.div) {
        op = ops_.div, c = a * b;
      } else {
        op = ops_.mul;
        c = (inner.op == ops_.mul ? a : 1.0 / a) * (n.op == ops_.mul ? b : 1.0 / b);
      }
    } else if (inner.op == ops_.minus && n.op == ops_.minus) {
      op = ops_.minus, c = a + b;
    } else {
      op = ops_.plus;
      c = (inner.op == ops_.plus ? a : -a) + (n.op == ops_.plus ? b : -b);
    }
    if (!std::isfinite(c)) return false;
    n.op = op;
    n.op_name = op->name;
    n.attrs = {{"scalar", c}, {"is_int", false}};
    rewire(n.inputs[0], src);
    return true;
  }

  // The permutation a transpose node applies (empty axes: reversed), or empty if unknown.
  std::vector<int64_t> perm(const Node& n) const {
    const Shape* in = shape(n.inputs[0]);
    if (!in || !in->rank_known()) return {};
    const int r = in->ndim();
    std::vector<int64_t> p = n.attr_view().tuple("axes");
    if (p.empty())
      for (int j = r - 1; j >= 0; --j) p.push_back(j);
    if (static_cast<int>(p.size()) != r) return {};
    for (int64_t& a : p) a = a < 0 ? a + r : a;
    return p;
  }
  static bool identity(const std::vector<int64_t>& p) {
    for (size_t j = 0; j < p.size(); ++j)
      if (p[j] != static_cast<int64_t>(j)) return false;
    return true;
  }

  bool transpose(int i) {
    Node& n = g_.nodes[i];
    const ValueRef x = n.inputs[0];
    std::vector<int64_t> outer = perm(n);
    if (outer.empty()) return false;
    if (identity(outer)) return same_as(i, x) && (forward(i, x), true);
    const Node& inner = g_.nodes[x.node];
    if (inner.op != ops_.transpose) return false;
    std::vector<int64_t> p = perm(inner);
    if (p.size() != outer.size()) return false;
    std::vector<int64_t> composed(p.size());
    for (size_t j = 0; j < p.size(); ++j) composed[j] = p[outer[j]];
    const ValueRef src = inner.inputs[0];
    if (identity(composed)) return same_as(i, src) && (forward(i, src), true);
    if (uses(x) != 1) return false;
    n.attrs["axes"] = composed;
    rewire(n.inputs[0], src);
    return true;
  }

  bool reshape(int i) {
    Node& n = g_.nodes[i];
    const ValueRef x = n.inputs[0];
    const Shape* out = shape({i, 0});
    if (!out || !out->known()) return false;
    if (same_as(i, x)) return forward(i, x), true;
    const Node& inner = g_.nodes[x.node];
    if (!inner.op || !ops_.is_view(inner.op) || inner.inputs.empty()) return false;
    for (int64_t d : out->dims())
      if (d <= 0) return false;  // 0 means "copy this dim" to Reshape
    const ValueRef src = inner.inputs[0];
    if (dtype(src) != dtype({i, 0})) return false;
    n.op = ops_.reshape;
    n.op_name = ops_.reshape->name;
    n.attrs = {{"shape", out->dims()}};
    rewire(n.inputs[0], src);
    return true;
  }

  Graph& g_;
  AlgebraOptions opts_;
  rewrite::Rewrite rw_;
  std::vector<std::vector<int>> uses_;
  Ops ops_;
  int count_ = 0;
};

}  // namespace

int simplify(Graph& g, const AlgebraOptions& opts) {
  int total = 0;
  for (int round = 0; round < 16; ++round) {
    int n = Round(g, opts).run();
    total += n;
    if (n == 0) break;
  }
  return total;
}

namespace {
class SimplifyPass : public Pass {
 public:
  explicit SimplifyPass(AlgebraOptions o) : opts_(o) {}
  std::string name() const override { return "simplify"; }
  std::set<Fact> requires_facts() const override { return {Fact::ShapesInferred}; }
  std::set<Fact> provides() const override { return {Fact::ShapesInferred}; }
  std::set<Fact> invalidates() const override { return {Fact::Verified, Fact::Fused, Fact::MemoryPlanned}; }
  void run(Graph& g) override { simplify(g, opts_); }

 private:
  AlgebraOptions opts_;
};
}  // namespace

std::unique_ptr<Pass> make_simplify_pass(AlgebraOptions opts) {
  return std::make_unique<SimplifyPass>(opts);
}

}  // namespace hgc
