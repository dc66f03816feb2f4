// Gradient rules of the matmul family: dot and batch_dot.
#include "autograd/grad_rules.h"
#include "hgc/base/error.h"
#include "hgc/frontend/nd/op.h"
#include "nd/detail.h"

namespace hgc::grad {

using nd_detail::call;
using nd_detail::normalize_axis;

void register_matmul_rules(RuleTable& t) {
  // C = op(A) op(B); dA and dB from g with the transposes folded into dot's flags.
  for (const char* op : {"dot", "batch_dot"}) {
    bool batch = std::string(op) == "batch_dot";
    t.add(op, [batch](const GradCtx& c) -> Grads {
      const NDArray &a = c.in[0], &b = c.in[1], &g = c.og[0];
      bool ta = c.attrs.b("transpose_a"), tb = c.attrs.b("transpose_b");
      if (!batch && (a.ndim() != 2 || b.ndim() != 2))
        fail("autograd", "dot: gradients are implemented for 2-D operands only, got ", a.ndim(), "-D and ", b.ndim(), "-D");
      auto mm = [batch](const NDArray& p, const NDArray& q, bool tp, bool tq) {
        return batch ? nd::batch_dot(p, q, tp, tq) : nd::dot(p, q, tp, tq);
      };
      NDArray da = ta ? mm(b, g, tb, true) : mm(g, b, false, !tb);
      NDArray db = tb ? mm(g, a, true, ta) : mm(a, g, !ta, false);
      return {da, db};
    });
  }
}

}  // namespace hgc::grad
