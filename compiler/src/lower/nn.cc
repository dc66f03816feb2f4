// Pooling (max/avg/sum, global or windowed, MXNet's valid/full/same conventions) and
// L2Normalization as linalg.generics.
#include <cmath>
#include <limits>

#include "../lowering.h"
#include "hgc/ir/error.h"

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

void lower_pooling(const NodeCtx& c, KernelWriter& w, const std::vector<std::string>& ins,
                   const std::vector<std::string>& outs) {
  const Dims &in = c.in_shapes[0], &out = c.out_shapes[0];
  DType t = c.out_types[0];
  int n = static_cast<int>(in.size()), nsp = n - 2;
  if (!c.attrs.is_none("layout") && c.attrs.s("layout")[1] != 'C') c.error("only NC* layouts have a lowering");
  const std::string& type = c.attrs.s("pool_type");
  if (type == "lp") c.error("pool_type=lp has no lowering");
  const double inf = std::numeric_limits<double>::infinity();
  bool is_max = type == "max";
  std::string op = is_max ? "arith.maximumf" : "arith.addf";
  std::vector<int64_t> k(nsp), s(nsp, 1), p(nsp, 0);
  bool global = c.attrs.b("global_pool");
  for (int i = 0; i < nsp; ++i) {
    k[i] = global ? in[2 + i] : c.attrs.tuple("kernel")[i];
    if (!global && !c.attrs.tuple("stride").empty()) s[i] = c.attrs.tuple("stride")[i];
    if (!global && !c.attrs.tuple("pad").empty()) p[i] = c.attrs.tuple("pad")[i];
  }
  // Pad so every output window lies inside: low = pad, high = whatever `full` needs beyond.
  std::string x = ins[0];
  Dims padded = in;
  bool need_pad = false;
  std::vector<int64_t> lows_v(n, 0);
  for (int i = 0; i < n; ++i) {
    int64_t lo = 0, hi = 0;
    if (i >= 2) {
      int j = i - 2;
      lo = p[j];
      hi = std::max<int64_t>(0, (out[i] - 1) * s[j] + k[j] - in[i] - p[j]);
      padded[i] = in[i] + lo + hi;
      need_pad = need_pad || lo || hi;
    }
    lows_v[i] = lo;
  }
  if (need_pad) x = pad(w, x, padded, lows_v, is_max ? -inf : 0.0);
  std::string win = w.empty(Dims(k.begin(), k.end()), t);
  int iters = n + nsp;
  std::vector<std::string> xm{d(0), d(1)}, wm, om{d(0), d(1)}, its{"parallel", "parallel"};
  for (int i = 0; i < nsp; ++i) {
    xm.push_back(d(2 + i) + " * " + std::to_string(s[i]) + " + " + d(n + i));
    wm.push_back(d(n + i));
    om.push_back(d(2 + i));
    its.push_back("parallel");
  }
  for (int i = 0; i < nsp; ++i) its.push_back("reduction");
  std::string init = w.fill(outs[0], is_max ? -inf : 0.0);
  std::string r = w.generic({x, win}, {affine_map(iters, xm), affine_map(iters, wm)}, init, affine_map(iters, om), its, t,
                            [&](ScalarBuilder& b, auto& a) { return b.reduce_step(op, a[2], a[0]); }, true);
  if (type == "avg") {
    bool include_pad = c.attrs.opt_i("count_include_pad").value_or(1) != 0;
    std::vector<std::string> par(n, "parallel");
    r = w.generic({}, {}, r, "", par, t, [&](ScalarBuilder& b, auto& a) {
      auto ic = [&](int64_t v) { return b.raw("arith.constant " + std::to_string(v) + " : index"); };
      std::string area = ic(1);
      for (int i = 0; i < nsp; ++i) {
        // MXNet: hs = o*s - p; he = min(hs + k, H + p); count_include_pad=False clips to [0, H).
        auto o = b.raw(KernelWriter::index_op(2 + i));
        auto hs = b.raw("arith.subi " + b.raw("arith.muli " + o + ", " + ic(s[i]) + " : index") + ", " + ic(p[i]) + " : index");
        auto he = b.raw("arith.minsi " + b.raw("arith.addi " + hs + ", " + ic(k[i]) + " : index") + ", " + ic(in[2 + i] + p[i]) + " : index");
        if (!include_pad) {
          hs = b.raw("arith.maxsi " + hs + ", " + ic(0) + " : index");
          he = b.raw("arith.minsi " + he + ", " + ic(in[2 + i]) + " : index");
        }
        area = b.raw("arith.muli " + area + ", " + b.raw("arith.subi " + he + ", " + hs + " : index") + " : index");
      }
      auto af = b.raw("arith.sitofp " + b.raw("arith.index_cast " + area + " : index to i64") + " : i64 to " + b.ty());
      return b.binary("arith.divf", a[0], af);
    }, true);
  }
  w.result(0, r);
}

}  // namespace

void register_nn(LoweringTable& t) {
  t.kernel("Pooling", lower_pooling);
  // out = x / norm, norm = sqrt(sum x^2 + eps) over the mode's axes; norm is output 1 (the
  // reduced dims dropped), so it is the reduction's destination.
  t.kernel("L2Normalization", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    const Dims& in = c.in_shapes[0];
    int n = static_cast<int>(in.size());
    DType t = c.out_types[0];
    const std::string& mode = c.attrs.s("mode");
    // The norm output keeps reduced dims as size 1 or drops them, by mode (op record).
    bool kept = c.out_shapes[1].size() == in.size();
    std::vector<std::string> keep, its;
    for (int i = 0; i < n; ++i) {
      bool red = mode == "instance" ? i > 0 : mode == "channel" ? i == 1 : i > 1;
      if (!red || kept) keep.push_back(red ? "0" : d(i));
      its.push_back(red ? "reduction" : "parallel");
    }
    std::string nmap = affine_map(n, keep);
    double eps = c.attrs.f("eps");
    std::string ss = w.generic({ins[0]}, {identity_map(n)}, w.fill(outs[1], 0), nmap, its, t,
                               [&](ScalarBuilder& b, auto& a) {
                                 return b.reduce_step("arith.addf", a[1], b.binary("arith.mulf", a[0], a[0]));
                               }, true);
    std::string nrm = w.generic({}, {}, ss, "", std::vector<std::string>(keep.size(), "parallel"), t,
                                [&](ScalarBuilder& b, auto& a) {
                                  return b.unary("math.sqrt", b.binary("arith.addf", a[0], b.constant(eps)));
                                }, true);
    w.result(0, w.generic({ins[0], nrm}, {identity_map(n), nmap}, outs[0], "", std::vector<std::string>(n, "parallel"), t,
                          [&](ScalarBuilder& b, auto& a) { return b.binary("arith.divf", a[0], a[1]); }));
    w.result(1, nrm);
  });
}

}  // namespace hgc::lower
