// gluon.nn Embedding, LayerNorm and BatchNorm. BatchNorm's training-mode statistics are
// computed here from NDArray ops, imperatively and in compiled training forwards alike (the
// BatchNorm op's lowering is its predict mode).
#include "hgc/frontend/gluon/nn/norm_layers.h"

#include "gluon/nn/repr_util.h"

#include <sstream>

#include "hgc/frontend/nd/op.h"
#include "hgc/base/error.h"
#include "nd/detail.h"
#include "gluon/nn/train_layers.h"
#include "symbol/trace.h"

namespace hgc::gluon::nn {
namespace {
using detail::num;
using detail::py;
std::string chans(const std::shared_ptr<Parameter>& p) {
  return p->shape().empty() || p->shape()[0] == 0 ? "None" : std::to_string(p->shape()[0]);
}
}  // namespace

Embedding::Embedding(int64_t input_dim, int64_t output_dim, DType dtype, BlockArgs args)
    : HybridBlock("embedding", std::move(args)), input_dim_(input_dim), output_dim_(output_dim), dtype_(dtype) {
  auto scope = name_scope();
  weight = params().get("weight", ParamOptions().shape({input_dim, output_dim}).dtype(dtype));
}

NDArray Embedding::hybrid_forward(const NDArray& x) {
  return nd::op("Embedding",
                {{"input_dim", input_dim_}, {"output_dim", output_dim_}, {"dtype", std::string(dtype_name(dtype_))}},
                {x, weight->data()}, "fwd");
}

std::string Embedding::repr() const {
  return "Embedding(" + std::to_string(input_dim_) + " -> " + std::to_string(output_dim_) + ", " + dtype_name(dtype_) + ")";
}

LayerNorm::LayerNorm(NormOptions opts, BlockArgs args) : HybridBlock("layernorm", std::move(args)), opts_(opts) {
  auto scope = name_scope();
  gamma = params().get("gamma", ParamOptions().shape({opts_.in_channels_}).init("ones").grad_req(opts_.scale_ ? "write" : "null"));
  beta = params().get("beta", ParamOptions().shape({opts_.in_channels_}).init("zeros").grad_req(opts_.center_ ? "write" : "null"));
}

NDArray LayerNorm::hybrid_forward(const NDArray& x) {
  return nd::op("LayerNorm", {{"axis", int64_t(opts_.axis_)}, {"eps", opts_.epsilon_}}, {x, gamma->data(), beta->data()});
}

std::string LayerNorm::repr() const {
  return "LayerNorm(eps=" + num(opts_.epsilon_) + ", axis=" + std::to_string(opts_.axis_) + ", center=" + py(opts_.center_) +
         ", scale=" + py(opts_.scale_) + ", in_channels=" + chans(gamma) + ")";
}

BatchNorm::BatchNorm(NormOptions opts, BlockArgs args) : BatchNorm("batchnorm", opts, std::move(args)) {}

BatchNorm::BatchNorm(const std::string& hint, NormOptions opts, BlockArgs args)
    : HybridBlock(hint, std::move(args)), opts_(opts) {
  auto scope = name_scope();
  std::vector<int64_t> s{opts_.in_channels_};
  gamma = params().get("gamma", ParamOptions().shape(s).init("ones").grad_req(opts_.scale_ ? "write" : "null"));
  beta = params().get("beta", ParamOptions().shape(s).init("zeros").grad_req(opts_.center_ ? "write" : "null"));
  running_mean = params().get("running_mean", ParamOptions().shape(s).init("zeros").grad_req("null"));
  running_var = params().get("running_var", ParamOptions().shape(s).init("ones").grad_req("null"));
}

NDArray BatchNorm::hybrid_forward(const NDArray& x) {
  bool batch_stats = is_training() && !opts_.use_global_stats_;
  // Imperative calls and compiled training forwards compute the batch statistics with the
  // same ops; other traces (predict mode, export, symbols) record MXNet's BatchNorm op.
  if (batch_stats && (!x.is_symbolic() || x.symbolic_value()->graph->for_compile)) return train_forward(x);
  AttrMap a{{"eps", opts_.epsilon_}, {"momentum", opts_.momentum_}, {"fix_gamma", !opts_.scale_},
            {"use_global_stats", opts_.use_global_stats_}, {"axis", int64_t(opts_.axis_)}};
  return nd::op("BatchNorm", a, {x, gamma->data(), beta->data(), running_mean->data(), running_var->data()}, "fwd");
}

NDArray BatchNorm::train_forward(const NDArray& x) {
  detail::BatchNormTrain o;
  o.axis = opts_.axis_;
  o.eps = opts_.epsilon_;
  o.momentum = opts_.momentum_;
  o.scale = opts_.scale_;
  return detail::batch_norm_train(x, gamma->data(), beta->data(), running_mean, running_var, o, name());
}

namespace detail {
NDArray batch_norm_train(const NDArray& x, const NDArray& gamma, const NDArray& beta,
                         const std::shared_ptr<Parameter>& running_mean, const std::shared_ptr<Parameter>& running_var,
                         const BatchNormTrain& o, const std::string& who) {
  int ax = nd_detail::normalize_axis(o.axis, x.ndim(), "BatchNorm axis");
  std::vector<int64_t> red, bshape(x.ndim(), 1);
  for (int i = 0; i < x.ndim(); ++i)
    if (i != ax) red.push_back(i);
  bshape[ax] = x.shape()[ax];
  std::shared_ptr<TraceGraph> g = x.is_symbolic() ? x.symbolic_value()->graph : nullptr;
  if (g) {  // deferred in_channels: no op below infers the parameters' dims from x
    if (bshape[ax] < 0)
      fail("gluon", "block '", who, "': BatchNorm needs a known channel count in a compiled training forward");
    Shape c({bshape[ax]});
    for (const NDArray& v : {gamma, beta, trace::state(g, running_mean), trace::state(g, running_var)})
      if (v.is_symbolic()) trace::refine_shape(v, c);
  }
  NDArray mean = nd::mean(x, red, true);
  NDArray centered = x - mean;
  NDArray var = nd::mean(nd::square(centered), red, true);
  NDArray y = centered / nd::sqrt(var + o.eps);
  if (o.scale) y = y * gamma.reshape(bshape);
  y = y + beta.reshape(bshape);
  // A compiled forward outputs the new running values; its runner writes them back after
  // each run (hybrid.cc).
  double m = o.momentum;
  for (auto [p, batch] : {std::pair{running_mean, mean}, std::pair{running_var, var}}) {
    if (g) trace::update(g, p, trace::state(g, p) * m + batch.reshape({-1}) * (1 - m));
    else p->data().assign(p->data() * m + batch.reshape({-1}) * (1 - m));
  }
  return y;
}
}  // namespace detail

std::string BatchNorm::repr() const {
  return "BatchNorm(axis=" + std::to_string(opts_.axis_) + ", eps=" + num(opts_.epsilon_) + ", momentum=" +
         num(opts_.momentum_) + ", fix_gamma=" + py(!opts_.scale_) + ", use_global_stats=" + py(opts_.use_global_stats_) +
         ", in_channels=" + chans(gamma) + ")";
}

}  // namespace hgc::gluon::nn
