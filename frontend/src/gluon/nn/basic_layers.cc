// gluon.nn basic layers (Dense, Activation, Dropout, Flatten), Sequential containers and
// nd::op, the generic op call layers are written with.
#include <algorithm>
#include <sstream>

#include "hgc/frontend/gluon/nn/basic_layers.h"
#include "hgc/frontend/nd/op.h"
#include "hgc/frontend/gluon/nn/sequential.h"
#include "hgc/base/error.h"
#include "hgc/ir/op.h"
#include "nd/detail.h"
#include "gluon/nn/train_layers.h"
#include "symbol/trace.h"

namespace hgc {
namespace nd {

NDArray op(const std::string& op_name, const AttrMap& attrs, const std::vector<NDArray>& inputs, const std::string& name) {
  return nd_detail::call(op_name, attrs, inputs, name);
}

std::vector<NDArray> op_all(const std::string& op_name, const AttrMap& attrs, const std::vector<NDArray>& inputs,
                            const std::string& name) {
  return nd_detail::call_all(op_name, attrs, inputs, name);
}

}  // namespace nd

namespace gluon::nn {

// ---- containers ----
std::vector<NDArray> Sequential::forward_multi(const std::vector<NDArray>& xs) {
  std::vector<NDArray> v = xs;
  for (const auto& [_, c] : children()) v = (*c)(v);
  return v;
}

std::vector<NDArray> HybridSequential::hybrid_forward_multi(const std::vector<NDArray>& xs) {
  std::vector<NDArray> v = xs;
  for (const auto& [_, c] : children()) v = (*c)(v);
  return v;
}

NDArray HybridConcurrent::hybrid_forward(const NDArray& x) {
  std::vector<NDArray> outs;
  for (const auto& [_, c] : children()) outs.push_back((*c)(x));
  if (outs.empty()) fail("gluon", "HybridConcurrent '", name(), "' has no children");
  return outs.size() == 1 ? outs[0] : nd::concat(outs, axis_);
}

// ---- Activation ----
Activation::Activation(std::string act_type, BlockArgs args) : HybridBlock("activation", std::move(args)), act_(std::move(act_type)) {
  // The op record's choices are the one list (ir/ops/nn.cc), so the block accepts what the op does.
  const std::vector<std::string>& choices = OpRegistry::global().get("Activation").attr_spec("act_type")->choices;
  if (std::find(choices.begin(), choices.end(), act_) == choices.end()) {
    std::string list;
    for (const std::string& c : choices) list += (list.empty() ? "" : ", ") + c;
    fail("gluon", "Activation: act_type '", act_, "' is not one of ", list);
  }
}

NDArray Activation::hybrid_forward(const NDArray& x) { return nd::op("Activation", {{"act_type", act_}}, {x}, "fwd"); }

// ---- Dense ----
Dense::Dense(DenseOptions opts, BlockArgs args) : HybridBlock("dense", std::move(args)), opts_(std::move(opts)) {
  if (opts_.units_ <= 0) fail("gluon", "Dense: units must be positive, got ", opts_.units_);
  auto scope = name_scope();
  ParamOptions w = ParamOptions().shape({opts_.units_, opts_.in_units_}).dtype(opts_.dtype_);
  if (opts_.weight_initializer_) w.init(*opts_.weight_initializer_);
  weight = params().get("weight", w);
  if (opts_.use_bias_) {
    ParamOptions b = ParamOptions().shape({opts_.units_}).dtype(opts_.dtype_);
    if (opts_.bias_initializer_) b.init(*opts_.bias_initializer_);
    bias = params().get("bias", b);
  }
  if (!opts_.activation_.empty())
    act_ = register_child(std::make_shared<Activation>(opts_.activation_, BlockArgs().prefix(opts_.activation_ + "_")), "act");
}

NDArray Dense::hybrid_forward(const NDArray& x) {
  AttrMap a{{"num_hidden", opts_.units_}};
  std::vector<NDArray> ins{x, weight->data()};
  if (bias) ins.push_back(bias->data());
  else a["no_bias"] = true;
  if (!opts_.flatten_) a["flatten"] = false;
  NDArray y = nd::op("FullyConnected", a, ins, "fwd");
  return act_ ? (*act_)(y) : y;
}

std::string Dense::repr() const {
  const auto& s = weight->shape();
  std::string in = s.size() > 1 && s[1] ? std::to_string(s[1]) : "None";
  return "Dense(" + in + " -> " + std::to_string(s[0]) + ", " + (act_ ? act_->repr() : "linear") + ")";
}

// ---- Dropout ----
Dropout::Dropout(double rate, std::vector<int64_t> axes, BlockArgs args)
    : HybridBlock("dropout", std::move(args)), rate_(rate), axes_(std::move(axes)) {
  if (!(rate_ >= 0 && rate_ < 1)) fail("gluon", "Dropout: rate ", rate_, " is not in [0, 1)");
}

namespace detail {

// The keep mask is drawn like x (_random_uniform_like: a counter-based draw over x's actual
// shape from one seed taken from the global generator per call), the same way imperatively
// and in a compiled training forward (where the seed is an input drawn before each run): both
// give the same bits for the same seed, every call gets a fresh mask, and a dynamic axis takes
// any size without a new compile. With `axes`, the mask has size 1 there: it is drawn like a
// one-wide slice of x and broadcast.
NDArray dropout_train(const NDArray& x, double rate, const std::vector<int64_t>& axes, const std::string& /*who*/) {
  NDArray like = x;
  for (int64_t ax : axes) like = nd::slice_axis(like, nd_detail::normalize_axis(ax, x.ndim(), "Dropout axes"), 0, 1);
  NDArray keep = (nd::random::uniform_like(like, 0, 1) >= rate) * (1.0 / (1.0 - rate));
  return x * keep;
}
}  // namespace detail

NDArray Dropout::hybrid_forward(const NDArray& x) {
  bool drops = is_training() && rate_ > 0;
  if (x.is_symbolic() && !(drops && x.symbolic_value()->graph->for_compile)) {
    AttrMap a{{"p", rate_}};
    if (!axes_.empty()) a["axes"] = axes_;
    return nd::op("Dropout", a, {x}, "fwd");
  }
  return drops ? detail::dropout_train(x, rate_, axes_, name()) : x;
}

std::string Dropout::repr() const {
  std::ostringstream os;
  os << "Dropout(p = " << rate_ << ", axes=(";
  for (size_t i = 0; i < axes_.size(); ++i) os << (i ? ", " : "") << axes_[i];
  os << (axes_.size() == 1 ? ",))" : "))");
  return os.str();
}

// ---- Flatten ----
NDArray Flatten::hybrid_forward(const NDArray& x) { return nd::op("Flatten", {}, {x}); }

}  // namespace gluon::nn
}  // namespace hgc
