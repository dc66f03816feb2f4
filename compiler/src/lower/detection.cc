// Lowering records of the detection family (ir/ops/detection.cc).
//
// MultiBoxPrior and box_iou are generated kernels: each output element is a closed formula of
// its indices (anchors) or of eight input elements (IoU), so they run on every target.
// MultiBoxTarget, MultiBoxDetection and box_nms are greedy matching, sorting and suppression
// whose every step depends on the data: they are runtime library calls (float32,
// runtime/src/library_detection.cc) like the GEMMs. The GPU runtime has no implementation of
// these three (GpuExecutable names the call); they are listed in docs/DEVELOPING.md.
#include <algorithm>
#include <bit>
#include <cmath>

#include "../lowering.h"
#include "hgc/base/error.h"
#include "hgc/runtime/library_call.h"
#include "library_util.h"
#include "movement_util.h"

namespace hgc::lower {
namespace {

const std::vector<double>& reals(const NodeCtx& c, const std::string& name) {
  return std::get<std::vector<double>>(c.attrs.get(name));
}

int64_t fp(double v) {  // a float attribute as its float32 bit pattern (library_detection.h)
  return static_cast<int64_t>(std::bit_cast<uint32_t>(static_cast<float>(v)));
}

std::string to_float(ScalarBuilder& b, const std::string& index) {
  return b.raw("arith.sitofp " + b.raw("arith.index_cast " + index + " : index to i64") + " : i64 to " + b.ty());
}

// MultiBoxPrior: anchor i of the (1, H*W*A, 4) output sits at pixel (r, c) = divmod(i / A, W),
// with anchor a = i % A; coordinate k is center -/+ half extent.
void lower_prior(const NodeCtx& c, KernelWriter& w, const std::vector<std::string>& outs) {
  const auto &sizes = reals(c, "sizes"), &ratios = reals(c, "ratios"), &steps = reals(c, "steps"),
             &offsets = reals(c, "offsets");
  int64_t H = c.in_shapes[0][2], W = c.in_shapes[0][3];
  // MXNet computes in float32: the half extents are rounded as it rounds them.
  float sy = steps[0] > 0 && steps[1] > 0 ? static_cast<float>(steps[0]) : 1.f / static_cast<float>(H);
  float sx = steps[0] > 0 && steps[1] > 0 ? static_cast<float>(steps[1]) : 1.f / static_cast<float>(W);
  std::vector<float> hw, hh;
  auto add = [&](float size, float ratio) {
    float r = std::sqrt(ratio);
    hw.push_back(size * static_cast<float>(H) / static_cast<float>(W) * r / 2);
    hh.push_back(size / r / 2);
  };
  for (double s : sizes) add(static_cast<float>(s), static_cast<float>(ratios[0]));
  for (size_t j = 1; j < ratios.size(); ++j) add(static_cast<float>(sizes[0]), static_cast<float>(ratios[j]));
  int64_t A = static_cast<int64_t>(hw.size());
  bool clip = c.attrs.b("clip");
  float oy = static_cast<float>(offsets[0]), ox = static_cast<float>(offsets[1]);
  w.result(0, w.generic({}, {}, outs[0], "", parallel(3), c.out_types[0], [&](ScalarBuilder& b, auto&) {
    auto i = b.raw(KernelWriter::index_op(1)), k = b.raw(KernelWriter::index_op(2));
    auto a = b.raw("arith.remui " + i + ", " + idx_const(b, A) + " : index");
    auto pix = b.raw("arith.divui " + i + ", " + idx_const(b, A) + " : index");
    auto col = b.raw("arith.remui " + pix + ", " + idx_const(b, W) + " : index");
    auto row = b.raw("arith.divui " + pix + ", " + idx_const(b, W) + " : index");
    auto cx = b.binary("arith.mulf", b.binary("arith.addf", to_float(b, col), b.constant(ox)), b.constant(sx));
    auto cy = b.binary("arith.mulf", b.binary("arith.addf", to_float(b, row), b.constant(oy)), b.constant(sy));
    std::string half_w = b.constant(hw[A - 1]), half_h = b.constant(hh[A - 1]);
    for (int64_t j = A - 2; j >= 0; --j) {
      auto is = b.raw("arith.cmpi eq, " + a + ", " + idx_const(b, j) + " : index");
      half_w = b.select(is, b.constant(hw[j]), half_w);
      half_h = b.select(is, b.constant(hh[j]), half_h);
    }
    auto kx = b.raw("arith.remui " + k + ", " + idx_const(b, 2) + " : index");
    auto is_x = b.raw("arith.cmpi eq, " + kx + ", " + idx_const(b, 0) + " : index");
    auto low = b.raw("arith.cmpi ult, " + k + ", " + idx_const(b, 2) + " : index");
    auto center = b.select(is_x, cx, cy), half = b.select(is_x, half_w, half_h);
    auto v = b.select(low, b.binary("arith.subf", center, half), b.binary("arith.addf", center, half));
    if (clip) v = b.binary("arith.maximumf", b.binary("arith.minimumf", v, b.constant(1)), b.constant(0));
    return v;
  }));
}

// box_iou: out[l..., r...] from lhs[l..., 0:4] and rhs[r..., 0:4], each coordinate read
// through its own constant-index map.
void lower_iou(const NodeCtx& c, KernelWriter& w, const std::vector<std::string>& ins,
               const std::vector<std::string>& outs) {
  int lr = static_cast<int>(c.in_shapes[0].size()) - 1, rr = static_cast<int>(c.in_shapes[1].size()) - 1;
  int n = lr + rr;
  bool center = c.attrs.s("format") == "center";
  std::vector<std::string> args, maps;
  for (int side = 0; side < 2; ++side)
    for (int k = 0; k < 4; ++k) {
      std::vector<std::string> m;
      for (int i = 0; i < (side ? rr : lr); ++i) m.push_back(d((side ? lr : 0) + i));
      m.push_back(std::to_string(k));
      args.push_back(ins[side]);
      maps.push_back(affine_map(n, m));
    }
  w.result(0, w.generic(args, maps, outs[0], "", parallel(n), c.out_types[0], [&](ScalarBuilder& b, auto& v) {
    auto mn = [&](auto x, auto y) { return b.binary("arith.minimumf", x, y); };
    auto mx = [&](auto x, auto y) { return b.binary("arith.maximumf", x, y); };
    auto sub = [&](auto x, auto y) { return b.binary("arith.subf", x, y); };
    auto add = [&](auto x, auto y) { return b.binary("arith.addf", x, y); };
    auto mul = [&](auto x, auto y) { return b.binary("arith.mulf", x, y); };
    auto zero = b.constant(0), two = b.constant(2);
    // One axis: the overlap of [a0, a1] and [b0, b1] (corner) or of extents around centres.
    auto overlap = [&](auto a0, auto a1, auto b0, auto b1) {
      if (center) {
        auto ah = b.binary("arith.divf", a1, two), bh = b.binary("arith.divf", b1, two);
        return mx(sub(mn(add(a0, ah), add(b0, bh)), mx(sub(a0, ah), sub(b0, bh))), zero);
      }
      return mx(sub(mn(a1, b1), mx(a0, b0)), zero);
    };
    auto area = [&](auto x0, auto y0, auto x1, auto y1) {
      auto wd = center ? x1 : sub(x1, x0), ht = center ? y1 : sub(y1, y0);
      auto neg = b.raw("arith.ori " + b.cmp_i1("olt", wd, zero) + ", " + b.cmp_i1("olt", ht, zero) + " : i1");
      return b.select(neg, zero, mul(wd, ht));
    };
    auto inter = mul(overlap(v[0], v[2], v[4], v[6]), overlap(v[1], v[3], v[5], v[7]));
    auto uni = sub(add(area(v[0], v[1], v[2], v[3]), area(v[4], v[5], v[6], v[7])), inter);
    auto none = b.cmp_i1("ole", inter, zero);
    return b.select(none, zero, b.binary("arith.divf", inter, uni));
  }));
}

}  // namespace

void register_detection(LoweringTable& t) {
  t.kernel("_contrib_MultiBoxPrior", [](const NodeCtx& c, KernelWriter& w, auto&, auto& outs) { lower_prior(c, w, outs); });
  t.kernel("_contrib_box_iou", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) { lower_iou(c, w, ins, outs); });
  t.library("_contrib_MultiBoxTarget", [](const NodeCtx& c) -> LibraryCall {
    require_f32(c);
    const auto& v = reals(c, "variances");
    const Dims &a = c.in_shapes[0], &l = c.in_shapes[1], &p = c.in_shapes[2];
    return {"multibox_target",
            {l[0], a[1], l[1], l[2], p[1], fp(c.attrs.f("overlap_threshold")), fp(c.attrs.f("ignore_label")),
             fp(c.attrs.f("negative_mining_ratio")), fp(c.attrs.f("negative_mining_thresh")),
             std::max<int64_t>(0, c.attrs.i("minimum_negative_samples")), fp(v[0]), fp(v[1]), fp(v[2]), fp(v[3])},
            {}};
  });
  t.library("_contrib_MultiBoxDetection", [](const NodeCtx& c) -> LibraryCall {
    require_f32(c);
    const auto& v = reals(c, "variances");
    const Dims& p = c.in_shapes[0];
    return {"multibox_detection",
            {p[0], p[1], p[2], c.attrs.b("clip") ? 1 : 0, fp(c.attrs.f("threshold")), fp(c.attrs.f("nms_threshold")),
             c.attrs.b("force_suppress") ? 1 : 0, std::max<int64_t>(0, c.attrs.i("nms_topk")), fp(v[0]), fp(v[1]),
             fp(v[2]), fp(v[3])},
            {}};
  });
  t.library("_contrib_box_nms", [](const NodeCtx& c) -> LibraryCall {
    require_f32(c);
    const Dims& s = c.in_shapes[0];
    int64_t n = s[s.size() - 2], width = s.back(), batch = 1;
    for (size_t i = 0; i + 2 < s.size(); ++i) batch *= s[i];
    int64_t topk = c.attrs.i("topk");
    return {"box_nms",
            {batch, n, width, fp(c.attrs.f("overlap_thresh")), fp(c.attrs.f("valid_thresh")),
             topk < 0 ? n + 1 : std::min(n, topk), c.attrs.i("coord_start"), c.attrs.i("score_index"),
             c.attrs.i("id_index") < 0 ? 0 : c.attrs.i("id_index") + 1, fp(double(c.attrs.i("background_id"))),
             c.attrs.b("force_suppress") ? 1 : 0, c.attrs.s("in_format") == "center" ? 1 : 0,
             c.attrs.s("out_format") == "center" ? 1 : 0},
            {}};
  });
}

}  // namespace hgc::lower
