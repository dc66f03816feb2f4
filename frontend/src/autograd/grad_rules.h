// Gradient rules: one per differentiable op, keyed by the op record's canonical name, each
// registered in autograd/grad/<family>.cc, the family of its op record (OpDef::family); the
// table remembers every registration's file so tests/ir/test_op_families.cc can check that. A rule
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
#include <source_location>
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
  // `where` is left defaulted: it records the registering file.
  void add(const std::string& op, GradFn fn, std::source_location where = std::source_location::current());
  // Ops whose outputs carry no gradient (comparisons, argmax, one_hot): not even taped.
  void zero(const std::string& op, std::source_location where = std::source_location::current());
  // Differentiable ops without a rule yet, each with the reason (grad/missing.cc); the
  // backward error quotes it, and a test requires every registry op to be covered.
  void missing(const std::string& op, std::string reason);
  const GradFn* find(const OpDef& op) const;
  bool non_differentiable(const OpDef& op) const { return zero_.count(op.name) > 0; }
  // The reason `op` has no rule, or nullptr when it is not on the missing list.
  const std::string* missing_reason(const OpDef& op) const;
  std::vector<std::string> ops() const;
  std::vector<std::string> zero_ops() const;
  const std::map<std::string, std::string>& missing_ops() const { return missing_; }
  // Op -> the file that registered its rule or zero gradient.
  const std::map<std::string, std::string>& files() const { return files_; }

 private:
  std::map<std::string, GradFn> rules_;
  std::map<std::string, bool> zero_;
  std::map<std::string, std::string> missing_;
  std::map<std::string, std::string> files_;
};

// register_<family>_rules in autograd/grad/<family>.cc.
void register_elementwise_rules(RuleTable& t);
void register_broadcast_rules(RuleTable& t);
void register_reduce_rules(RuleTable& t);
void register_movement_rules(RuleTable& t);
void register_movement_index_rules(RuleTable& t);
void register_init_rules(RuleTable& t);
void register_matmul_rules(RuleTable& t);
void register_nn_rules(RuleTable& t);
void register_nn_conv_rules(RuleTable& t);
void register_nn_resize_rules(RuleTable& t);
void register_nn_norm_rules(RuleTable& t);
void register_ordering_rules(RuleTable& t);
void register_random_rules(RuleTable& t);
void register_linalg_rules(RuleTable& t);
void register_detection_rules(RuleTable& t);
void register_missing(RuleTable& t);  // grad/missing.cc: ops without a rule, with the reason

// ---- helpers shared by the rule files ----
// Sums `g` down to `shape` over the axes broadcasting expanded (numpy's reverse broadcast).
NDArray unbroadcast(const NDArray& g, const std::vector<int64_t>& shape);
// `g` (the result of reducing x over `axes`, keepdims or not) broadcast back to x's shape.
NDArray expand_to(const NDArray& g, const std::vector<int64_t>& x_shape, const std::vector<int64_t>& axes);
// The axes a reduction's attributes (axis, exclude) name for a rank-`ndim` input, sorted.
std::vector<int64_t> reduced_axes(const AttrView& a, int ndim);
// `g` reshaped to `shape` (no-op when it already has it).
NDArray reshape_to(const NDArray& g, const std::vector<int64_t>& shape);
// expand_to for x's shape; traced, by expand_dims + broadcast_like (no size baked in).
NDArray expand_like(const NDArray& g, const NDArray& x, const std::vector<int64_t>& axes);
// g with like's shape: reshape_like when both are traced (no size baked into the graph).
NDArray reshape_back(const NDArray& g, const NDArray& like);
// The axes 0..ndim-1 not in `keep`.
std::vector<int64_t> all_but(int ndim, const std::vector<int64_t>& keep);
// (da, db) of y = f(a, b) from a, b, y and g, before un-broadcasting.
using BinaryGrad = std::function<std::pair<NDArray, NDArray>(const NDArray&, const NDArray&, const NDArray&, const NDArray&)>;
// By binary kind: add, sub, mul, div, maximum, minimum, power, hypot (grad/rule_table.cc).
const std::map<std::string, BinaryGrad>& binary_grads();

}  // namespace hgc::grad
