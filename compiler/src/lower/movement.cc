// Lowering records of the movement family: reshape-like ops are views; transpose, SwapAxis,
// split, tile, repeat, reverse and the block moves are copies through an input map
// (movement_util.h; affine maps take `mod` and `floordiv` by constants, which is all tile,
// repeat and depth_to_space need); Concat and stack pick their source per position.
#include "../lowering.h"
#include "hgc/base/error.h"
#include "movement_util.h"

namespace hgc::lower {

void register_movement(LoweringTable& t) {
  for (const char* v : {"Reshape", "_np_reshape", "expand_dims", "squeeze", "reshape_like"}) t.view(v);

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
  // stack: a new axis of length num_args; position k along it reads input k.
  t.kernel("stack", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    const Dims& out = c.out_shapes[0];
    int n = static_cast<int>(out.size());
    int axis = normalize_axis(c.attrs.i("axis"), n, c.node.describe());
    DType t = c.out_types[0];
    w.result(0, w.generic({}, {}, outs[0], "", parallel(n), t, [&](ScalarBuilder& b, auto&) {
      std::vector<std::string> idx;
      for (int i = 0; i < n; ++i) idx.push_back(b.raw(KernelWriter::index_op(i)));
      std::string coords;
      for (int i = 0; i < n; ++i)
        if (i != axis) coords += (coords.empty() ? "" : ", ") + idx[i];
      std::string result;
      for (size_t k = 0; k < ins.size(); ++k) {
        auto v = b.raw("tensor.extract " + ins[k] + "[" + coords + "] : " + tensor_type(c.in_shapes[k], t));
        if (result.empty()) result = v;
        else result = b.select(b.raw("arith.cmpi eq, " + idx[axis] + ", " + idx_const(b, int64_t(k)) + " : index"), v, result);
      }
      return result;
    }));
  });
  // tile: reps and the input's dims aligned on the right; out[i] = x[i mod x_dim].
  t.kernel("tile", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    const Dims &in = c.in_shapes[0], &out = c.out_shapes[0];
    int n = static_cast<int>(out.size()), r = static_cast<int>(in.size());
    std::vector<std::string> m;
    for (int k = 0; k < r; ++k) {
      int j = n - r + k;
      m.push_back(in[k] == out[j] ? d(j) : in[k] == 1 ? "0" : d(j) + " mod " + std::to_string(in[k]));
    }
    w.result(0, gather_copy(w, ins[0], outs[0], affine_map(n, m)));
  });
  // repeat: out[i] = x[i floordiv repeats] along the axis (the flattened input without one).
  t.kernel("repeat", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    const Dims& in = c.in_shapes[0];
    int64_t reps = c.attrs.i("repeats");
    std::string x = ins[0];
    int n = static_cast<int>(in.size());
    auto ax = c.attrs.opt_i("axis");
    int axis = 0;
    if (ax) {
      axis = normalize_axis(*ax, n, c.node.describe());
    } else {  // the flattened input: a collapse_shape view of it
      int64_t total = 1;
      for (int64_t v : in) total *= v;
      std::string grp;
      for (int i = 0; i < n; ++i) grp += (i ? ", " : "") + std::to_string(i);
      if (n != 1) {
        x = w.emit("tensor.collapse_shape " + x + " [[" + grp + "]] : " + tensor_type(in, c.in_types[0]) + " into " +
                       tensor_type({total}, c.in_types[0]),
                   {total}, c.in_types[0]);
      }
      n = 1;
    }
    if (reps == 0 || c.out_shapes[0].size() != static_cast<size_t>(n)) c.error("repeat with repeats=0 has no lowering");
    std::vector<std::string> m;
    for (int i = 0; i < n; ++i) m.push_back(i == axis ? d(i) + " floordiv " + std::to_string(reps) : d(i));
    w.result(0, gather_copy(w, x, outs[0], affine_map(n, m)));
  });
  // reverse (flip): a copy with stride -1 on the flipped axes.
  t.kernel("reverse", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    const Dims& in = c.in_shapes[0];
    int n = static_cast<int>(in.size());
    std::vector<int64_t> off(n, 0), st(n, 1);
    for (int64_t a : c.attrs.tuple("axis")) {
      int k = normalize_axis(a, n, c.node.describe());
      off[k] = in[k] - 1;
      st[k] = -1;
    }
    bool any = false;
    for (int64_t s : st) any = any || s < 0;
    if (!any) st.assign(n, 1);
    w.result(0, strided_copy(w, ins[0], outs[0], off, st));
  });
  // depth_to_space: out[n, c, y, x] = in[n, ((y mod b) * b + x mod b) * C + c, y floordiv b,
  // x floordiv b] (MXNet's DCR order; C the output's channels). space_to_depth inverts it.
  t.kernel("depth_to_space", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    std::string b = std::to_string(c.attrs.i("block_size")), C = std::to_string(c.out_shapes[0][1]);
    std::string bc = std::to_string(c.attrs.i("block_size") * c.out_shapes[0][1]);
    w.result(0, gather_copy(w, ins[0], outs[0],
                            affine_map(4, {"d0", "(d2 mod " + b + ") * " + bc + " + (d3 mod " + b + ") * " + C + " + d1",
                                           "d2 floordiv " + b, "d3 floordiv " + b})));
  });
  t.kernel("space_to_depth", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    int64_t bs = c.attrs.i("block_size"), ch = c.in_shapes[0][1];
    std::string b = std::to_string(bs), C = std::to_string(ch), bc = std::to_string(bs * ch);
    w.result(0, gather_copy(w, ins[0], outs[0],
                            affine_map(4, {"d0", "d1 mod " + C, "d2 * " + b + " + d1 floordiv " + bc,
                                           "d3 * " + b + " + (d1 floordiv " + C + ") mod " + b})));
  });
  // shape_array / size_array: values known from the inferred input shape.
  t.kernel("shape_array", [](const NodeCtx& c, KernelWriter& w, auto&, auto& outs) {
    const Dims& in = c.in_shapes[0];
    w.result(0, w.generic({}, {}, outs[0], "", parallel(1), c.out_types[0], [&](ScalarBuilder& b, auto&) {
      auto i = b.raw(KernelWriter::index_op(0));
      std::string v = b.constant(0);
      for (size_t k = 0; k < in.size(); ++k)
        v = b.select(b.raw("arith.cmpi eq, " + i + ", " + idx_const(b, int64_t(k)) + " : index"),
                     b.constant(static_cast<double>(in[k])), v);
      return v;
    }));
  });
  t.kernel("size_array", [](const NodeCtx& c, KernelWriter& w, auto&, auto& outs) {
    int64_t total = 1;
    for (int64_t v : c.in_shapes[0]) total *= v;
    w.result(0, w.fill(outs[0], static_cast<double>(total)));
  });
}

}  // namespace hgc::lower
