// Lowering records of the movement_index family: slices are strided copies, take a gather
// (movement_util.h).
#include "../lowering.h"
#include "hgc/base/error.h"
#include "movement_util.h"

namespace hgc::lower {

void register_movement_index(LoweringTable& t) {
  t.kernel("slice_axis", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    int n = static_cast<int>(c.in_shapes[0].size());
    int axis = normalize_axis(c.attrs.i("axis"), n, c.node.describe());
    int64_t begin = c.attrs.i("begin");
    if (begin < 0) begin += c.in_shapes[0][axis];
    std::vector<int64_t> off(n, 0), st(n, 1);
    off[axis] = begin;
    w.result(0, strided_copy(w, ins[0], outs[0], off, st));
  });
  t.kernel("slice", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    const Dims& in = c.in_shapes[0];
    int n = static_cast<int>(in.size());
    auto begin = tuple_entries(c.attrs.s("begin"), INT64_MIN);
    auto step = tuple_entries(c.attrs.s("step"), 1);
    std::vector<int64_t> off(n, 0), st(n, 1);
    for (int i = 0; i < n; ++i) {
      int64_t s = i < static_cast<int>(step.size()) ? step[i] : 1;
      int64_t b = i < static_cast<int>(begin.size()) ? begin[i] : INT64_MIN;
      if (b == INT64_MIN) b = s > 0 ? 0 : in[i] - 1;
      else if (b < 0) b += in[i];
      off[i] = b;
      st[i] = s;
    }
    w.result(0, strided_copy(w, ins[0], outs[0], off, st));
  });
  t.kernel("slice_like", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    size_t n = c.out_shapes[0].size();
    w.result(0, strided_copy(w, ins[0], outs[0], std::vector<int64_t>(n, 0), std::vector<int64_t>(n, 1)));
  });
  t.kernel("take", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    int axis = normalize_axis(c.attrs.i("axis"), c.in_shapes[0].size(), c.node.describe());
    if (c.attrs.s("mode") == "raise") c.error("take mode=raise has no lowering (use clip or wrap)");
    lower_take(c, w, ins[0], ins[1], outs[0], axis, c.attrs.s("mode") == "wrap");
  });
}

}  // namespace hgc::lower
