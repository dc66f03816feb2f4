// Gradient rules of the broadcast family: the broadcasting binaries (the elementwise
// gradient summed back over broadcast axes), comparisons (zero) and the explicit expanders.
#include "autograd/grad_rules.h"
#include "hgc/base/error.h"
#include "hgc/frontend/nd/op.h"
#include "nd/detail.h"

namespace hgc::grad {

using nd_detail::call;
using nd_detail::normalize_axis;

namespace {

// Registers rules for binary ops from their kind's gradient (binary_grads()).
void binaries(RuleTable& t, const std::vector<std::pair<const char*, const char*>>& ops) {
  for (const auto& [op, kind] : ops) {
    BinaryGrad f = binary_grads().at(kind);
    t.add(op, [f](const GradCtx& c) -> Grads {
      auto [da, db] = f(c.in[0], c.in[1], c.out[0], c.og[0]);
      return {unbroadcast(da, c.in[0].shape()), unbroadcast(db, c.in[1].shape())};
    });
  }
}

}  // namespace

void register_broadcast_rules(RuleTable& t) {
  binaries(t, {{"broadcast_add", "add"}, {"broadcast_sub", "sub"}, {"broadcast_mul", "mul"}, {"broadcast_div", "div"},
               {"broadcast_maximum", "maximum"}, {"broadcast_minimum", "minimum"}, {"broadcast_power", "power"},
               {"broadcast_hypot", "hypot"}, {"broadcast_mod", "mod"}});
  for (const char* op : {"broadcast_equal", "broadcast_not_equal", "broadcast_greater", "broadcast_greater_equal",
                         "broadcast_lesser", "broadcast_lesser_equal", "broadcast_logical_and",
                         "broadcast_logical_or", "broadcast_logical_xor"})
    t.zero(op);
  for (const char* op : {"broadcast_to", "broadcast_axis"})
    t.add(op, [](const GradCtx& c) -> Grads { return {unbroadcast(c.og[0], c.in[0].shape())}; });
  t.add("broadcast_like", [](const GradCtx& c) -> Grads { return {unbroadcast(c.og[0], c.in[0].shape()), NDArray()}; });
}

}  // namespace hgc::grad
