// Reduction lowering helpers (reduce_util.h).
#include "reduce_util.h"

#include <cmath>
#include <limits>

#include "hgc/base/error.h"

namespace hgc::lower {

AxisSet axes_of(const NodeCtx& c, int rank, const char* attr, bool has_exclude) {
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

// Integer sum/prod/max/min/mean in the integer type (MXNet's; mean truncates the quotient).
static void lower_int_reduce(const NodeCtx& c, KernelWriter& w, const std::string& x, const std::string& out,
                      const std::string& kind, const AxisSet& axes, const std::string& omap) {
  DType t = c.out_types[0];
  if (t == DType::boolean || (kind != "sum" && kind != "mean" && kind != "prod" && kind != "max" && kind != "min"))
    c.error(kind + " has no integer form (dtype " + dtype_name(t) + ")");
  bool uns = t == DType::u8 || t == DType::u16 || t == DType::u32 || t == DType::u64;
  int bits = static_cast<int>(dtype_size(t)) * 8;
  // The identity of max/min: the type's extreme value as a literal (a double cannot hold
  // INT64_MAX exactly).
  auto extreme = [&](bool lowest) -> std::string {
    if (uns) return lowest ? "0" : "-1";  // all ones
    if (bits == 64) return lowest ? "-9223372036854775808" : "9223372036854775807";
    int64_t m = (int64_t(1) << (bits - 1));
    return std::to_string(lowest ? -m : m - 1);
  };
  std::string lit = kind == "prod" ? "1" : kind == "max" ? extreme(true) : kind == "min" ? extreme(false) : "0";
  std::string cst = w.fresh();
  w.body() << "  " << cst << " = arith.constant " << lit << " : " << elem_type(t) << "\n";
  std::string init = w.emit("linalg.fill ins(" + cst + " : " + elem_type(t) + ") outs(" + out + " : " +
                                tensor_type(w.shape_of(out), t) + ") -> " + tensor_type(w.shape_of(out), t),
                            w.shape_of(out), t);
  std::string op = kind == "prod" ? "arith.muli" : kind == "max" ? (uns ? "arith.maxui" : "arith.maxsi")
                   : kind == "min" ? (uns ? "arith.minui" : "arith.minsi") : "arith.addi";
  std::string r = reduce_into(w, x, init, omap, axes, t, op);
  if (kind == "mean") {
    int orank = static_cast<int>(w.shape_of(r).size());
    int64_t n = count(c.in_shapes[0], axes);
    r = w.generic({r}, {identity_map(orank)}, w.empty(w.shape_of(r), t), "", std::vector<std::string>(orank, "parallel"), t,
                  [&](ScalarBuilder& b, auto& a) {
                    return b.binary(uns ? "arith.divui" : "arith.divsi", a[0], b.constant(static_cast<double>(std::max<int64_t>(n, 1))));
                  });
  }
  w.result(0, r);
}

void lower_reduce(const NodeCtx& c, KernelWriter& w, const std::string& x, const std::string& out,
                  const std::string& kind) {
  const Dims& in = c.in_shapes[0];
  int rank = static_cast<int>(in.size());
  DType t = c.out_types[0];
  AxisSet axes = axes_of(c, rank);
  std::string omap = out_map(rank, axes, c.out_shapes[0]);
  if (!dtype_is_float(t)) {
    lower_int_reduce(c, w, x, out, kind, axes, omap);
    return;
  }
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
  if ((t == DType::bf16 || t == DType::f16) && c.in_types[0] == t) {
    // Half floats: the whole computation in float32 (the row maximum, sum and log would
    // each lose bits in 8 or 11), rounded once into the output.
    NodeCtx c32 = c;
    c32.in_types[0] = c32.out_types[0] = DType::f32;
    auto cvt = [&](const std::string& v, DType from, DType to, const std::string& dst) {
      return w.elementwise({v}, dst, to, [&](ScalarBuilder& b, auto& a) {
        return b.raw(std::string(to == DType::f32 ? "arith.extf " : "arith.truncf ") + a[0] + " : " +
                     elem_type(from) + " to " + elem_type(to));
      });
    };
    std::string x32 = cvt(x, t, DType::f32, w.empty(in, DType::f32));
    lower_softmax(c32, w, x32, w.empty(c.out_shapes[0], DType::f32), axes, temperature, log, negate);
    std::string r32 = w.take_results().at(0);
    w.result(0, cvt(r32, DType::f32, t, out));
    return;
  }
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

}  // namespace hgc::lower
