// Lowering records of the nn family: activations, the loss heads' forward, FullyConnected
// (a library call), Embedding (a gather) and SequenceMask.
#include "../lowering.h"
#include "elementwise_util.h"
#include "hgc/base/error.h"
#include "library_util.h"
#include "movement_util.h"
#include "reduce_util.h"

namespace hgc::lower {

void register_nn(LoweringTable& t) {
  // Dropout is the identity in predict mode; the regression losses' forward is their input.
  for (const char* v : {"Flatten", "Dropout", "LinearRegressionOutput", "MAERegressionOutput"}) t.view(v);

  t.poly_kernel("Activation", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    require_float(c);
    std::string act = c.attrs.s("act_type");
    w.result(0, w.elementwise({ins[0]}, outs[0], c.out_types[0],
                              [&](ScalarBuilder& b, auto& a) { return activation_expr(b, act, a[0]); }));
  });
  t.poly_kernel("LeakyReLU", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    require_float(c);
    std::vector<std::string> in{ins[0]}, maps{identity_map(c.in_shapes[0].size())};
    if (c.attrs.s("act_type") == "prelu") {  // gamma has one slope per channel (axis 1)
      in.push_back(ins[1]);
      maps.push_back(c.in_shapes[1].size() == 1 && c.in_shapes[1][0] != 1 ? affine_map(c.in_shapes[0].size(), {"d1"})
                                                                          : broadcast_map(c.in_shapes[1], c.in_shapes[0]));
    }
    std::vector<std::string> its(c.out_shapes[0].size(), "parallel");
    w.result(0, w.generic(in, maps, outs[0], "", its, c.out_types[0], [&](ScalarBuilder& b, auto& a) {
      return leaky_expr(b, c.attrs, a[0], a.size() > 1 ? a[1] : a[0]);
    }));
    for (size_t k = 1; k < outs.size(); ++k) w.result(k, w.fill(outs[k], 0));
  });

  t.poly_kernel("LogisticRegressionOutput", unary(unary_exprs().at("sigmoid")));
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
  t.library("FullyConnected", [](const NodeCtx& c) -> LibraryCall {
    std::string kind = gemm_kind(c, "fully_connected");
    const Dims& x = c.in_shapes[0];
    bool flatten = c.attrs.b("flatten"), bias = !c.attrs.b("no_bias");
    int64_t N = c.attrs.i("num_hidden");
    int64_t K = flatten ? prod(x, 1, x.size()) : x.back();
    int64_t M = flatten ? x[0] : prod(x, 0, x.size() - 1);
    return {kind, {M, N, K, bias}, {}};
  });
  t.kernel("Embedding", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    NodeCtx swapped = c;  // take(weight, data, axis=0) with MXNet's clipping
    std::swap(swapped.in_shapes[0], swapped.in_shapes[1]);
    std::swap(swapped.in_types[0], swapped.in_types[1]);
    lower_take(swapped, w, ins[1], ins[0], outs[0], 0, false);
  });
  t.kernel("SequenceMask", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    int n = static_cast<int>(c.in_shapes[0].size());
    if (!c.attrs.b("use_sequence_length")) {
      w.result(0, gather_copy(w, ins[0], outs[0], identity_map(n)));
      return;
    }
    int axis = static_cast<int>(c.attrs.i("axis")), batch = axis == 0 ? 1 : 0;
    double value = c.attrs.f("value");
    DType lt = c.in_types[1];
    w.result(0, w.generic({ins[0], ins[1]}, {identity_map(n), affine_map(n, {d(batch)})}, outs[0], "", parallel(n),
                          c.out_types[0], [&](ScalarBuilder& b, auto& v) {
                            auto len = to_index(b, v[1], lt);
                            auto pos = b.raw(KernelWriter::index_op(axis));
                            auto keep = b.raw("arith.cmpi slt, " + pos + ", " + len + " : index");
                            return b.select(keep, v[0], b.constant(value));
                          }));
  });
  // _contrib_count_sketch: out[..., k] = sum_i data[..., i] * s[i] * (h[i] == k), a reduction
  // over data's last dim (O(N d out_dim): a dense loop, not MXNet's scatter; h out of
  // [0, out_dim) adds nothing).
  t.kernel("_contrib_count_sketch", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    int n = static_cast<int>(c.in_shapes[0].size());
    std::vector<std::string> dm, om;
    for (int k = 0; k + 1 < n; ++k) dm.push_back(d(k));
    dm.push_back(d(n));
    for (int k = 0; k < n; ++k) om.push_back(d(k));
    std::vector<std::string> its = parallel(n);
    its.push_back("reduction");
    std::string row = affine_map(n + 1, {"0", d(n)});
    DType t = c.out_types[0], ht = c.in_types[1], st = c.in_types[2];
    w.result(0, w.generic({ins[0], ins[1], ins[2]}, {affine_map(n + 1, dm), row, row}, w.fill(outs[0], 0),
                          affine_map(n + 1, om), its, t, [&](ScalarBuilder& b, auto& v) {
                            auto bucket = to_index(b, v[1], ht);
                            auto k = b.raw(KernelWriter::index_op(n - 1));
                            auto hit = b.raw("arith.cmpi eq, " + bucket + ", " + k + " : index");
                            // s keeps its own dtype (float32 beside bfloat16 data); the body's type
                            // is data's, or float32 where a half-float reduction is widened.
                            std::string sign = v[2];
                            if (st != b.type() && !dtype_is_float(st))
                              sign = b.raw("arith.sitofp " + sign + " : " + elem_type(st) + " to " + b.ty());
                            else if (st != b.type())
                              sign = b.raw(std::string(dtype_size(st) < dtype_size(b.type()) ? "arith.extf " : "arith.truncf ") +
                                           sign + " : " + elem_type(st) + " to " + b.ty());
                            auto x = b.select(hit, b.binary("arith.mulf", v[0], sign), b.constant(0));
                            return b.binary("arith.addf", v[3], x);
                          }, true));
  });
}

}  // namespace hgc::lower
