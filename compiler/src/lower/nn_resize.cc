// Lowering records of the nn_resize family (NCHW, static shapes): nearest UpSampling reads
// through floordiv maps (or gathers per input when several are concatenated), bilinear
// UpSampling is a depthwise transposed convolution written as a reduction over its k x k
// taps, Crop a strided copy, BilinearResize2D a 4-point gather with MXNet's float
// coordinates computed in the body, AdaptiveAvgPooling2D a reduction over the largest window.
#include "../lowering.h"
#include "hgc/base/error.h"
#include "movement_util.h"

namespace hgc::lower {
namespace {

std::string idx(ScalarBuilder& b, int d) { return b.raw(KernelWriter::index_op(d)); }
std::string iop(ScalarBuilder& b, const std::string& op, const std::string& x, const std::string& y) {
  return b.raw(op + " " + x + ", " + y + " : index");
}
std::string icmp(ScalarBuilder& b, const std::string& pred, const std::string& x, const std::string& y) {
  return b.raw("arith.cmpi " + pred + ", " + x + ", " + y + " : index");
}

// A float scalar of dtype `from` as dtype `to`.
std::string convert(ScalarBuilder& b, const std::string& v, DType from, DType to) {
  if (from == to) return v;
  return b.raw(std::string(dtype_size(to) > dtype_size(from) ? "arith.extf " : "arith.truncf ") + v + " : " +
               elem_type(from) + " to " + elem_type(to));
}

// x[coords] (a tensor.extract) as the builder's type.
std::string load(ScalarBuilder& b, const std::string& x, const Dims& shape, DType t, const std::string& coords) {
  return convert(b, b.raw("tensor.extract " + x + "[" + coords + "] : " + tensor_type(shape, t)), t, b.type());
}

// An index as a float of the builder's type.
std::string index_to_float(ScalarBuilder& b, const std::string& i) {
  auto v = b.raw("arith.index_cast " + i + " : index to i64");
  return b.raw("arith.sitofp " + v + " : i64 to " + b.ty());
}

void require_float_nchw(const NodeCtx& c) {
  for (DType t : {c.in_types[0], c.out_types[0]})
    if (!dtype_is_float(t)) c.error("takes floating-point data, got " + dtype_name(t));
}

void lower_upsampling(const NodeCtx& c, KernelWriter& w, const std::vector<std::string>& ins,
                      const std::vector<std::string>& outs) {
  require_float_nchw(c);
  const Dims& os = c.out_shapes[0];
  DType t = c.out_types[0];
  int64_t scale = c.attrs.i("scale");
  if (c.attrs.s("sample_type") == "bilinear") {
    // out[n, c, oh, ow] = sum_{kh, kw} x[n, c, ih, iw] * w[c, 0, kh, kw] where
    // ih * scale = oh + pad - kh (and likewise for w), a Deconvolution with num_group = C.
    const Dims& xs = c.in_shapes[0];
    int64_t pad = scale / 2;  // ceil((scale - 1) / 2)
    std::string acc = w.fill(outs[0], 0);
    std::vector<std::string> its = parallel(4);
    its.insert(its.end(), {"reduction", "reduction"});
    w.result(0, w.generic({ins[1]}, {affine_map(6, {"d1", "0", "d4", "d5"})}, acc, affine_map(6, {"d0", "d1", "d2", "d3"}),
                          its, t, [&](ScalarBuilder& b, auto& v) {
                            auto s = idx_const(b, scale), zero = idx_const(b, 0);
                            std::string ok, src[2];
                            for (int k = 0; k < 2; ++k) {
                              auto num = iop(b, "arith.subi", iop(b, "arith.addi", idx(b, 2 + k), idx_const(b, pad)), idx(b, 4 + k));
                              auto q = iop(b, "arith.divsi", num, s);
                              auto hit = b.raw("arith.andi " + icmp(b, "sge", num, zero) + ", " +
                                               icmp(b, "eq", iop(b, "arith.remsi", num, s), zero) + " : i1");
                              hit = b.raw("arith.andi " + hit + ", " + icmp(b, "slt", q, idx_const(b, xs[2 + k])) + " : i1");
                              src[k] = b.raw("arith.select " + hit + ", " + q + ", " + zero + " : index");
                              ok = k == 0 ? hit : b.raw("arith.andi " + ok + ", " + hit + " : i1");
                            }
                            auto x = load(b, ins[0], xs, c.in_types[0],
                                          idx(b, 0) + ", " + idx(b, 1) + ", " + src[0] + ", " + src[1]);
                            auto prod = b.binary("arith.mulf", x, v[0]);
                            return b.binary("arith.addf", v[1], b.select(ok, prod, b.constant(0)));
                          }, true));
    return;
  }
  bool sum = c.attrs.s("multi_input_mode") == "sum";
  if (ins.size() == 1 || sum) {  // every input read through (h floordiv s, w floordiv s)
    std::vector<std::string> maps;
    for (const Dims& s : c.in_shapes) {
      std::string f = std::to_string(os[2] / s[2]);
      maps.push_back(affine_map(4, {"d0", "d1", "d2 floordiv " + f, "d3 floordiv " + f}));
    }
    w.result(0, w.generic(ins, maps, outs[0], "", parallel(4), t, [&](ScalarBuilder& b, auto& v) {
      std::string r = v[0];
      for (size_t i = 1; i < v.size(); ++i) r = b.binary("arith.addf", r, v[i]);
      return r;
    }));
    return;
  }
  // concat: channel c comes from the input whose channel range holds it.
  w.result(0, w.generic({}, {}, outs[0], "", parallel(4), t, [&](ScalarBuilder& b, auto&) {
    auto ch = idx(b, 1);
    std::string r;
    int64_t end = 0;
    for (int i = static_cast<int>(ins.size()) - 1; i >= 0; --i) {
      const Dims& s = c.in_shapes[i];
      int64_t begin = 0;
      for (int j = 0; j < i; ++j) begin += c.in_shapes[j][1];
      end = begin + s[1];
      auto f = idx_const(b, os[2] / s[2]);
      auto local = clamp_index(b, iop(b, "arith.subi", ch, idx_const(b, begin)), s[1]);
      auto v = load(b, ins[i], s, c.in_types[i],
                    idx(b, 0) + ", " + local + ", " + iop(b, "arith.divui", idx(b, 2), f) + ", " +
                        iop(b, "arith.divui", idx(b, 3), f));
      r = r.empty() ? v : b.select(icmp(b, "ult", ch, idx_const(b, end)), v, r);
    }
    return r;
  }));
}

// MXNet 1.9's SpatialUpSamplingBilinearUpdateOutput: coordinates in float, the 4 weights in
// the data's type (float32 for half floats here, double for double).
void lower_bilinear_resize(const NodeCtx& c, KernelWriter& w, const std::vector<std::string>& ins,
                           const std::vector<std::string>& outs) {
  require_float_nchw(c);
  const Dims &xs = c.in_shapes[0], &os = c.out_shapes[0];
  if (xs[2] == os[2] && xs[3] == os[3]) {  // MXNet copies
    w.result(0, strided_copy(w, ins[0], outs[0], {0, 0, 0, 0}, {1, 1, 1, 1}));
    return;
  }
  bool align = c.attrs.b("align_corners");
  DType t = c.out_types[0], ct = t == DType::f64 ? DType::f64 : DType::f32;
  auto ratio = [&](int64_t in, int64_t out) -> float {
    if (out <= 1) return 0.f;
    return align ? static_cast<float>(in - 1) / static_cast<float>(out - 1)
                 : static_cast<float>(in) / static_cast<float>(out);
  };
  float r[2] = {ratio(xs[2], os[2]), ratio(xs[3], os[3])};
  w.result(0, w.generic({}, {}, outs[0], "", parallel(4), t, [&](ScalarBuilder& b0, auto&) {
    ScalarBuilder f = b0.retyped(DType::f32), b = b0.retyped(ct);
    std::string lo[2], hi[2], l1[2], l0[2];
    for (int k = 0; k < 2; ++k) {
      auto dst = index_to_float(f, idx(f, 2 + k));
      std::string src;
      if (align) {
        src = f.binary("arith.mulf", f.constant(r[k]), dst);
      } else {
        src = f.binary("arith.subf", f.binary("arith.mulf", f.constant(r[k]), f.binary("arith.addf", dst, f.constant(0.5))),
                       f.constant(0.5));
        src = f.binary("arith.maximumf", src, f.constant(0));
      }
      lo[k] = to_index(f, src, DType::f32);
      hi[k] = b.raw("arith.select " + icmp(f, "slt", lo[k], idx_const(f, xs[2 + k] - 1)) + ", " +
                    iop(f, "arith.addi", lo[k], idx_const(f, 1)) + ", " + lo[k] + " : index");
      l1[k] = convert(f, f.binary("arith.subf", src, index_to_float(f, lo[k])), DType::f32, ct);
      l0[k] = b.binary("arith.subf", b.constant(1), l1[k]);
    }
    std::string nc = idx(b, 0) + ", " + idx(b, 1) + ", ";
    auto at = [&](const std::string& h, const std::string& wi) { return load(b, ins[0], xs, c.in_types[0], nc + h + ", " + wi); };
    auto row = [&](const std::string& h) {
      return b.binary("arith.addf", b.binary("arith.mulf", l0[1], at(h, lo[1])), b.binary("arith.mulf", l1[1], at(h, hi[1])));
    };
    auto v = b.binary("arith.addf", b.binary("arith.mulf", l0[0], row(lo[0])), b.binary("arith.mulf", l1[0], row(hi[0])));
    return convert(b, v, ct, t);
  }));
}

// out[oh] = mean of x[start(oh) .. end(oh)) with start = floor(oh * H / OH) and
// end = ceil((oh + 1) * H / OH) (MXNet's START_IND / END_IND), per spatial dim.
void lower_adaptive_avg_pool(const NodeCtx& c, KernelWriter& w, const std::vector<std::string>& ins,
                             const std::vector<std::string>& outs) {
  require_float_nchw(c);
  const Dims &xs = c.in_shapes[0], &os = c.out_shapes[0];
  int64_t win[2] = {1, 1};
  for (int k = 0; k < 2; ++k)
    for (int64_t o = 0; o < os[2 + k]; ++o)
      win[k] = std::max(win[k], ((o + 1) * xs[2 + k] + os[2 + k] - 1) / os[2 + k] - o * xs[2 + k] / os[2 + k]);
  // The taps' loop ranges come from a placeholder operand of the window's shape.
  std::string taps = w.empty({win[0], win[1]}, DType::f32);
  std::vector<std::string> its = parallel(4);
  its.insert(its.end(), {"reduction", "reduction"});
  DType t = c.out_types[0];
  w.result(0, w.generic({taps}, {affine_map(6, {"d4", "d5"})}, w.fill(outs[0], 0), affine_map(6, {"d0", "d1", "d2", "d3"}),
                        its, t, [&](ScalarBuilder& b, auto& v) {
                          std::string ok, src[2], count;
                          for (int k = 0; k < 2; ++k) {
                            auto in = idx_const(b, xs[2 + k]), out = idx_const(b, os[2 + k]);
                            auto o = idx(b, 2 + k);
                            auto start = iop(b, "arith.divui", iop(b, "arith.muli", o, in), out);
                            auto end1 = iop(b, "arith.addi", iop(b, "arith.muli", iop(b, "arith.addi", o, idx_const(b, 1)), in),
                                            idx_const(b, os[2 + k] - 1));
                            auto end = iop(b, "arith.divui", end1, out);
                            auto i = iop(b, "arith.addi", start, idx(b, 4 + k));
                            auto hit = icmp(b, "ult", i, end);
                            src[k] = clamp_index(b, i, xs[2 + k]);
                            auto n = iop(b, "arith.subi", end, start);
                            ok = k == 0 ? hit : b.raw("arith.andi " + ok + ", " + hit + " : i1");
                            count = k == 0 ? n : iop(b, "arith.muli", count, n);
                          }
                          auto x = load(b, ins[0], xs, c.in_types[0], idx(b, 0) + ", " + idx(b, 1) + ", " + src[0] + ", " + src[1]);
                          auto mean = b.binary("arith.divf", x, index_to_float(b, count));
                          return b.binary("arith.addf", v[1], b.select(ok, mean, b.constant(0)));
                        }, true));
}

}  // namespace

void register_nn_resize(LoweringTable& t) {
  t.kernel("UpSampling", lower_upsampling);
  t.kernel("Crop", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    const Dims &xs = c.in_shapes[0], &os = c.out_shapes[0];
    bool center = c.attrs.b("center_crop");
    int64_t oy = center ? (xs[2] - os[2]) / 2 : c.attrs.tuple("offset")[0];
    int64_t ox = center ? (xs[3] - os[3]) / 2 : c.attrs.tuple("offset")[1];
    w.result(0, strided_copy(w, ins[0], outs[0], {0, 0, oy, ox}, {1, 1, 1, 1}));
  });
  t.kernel("_contrib_BilinearResize2D", lower_bilinear_resize);
  t.kernel("_contrib_AdaptiveAvgPooling2D", lower_adaptive_avg_pool);
}

}  // namespace hgc::lower
