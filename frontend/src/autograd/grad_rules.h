// Gradient rules: one per differentiable op, keyed by the op record's canonical name. A rule
// gets the forward call (inputs, outputs, attributes) and the output gradients and returns
// the input gradients as calls of registered ops (nd:: functions), so the same rule runs
// imperatively on the tape (autograd.cc) and would record IR when given traced arrays.
//
//   rules.add("exp", [](const GradCtx& c) -> Grads { return {c.og[0] * c.out[0]}; });
//
// A rule returns one entry per input; an undefined NDArray means "no gradient" (integer
// inputs, lengths, aux states). Output gradients the caller has none for are undefined too.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "hgc/frontend/nd/ndarray.h"
#include "hgc/ir/attr_view.h"
#include "hgc/ir/op.h"

namespace hgc::grad {

struct GradCtx {
  const OpDef& def;
  AttrView attrs;  // with the op's defaults
  const std::vector<NDArray>& in;
  const std::vector<NDArray>& out;
  const std::vector<NDArray>& og;  // output gradients (undefined: none)
};
using Grads = std::vector<NDArray>;
using GradFn = std::function<Grads(const GradCtx&)>;

class RuleTable {
 public:
  // The table with every family registered (built once).
  static const RuleTable& global();
  void add(const std::string& op, GradFn fn);
  // Ops whose outputs carry no gradient (comparisons, argmax, one_hot): not even taped.
  void zero(const std::string& op);
  // Differentiable ops without a rule yet, each with the reason (grad_rules_missing.cc); the
  // backward error quotes it, and a test requires every registry op to be covered.
  void missing(const std::string& op, std::string reason);
  const GradFn* find(const OpDef& op) const;
  bool non_differentiable(const OpDef& op) const { return zero_.count(op.name) > 0; }
  // The reason `op` has no rule, or nullptr when it is not on the missing list.
  const std::string* missing_reason(const OpDef& op) const;
  std::vector<std::string> ops() const;
  std::vector<std::string> zero_ops() const;
  const std::map<std::string, std::string>& missing_ops() const { return missing_; }

 private:
  std::map<std::string, GradFn> rules_;
  std::map<std::string, bool> zero_;
  std::map<std::string, std::string> missing_;
};

void register_math_rules(RuleTable& t);  // grad_rules_math.cc
void register_nn_rules(RuleTable& t);    // grad_rules_nn.cc
void register_layer_rules(RuleTable& t); // grad_rules_layers.cc
void register_missing(RuleTable& t);     // grad_rules_missing.cc

// ---- helpers shared by the rule files ----
// Sums `g` down to `shape` over the axes broadcasting expanded (numpy's reverse broadcast).
NDArray unbroadcast(const NDArray& g, const std::vector<int64_t>& shape);
// `g` (the result of reducing x over `axes`, keepdims or not) broadcast back to x's shape.
NDArray expand_to(const NDArray& g, const std::vector<int64_t>& x_shape, const std::vector<int64_t>& axes);
// The axes a reduction's attributes (axis, exclude) name for a rank-`ndim` input, sorted.
std::vector<int64_t> reduced_axes(const AttrView& a, int ndim);

}  // namespace hgc::grad
