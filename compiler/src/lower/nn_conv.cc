// Lowering records of the nn_conv family: Pooling (max/avg/sum, global or windowed, MXNet's
// valid/full/same conventions) and its backward as linalg.generics; Convolution,
// Deconvolution, their gradient ops and im2col/col2im as library calls (library_util.h).
#include <cmath>
#include <limits>

#include "../lowering.h"
#include "hgc/base/error.h"
#include "library_util.h"
#include "movement_util.h"

namespace hgc::lower {
namespace {

std::string d(int i) { return "d" + std::to_string(i); }

// A padded copy of `x` built by one generic (tensor.pad would bufferize to a strided
// memref.copy, which needs MLIR's runtime library): in-bounds elements are read with
// tensor.extract at index - low, the rest take `value`.
std::string pad(KernelWriter& w, const std::string& x, const Dims& padded, const std::vector<int64_t>& low,
                double value) {
  const Dims in = w.shape_of(x);
  DType t = w.type_of(x);
  int n = static_cast<int>(in.size());
  std::vector<std::string> par(n, "parallel");
  return w.generic({}, {}, w.empty(padded, t), "", par, t, [&](ScalarBuilder& b, auto&) {
    auto ic = [&](int64_t v) { return b.raw("arith.constant " + std::to_string(v) + " : index"); };
    std::string inside, coords;
    for (int i = 0; i < n; ++i) {
      auto idx = b.raw(KernelWriter::index_op(i));
      if (low[i] == 0 && padded[i] == in[i]) {
        coords += (i ? ", " : "") + idx;
        continue;
      }
      auto j = b.raw("arith.subi " + idx + ", " + ic(low[i]) + " : index");
      auto ok = b.raw("arith.andi " + b.raw("arith.cmpi sge, " + j + ", " + ic(0) + " : index") + ", " +
                      b.raw("arith.cmpi slt, " + j + ", " + ic(in[i]) + " : index") + " : i1");
      inside = inside.empty() ? ok : b.raw("arith.andi " + inside + ", " + ok + " : i1");
      // Clamp so the (discarded) out-of-bounds read stays inside the buffer.
      auto jc = b.raw("arith.minsi " + b.raw("arith.maxsi " + j + ", " + ic(0) + " : index") + ", " + ic(in[i] - 1) + " : index");
      coords += (i ? ", " : "") + jc;
    }
    auto v = b.raw("tensor.extract " + x + "[" + coords + "] : " + tensor_type(in, t));
    return inside.empty() ? v : b.select(inside, v, b.constant(value));
  }, false);
}

// Pooling's window geometry per spatial dim (global pooling: one window over the whole input).
struct PoolGeom {
  std::vector<int64_t> k, s, p;
  bool global = false;
};

PoolGeom pool_geom(const NodeCtx& c, const Dims& in) {
  int nsp = static_cast<int>(in.size()) - 2;
  if (!c.attrs.is_none("layout") && c.attrs.s("layout")[1] != 'C') c.error("only NC* layouts have a lowering");
  if (c.attrs.s("pool_type") == "lp") c.error("pool_type=lp has no lowering");
  PoolGeom g{std::vector<int64_t>(nsp), std::vector<int64_t>(nsp, 1), std::vector<int64_t>(nsp, 0),
             c.attrs.b("global_pool")};
  for (int i = 0; i < nsp; ++i) {
    g.k[i] = g.global ? in[2 + i] : c.attrs.tuple("kernel")[i];
    if (!g.global && !c.attrs.tuple("stride").empty()) g.s[i] = c.attrs.tuple("stride")[i];
    if (!g.global && !c.attrs.tuple("pad").empty()) g.p[i] = c.attrs.tuple("pad")[i];
  }
  return g;
}

// `x` padded with `value` so every output window lies inside: low = pad, high = whatever the
// `full` convention needs beyond the input.
std::string pad_for_windows(KernelWriter& w, const std::string& x, const Dims& in, const Dims& out, const PoolGeom& g,
                            double value) {
  int n = static_cast<int>(in.size());
  Dims padded = in;
  bool need_pad = false;
  std::vector<int64_t> lows(n, 0);
  for (int i = 2; i < n; ++i) {
    int j = i - 2;
    int64_t hi = std::max<int64_t>(0, (out[i] - 1) * g.s[j] + g.k[j] - in[i] - g.p[j]);
    lows[i] = g.p[j];
    padded[i] = in[i] + g.p[j] + hi;
    need_pad = need_pad || g.p[j] || hi;
  }
  return need_pad ? pad(w, x, padded, lows, value) : x;
}

// The maps of a windowed reduction over iteration dims (out dims..., window dims...): the
// padded input at o*s + k, the window tensor at k, the output at o.
struct WindowMaps {
  std::string x, win, out;
  std::vector<std::string> iterators;
};
WindowMaps window_maps(int n, const PoolGeom& g) {
  int nsp = n - 2, iters = n + nsp;
  std::vector<std::string> xm{d(0), d(1)}, wm, om{d(0), d(1)}, its(n, "parallel");
  for (int i = 0; i < nsp; ++i) {
    xm.push_back(d(2 + i) + " * " + std::to_string(g.s[i]) + " + " + d(n + i));
    wm.push_back(d(n + i));
    om.push_back(d(2 + i));
    its.push_back("reduction");
  }
  return {affine_map(iters, xm), affine_map(iters, wm), affine_map(iters, om), its};
}

// Windows that need no padding, few enough taps to name one by one: max pooling then reads
// each tap through its own affine map (o*s + k) in an all-parallel generic over the output
// positions, whose innermost loop runs along the last output dim with strided (interleaved)
// loads that LLVM vectorizes. The window reduction instead keeps a loop of k taps innermost,
// which LLVM (unrolling off) runs scalar at ~1.6 ns per element.
constexpr int64_t kMaxTaps = 16;

bool unpadded_windows(const PoolGeom& g, const Dims& in, const Dims& out) {
  if (g.global) return false;
  int64_t taps = 1;
  for (size_t i = 0; i < g.k.size(); ++i) {
    // Stride 1 is left out: a tap map o + 0 would be a bare dim, and linalg would take that
    // loop's bound from the input (not the output) and reject the other taps.
    if (g.p[i] != 0 || g.s[i] < 2 || (out[2 + i] - 1) * g.s[i] + g.k[i] > in[2 + i]) return false;
    taps *= g.k[i];
  }
  return taps <= kMaxTaps;
}

// One map per tap (row-major over the window) from output dims to the tap's input element.
std::vector<std::string> tap_maps(int n, const PoolGeom& g) {
  int nsp = n - 2;
  std::vector<std::vector<int64_t>> offs{{}};
  for (int i = 0; i < nsp; ++i) {
    std::vector<std::vector<int64_t>> next;
    for (auto& o : offs)
      for (int64_t k = 0; k < g.k[i]; ++k) next.push_back(o), next.back().push_back(k);
    offs = std::move(next);
  }
  std::vector<std::string> maps;
  for (auto& o : offs) {
    std::vector<std::string> r{d(0), d(1)};
    for (int i = 0; i < nsp; ++i) r.push_back(d(2 + i) + " * " + std::to_string(g.s[i]) + " + " + std::to_string(o[i]));
    maps.push_back(affine_map(n, r));
  }
  return maps;
}

std::string index_const(ScalarBuilder& b, int64_t v) { return b.raw("arith.constant " + std::to_string(v) + " : index"); }

// The index value `i` as a float of the builder's type.
std::string index_to_float(ScalarBuilder& b, const std::string& i) {
  return b.raw("arith.sitofp " + b.raw("arith.index_cast " + i + " : index to i64") + " : i64 to " + b.ty());
}

// avg pooling's divisor for the window at output index values `o` (MXNet: hs = o*s - p;
// he = min(hs + k, H + p); count_include_pad=False clips both to [0, H)).
std::string window_area(ScalarBuilder& b, const std::vector<std::string>& o, const PoolGeom& g, const Dims& in,
                        bool incl) {
  std::string area = index_const(b, 1);
  for (size_t i = 0; i < o.size(); ++i) {
    auto hs = b.raw("arith.subi " + b.raw("arith.muli " + o[i] + ", " + index_const(b, g.s[i]) + " : index") + ", " +
                    index_const(b, g.p[i]) + " : index");
    auto he = b.raw("arith.minsi " + b.raw("arith.addi " + hs + ", " + index_const(b, g.k[i]) + " : index") + ", " +
                    index_const(b, in[2 + i] + g.p[i]) + " : index");
    if (!incl) {
      hs = b.raw("arith.maxsi " + hs + ", " + index_const(b, 0) + " : index");
      he = b.raw("arith.minsi " + he + ", " + index_const(b, in[2 + i]) + " : index");
    }
    area = b.raw("arith.muli " + area + ", " + b.raw("arith.subi " + he + ", " + hs + " : index") + " : index");
  }
  return index_to_float(b, area);
}

// The maximum of bfloat16 values `xs` as 16-bit integers, bit for bit what maximumf in float32
// registers and the rounding back give (a NaN among them: the quiet NaN 0x7FC0; +0 above
// -0), without the conversions: their float32 form (16-bit loads widened, the rounding's
// bit operations) kept LLVM from vectorizing bfloat16 max pooling (scalar, 2x the float32
// kernel's time in LeNet's AMP step). key(x) = x ^ ((x >> 15) & 0x7FFF), signed, orders
// like the floats (negative ones reversed, -0 just below +0) and is its own inverse; NaNs
// get the largest key, 0x7FFF, above +inf's 0x7F80.
std::string bf16_max(ScalarBuilder& b, const std::vector<std::string>& xs) {
  auto c = [&](int v) { return b.raw("arith.constant " + std::to_string(v) + " : i16"); };
  const std::string c15 = c(15), low = c(0x7FFF), inf = c(0x7F80);
  auto flip = [&](const std::string& i) {  // the key of bits i, or the bits of key i
    std::string m = b.raw("arith.andi " + b.raw("arith.shrsi " + i + ", " + c15 + " : i16") + ", " + low + " : i16");
    return b.raw("arith.xori " + i + ", " + m + " : i16");
  };
  std::string r;
  for (const std::string& x : xs) {
    std::string i = b.raw("arith.bitcast " + x + " : bf16 to i16");
    std::string nan = b.raw("arith.cmpi sgt, " + b.raw("arith.andi " + i + ", " + low + " : i16") + ", " + inf + " : i16");
    std::string k = b.raw("arith.select " + nan + ", " + low + ", " + flip(i) + " : i16");
    r = r.empty() ? k : b.raw("arith.maxsi " + r + ", " + k + " : i16");
  }
  std::string is_nan = b.raw("arith.cmpi eq, " + r + ", " + low + " : i16");
  std::string bits = b.raw("arith.select " + is_nan + ", " + c(0x7FC0) + ", " + flip(r) + " : i16");
  return b.raw("arith.bitcast " + bits + " : i16 to bf16");
}

bool include_pad(const NodeCtx& c) { return c.attrs.opt_i("count_include_pad").value_or(1) != 0; }

void lower_pooling(const NodeCtx& c, KernelWriter& w, const std::vector<std::string>& ins,
                   const std::vector<std::string>& outs) {
  const Dims &in = c.in_shapes[0], &out = c.out_shapes[0];
  DType t = c.out_types[0];
  int n = static_cast<int>(in.size());
  PoolGeom g = pool_geom(c, in);
  const std::string& type = c.attrs.s("pool_type");
  const double inf = std::numeric_limits<double>::infinity();
  bool is_max = type == "max";
  if (is_max && unpadded_windows(g, in, out)) {
    std::vector<std::string> maps = tap_maps(n, g);
    // The taps in the window reduction's order, so NaNs and signed zeros come out the same.
    w.result(0, w.generic(std::vector<std::string>(maps.size(), ins[0]), maps, outs[0], "",
                          std::vector<std::string>(n, "parallel"), t, [&](ScalarBuilder& b, auto& a) {
      if (t == DType::bf16) return bf16_max(b, a);
      std::string r = a[0];
      for (size_t i = 1; i < maps.size(); ++i) r = b.binary("arith.maximumf", r, a[i]);
      return r;
    }));
    return;
  }
  std::string x = pad_for_windows(w, ins[0], in, out, g, is_max ? -inf : 0.0);
  std::string win = w.empty(Dims(g.k.begin(), g.k.end()), t);
  WindowMaps m = window_maps(n, g);
  std::string op = is_max ? "arith.maximumf" : "arith.addf";
  std::string init = w.fill(outs[0], is_max ? -inf : 0.0);
  std::string r = w.generic({x, win}, {m.x, m.win}, init, m.out, m.iterators, t,
                            [&](ScalarBuilder& b, auto& a) { return b.reduce_step(op, a[2], a[0]); }, true);
  if (type == "avg") {
    bool incl = include_pad(c);
    // The sums are an input of a new tensor, not updated in place: an all-parallel generic
    // that reads its own destination, fused by MLIR into a broadcasting consumer
    // (x + GlobalAvgPool(x)), ran once per consumer element on the same buffer.
    r = w.generic({r}, {identity_map(n)}, w.empty(out, t), "", std::vector<std::string>(n, "parallel"), t,
                  [&](ScalarBuilder& b, auto& a) {
                    std::vector<std::string> o;
                    for (int i = 2; i < n; ++i) o.push_back(b.raw(KernelWriter::index_op(i)));
                    return b.binary("arith.divf", a[0], window_area(b, o, g, in, incl));
                  });
  }
  w.result(0, r);
}

// _backward_Pooling(ograd, x, y) as a gather over the input: iteration dims (input dims...,
// window dims...) with the window dims reduced. Input position i receives ograd[o] from the
// window o with o*s - p + k = i, for each tap k where that o exists (read with tensor.extract
// at a clamped index, dropped by a select when it does not). Global pooling has one window,
// so no window dims: o = 0 and the tap is i itself. Max pooling first finds each window's
// first maximum (row-major tap number, as a float) the way the forward reduces, and a tap
// passes the gradient only when it is that one: MXNet's first-max rule, so tied maxima do not
// all receive it.
void lower_pooling_backward(const NodeCtx& c, KernelWriter& w, const std::vector<std::string>& ins,
                            const std::vector<std::string>& outs) {
  const Dims &in = c.in_shapes[1], &out = c.in_shapes[0];
  DType t = c.out_types[0];
  int n = static_cast<int>(in.size()), nsp = n - 2;
  PoolGeom g = pool_geom(c, in);
  const std::string& type = c.attrs.s("pool_type");
  bool is_max = type == "max", incl = include_pad(c);
  std::string win = w.empty(Dims(g.k.begin(), g.k.end()), t);
  // Row-major tap numbering within a window.
  std::vector<int64_t> kstride(nsp, 1);
  for (int i = nsp - 2; i >= 0; --i) kstride[i] = kstride[i + 1] * g.k[i + 1];
  auto tap_number = [&](ScalarBuilder& b, const std::vector<std::string>& kk) {
    std::string lin = index_const(b, 0);
    for (int i = 0; i < nsp; ++i)
      lin = b.raw("arith.addi " + lin + ", " + b.raw("arith.muli " + kk[i] + ", " + index_const(b, kstride[i]) +
                                                     " : index") + " : index");
    return index_to_float(b, lin);
  };

  std::string first;
  if (is_max && unpadded_windows(g, in, out)) {
    // As the forward's fast path: one pass over the windows, the taps by their own maps;
    // scanning them last to first leaves the first tap equal to the maximum.
    std::vector<std::string> maps = tap_maps(n, g), tins(maps.size(), ins[1]);
    tins.push_back(ins[2]);
    maps.push_back(identity_map(n));
    first = w.generic(tins, maps, w.empty(out, t), "", std::vector<std::string>(n, "parallel"), t,
                      [&](ScalarBuilder& b, auto& a) {
      size_t taps = a.size() - 1;
      std::string r = b.constant(static_cast<double>(taps));  // past every tap number
      for (size_t i = taps; i-- > 0;)
        r = b.select(b.cmp_i1("oeq", a[i], a[taps]), b.constant(static_cast<double>(i)), r);
      return r;
    });
  } else if (is_max) {
    double none = 1.0;
    for (int64_t k : g.k) none *= static_cast<double>(k);  // past every tap number
    std::string x = pad_for_windows(w, ins[1], in, out, g, -std::numeric_limits<double>::infinity());
    WindowMaps m = window_maps(n, g);
    first = w.generic({x, ins[2], win}, {m.x, m.out, m.win}, w.fill(w.empty(out, t), none), m.out, m.iterators, t,
                      [&](ScalarBuilder& b, auto& a) {
                        std::vector<std::string> kk;
                        for (int i = 0; i < nsp; ++i) kk.push_back(b.raw(KernelWriter::index_op(n + i)));
                        auto cand = b.select(b.cmp_i1("oeq", a[0], a[1]), tap_number(b, kk), b.constant(none));
                        return b.binary("arith.minimumf", a[3], cand);
                      }, true);
  }

  // Windows that tile the input exactly (stride = kernel, no padding): each input position
  // lies in one window, so the gradient is one parallel pass over the input seen as
  // (N, C, O1, K1, O2, K2, ...) (an expand_shape view), reading ograd (and the first-max
  // taps) at (n, c, o1, o2, ...) through projections: no window loop, no bounds checks, no
  // tensor.extract, and no floordiv/mod index maps (which LLVM runs scalar).
  bool tiled = !g.global;
  for (int i = 0; i < nsp && tiled; ++i)
    tiled = g.s[i] == g.k[i] && g.p[i] == 0 && in[2 + i] == out[2 + i] * g.k[i];
  if (tiled) {
    int rank = n + nsp;
    Dims ex{in[0], in[1]};
    std::string grp = "[[0], [1]";
    std::vector<std::string> om{d(0), d(1)};
    for (int i = 0; i < nsp; ++i) {
      ex.push_back(out[2 + i]), ex.push_back(g.k[i]);
      grp += ", [" + std::to_string(2 + 2 * i) + ", " + std::to_string(3 + 2 * i) + "]";
      om.push_back(d(2 + 2 * i));
    }
    grp += "]";
    std::string dst = w.emit("tensor.expand_shape " + outs[0] + " " + grp + " output_shape [" + join(ex) + "] : " +
                                 tensor_type(in, t) + " into " + tensor_type(ex, t),
                             ex, t);
    std::vector<std::string> tins{ins[0]}, tmaps{affine_map(rank, om)};
    if (is_max) tins.push_back(first), tmaps.push_back(affine_map(rank, om));
    double area = 1;
    for (int64_t k : g.k) area *= static_cast<double>(k);
    std::string r = w.generic(tins, tmaps, dst, "", std::vector<std::string>(rank, "parallel"), t,
                              [&](ScalarBuilder& b, auto& a) {
      if (type == "avg") return b.binary("arith.divf", a[0], b.constant(area));
      if (!is_max) return a[0];
      std::vector<std::string> kk;
      for (int i = 0; i < nsp; ++i) kk.push_back(b.raw(KernelWriter::index_op(3 + 2 * i)));
      return b.select(b.cmp_i1("oeq", a[1], tap_number(b, kk)), a[0], b.constant(0.0));
    });
    w.result(0, w.emit("tensor.collapse_shape " + r + " " + grp + " : " + tensor_type(ex, t) + " into " +
                           tensor_type(in, t),
                       in, t));
    return;
  }

  int red = g.global ? 0 : nsp, iters = n + red;
  std::vector<std::string> its(n, "parallel"), ins_g, maps_g, xm;
  for (int i = 0; i < n; ++i) xm.push_back(d(i));
  if (red) {
    std::vector<std::string> wm;
    for (int i = 0; i < nsp; ++i) wm.push_back(d(n + i));
    ins_g.push_back(win);
    maps_g.push_back(affine_map(iters, wm));
    its.insert(its.end(), red, "reduction");
  }
  std::string r = w.generic(ins_g, maps_g, w.fill(outs[0], 0.0), affine_map(iters, xm), its, t,
                            [&](ScalarBuilder& b, auto& a) {
    std::string valid, coords = b.raw(KernelWriter::index_op(0)) + ", " + b.raw(KernelWriter::index_op(1));
    std::vector<std::string> o, kk;
    auto both = [&](const std::string& cond) {
      valid = valid.empty() ? cond : b.raw("arith.andi " + valid + ", " + cond + " : i1");
    };
    for (int i = 0; i < nsp; ++i) {
      auto idx = b.raw(KernelWriter::index_op(2 + i));
      if (g.global) {
        o.push_back(index_const(b, 0));
        kk.push_back(idx);
      } else {
        auto k = b.raw(KernelWriter::index_op(n + i));
        auto tt = b.raw("arith.subi " + b.raw("arith.addi " + idx + ", " + index_const(b, g.p[i]) + " : index") + ", " +
                        k + " : index");
        auto sc = index_const(b, g.s[i]);
        both(b.raw("arith.cmpi sge, " + tt + ", " + index_const(b, 0) + " : index"));
        both(b.raw("arith.cmpi slt, " + tt + ", " + index_const(b, out[2 + i] * g.s[i]) + " : index"));
        if (g.s[i] != 1)
          both(b.raw("arith.cmpi eq, " + b.raw("arith.remsi " + tt + ", " + sc + " : index") + ", " +
                     index_const(b, 0) + " : index"));
        auto q = b.raw("arith.divsi " + tt + ", " + sc + " : index");
        o.push_back(b.raw("arith.minsi " + b.raw("arith.maxsi " + q + ", " + index_const(b, 0) + " : index") + ", " +
                          index_const(b, out[2 + i] - 1) + " : index"));
        kk.push_back(k);
      }
      coords += ", " + o.back();
    }
    auto og = b.raw("tensor.extract " + ins[0] + "[" + coords + "] : " + tensor_type(out, t));
    if (is_max) {
      auto f = b.raw("tensor.extract " + first + "[" + coords + "] : " + tensor_type(out, t));
      both(b.cmp_i1("oeq", f, tap_number(b, kk)));
    } else if (type == "avg") {
      og = b.binary("arith.divf", og, window_area(b, o, g, in, incl));
    }
    auto v = valid.empty() ? og : b.select(valid, og, b.constant(0.0));
    return red ? b.reduce_step("arith.addf", a.back(), v) : v;
  }, true);
  w.result(0, r);
}

}  // namespace

void register_nn_conv(LoweringTable& t) {
  t.kernel("Pooling", lower_pooling);
  t.kernel("_backward_Pooling", lower_pooling_backward);
  t.library("im2col", [](const NodeCtx& c) { return window_call(c, "im2col", c.in_shapes[0], c.out_shapes[0]); });
  t.library("col2im", [](const NodeCtx& c) { return window_call(c, "col2im", c.out_shapes[0], c.in_shapes[0]); });
  // Convolution and Deconvolution: NCW or NCHW.
  auto check_layout = [](const NodeCtx& c) {
    auto layout = c.attrs.is_none("layout") ? std::string() : c.attrs.s("layout");
    if (!layout.empty() && layout != "NCW" && layout != "NCHW") c.error("layout " + layout + " has no lowering");
  };
  t.library("Convolution", [check_layout](const NodeCtx& c) -> LibraryCall {
    check_layout(c);
    return conv_call(c, "convolution", c.in_shapes[0], c.out_shapes[0], !c.attrs.b("no_bias"));
  });
  t.library("Deconvolution", [check_layout](const NodeCtx& c) -> LibraryCall {
    check_layout(c);
    return conv_call(c, "deconvolution", c.in_shapes[0], c.out_shapes[0], !c.attrs.b("no_bias"));
  });
  t.library("_hgc_conv_data_grad", [](const NodeCtx& c) {
    return conv_call(c, "conv_data_grad", c.out_shapes[0], c.in_shapes[0], false);
  });
  t.library("_hgc_conv_weight_grad", [](const NodeCtx& c) {
    return conv_call(c, "conv_weight_grad", c.in_shapes[1], c.in_shapes[0], false);
  });
}

}  // namespace hgc::lower
