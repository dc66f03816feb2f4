// The ops with no CPU lowering, each with the reason. tests/ir/test_op_families.cc requires
// every registry op to have a lowering (from compiler/src/lower/<family>.cc) or an entry
// here; compiling a graph with one of them fails naming the op. Keep it short: an entry is a
// debt, not a policy.
#include "../lowering.h"

namespace hgc::lower {

void register_missing(LoweringTable& t) {
  // rnn
  t.missing("RNN", "the expand_rnn pass rewrites the fused RNN into lowered ops before code generation");
}

}  // namespace hgc::lower
