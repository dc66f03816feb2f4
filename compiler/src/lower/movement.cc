// Lowering records of the movement family: reshape-like ops are views; transpose, SwapAxis,
// split and Concat are copies through an input map (movement_util.h).
#include "../lowering.h"
#include "hgc/base/error.h"
#include "movement_util.h"

namespace hgc::lower {

void register_movement(LoweringTable& t) {
  for (const char* v : {"Reshape", "expand_dims", "squeeze"}) t.view(v);

  t.kernel("transpose", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    int n = static_cast<int>(c.in_shapes[0].size());
    std::vector<int64_t> axes = c.attrs.tuple("axes");
    if (axes.empty())
      for (int i = n - 1; i >= 0; --i) axes.push_back(i);
    std::vector<std::string> m(n);
    for (int j = 0; j < n; ++j) m[normalize_axis(axes[j], n, c.node.describe())] = d(j);
    w.result(0, gather_copy(w, ins[0], outs[0], affine_map(n, m)));
  });
  t.kernel("SwapAxis", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    int n = static_cast<int>(c.in_shapes[0].size());
    int a = normalize_axis(c.attrs.i("dim1"), n, c.node.describe()), b = normalize_axis(c.attrs.i("dim2"), n, c.node.describe());
    std::vector<std::string> m;
    for (int i = 0; i < n; ++i) m.push_back(d(i == a ? b : i == b ? a : i));
    w.result(0, gather_copy(w, ins[0], outs[0], affine_map(n, m)));
  });
  t.kernel("SliceChannel", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    const Dims& in = c.in_shapes[0];
    int n = static_cast<int>(in.size());
    int axis = normalize_axis(c.attrs.i("axis"), n, c.node.describe());
    bool squeeze = c.attrs.b("squeeze_axis");
    int64_t len = in[axis] / static_cast<int64_t>(outs.size());
    for (size_t k = 0; k < outs.size(); ++k) {
      std::vector<int64_t> off(n, 0), st(n, 1);
      off[axis] = static_cast<int64_t>(k) * len;
      if (!squeeze) {
        w.result(k, strided_copy(w, ins[0], outs[k], off, st));
        continue;
      }
      Dims piece = in;  // the slice with its size-1 axis, then seen without it
      piece[axis] = 1;
      std::string sl = w.emit("tensor.extract_slice " + ins[0] + "[" + join(off) + "] [" + join(piece) + "] [" + join(st) +
                                  "] : " + tensor_type(in, c.in_types[0]) + " to " + tensor_type(piece, c.in_types[0]),
                              piece, c.in_types[0]);
      std::vector<std::string> m;
      for (int i = 0; i < n; ++i) m.push_back(i == axis ? "0" : d(i < axis ? i : i - 1));
      w.result(k, gather_copy(w, sl, outs[k], affine_map(n - 1, m)));
    }
  });
  // Concat: one generic over the destination picks, along the axis, the input that covers
  // each position and reads it with tensor.extract (slice-and-insert copies would bufferize
  // to strided memref.copy calls into MLIR's runtime library).
  t.kernel("Concat", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    const Dims& out = c.out_shapes[0];
    int n = static_cast<int>(out.size());
    int axis = normalize_axis(c.attrs.i("dim"), n, c.node.describe());
    DType t = c.out_types[0];
    w.result(0, w.generic({}, {}, outs[0], "", parallel(n), t, [&](ScalarBuilder& b, auto&) {
      auto ic = [&](int64_t v) { return b.raw("arith.constant " + std::to_string(v) + " : index"); };
      std::vector<std::string> idx;
      for (int i = 0; i < n; ++i) idx.push_back(b.raw(KernelWriter::index_op(i)));
      std::string result;
      int64_t off = 0;
      for (size_t k = 0; k < ins.size(); ++k) {
        int64_t len = c.in_shapes[k][axis];
        auto local = b.raw("arith.subi " + idx[axis] + ", " + ic(off) + " : index");
        auto clamped = b.raw("arith.minsi " + b.raw("arith.maxsi " + local + ", " + ic(0) + " : index") + ", " +
                             ic(std::max<int64_t>(len - 1, 0)) + " : index");
        std::string coords;
        for (int i = 0; i < n; ++i) coords += (i ? ", " : "") + (i == axis ? clamped : idx[i]);
        auto v = len == 0 ? std::string() : b.raw("tensor.extract " + ins[k] + "[" + coords + "] : " + tensor_type(c.in_shapes[k], t));
        if (!v.empty()) {
          if (result.empty()) result = v;
          else result = b.select(b.raw("arith.cmpi sge, " + idx[axis] + ", " + ic(off) + " : index"), v, result);
        }
        off += len;
      }
      return result.empty() ? b.constant(0) : result;
    }));
  });
}

}  // namespace hgc::lower
