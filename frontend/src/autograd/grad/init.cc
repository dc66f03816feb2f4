// Gradient rules of the init family: only one_hot and zeros_like/ones_like take inputs, and
// their outputs do not depend on the input values.
#include "autograd/grad_rules.h"
#include "hgc/base/error.h"
#include "hgc/frontend/nd/op.h"
#include "nd/detail.h"

namespace hgc::grad {

using nd_detail::call;
using nd_detail::normalize_axis;

void register_init_rules(RuleTable& t) {
  for (const char* op : {"one_hot", "zeros_like", "ones_like"}) t.zero(op);
}

}  // namespace hgc::grad
