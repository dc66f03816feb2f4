// Lowering records of the random family: every output element is a pure function of the
// seed input and its row-major index, so kernels are parallel, need no generator state, and
// the CPU, the GPU and the reference evaluator (tests/reference/ref_random.cc) draw the same
// bits.
//
// The generator is SplitMix64 used as a counter-based hash:
//   key = mix(seed);  bits(n) = mix(key + (n + 1) * 0x9E3779B97F4A7C15)
//   mix(z): z ^= z >> 30; z *= 0xBF58476D1CE4E5B9; z ^= z >> 27; z *= 0x94D049BB133111EB; z ^= z >> 31
// A uniform is u = ((bits >> 11) + 0.5) * 2^-53, in (0, 1), rounded to the compute type
// (float32 for every output type but float64). Element i of a uniform op uses bits(i);
// of a normal op, Box-Muller on bits(2i) and bits(2i + 1):
//   z = sqrt(-2 log u1) * cos(2 pi u2).
#include <cmath>
#include <cstdint>

#include "../lowering.h"
#include "hgc/base/error.h"
#include "movement_util.h"

namespace hgc::lower {
namespace {

int float_bits(DType t) { return t == DType::f64 ? 64 : t == DType::f32 ? 32 : 16; }

// Converts a float scalar between float types.
std::string convert(ScalarBuilder& b, const std::string& x, DType from, DType to) {
  if (from == to) return x;
  const char* op = float_bits(from) < float_bits(to) ? "arith.extf " : "arith.truncf ";
  return b.raw(op + x + " : " + elem_type(from) + " to " + elem_type(to));
}

struct Rng {
  ScalarBuilder& b;
  std::string key;
  std::string c(uint64_t v) { return b.raw("arith.constant " + std::to_string(static_cast<int64_t>(v)) + " : i64"); }
  std::string op(const char* o, const std::string& x, const std::string& y) {
    return b.raw(std::string(o) + " " + x + ", " + y + " : i64");
  }
  std::string mix(std::string z) {
    z = op("arith.xori", z, op("arith.shrui", z, c(30)));
    z = op("arith.muli", z, c(0xBF58476D1CE4E5B9ull));
    z = op("arith.xori", z, op("arith.shrui", z, c(27)));
    z = op("arith.muli", z, c(0x94D049BB133111EBull));
    return op("arith.xori", z, op("arith.shrui", z, c(31)));
  }
  // A uniform in (0, 1) of compute type `ct` from counter n (i64).
  std::string unit(const std::string& n, DType ct) {
    std::string h = mix(op("arith.addi", key, op("arith.muli", op("arith.addi", n, c(1)), c(0x9E3779B97F4A7C15ull))));
    std::string f = b.raw("arith.uitofp " + op("arith.shrui", h, c(11)) + " : i64 to f64");
    ScalarBuilder d = b.retyped(DType::f64);
    std::string u = d.binary("arith.mulf", d.binary("arith.addf", f, d.constant(0.5)), d.constant(0x1.0p-53));
    return convert(b, u, DType::f64, ct);
  }
};

// Lowers one random op: `params` are the (p0, p1) parameter tensors with their maps (empty
// when they come from attributes), `seed` the seed tensor.
void lower_random(const NodeCtx& c, KernelWriter& w, const std::string& out, bool normal,
                  const std::vector<std::string>& params, const std::vector<std::string>& maps, const std::string& seed,
                  double a0, double a1) {
  const Dims& s = c.out_shapes[0];
  DType ot = c.out_types[0];
  if (!dtype_is_float(ot)) c.error("random ops produce float types, got " + dtype_name(ot));
  int r = static_cast<int>(s.size());
  // Symbolic dims (a dynamic batch or sequence axis; compiler/include/hgc/compiler/dynamic.h)
  // are read off the arguments at run time: the row-major index below needs the sizes after
  // each axis, and the same kernel text then serves every size.
  std::vector<std::string> dim_ssa(r);
  for (int k = 0; k < r; ++k)
    if (s[k] < 0) {
      if (s[k] == -1) c.error("random ops need known or named output dims");
      dim_ssa[k] = w.dim_value(s[k]);
    }
  DType ct = ot == DType::f64 ? DType::f64 : DType::f32;
  std::vector<std::string> ins = params, in_maps = maps;
  ins.push_back(seed);
  in_maps.push_back(affine_map(r, {"0"}));
  std::vector<DType> ptypes;
  for (size_t k = 0; k < params.size(); ++k) ptypes.push_back(c.in_types[k]);
  w.result(0, w.generic(ins, in_maps, out, "", parallel(r), ot, [&](ScalarBuilder& b, auto& v) {
    // The row-major index of this element.
    std::string lin = idx_const(b, 0);
    int64_t stride = 1;  // while every dim after k is static
    std::string dyn_stride;  // else the stride as an index value
    for (int k = r - 1; k >= 0; --k) {
      std::string st = dyn_stride.empty() ? idx_const(b, stride) : dyn_stride;
      auto term = b.raw("arith.muli " + b.raw(KernelWriter::index_op(k)) + ", " + st + " : index");
      lin = b.raw("arith.addi " + lin + ", " + term + " : index");
      if (k == 0) break;
      if (s[k] >= 0 && dyn_stride.empty()) stride *= s[k];
      else dyn_stride = b.raw("arith.muli " + st + ", " + (s[k] >= 0 ? idx_const(b, s[k]) : dim_ssa[k]) + " : index");
    }
    Rng g{b, ""};
    g.key = g.mix(v[params.size()]);
    std::string i = b.raw("arith.index_cast " + lin + " : index to i64");
    ScalarBuilder f = b.retyped(ct);
    std::string p0, p1;
    if (params.empty()) {
      p0 = f.constant(a0), p1 = f.constant(a1);
    } else {
      p0 = convert(b, v[0], ptypes[0], ct), p1 = convert(b, v[1], ptypes[1], ct);
    }
    std::string x;
    if (!normal) {
      std::string u = g.unit(i, ct);
      x = f.binary("arith.addf", p0, f.binary("arith.mulf", f.binary("arith.subf", p1, p0), u));
    } else {
      std::string n0 = g.op("arith.muli", i, g.c(2));
      std::string u1 = g.unit(n0, ct), u2 = g.unit(g.op("arith.addi", n0, g.c(1)), ct);
      std::string rad = f.unary("math.sqrt", f.binary("arith.mulf", f.constant(-2.0), f.unary("math.log", u1)));
      std::string z = f.binary("arith.mulf", rad, f.unary("math.cos", f.binary("arith.mulf", f.constant(2 * M_PI), u2)));
      x = f.binary("arith.addf", p0, f.binary("arith.mulf", p1, z));
    }
    return convert(b, x, ct, ot);
  }));
}

}  // namespace

void register_random(LoweringTable& t) {
  for (bool normal : {false, true}) {
    std::string n = normal ? "normal" : "uniform";
    const char* p0 = normal ? "loc" : "low";
    const char* p1 = normal ? "scale" : "high";
    t.kernel("_random_" + n, [=](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
      lower_random(c, w, outs[0], normal, {}, {}, ins[0], c.attrs.f(p0), c.attrs.f(p1));
    });
    t.kernel("_random_" + n + "_like", [=](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
      lower_random(c, w, outs[0], normal, {}, {}, ins[1], c.attrs.f(p0), c.attrs.f(p1));
    });
    // The parameters are read at the leading dims (the samples of one element follow it).
    t.kernel("_sample_" + n, [=](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
      int r = static_cast<int>(c.out_shapes[0].size()), pr = static_cast<int>(c.in_shapes[0].size());
      std::vector<std::string> m;
      for (int k = 0; k < pr; ++k) m.push_back(d(k));
      std::string map = affine_map(r, m);
      lower_random(c, w, outs[0], normal, {ins[0], ins[1]}, {map, map}, ins[2], 0, 0);
    });
  }
}

}  // namespace hgc::lower
