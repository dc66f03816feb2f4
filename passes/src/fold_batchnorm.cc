// fold-batchnorm: a predict-mode BatchNorm folded into the Convolution or FullyConnected
// that feeds it.
//
// Algorithm. For every BatchNorm b (node order) with
//   - data = output 0 of a Convolution (NC* layout) or FullyConnected p whose only reader is
//     b (not a head either), b's axis the channel axis of p's output (1 for a convolution, the
//     last for FullyConnected), and nobody reading b's mean/var outputs;
//   - p's weight (and bias) and b's gamma, beta, moving_mean, moving_var variables whose
//     tensors are in the table, float32/float64, with C = p's output channels entries;
// compute per output channel c, in double precision:
//     s[c]  = gamma[c] / sqrt(moving_var[c] + eps)          (gamma = 1 when fix_gamma)
//     W'[c] = W[c] * s[c]                                    (row c of the weight: dim 0)
//     b'[c] = (bias[c] - moving_mean[c]) * s[c] + beta[c]    (bias = 0 when no_bias)
// W' and b' become new variables `<weight>_bnfold`, `<bias>_bnfold` (`<layer>_bias_bnfold`
// when p had no bias; no_bias is then set False) whose tensors are added to the table; p
// reads them, b's readers read p, and b, the old weights and b's parameters and aux states
// (when nothing else reads them) are removed. The graph is re-inferred.
#include <cmath>

#include "graph_rewrite.h"
#include "hgc/passes/simplify.h"

namespace hgc {
namespace {

using rewrite::op_def;

double at(const HostTensor& t, int64_t i) {
  return t.dtype() == DType::f32 ? t.data<float>()[i] : t.data<double>()[i];
}
void put(HostTensor& t, int64_t i, double v) {
  if (t.dtype() == DType::f32) t.data<float>()[i] = static_cast<float>(v);
  else t.data<double>()[i] = v;
}

class BnFolder {
 public:
  BnFolder(Graph& g, TensorMap& params) : g_(g), params_(params), uses_(rewrite::use_counts(g)) {}

  int run() {
    rewrite::Rewrite rw(g_);
    int folded = 0;
    const int n = static_cast<int>(g_.nodes.size());
    for (int i = 0; i < n; ++i)
      if (g_.nodes[i].op == bn_ && fold(i, rw)) ++folded;
    if (folded) rw.finish();
    return folded;
  }

 private:
  // The tensor of variable input `v` (of `numel` elements unless negative), or nullptr when it
  // is not a float variable in the table.
  const HostTensor* tensor(ValueRef v, int64_t numel) const {
    const Node& n = g_.nodes[v.node];
    if (!n.is_variable()) return nullptr;
    auto it = params_.find(n.name);
    if (it == params_.end()) return nullptr;
    const HostTensor& t = it->second;
    if (t.dtype() != DType::f32 && t.dtype() != DType::f64) return nullptr;
    if ((numel >= 0 && t.numel() != numel) || Shape(t.shape()) != n.out_shapes.at(0)) return nullptr;
    return &t;
  }

  std::string fresh_name(const std::string& base) const {
    std::string s = rewrite::unique_name(g_, base);
    for (int k = 1; params_.count(s); ++k) s = rewrite::unique_name(g_, base + "_" + std::to_string(k));
    return s;
  }

  bool fold(int i, rewrite::Rewrite& rw) {
    const Node& b = g_.nodes[i];
    AttrView a = b.attr_view();
    for (size_t k = 1; k < uses_[i].size(); ++k)
      if (uses_[i][k]) return false;
    const ValueRef d = b.inputs[0];
    Node& p = g_.nodes[d.node];
    if (d.index != 0 || (p.op != conv_ && p.op != fc_) || uses_[d.node][0] != 1) return false;
    if (p.out_shapes.empty() || !p.out_shapes[0].known()) return false;
    const Shape& out = p.out_shapes[0];
    const int rank = out.ndim();
    int channel = rank - 1;
    if (p.op == conv_) {
      AttrView pa = p.attr_view();
      if (!pa.is_none("layout") && pa.s("layout")[1] != 'C') return false;
      channel = 1;
    }
    int64_t axis = a.i("axis");
    if (axis < 0) axis += rank;
    if (rank < 2 || axis != channel) return false;
    const int64_t C = out[channel];
    const bool no_bias = p.attr_view().b("no_bias");

    if (p.inputs.size() < 2) return false;
    const HostTensor* w = tensor(p.inputs[1], -1);
    if (!w || w->ndim() < 1 || w->shape()[0] != C) return false;
    const HostTensor* bias = no_bias ? nullptr : tensor(p.inputs[2], C);
    if (!no_bias && !bias) return false;
    const bool fix_gamma = a.b("fix_gamma");
    const HostTensor* gamma = fix_gamma ? nullptr : tensor(b.inputs[1], C);
    const HostTensor* beta = tensor(b.inputs[2], C);
    const HostTensor* mean = tensor(b.inputs[3], C);
    const HostTensor* var = tensor(b.inputs[4], C);
    if ((!fix_gamma && !gamma) || !beta || !mean || !var) return false;

    const double eps = a.f("eps");
    HostTensor nw(w->dtype(), w->shape());
    HostTensor nb(w->dtype(), {C});
    const int64_t row = C ? w->numel() / C : 0;
    for (int64_t c = 0; c < C; ++c) {
      double s = (fix_gamma ? 1.0 : at(*gamma, c)) / std::sqrt(at(*var, c) + eps);
      for (int64_t j = 0; j < row; ++j) put(nw, c * row + j, at(*w, c * row + j) * s);
      put(nb, c, ((bias ? at(*bias, c) : 0.0) - at(*mean, c)) * s + at(*beta, c));
    }

    // Names first: add_variable appends to g_.nodes, which invalidates p and b.
    const std::string wname = fresh_name(g_.nodes[p.inputs[1].node].name + "_bnfold");
    const std::string bname =
        fresh_name((no_bias ? p.name + "_bias" : g_.nodes[p.inputs[2].node].name) + "_bnfold");
    params_[wname] = nw;
    params_[bname] = nb;
    int wid = rewrite::add_variable(g_, wname, Shape(nw.shape()), nw.dtype(), false);
    int bid = rewrite::add_variable(g_, bname, Shape{C}, nb.dtype(), false);
    Node& layer = g_.nodes[d.node];
    for (int k = 1; k < static_cast<int>(layer.inputs.size()); ++k) rw.droppable(layer.inputs[k].node);
    for (int k = 1; k < 5; ++k) rw.droppable(g_.nodes[i].inputs[k].node);
    layer.inputs[1] = {wid, 0};
    if (no_bias) {
      layer.attrs["no_bias"] = false;
      layer.inputs.push_back({bid, 0});
    } else {
      layer.inputs[2] = {bid, 0};
    }
    rw.replace({i, 0}, d);
    return true;
  }

  Graph& g_;
  TensorMap& params_;
  std::vector<std::vector<int>> uses_;
  const OpDef* bn_ = op_def("BatchNorm");
  const OpDef* conv_ = op_def("Convolution");
  const OpDef* fc_ = op_def("FullyConnected");
};

class FoldBatchNormPass : public Pass {
 public:
  explicit FoldBatchNormPass(TensorMap* p) : params_(p) {}
  std::string name() const override { return "fold-batchnorm"; }
  std::set<Fact> requires_facts() const override { return {Fact::ShapesInferred}; }
  std::set<Fact> provides() const override { return {Fact::ShapesInferred}; }
  std::set<Fact> invalidates() const override { return {Fact::Verified, Fact::Fused, Fact::MemoryPlanned}; }
  void run(Graph& g) override {
    if (params_) fold_batchnorm(g, *params_);
  }

 private:
  TensorMap* params_;
};

}  // namespace

int fold_batchnorm(Graph& g, TensorMap& params) { return BnFolder(g, params).run(); }

std::unique_ptr<Pass> make_fold_batchnorm_pass(TensorMap* params) {
  return std::make_unique<FoldBatchNormPass>(params);
}

}  // namespace hgc
