// The update rules, each written once as a generic expression over whole arrays and
// per-step scalars, and evaluated either as one compiled graph per rule and dtype (Fused:
// FusedUpdate, the default for f32/f64) or op by op on NDArrays (Eager). Graph variants
// (clipping, momentum, centered...) are chosen on the host and named in the cache key.
#include <cmath>

#include "optim/fused_update.h"
#include "hgc/frontend/optim/optimizer.h"
#include "nd/detail.h"

namespace hgc::gluon::optim {

namespace {

// The NDArray spellings of the operations rules use; Expr has its own (fused_update.h).
NDArray maximum(const NDArray& a, double s) { return nd::maximum(a, s); }
NDArray minimum(const NDArray& a, double s) { return nd::minimum(a, s); }
NDArray sqrt(const NDArray& a) { return nd::sqrt(a); }
NDArray square(const NDArray& a) { return nd::square(a); }

// Op by op: arrays and scalars are values; an output overwrites its array.
struct Eager {
  const std::map<std::string, NDArray>& arrays;
  const std::map<std::string, double>& scalars;
  NDArray array(const std::string& n) const { return arrays.at(n); }
  double scalar(const std::string& n) const { return scalars.at(n); }
  void output(const NDArray& v, const std::string& n) const {
    NDArray dst = arrays.at(n);
    nd_detail::write_into(dst, v, "optimizer update of " + n);
  }
};

// Graph building: arrays and scalars are variables; outputs are heads. With `low` (a dtype
// other than unknown) the new weight is also written rounded to it, as output "weight_low".
struct Fused {
  FusedUpdate::Builder& b;
  DType low = DType::unknown;
  FusedUpdate::Expr array(const std::string& n) const { return b.array(n); }
  FusedUpdate::Expr scalar(const std::string& n) const { return b.scalar(n); }
  void output(FusedUpdate::Expr v, const std::string& n) const {
    b.output(v, n);
    if (low != DType::unknown && n == "weight") b.output(b.cast(v, low), "weight_low");
  }
};

// Whether the compiled update can also write `copy` (AMP's low-precision weights): float32
// weights on the host, a bfloat16/float16 copy of their shape.
bool fills_copy(const NDArray& weight, const NDArray& copy) {
  return copy.defined() && !copy.is_symbolic() && !copy.on_device() && !weight.on_device() &&
         weight.dtype() == DType::f32 && (copy.dtype() == DType::bf16 || copy.dtype() == DType::f16) &&
         copy.shape() == weight.shape();
}

// Runs `rule` (a generic lambda over Eager or Fused) for this weight; the compiled update also
// fills low.dst when it can (the cast joins the update's one kernel: the new weight is rounded
// from registers instead of read back by a separate cast).
template <class Rule>
void run_rule(const OptimizerOptions& o, Optimizer::LowCopy& low, const std::string& key, const NDArray& weight,
              const std::map<std::string, NDArray>& arrays, const std::map<std::string, double>& scalars, Rule rule) {
  if (o.use_fused_step && (weight.dtype() == DType::f32 || weight.dtype() == DType::f64)) {
    if (fills_copy(weight, low.dst)) {
      DType t = low.dst.dtype();
      const FusedUpdate& u = FusedUpdate::get(key + "_to_" + dtype_name(t), weight,
                                              [&](FusedUpdate::Builder& b) { rule(Fused{b, t}); });
      std::map<std::string, NDArray> with_copy = arrays;
      with_copy["weight_low"] = low.dst;
      u.run(with_copy, scalars);
      low.written = true;
      return;
    }
    const FusedUpdate& u = FusedUpdate::get(key, weight, [&](FusedUpdate::Builder& b) { rule(Fused{b}); });
    u.run(arrays, scalars);
  } else {
    rule(Eager{arrays, scalars});
  }
}

// Compiles `rule` for this weight's dtype (and plans it for its shape) without running it:
// the same key and rule as run_rule, so the first run_rule finds them cached.
template <class Rule>
void prepare_rule(const OptimizerOptions& o, const std::string& key, const NDArray& weight, Rule rule) {
  if (o.use_fused_step && (weight.dtype() == DType::f32 || weight.dtype() == DType::f64))
    FusedUpdate::get(key, weight, [&](FusedUpdate::Builder& b) { rule(Fused{b}); });
}

bool clipping(const OptimizerOptions& o) { return o.clip_gradient && *o.clip_gradient >= 0; }

// The scalars every rule reads.
std::map<std::string, double> common(const OptimizerOptions& o, double lr, double wd) {
  std::map<std::string, double> s{{"lr", lr}, {"wd", wd}, {"rescale", o.rescale_grad}};
  if (clipping(o)) s["clip"] = *o.clip_gradient, s["nclip"] = -*o.clip_gradient;
  return s;
}

// x clipped to [-clip_gradient, clip_gradient] when clipping (a graph variant).
template <class C, class X>
X clip_if(const C& c, bool clip, X x) {
  return clip ? minimum(maximum(x, c.scalar("nclip")), c.scalar("clip")) : x;
}

std::string variant(std::string key, std::initializer_list<std::pair<bool, const char*>> flags) {
  for (auto [on, name] : flags)
    if (on) key += std::string("_") + name;
  return key;
}

std::vector<NDArray> zeros_n(const NDArray& w, size_t n) {
  std::vector<NDArray> r;
  for (size_t i = 0; i < n; ++i) r.push_back(nd::zeros_like(w));
  return r;
}

double bias_corrected(double lr, double beta1, double beta2, int64_t t) {
  return lr * std::sqrt(1 - std::pow(beta2, static_cast<double>(t))) / (1 - std::pow(beta1, static_cast<double>(t)));
}

}  // namespace

std::vector<NDArray> SGD::create_state(const NDArray& w) const { return zeros_n(w, momentum_ == 0 ? 0 : 1); }

namespace {
// SGD's rule (apply and prepare): with momentum iff `mom`, clipping iff `clip`.
auto sgd_rule(bool mom, bool clip) {
  return [=](const auto& c) {
    auto w = c.array("weight");
    auto step = (clip_if(c, clip, c.array("grad") * c.scalar("rescale")) + w * c.scalar("wd")) * c.scalar("lr");
    if (!mom) return c.output(w - step, "weight");
    auto m = c.array("mom") * c.scalar("momentum") - step;
    c.output(m, "mom");
    c.output(w + m, "weight");
  };
}

auto nag_rule(bool mom, bool clip) {
  return [=](const auto& c) {
    auto w = c.array("weight");
    auto g = clip_if(c, clip, c.array("grad") * c.scalar("rescale")) + w * c.scalar("wd");
    if (!mom) return c.output(w - g * c.scalar("lr"), "weight");
    auto m = c.array("mom") * c.scalar("momentum") + g;
    c.output(m, "mom");
    c.output(w - (g + m * c.scalar("momentum")) * c.scalar("lr"), "weight");
  };
}
}  // namespace

void SGD::apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& st, double lr, double wd, int64_t) {
  bool clip = clipping(opts_), mom = !st.empty();
  auto scalars = common(opts_, lr, wd);
  std::map<std::string, NDArray> arrays{{"weight", weight}, {"grad", grad}};
  if (mom) arrays["mom"] = st[0], scalars["momentum"] = momentum_;
  run_rule(opts_, low_, variant("sgd", {{mom, "mom"}, {clip, "clip"}}), weight, arrays, scalars, sgd_rule(mom, clip));
}

// create_state makes the momentum array iff momentum_ != 0, so that is apply's `mom`.
void SGD::prepare(const NDArray& weight) const {
  bool clip = clipping(opts_), mom = momentum_ != 0;
  prepare_rule(opts_, variant("sgd", {{mom, "mom"}, {clip, "clip"}}), weight, sgd_rule(mom, clip));
}

std::vector<NDArray> NAG::create_state(const NDArray& w) const { return zeros_n(w, momentum_ == 0 ? 0 : 1); }

void NAG::apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& st, double lr, double wd, int64_t) {
  bool clip = clipping(opts_), mom = !st.empty();
  auto scalars = common(opts_, lr, wd);
  std::map<std::string, NDArray> arrays{{"weight", weight}, {"grad", grad}};
  if (mom) arrays["mom"] = st[0], scalars["momentum"] = momentum_;
  run_rule(opts_, low_, variant("nag", {{mom, "mom"}, {clip, "clip"}}), weight, arrays, scalars, nag_rule(mom, clip));
}

void NAG::prepare(const NDArray& weight) const {
  bool clip = clipping(opts_), mom = momentum_ != 0;
  prepare_rule(opts_, variant("nag", {{mom, "mom"}, {clip, "clip"}}), weight, nag_rule(mom, clip));
}

std::vector<NDArray> Adam::create_state(const NDArray& w) const { return zeros_n(w, 2); }

void Adam::apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& st, double lr, double wd, int64_t t) {
  bool clip = clipping(opts_);
  auto scalars = common(opts_, bias_corrected(lr, beta1_, beta2_, t), wd);
  scalars.insert({{"beta1", beta1_}, {"one_minus_beta1", 1 - beta1_}, {"beta2", beta2_},
                  {"one_minus_beta2", 1 - beta2_}, {"epsilon", epsilon_}});
  std::map<std::string, NDArray> arrays{{"weight", weight}, {"grad", grad}, {"mean", st[0]}, {"var", st[1]}};
  run_rule(opts_, low_, variant("adam", {{clip, "clip"}}), weight, arrays, scalars, [&](const auto& c) {
    auto w = c.array("weight");
    // MXNet's adam_update: the decay joins the gradient before clipping.
    auto g = clip_if(c, clip, c.array("grad") * c.scalar("rescale") + w * c.scalar("wd"));
    auto m = c.array("mean") * c.scalar("beta1") + g * c.scalar("one_minus_beta1");
    auto v = c.array("var") * c.scalar("beta2") + square(g) * c.scalar("one_minus_beta2");
    c.output(m, "mean");
    c.output(v, "var");
    c.output(w - m * c.scalar("lr") / (sqrt(v) + c.scalar("epsilon")), "weight");
  });
}

std::vector<NDArray> AdamW::create_state(const NDArray& w) const { return zeros_n(w, 2); }

void AdamW::apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& st, double lr, double wd, int64_t t) {
  bool clip = clipping(opts_);
  auto scalars = common(opts_, correct_bias_ ? bias_corrected(lr, beta1_, beta2_, t) : lr, wd);
  scalars.insert({{"beta1", beta1_}, {"one_minus_beta1", 1 - beta1_}, {"beta2", beta2_},
                  {"one_minus_beta2", 1 - beta2_}, {"epsilon", epsilon_}});
  std::map<std::string, NDArray> arrays{{"weight", weight}, {"grad", grad}, {"mean", st[0]}, {"var", st[1]}};
  run_rule(opts_, low_, variant("adamw", {{clip, "clip"}}), weight, arrays, scalars, [&](const auto& c) {
    auto w = c.array("weight");
    auto g = clip_if(c, clip, c.array("grad") * c.scalar("rescale"));  // decoupled: no wd here
    auto m = c.array("mean") * c.scalar("beta1") + g * c.scalar("one_minus_beta1");
    auto v = c.array("var") * c.scalar("beta2") + square(g) * c.scalar("one_minus_beta2");
    c.output(m, "mean");
    c.output(v, "var");
    c.output(w - (m / (sqrt(v) + c.scalar("epsilon")) + w * c.scalar("wd")) * c.scalar("lr"), "weight");
  });
}

std::vector<NDArray> RMSProp::create_state(const NDArray& w) const { return zeros_n(w, r_.centered ? 3 : 1); }

void RMSProp::apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& st, double lr, double wd, int64_t) {
  bool clip = clipping(opts_), centered = r_.centered, clip_w = r_.clip_weights && *r_.clip_weights >= 0;
  auto scalars = common(opts_, lr, wd);
  scalars.insert({{"gamma1", r_.gamma1}, {"one_minus_gamma1", 1 - r_.gamma1}, {"gamma2", r_.gamma2},
                  {"epsilon", r_.epsilon}});
  if (clip_w) scalars["clip_weights"] = *r_.clip_weights, scalars["nclip_weights"] = -*r_.clip_weights;
  std::map<std::string, NDArray> arrays{{"weight", weight}, {"grad", grad}, {"n", st[0]}};
  if (centered) arrays["gm"] = st[1], arrays["delta"] = st[2];
  std::string key = variant("rmsprop", {{centered, "centered"}, {clip, "clip"}, {clip_w, "clipw"}});
  run_rule(opts_, low_, key, weight, arrays, scalars, [&](const auto& c) {
    auto w = c.array("weight");
    auto g = clip_if(c, clip, c.array("grad") * c.scalar("rescale") + w * c.scalar("wd"));
    auto n = square(g) * c.scalar("one_minus_gamma1") + c.array("n") * c.scalar("gamma1");
    c.output(n, "n");
    auto next = [&] {
      if (!centered) return w - g * c.scalar("lr") / sqrt(n + c.scalar("epsilon"));
      auto gm = g * c.scalar("one_minus_gamma1") + c.array("gm") * c.scalar("gamma1");
      auto delta = c.array("delta") * c.scalar("gamma2") -
                   g * c.scalar("lr") / sqrt(n - square(gm) + c.scalar("epsilon"));
      c.output(gm, "gm");
      c.output(delta, "delta");
      return w + delta;
    }();
    if (clip_w) next = minimum(maximum(next, c.scalar("nclip_weights")), c.scalar("clip_weights"));
    c.output(next, "weight");
  });
}

std::vector<NDArray> AdaGrad::create_state(const NDArray& w) const { return zeros_n(w, 1); }

void AdaGrad::apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& st, double lr, double wd, int64_t) {
  bool clip = clipping(opts_);
  auto scalars = common(opts_, lr, wd);
  scalars["eps"] = eps_;
  std::map<std::string, NDArray> arrays{{"weight", weight}, {"grad", grad}, {"history", st[0]}};
  run_rule(opts_, low_, variant("adagrad", {{clip, "clip"}}), weight, arrays, scalars, [&](const auto& c) {
    auto w = c.array("weight");
    auto g = clip_if(c, clip, c.array("grad") * c.scalar("rescale"));
    auto h = c.array("history") + square(g);
    c.output(h, "history");
    c.output(w - (g / sqrt(h + c.scalar("eps")) + w * c.scalar("wd")) * c.scalar("lr"), "weight");
  });
}

}  // namespace hgc::gluon::optim
