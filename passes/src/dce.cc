// dce: dead-code elimination.
//
// Algorithm. Mark every node reachable from the heads through inputs and control
// dependencies (one worklist sweep). Unmarked op nodes are removed. An unmarked variable is
// removed when it is a parameter, an aux state (Graph::role, judged with its dead readers
// still present) or a folded constant (`__const__`); a graph input stays even when nothing
// reads it, because a caller may still bind it by name. The kept nodes keep their order; the
// graph is re-inferred from its variables' shapes.
#include "graph_rewrite.h"
#include "hgc/passes/simplify.h"

namespace hgc {

int dce(Graph& g) {
  rewrite::Rewrite rw(g);
  return rw.finish(/*all_dead=*/true);
}

namespace {
class DcePass : public Pass {
 public:
  std::string name() const override { return "dce"; }
  std::set<Fact> requires_facts() const override { return {Fact::ShapesInferred}; }
  std::set<Fact> provides() const override { return {Fact::ShapesInferred}; }
  std::set<Fact> invalidates() const override { return {Fact::Verified, Fact::Fused, Fact::MemoryPlanned}; }
  void run(Graph& g) override { dce(g); }
};
}  // namespace

std::unique_ptr<Pass> make_dce_pass() { return std::make_unique<DcePass>(); }

}  // namespace hgc
