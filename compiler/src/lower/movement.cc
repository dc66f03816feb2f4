// Movement and gather lowerings. Pure data movement is one linalg.generic whose input map
// does the work (transpose = permuted dims, slice = d*step + begin, broadcast = 0); gathers
// read their table with tensor.extract inside the body. Reshape-like ops are views.
#include "../lowering.h"
#include "hgc/ir/error.h"

namespace hgc::lower {
namespace {

std::string d(int i) { return "d" + std::to_string(i); }
std::vector<std::string> parallel(size_t n) { return std::vector<std::string>(n, "parallel"); }
std::string copy_body(ScalarBuilder&, const std::vector<std::string>& a) { return a[0]; }

// out = in read through `in_map` over out's iteration space.
std::string gather_copy(KernelWriter& w, const std::string& in, const std::string& out, const std::string& in_map) {
  return w.generic({in}, {in_map}, out, "", parallel(w.shape_of(out).size()), w.type_of(out), copy_body);
}

std::string join(const std::vector<int64_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s;
}

// out[i] = x[offset + i * stride] per dim. Positive strides take a tensor.extract_slice (a
// strided view after bufferization, copied by one generic); a linalg.generic cannot read a
// larger input through a plain identity map, since loop bounds are inferred from operands.
// Negative strides gather with tensor.extract.
std::string strided_copy(KernelWriter& w, const std::string& x, const std::string& out,
                         const std::vector<int64_t>& offsets, const std::vector<int64_t>& strides) {
  Dims in = w.shape_of(x), os = w.shape_of(out);
  DType t = w.type_of(x);
  int n = static_cast<int>(in.size());
  bool positive = true;
  for (int64_t st : strides) positive = positive && st > 0;
  if (positive) {
    std::string v = w.emit("tensor.extract_slice " + x + "[" + join(offsets) + "] [" + join(os) + "] [" + join(strides) +
                               "] : " + tensor_type(in, t) + " to " + tensor_type(os, t),
                           os, t);
    return gather_copy(w, v, out, identity_map(n));
  }
  return w.generic({}, {}, out, "", parallel(n), t, [&](ScalarBuilder& b, auto&) {
    std::string coords;
    for (int i = 0; i < n; ++i) {
      auto idx = b.raw(KernelWriter::index_op(i));
      auto m = b.raw("arith.muli " + idx + ", " + b.raw("arith.constant " + std::to_string(strides[i]) + " : index") + " : index");
      auto c = b.raw("arith.addi " + m + ", " + b.raw("arith.constant " + std::to_string(offsets[i]) + " : index") + " : index");
      coords += (i ? ", " : "") + c;
    }
    return b.raw("tensor.extract " + x + "[" + coords + "] : " + tensor_type(in, t));
  });
}

// Converts a scalar index element (any int or float type) to `index`.
std::string to_index(ScalarBuilder& b, const std::string& v, DType t) {
  std::string iv = v;
  if (dtype_is_float(t)) iv = b.raw("arith.fptosi " + v + " : " + elem_type(t) + " to i64");
  else if (elem_type(t) != "i64") iv = b.raw("arith.extsi " + v + " : " + elem_type(t) + " to i64");
  return b.raw("arith.index_cast " + iv + " : i64 to index");
}
std::string idx_const(ScalarBuilder& b, int64_t v) { return b.raw("arith.constant " + std::to_string(v) + " : index"); }
std::string clamp_index(ScalarBuilder& b, const std::string& i, int64_t n) {
  auto lo = b.raw("arith.maxsi " + i + ", " + idx_const(b, 0) + " : index");
  return b.raw("arith.minsi " + lo + ", " + idx_const(b, n - 1) + " : index");
}
std::string wrap_index(ScalarBuilder& b, const std::string& i, int64_t n) {
  auto nn = idx_const(b, n);
  auto r = b.raw("arith.remsi " + i + ", " + nn + " : index");
  return b.raw("arith.remsi " + b.raw("arith.addi " + r + ", " + nn + " : index") + ", " + nn + " : index");
}

// take: out = a[:axis] + indices.shape + a[axis+1:]; a is read with tensor.extract.
void lower_take(const NodeCtx& c, KernelWriter& w, const std::string& a, const std::string& idx, const std::string& out,
                int axis, bool wrap) {
  const Dims& as = c.in_shapes[0];
  int ir = static_cast<int>(c.in_shapes[1].size()), orank = static_cast<int>(c.out_shapes[0].size());
  std::vector<std::string> imap;
  for (int k = 0; k < ir; ++k) imap.push_back(d(axis + k));
  DType it = c.in_types[1];
  w.result(0, w.generic({idx}, {affine_map(orank, imap)}, out, "", parallel(orank), c.out_types[0],
                        [&](ScalarBuilder& b, auto& v) {
                          auto i = to_index(b, v[0], it);
                          i = wrap ? wrap_index(b, i, as[axis]) : clamp_index(b, i, as[axis]);
                          std::string coords;
                          for (int k = 0; k < static_cast<int>(as.size()); ++k) {
                            std::string ck = k < axis ? b.raw(KernelWriter::index_op(k))
                                             : k == axis ? i
                                                         : b.raw(KernelWriter::index_op(k + ir - 1));
                            coords += (k ? ", " : "") + ck;
                          }
                          return b.raw("tensor.extract " + a + "[" + coords + "] : " + tensor_type(as, c.in_types[0]));
                        }));
}

std::vector<int64_t> tuple_entries(const std::string& text, int64_t none) {
  std::vector<int64_t> v;
  std::string t;
  for (char ch : text)
    if (ch != '(' && ch != ')' && ch != '[' && ch != ']' && ch != ' ') t += ch;
  size_t p = 0;
  while (p <= t.size() && !t.empty()) {
    size_t q = t.find(',', p);
    std::string e = t.substr(p, q == std::string::npos ? std::string::npos : q - p);
    if (!e.empty()) v.push_back(e == "None" ? none : std::stoll(e));
    if (q == std::string::npos) break;
    p = q + 1;
  }
  return v;
}

}  // namespace

void register_movement(LoweringTable& t) {
  // Dropout is the identity in predict mode; the regression losses' forward is their input.
  for (const char* v : {"Reshape", "_np_reshape", "Flatten", "expand_dims", "squeeze", "Dropout", "LinearRegressionOutput",
                        "MAERegressionOutput"})
    t.view(v);

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
  for (const char* b : {"broadcast_axis", "broadcast_to", "broadcast_like"}) {
    t.kernel(b, [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
      w.result(0, gather_copy(w, ins[0], outs[0], broadcast_map(c.in_shapes[0], c.out_shapes[0])));
    });
  }
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
  t.kernel("take", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    int axis = normalize_axis(c.attrs.i("axis"), c.in_shapes[0].size(), c.node.describe());
    if (c.attrs.s("mode") == "raise") c.error("take mode=raise has no lowering (use clip or wrap)");
    lower_take(c, w, ins[0], ins[1], outs[0], axis, c.attrs.s("mode") == "wrap");
  });
  t.kernel("Embedding", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    NodeCtx swapped = c;  // take(weight, data, axis=0) with MXNet's clipping
    std::swap(swapped.in_shapes[0], swapped.in_shapes[1]);
    std::swap(swapped.in_types[0], swapped.in_types[1]);
    lower_take(swapped, w, ins[1], ins[0], outs[0], 0, false);
  });
  t.kernel("one_hot", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    int r = static_cast<int>(c.in_shapes[0].size());
    std::vector<std::string> m;
    for (int i = 0; i < r; ++i) m.push_back(d(i));
    double on = c.attrs.f("on_value"), off = c.attrs.f("off_value");
    DType it = c.in_types[0];
    w.result(0, w.generic({ins[0]}, {affine_map(r + 1, m)}, outs[0], "", parallel(r + 1), c.out_types[0],
                          [&](ScalarBuilder& b, auto& v) {
                            auto i = to_index(b, v[0], it);
                            auto j = b.raw(KernelWriter::index_op(r));
                            auto eq = b.raw("arith.cmpi eq, " + i + ", " + j + " : index");
                            return b.select(eq, b.constant(on), b.constant(off));
                          }));
  });
  t.kernel("SequenceMask", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    int n = static_cast<int>(c.in_shapes[0].size());
    if (!c.attrs.b("use_sequence_length")) {
      w.result(0, gather_copy(w, ins[0], outs[0], identity_map(n)));
      return;
    }
    int axis = static_cast<int>(c.attrs.i("axis")), batch = axis == 0 ? 1 : 0;
    double value = c.attrs.f("value");
    DType lt = c.in_types[1];
    w.result(0, w.generic({ins[0], ins[1]}, {identity_map(n), affine_map(n, {d(batch)})}, outs[0], "", parallel(n),
                          c.out_types[0], [&](ScalarBuilder& b, auto& v) {
                            auto len = to_index(b, v[1], lt);
                            auto pos = b.raw(KernelWriter::index_op(axis));
                            auto keep = b.raw("arith.cmpi slt, " + pos + ", " + len + " : index");
                            return b.select(keep, v[0], b.constant(value));
                          }));
  });
  t.kernel("_arange", [](const NodeCtx& c, KernelWriter& w, auto&, auto& outs) {
    double start = c.attrs.f("start"), step = c.attrs.f("step");
    int64_t repeat = c.attrs.i("repeat");
    if (c.attrs.opt_f("stop") == std::nullopt) start = 0;  // arange(n) counts from 0
    w.result(0, w.generic({}, {}, outs[0], "", {"parallel"}, c.out_types[0], [&](ScalarBuilder& b, auto&) {
      auto i = b.raw(KernelWriter::index_op(0));
      auto q = b.raw("arith.divui " + i + ", " + idx_const(b, repeat) + " : index");
      auto qi = b.raw("arith.index_cast " + q + " : index to i64");
      auto qf = dtype_is_float(c.out_types[0]) ? b.raw("arith.sitofp " + qi + " : i64 to " + b.ty()) : qi;
      return b.binary(dtype_is_float(c.out_types[0]) ? "arith.addf" : "arith.addi", b.constant(start),
                      b.binary(dtype_is_float(c.out_types[0]) ? "arith.mulf" : "arith.muli", qf, b.constant(step)));
    }));
  });
  auto fill = [](double v) {
    return [v](const NodeCtx& c, KernelWriter& w, auto&, auto& outs) {
      w.result(0, w.fill(outs[0], c.node.op->attr_spec("value") ? c.attrs.f("value") : v));
    };
  };
  t.kernel("_zeros", fill(0));
  t.kernel("_ones", fill(1));
  t.kernel("_full", fill(0));
}

}  // namespace hgc::lower
