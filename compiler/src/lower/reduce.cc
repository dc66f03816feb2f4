// Lowering records of the reduce family: reductions, argmax/argmin and the softmax family
// (helpers in reduce_util.h).
#include <cmath>
#include <limits>
#include <optional>

#include "../lowering.h"
#include "hgc/base/error.h"
#include "reduce_util.h"

namespace hgc::lower {
namespace {

KernelFn softmax_kernel(bool log, bool negate) {
  return [log, negate](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    if (c.node.op->attr_spec("use_length") && c.attrs.opt_i("use_length").value_or(0))
      c.error("softmax with use_length has no lowering yet");
    double temp = c.attrs.opt_f("temperature").value_or(1.0);
    lower_softmax(c, w, ins[0], outs[0], one_axis(c, c.attrs.i("axis")), temp, log, negate);
  };
}


// argmax/argmin over one axis (or the flattened input when axis is None): the extreme value
// first, then the smallest index holding it (MXNet returns the first), as a float index.
void lower_arg_extreme(const NodeCtx& c, KernelWriter& w, const std::string& x, const std::string& out, bool is_max,
                       std::optional<int64_t> ax) {
  const Dims& in = c.in_shapes[0];
  int rank = static_cast<int>(in.size());
  DType t = c.out_types[0];
  if (!dtype_is_float(c.in_types[0]) || !dtype_is_float(t)) c.error("argmax/argmin are generated for floating-point types");
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
                          // (half-float operands of a reduction arrive in float32: KernelWriter::generic)
                          bool widened = c.in_types[0] == t && (t == DType::bf16 || t == DType::f16);
                          auto hit = b.raw("arith.cmpf oeq, " + a[0] + ", " + a[1] + " : " +
                                           (widened ? std::string("f32") : elem_type(c.in_types[0])));
                          return b.binary("arith.minimumf", a[2], b.select(hit, fi, b.constant(inf)));
                        }, true));
}

}  // namespace

void register_reduce(LoweringTable& t) {
  t.kernel("argmax", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    lower_arg_extreme(c, w, ins[0], outs[0], true, c.attrs.opt_i("axis"));
  });
  // The legacy spelling of argmax over axis 1.
  t.kernel("argmax_channel", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    lower_arg_extreme(c, w, ins[0], outs[0], true, int64_t(1));
  });
  // norm: ord 1 sums |x|, ord 2 is sqrt(sum x^2), over `axis` (all axes when None).
  t.kernel("norm", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    int rank = static_cast<int>(c.in_shapes[0].size());
    DType t = c.out_types[0];
    if (!dtype_is_float(t) || t != c.in_types[0]) c.error("norm is generated for floating-point data with out_dtype None");
    int64_t ord = c.attrs.i("ord");
    if (ord != 1 && ord != 2) c.error("norm supports ord=1 and ord=2, got " + std::to_string(ord));
    AxisSet axes = axes_of(c, rank, "axis", false);
    std::string omap = out_map(rank, axes, c.out_shapes[0]);
    std::string s = w.generic({ins[0]}, {identity_map(rank)}, w.fill(outs[0], 0), omap, iterators(rank, axes), t,
                              [&](ScalarBuilder& b, auto& a) {
                                auto v = ord == 1 ? b.unary("math.absf", a[0]) : b.binary("arith.mulf", a[0], a[0]);
                                return b.reduce_step("arith.addf", a[1], v);
                              }, true);
    if (ord == 2) {
      int orank = static_cast<int>(c.out_shapes[0].size());
      s = w.generic({s}, {identity_map(orank)}, w.empty(c.out_shapes[0], t), "", std::vector<std::string>(orank, "parallel"),
                    t, [&](ScalarBuilder& b, auto& a) { return b.unary("math.sqrt", a[0]); });
    }
    w.result(0, s);
  });
  t.kernel("argmin", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    lower_arg_extreme(c, w, ins[0], outs[0], false, c.attrs.opt_i("axis"));
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
  t.kernel("SoftmaxActivation", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    int rank = static_cast<int>(c.in_shapes[0].size());
    AxisSet axes;
    if (c.attrs.s("mode") == "channel") axes.insert(1);
    else
      for (int i = 1; i < rank; ++i) axes.insert(i);
    lower_softmax(c, w, ins[0], outs[0], axes, 1.0, false, false);
  });
}

}  // namespace hgc::lower
