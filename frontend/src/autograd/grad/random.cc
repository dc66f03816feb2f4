// Gradient rules of the random family. As in MXNet (MakeZeroGradNodes on the sample ops),
// samples carry no gradient to their parameters or to the seed: a reparameterized sample is
// written by the user as loc + scale * eps with eps from _random_normal(_like).
#include "autograd/grad_rules.h"

namespace hgc::grad {

void register_random_rules(RuleTable& t) {
  for (const char* op : {"_random_uniform", "_random_normal", "_random_uniform_like", "_random_normal_like",
                         "_sample_uniform", "_sample_normal"})
    t.zero(op);
}

}  // namespace hgc::grad
