// Lowering records of the ordering family (topk, sort, argsort). linalg has no sort, so each
// line is ordered by ranks: rank[i] = #{j : x[j] before x[i]} (a reduction over a second
// copy of the axis; ties go to the smaller position, so the order is stable), then output
// position r gathers the element whose rank is r (a reduction adding the one hit). O(n^2)
// per line: fine for the short axes these ops see in models (classes, beams, boxes).
#include "../lowering.h"
#include "hgc/base/error.h"
#include "movement_util.h"

namespace hgc::lower {
namespace {

std::vector<std::string> dims_with(int rank, int axis, const std::string& at_axis) {
  std::vector<std::string> m;
  for (int i = 0; i < rank; ++i) m.push_back(i == axis ? at_axis : d(i));
  return m;
}

// ret: "value", "indices", "both" or "mask"; k < 1 means the whole axis.
void lower_ordering(const NodeCtx& c, KernelWriter& w, const std::vector<std::string>& ins,
                    const std::vector<std::string>& outs, const std::string& ret, bool ascend, int64_t k) {
  Dims shape = c.in_shapes[0];
  DType t = c.in_types[0];
  if (!dtype_is_float(t)) c.error("topk/sort/argsort are generated for floating-point data");
  std::string x = ins[0];
  int axis = 0;
  bool flat = c.attrs.is_none("axis");
  if (flat) {
    int64_t total = 1;
    std::string grp;
    for (size_t i = 0; i < shape.size(); ++i) total *= shape[i], grp += (i ? ", " : "") + std::to_string(i);
    if (shape.size() != 1)
      x = w.emit("tensor.collapse_shape " + x + " [[" + grp + "]] : " + tensor_type(shape, t) + " into " +
                     tensor_type({total}, t),
                 {total}, t);
    shape = {total};
  } else {
    axis = normalize_axis(c.attrs.i("axis"), static_cast<int>(shape.size()), c.node.describe());
  }
  int rank = static_cast<int>(shape.size());
  int64_t n = shape[axis];
  if (k < 1 || k > n) k = n;
  std::string ty = elem_type(t), jd = d(rank);
  std::vector<std::string> its(rank, "parallel");
  its.push_back("reduction");
  std::string own = affine_map(rank + 1, dims_with(rank, -1, "")), other = affine_map(rank + 1, dims_with(rank, axis, jd));
  // rank[.., i, ..] counts the j that come first: better values, or equal ones at j < i.
  // Ranks count up to n: in bfloat16 (exact only to 256) they would collide, so half-float
  // data is ranked in float32.
  DType rt = (t == DType::bf16 || t == DType::f16) ? DType::f32 : t;
  std::string rty = elem_type(rt);
  std::string rk = w.generic({x, x}, {own, other}, w.fill(w.empty(shape, rt), 0), own, its, rt,
                             [&](ScalarBuilder& b, auto& a) {
                               auto wide = [&](const std::string& v) {
                                 return rt == t ? v : b.raw("arith.extf " + v + " : " + ty + " to " + rty);
                               };
                               auto ai = wide(a[0]), aj = wide(a[1]);
                               auto better = b.cmp_i1(ascend ? "olt" : "ogt", aj, ai);
                               auto same = b.cmp_i1("oeq", aj, ai);
                               auto i = b.raw(KernelWriter::index_op(axis)), j = b.raw(KernelWriter::index_op(rank));
                               auto earlier = b.raw("arith.cmpi ult, " + j + ", " + i + " : index");
                               auto first = b.raw("arith.ori " + better + ", " + b.raw("arith.andi " + same + ", " + earlier + " : i1") + " : i1");
                               return b.reduce_step("arith.addf", a[2], b.select(first, b.constant(1), b.constant(0)));
                             }, true);
  auto index_value = [&](ScalarBuilder& b, const std::string& idx) {
    auto i64 = b.raw("arith.index_cast " + idx + " : index to i64");
    if (dtype_is_float(b.type())) return b.raw("arith.sitofp " + i64 + " : i64 to " + b.ty());
    return b.ty() == "i64" ? i64 : b.raw("arith.trunci " + i64 + " : i64 to " + b.ty());
  };
  if (ret == "mask") {
    std::string m = w.generic({rk}, {identity_map(rank)}, w.empty(shape, t), "", parallel(rank), t,
                              [&](ScalarBuilder& b, auto& a) {
                                auto kc = b.raw("arith.constant " + float_literal(double(k), rt) + " : " + rty);
                                auto lt = b.raw("arith.cmpf olt, " + a[0] + ", " + kc + " : " + rty);
                                return b.select(lt, b.constant(1), b.constant(0));
                              });
    if (flat && c.in_shapes[0].size() != 1) {
      std::string grp;
      for (size_t i = 0; i < c.in_shapes[0].size(); ++i) grp += (i ? ", " : "") + std::to_string(i);
      m = w.emit("tensor.expand_shape " + m + " [[" + grp + "]] output_shape [" + join(c.in_shapes[0]) + "] : " +
                     tensor_type(shape, t) + " into " + tensor_type(c.in_shapes[0], t),
                 c.in_shapes[0], t);
    }
    std::vector<std::string> pm = parallel(c.in_shapes[0].size());
    w.result(0, w.generic({m}, {identity_map(static_cast<int>(c.in_shapes[0].size()))}, outs[0], "", pm, t,
                          [](ScalarBuilder&, auto& a) { return a[0]; }));
    return;
  }
  // Output position r (dim `axis` of the output) takes the element of rank r: dR walks i.
  std::string at_i = affine_map(rank + 1, dims_with(rank, axis, jd));
  auto gather = [&](const std::string& dst, DType ot, bool values) {
    return w.generic({rk, x}, {at_i, at_i}, w.fill(dst, 0), own, its, ot, [&](ScalarBuilder& b, auto& a) {
      auto r = b.raw("arith.sitofp " + b.raw("arith.index_cast " + b.raw(KernelWriter::index_op(axis)) + " : index to i64") +
                     " : i64 to " + rty);
      auto hit = b.raw("arith.cmpf oeq, " + a[0] + ", " + r + " : " + rty);
      std::string v = values ? a[1] : index_value(b, b.raw(KernelWriter::index_op(rank)));
      return b.reduce_step(dtype_is_float(ot) ? "arith.addf" : "arith.addi", a[2], b.select(hit, v, b.constant(0)));
    }, true);
  };
  if (ret == "indices") {
    w.result(0, gather(outs[0], c.out_types[0], false));
    return;
  }
  w.result(0, gather(outs[0], c.out_types[0], true));
  if (ret == "both") w.result(1, gather(outs[1], c.out_types[1], false));
}

}  // namespace

void register_ordering(LoweringTable& t) {
  t.kernel("topk", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    lower_ordering(c, w, ins, outs, c.attrs.s("ret_typ"), c.attrs.b("is_ascend"), c.attrs.i("k"));
  });
  t.kernel("sort", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    lower_ordering(c, w, ins, outs, "value", c.attrs.b("is_ascend"), 0);
  });
  t.kernel("argsort", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    lower_ordering(c, w, ins, outs, "indices", c.attrs.b("is_ascend"), 0);
  });
}

}  // namespace hgc::lower
