// Reductions and the reduction-shaped nn ops (softmax family, LayerNorm, BatchNorm in
// predict mode). Each is a short sequence of linalg.generics in one kernel: reduce into a
// small tensor whose reduced dims have size 1, then an elementwise pass reading it back
// through a broadcast map.
#include <cmath>
#include <limits>
#include <set>

#include "../lowering.h"
#include "hgc/base/error.h"

namespace hgc::lower {
namespace {

using AxisSet = std::set<int>;

AxisSet axes_of(const NodeCtx& c, int rank, const char* attr = "axis", bool has_exclude = true) {
  AxisSet s;
  auto t = c.attrs.opt_tuple(attr);
  if (!t || t->empty()) {
    for (int i = 0; i < rank; ++i) s.insert(i);
  } else {
    for (int64_t a : *t) s.insert(normalize_axis(a, rank, c.node.describe()));
  }
  if (has_exclude && c.attrs.b("exclude")) {
    AxisSet inv;
    for (int i = 0; i < rank; ++i)
      if (!s.count(i)) inv.insert(i);
    s = inv;
  }
  return s;
}

// The shape with `axes` set to 1 (keepdims form), and the map reading it from the full space.
Dims kept_shape(const Dims& in, const AxisSet& axes) {
  Dims d = in;
  for (int a : axes) d[a] = 1;
  return d;
}
std::string kept_map(int rank, const AxisSet& axes) {
  std::vector<std::string> r;
  for (int i = 0; i < rank; ++i) r.push_back(axes.count(i) ? "0" : "d" + std::to_string(i));
  return affine_map(rank, r);
}
std::vector<std::string> iterators(int rank, const AxisSet& axes) {
  std::vector<std::string> it;
  for (int i = 0; i < rank; ++i) it.push_back(axes.count(i) ? "reduction" : "parallel");
  return it;
}

// The map of a reduction's destination: keepdims keeps size-1 dims (read at 0); otherwise the
// reduced dims are dropped, and a fully reduced result is MXNet's legacy shape (1,).
std::string out_map(int rank, const AxisSet& axes, const Dims& out_shape) {
  std::vector<std::string> r;
  bool keep = static_cast<int>(out_shape.size()) == rank;
  for (int i = 0; i < rank; ++i) {
    if (!axes.count(i)) r.push_back("d" + std::to_string(i));
    else if (keep) r.push_back("0");
  }
  if (r.empty() && !out_shape.empty()) r.push_back("0");
  return affine_map(rank, r);
}

int64_t count(const Dims& in, const AxisSet& axes) {
  int64_t n = 1;
  for (int a : axes) n *= in[a];
  return n;
}

// acc = op(acc, x) over `axes` into `init` (already filled with the identity).
std::string reduce_into(KernelWriter& w, const std::string& x, const std::string& init, const std::string& omap,
                        const AxisSet& axes, DType t, const std::string& op) {
  int rank = static_cast<int>(w.shape_of(x).size());
  return w.generic({x}, {identity_map(rank)}, init, omap, iterators(rank, axes), t,
                   [&](ScalarBuilder& b, auto& a) { return b.reduce_step(op, a[1], a[0]); }, true);
}

// t * k into a fresh destination. Not in place on t: an outs-only generic that reads its own
// destination, once MLIR's elementwise fusion merges it into a broadcasting consumer (a
// kernel group such as x - mean(x, keepdims)), was rescaled once per broadcast element.
std::string scale(KernelWriter& w, const std::string& t, double k) {
  int rank = static_cast<int>(w.shape_of(t).size());
  auto its = std::vector<std::string>(rank, "parallel");
  return w.generic({t}, {identity_map(rank)}, w.empty(w.shape_of(t), w.type_of(t)), "", its, w.type_of(t),
                   [&](ScalarBuilder& b, auto& a) { return b.binary("arith.mulf", a[0], b.constant(k)); });
}

void lower_reduce(const NodeCtx& c, KernelWriter& w, const std::string& x, const std::string& out,
                  const std::string& kind) {
  const Dims& in = c.in_shapes[0];
  int rank = static_cast<int>(in.size());
  DType t = c.out_types[0];
  if (!dtype_is_float(t)) c.error("reductions are generated for floating-point types");
  AxisSet axes = axes_of(c, rank);
  std::string omap = out_map(rank, axes, c.out_shapes[0]);
  const double inf = std::numeric_limits<double>::infinity();
  std::string r;
  if (kind == "sum" || kind == "mean" || kind == "nansum") r = reduce_into(w, x, w.fill(out, 0), omap, axes, t, "arith.addf");
  else if (kind == "prod" || kind == "nanprod") r = reduce_into(w, x, w.fill(out, 1), omap, axes, t, "arith.mulf");
  else if (kind == "max") r = reduce_into(w, x, w.fill(out, -inf), omap, axes, t, "arith.maximumf");
  else if (kind == "min") r = reduce_into(w, x, w.fill(out, inf), omap, axes, t, "arith.minimumf");
  if (kind == "nansum" || kind == "nanprod") c.error("nan-skipping reductions have no lowering yet");
  if (kind == "mean") r = scale(w, r, 1.0 / static_cast<double>(count(in, axes)));
  w.result(0, r);
}

// softmax / log_softmax / softmin over `axes` with temperature: z = x * inv_t, m = max z,
// s = sum exp(z - m); softmax = exp(z - m) / s, log_softmax = z - (m + log s). One exp per
// element: softmax keeps e = exp(z - m), sums it, then scales it (e read as an input, so the
// scale stays an elementwise op that may fuse into a consumer); log_softmax needs the
// exponentials only for the sum. Softmax's 1 / s is written in the final body over the kept
// operand, so it does not vary along the reduced dims: when they are innermost (the usual
// last-axis case) LLVM hoists it out of the inner loop, one division per row.
void lower_softmax(const NodeCtx& c, KernelWriter& w, const std::string& x, const std::string& out,
                   const AxisSet& axes, double temperature, bool log, bool negate) {
  const Dims& in = c.in_shapes[0];
  int rank = static_cast<int>(in.size());
  DType t = c.out_types[0];
  if (!dtype_is_float(t)) c.error("softmax is generated for floating-point types");
  Dims ks = kept_shape(in, axes);
  std::string km = kept_map(rank, axes), id = identity_map(rank);
  std::vector<std::string> par(rank, "parallel"), red = iterators(rank, axes);
  double inv_t = (negate ? -1.0 : 1.0) / temperature;
  auto scaled = [&](ScalarBuilder& b, const std::string& xv) {
    return inv_t == 1.0 ? xv : b.binary("arith.mulf", xv, b.constant(inv_t));
  };
  const double inf = std::numeric_limits<double>::infinity();
  std::string m = w.generic({x}, {id}, w.fill(w.empty(ks, t), -inf), km, red, t, [&](ScalarBuilder& b, auto& a) {
    return b.reduce_step("arith.maximumf", a[1], scaled(b, a[0]));
  }, true);
  auto shifted_exp = [&](ScalarBuilder& b, auto& a) {
    return b.unary("math.exp", b.binary("arith.subf", scaled(b, a[0]), a[1]));
  };
  std::string zero = w.fill(w.empty(ks, t), 0);
  if (log) {
    std::string s = w.generic({x, m}, {id, km}, zero, km, red, t, [&](ScalarBuilder& b, auto& a) {
      return b.reduce_step("arith.addf", a[2], shifted_exp(b, a));
    }, true);
    // c = m + log s over the kept shape, vectorized across rows. Its reduced dims (size 1)
    // are declared "reduction" only so that MLIR's elementwise fusion, which merges
    // all-parallel producers, leaves it alone: merged into the last loop, the log ran once
    // per row on a broadcast vector, as costly as the exps for rows of 32.
    std::string cs = w.generic({m, s}, {id, id}, w.empty(ks, t), km, red, t, [&](ScalarBuilder& b, auto& a) {
      return b.binary("arith.addf", a[0], b.unary("math.log", a[1]));
    });
    w.result(0, w.generic({x, cs}, {id, km}, out, "", par, t, [&](ScalarBuilder& b, auto& a) {
      return b.binary("arith.subf", scaled(b, a[0]), a[1]);
    }));
    return;
  }
  std::string e = w.generic({x, m}, {id, km}, out, "", par, t, shifted_exp);
  std::string s = w.generic({e}, {id}, zero, km, red, t, [&](ScalarBuilder& b, auto& a) {
    return b.reduce_step("arith.addf", a[1], a[0]);
  }, true);
  w.result(0, w.generic({e, s}, {id, km}, e, "", par, t, [&](ScalarBuilder& b, auto& a) {
    return b.binary("arith.mulf", a[0], b.binary("arith.divf", b.constant(1), a[1]));
  }));
}

AxisSet one_axis(const NodeCtx& c, int64_t axis) {
  return {normalize_axis(axis, static_cast<int>(c.in_shapes[0].size()), c.node.describe())};
}

KernelFn softmax_kernel(bool log, bool negate) {
  return [log, negate](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    if (c.node.op->attr_spec("use_length") && c.attrs.opt_i("use_length").value_or(0))
      c.error("softmax with use_length has no lowering yet");
    double temp = c.attrs.opt_f("temperature").value_or(1.0);
    lower_softmax(c, w, ins[0], outs[0], one_axis(c, c.attrs.i("axis")), temp, log, negate);
  };
}

// Per-channel vectors (gamma, beta, moving stats) read along `axis` of the data.
std::string channel_map(int rank, int axis) { return affine_map(rank, {"d" + std::to_string(axis)}); }

void lower_layer_norm(const NodeCtx& c, KernelWriter& w, const std::vector<std::string>& ins,
                      const std::vector<std::string>& outs) {
  const Dims& in = c.in_shapes[0];
  int rank = static_cast<int>(in.size());
  DType t = c.out_types[0];
  AxisSet axes = one_axis(c, c.attrs.i("axis"));
  int axis = *axes.begin();
  std::string km = kept_map(rank, axes), id = identity_map(rank);
  double inv_n = 1.0 / static_cast<double>(in[axis]), eps = c.attrs.f("eps");
  std::string mean = scale(w, reduce_into(w, ins[0], w.fill(outs[1], 0), km, axes, t, "arith.addf"), inv_n);
  std::string var = w.generic({ins[0], mean}, {id, km}, w.fill(outs[2], 0), km, iterators(rank, axes), t,
                              [&](ScalarBuilder& b, auto& a) {
                                auto d = b.binary("arith.subf", a[0], a[1]);
                                return b.reduce_step("arith.addf", a[2], b.binary("arith.mulf", d, d));
                              }, true);
  std::vector<std::string> par(rank, "parallel");
  std::string sd = w.generic({}, {}, var, "", par, t, [&](ScalarBuilder& b, auto& a) {
    return b.unary("math.sqrt", b.binary("arith.addf", b.binary("arith.mulf", a[0], b.constant(inv_n)), b.constant(eps)));
  }, true);
  std::string cm = channel_map(rank, axis);
  w.result(0, w.generic({ins[0], mean, sd, ins[1], ins[2]}, {id, km, km, cm, cm}, outs[0], "", par, t,
                        [&](ScalarBuilder& b, auto& a) {
                          auto n = b.binary("arith.divf", b.binary("arith.subf", a[0], a[1]), a[2]);
                          return b.binary("arith.addf", b.binary("arith.mulf", n, a[3]), a[4]);
                        }));
  w.result(1, mean);
  w.result(2, sd);
}

// Predict mode: the moving statistics normalize; fix_gamma means gamma = 1.
void lower_batch_norm(const NodeCtx& c, KernelWriter& w, const std::vector<std::string>& ins,
                      const std::vector<std::string>& outs) {
  int rank = static_cast<int>(c.in_shapes[0].size());
  int axis = normalize_axis(c.attrs.i("axis"), rank, c.node.describe());
  DType t = c.out_types[0];
  double eps = c.attrs.f("eps");
  bool fix_gamma = c.attrs.b("fix_gamma");
  std::string cm = channel_map(rank, axis), id = identity_map(rank);
  std::vector<std::string> par(rank, "parallel");
  w.result(0, w.generic({ins[0], ins[1], ins[2], ins[3], ins[4]}, {id, cm, cm, cm, cm}, outs[0], "", par, t,
                        [&](ScalarBuilder& b, auto& a) {
                          auto inv = b.unary("math.rsqrt", b.binary("arith.addf", a[4], b.constant(eps)));
                          auto n = b.binary("arith.mulf", b.binary("arith.subf", a[0], a[3]), inv);
                          if (!fix_gamma) n = b.binary("arith.mulf", n, a[1]);
                          return b.binary("arith.addf", n, a[2]);
                        }));
  auto copy = [&](const std::string& src, const std::string& dst) {
    return w.generic({src}, {identity_map(1)}, dst, "", {"parallel"}, t, [](ScalarBuilder&, auto& a) { return a[0]; });
  };
  w.result(1, copy(ins[3], outs[1]));
  w.result(2, copy(ins[4], outs[2]));
}

// argmax/argmin over one axis (or the flattened input when axis is None): the extreme value
// first, then the smallest index holding it (MXNet returns the first), as a float index.
void lower_arg_extreme(const NodeCtx& c, KernelWriter& w, const std::string& x, const std::string& out, bool is_max) {
  const Dims& in = c.in_shapes[0];
  int rank = static_cast<int>(in.size());
  DType t = c.out_types[0];
  if (!dtype_is_float(c.in_types[0]) || !dtype_is_float(t)) c.error("argmax/argmin are generated for floating-point types");
  auto ax = c.attrs.opt_i("axis");
  AxisSet axes;
  if (ax) axes.insert(normalize_axis(*ax, rank, c.node.describe()));
  else
    for (int i = 0; i < rank; ++i) axes.insert(i);
  const double inf = std::numeric_limits<double>::infinity();
  std::string km = kept_map(rank, axes);
  std::string m = reduce_into(w, x, w.fill(w.empty(kept_shape(in, axes), c.in_types[0]), is_max ? -inf : inf), km, axes,
                              c.in_types[0], is_max ? "arith.maximumf" : "arith.minimumf");
  // Flat index over the reduced axes, row-major.
  std::string omap = out_map(rank, axes, c.out_shapes[0]);
  w.result(0, w.generic({x, m}, {identity_map(rank), km}, w.fill(out, inf), omap, iterators(rank, axes), t,
                        [&](ScalarBuilder& b, auto& a) {
                          std::string flat = b.raw("arith.constant 0 : index");
                          for (int i : axes) {
                            auto sz = b.raw("arith.constant " + std::to_string(in[i]) + " : index");
                            flat = b.raw("arith.addi " + b.raw("arith.muli " + flat + ", " + sz + " : index") + ", " +
                                         b.raw(KernelWriter::index_op(i)) + " : index");
                          }
                          auto fi = b.raw("arith.sitofp " + b.raw("arith.index_cast " + flat + " : index to i64") +
                                          " : i64 to " + b.ty());
                          auto hit = b.raw("arith.cmpf oeq, " + a[0] + ", " + a[1] + " : " + elem_type(c.in_types[0]));
                          return b.binary("arith.minimumf", a[2], b.select(hit, fi, b.constant(inf)));
                        }, true));
}

}  // namespace

void register_reduce(LoweringTable& t) {
  t.kernel("argmax", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    lower_arg_extreme(c, w, ins[0], outs[0], true);
  });
  t.kernel("argmin", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    lower_arg_extreme(c, w, ins[0], outs[0], false);
  });
  for (const char* k : {"sum", "mean", "max", "min", "prod", "nansum", "nanprod"}) {
    std::string kind = k;
    t.kernel(k, [kind](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
      lower_reduce(c, w, ins[0], outs[0], kind);
    });
  }
  t.kernel("softmax", softmax_kernel(false, false));
  t.kernel("log_softmax", softmax_kernel(true, false));
  t.kernel("softmin", softmax_kernel(false, true));
  // Forward of the *Output losses: softmax over the class axis (axis 1 with multi_output).
  t.kernel("SoftmaxOutput", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    int rank = static_cast<int>(c.in_shapes[0].size());
    int axis = c.attrs.b("multi_output") ? 1 : rank - 1;
    if (!c.attrs.b("multi_output") && !c.attrs.b("preserve_shape") && rank > 2) {
      AxisSet all;  // MXNet flattens to (N, -1) and normalizes over everything but dim 0
      for (int i = 1; i < rank; ++i) all.insert(i);
      return lower_softmax(c, w, ins[0], outs[0], all, 1.0, false, false);
    }
    lower_softmax(c, w, ins[0], outs[0], {axis}, 1.0, false, false);
  });
  t.kernel("SoftmaxActivation", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    int rank = static_cast<int>(c.in_shapes[0].size());
    AxisSet axes;
    if (c.attrs.s("mode") == "channel") axes.insert(1);
    else
      for (int i = 1; i < rank; ++i) axes.insert(i);
    lower_softmax(c, w, ins[0], outs[0], axes, 1.0, false, false);
  });
  t.kernel("LayerNorm", lower_layer_norm);
  t.kernel("BatchNorm", lower_batch_norm);
}

}  // namespace hgc::lower
