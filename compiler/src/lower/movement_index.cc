// Lowering records of the movement_index family: slices are strided copies, take, pick and
// gather_nd gathers reading their table with tensor.extract (movement_util.h).
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
  // pick: out[a, i] = data[a, index[a, i], i] around the axis (index has out's shape).
  t.kernel("pick", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    const Dims& ds = c.in_shapes[0];
    int n = static_cast<int>(ds.size());
    if (c.attrs.is_none("axis")) c.error("pick with axis=None has no lowering (flatten the data first)");
    int axis = normalize_axis(c.attrs.i("axis"), n, c.node.describe());
    bool keep = c.attrs.b("keepdims"), wrap = c.attrs.s("mode") == "wrap";
    int orank = static_cast<int>(c.out_shapes[0].size());
    DType it = c.in_types[1];
    // index has the output's shape, or the output's without its size-1 axis (keepdims).
    std::string imap = c.in_shapes[1].size() == static_cast<size_t>(orank) ? identity_map(orank) : "";
    if (imap.empty()) {
      std::vector<std::string> m;
      for (int k = 0; k < orank; ++k)
        if (k != axis) m.push_back(d(k));
      imap = affine_map(orank, m);
    }
    w.result(0, w.generic({ins[1]}, {imap}, outs[0], "", parallel(orank), c.out_types[0], [&](ScalarBuilder& b, auto& v) {
      auto i = to_index(b, v[0], it);
      i = wrap ? wrap_index(b, i, ds[axis]) : clamp_index(b, i, ds[axis]);
      std::string coords;
      for (int k = 0; k < n; ++k) {
        std::string ck = k == axis ? i : b.raw(KernelWriter::index_op(k < axis || keep ? k : k - 1));
        coords += (k ? ", " : "") + ck;
      }
      return b.raw("tensor.extract " + ins[0] + "[" + coords + "] : " + tensor_type(ds, c.in_types[0]));
    }));
  });
  // gather_nd: indices (M, Y...) address data's first M dims: out[y, r] = data[ind[:, y], r];
  // negative indices count from the end (wrapped as MXNet's (i + dim) % dim).
  t.kernel("gather_nd", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    const Dims &ds = c.in_shapes[0], &is = c.in_shapes[1];
    int64_t m = is[0];
    int yr = static_cast<int>(is.size()) - 1, orank = static_cast<int>(c.out_shapes[0].size());
    DType it = c.in_types[1];
    w.result(0, w.generic({}, {}, outs[0], "", parallel(orank), c.out_types[0], [&](ScalarBuilder& b, auto&) {
      std::vector<std::string> idx;
      for (int k = 0; k < orank; ++k) idx.push_back(b.raw(KernelWriter::index_op(k)));
      std::string coords;
      for (int64_t j = 0; j < m; ++j) {
        std::string ic = idx_const(b, j);
        for (int k = 0; k < yr; ++k) ic += ", " + idx[k];
        auto v = b.raw("tensor.extract " + ins[1] + "[" + ic + "] : " + tensor_type(is, it));
        coords += (j ? ", " : "") + wrap_index(b, to_index(b, v, it), ds[j]);
      }
      for (int k = yr; k < orank; ++k) coords += ", " + idx[k];
      return b.raw("tensor.extract " + ins[0] + "[" + coords + "] : " + tensor_type(ds, c.in_types[0]));
    }));
  });
}

}  // namespace hgc::lower
