// Lowering records of the init family: fills, _arange and one_hot as generics with no data
// input (zeros_like/ones_like read only their input's shape).
#include "../lowering.h"
#include "hgc/base/error.h"
#include "movement_util.h"

namespace hgc::lower {

void register_init(LoweringTable& t) {
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
  auto fill_like = [](double v) {
    return [v](const NodeCtx&, KernelWriter& w, auto&, auto& outs) { w.result(0, w.fill(outs[0], v)); };
  };
  t.poly_kernel("zeros_like", fill_like(0));
  t.poly_kernel("ones_like", fill_like(1));
  // _eye: ones where column - row == k.
  t.kernel("_eye", [](const NodeCtx& c, KernelWriter& w, auto&, auto& outs) {
    int64_t k = c.attrs.i("k");
    w.result(0, w.generic({}, {}, outs[0], "", parallel(2), c.out_types[0], [&](ScalarBuilder& b, auto&) {
      auto i = b.raw(KernelWriter::index_op(0)), j = b.raw(KernelWriter::index_op(1));
      auto diag = b.raw("arith.addi " + i + ", " + idx_const(b, k) + " : index");
      auto eq = b.raw("arith.cmpi eq, " + j + ", " + diag + " : index");
      return b.select(eq, b.constant(1), b.constant(0));
    }));
  });
}

}  // namespace hgc::lower
