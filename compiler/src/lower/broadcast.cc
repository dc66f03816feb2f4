// Lowering records of the broadcast family: broadcast_<kind> binaries apply the elementwise
// expression through numpy broadcasting maps; broadcast_axis/_to/_like are one copy whose
// input map reads size-1 dims at 0.
#include "../lowering.h"
#include "elementwise_util.h"
#include "hgc/base/error.h"
#include "movement_util.h"

namespace hgc::lower {

void register_broadcast(LoweringTable& t) {
  for (const auto& [kind, e] : binary_exprs()) t.poly_kernel("broadcast_" + kind, binary_named(kind));
  for (const char* b : {"broadcast_axis", "broadcast_to", "broadcast_like"}) {
    t.kernel(b, [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
      w.result(0, gather_copy(w, ins[0], outs[0], broadcast_map(c.in_shapes[0], c.out_shapes[0])));
    });
  }
}

}  // namespace hgc::lower
