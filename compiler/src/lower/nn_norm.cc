// Lowering records of the nn_norm family: LayerNorm and BatchNorm (predict mode) as
// reductions (reduce_util.h), L2Normalization as one reduction and a division,
// InstanceNorm and GroupNorm as per-(n, channel or group) moments.
#include <cmath>

#include "../lowering.h"
#include "hgc/base/error.h"
#include "movement_util.h"
#include "reduce_util.h"

namespace hgc::lower {
namespace {

std::string channel_map(int rank, int axis) { return affine_map(rank, {"d" + std::to_string(axis)}); }

void lower_layer_norm(const NodeCtx& c, KernelWriter& w, const std::vector<std::string>& ins,
                      const std::vector<std::string>& outs) {
  const Dims& in = c.in_shapes[0];
  int rank = static_cast<int>(in.size());
  DType t = c.out_types[0];
  AxisSet axes = one_axis(c, c.attrs.i("axis"));
  int axis = *axes.begin();
  std::string km = kept_map(rank, axes), id = identity_map(rank);
  double inv_n = 1.0 / static_cast<double>(in[axis]), eps = c.attrs.f("eps");
  std::string mean = scale(w, reduce_into(w, ins[0], w.fill(outs[1], 0), km, axes, t, "arith.addf"), inv_n);
  std::string var = w.generic({ins[0], mean}, {id, km}, w.fill(outs[2], 0), km, iterators(rank, axes), t,
                              [&](ScalarBuilder& b, auto& a) {
                                auto d = b.binary("arith.subf", a[0], a[1]);
                                return b.reduce_step("arith.addf", a[2], b.binary("arith.mulf", d, d));
                              }, true);
  std::vector<std::string> par(rank, "parallel");
  std::string sd = w.generic({}, {}, var, "", par, t, [&](ScalarBuilder& b, auto& a) {
    return b.unary("math.sqrt", b.binary("arith.addf", b.binary("arith.mulf", a[0], b.constant(inv_n)), b.constant(eps)));
  }, true);
  std::string cm = channel_map(rank, axis);
  w.result(0, w.generic({ins[0], mean, sd, ins[1], ins[2]}, {id, km, km, cm, cm}, outs[0], "", par, t,
                        [&](ScalarBuilder& b, auto& a) {
                          auto n = b.binary("arith.divf", b.binary("arith.subf", a[0], a[1]), a[2]);
                          return b.binary("arith.addf", b.binary("arith.mulf", n, a[3]), a[4]);
                        }));
  w.result(1, mean);
  w.result(2, sd);
}

// Predict mode: the moving statistics normalize; fix_gamma means gamma = 1.
void lower_batch_norm(const NodeCtx& c, KernelWriter& w, const std::vector<std::string>& ins,
                      const std::vector<std::string>& outs) {
  int rank = static_cast<int>(c.in_shapes[0].size());
  int axis = normalize_axis(c.attrs.i("axis"), rank, c.node.describe());
  DType t = c.out_types[0];
  double eps = c.attrs.f("eps");
  bool fix_gamma = c.attrs.b("fix_gamma");
  std::string cm = channel_map(rank, axis), id = identity_map(rank);
  std::vector<std::string> par(rank, "parallel");
  w.result(0, w.generic({ins[0], ins[1], ins[2], ins[3], ins[4]}, {id, cm, cm, cm, cm}, outs[0], "", par, t,
                        [&](ScalarBuilder& b, auto& a) {
                          auto inv = b.unary("math.rsqrt", b.binary("arith.addf", a[4], b.constant(eps)));
                          auto n = b.binary("arith.mulf", b.binary("arith.subf", a[0], a[3]), inv);
                          if (!fix_gamma) n = b.binary("arith.mulf", n, a[1]);
                          return b.binary("arith.addf", n, a[2]);
                        }));
  auto copy = [&](const std::string& src, const std::string& dst) {
    return w.generic({src}, {identity_map(1)}, dst, "", {"parallel"}, t, [](ScalarBuilder&, auto& a) { return a[0]; });
  };
  w.result(1, copy(ins[3], outs[1]));
  w.result(2, copy(ins[4], outs[2]));
}


// InstanceNorm and GroupNorm: moments over dims 2.. of (N, C, S...) for InstanceNorm, of
// the data seen as (N, G, C/G, S...) for GroupNorm (an expand_shape view); gamma and beta are
// indexed by dim 1 (channel or group). Output 2 is the variance (InstanceNorm) or
// sqrt(var + eps) (GroupNorm, as MXNet's).
void lower_group_moments(const NodeCtx& c, KernelWriter& w, const std::vector<std::string>& ins,
                         const std::vector<std::string>& outs, int64_t groups, bool out_std) {
  const Dims& in = c.in_shapes[0];
  DType t = c.out_types[0];
  double eps = c.attrs.f("eps");
  std::string x = ins[0], out = outs[0];
  Dims shape = in;
  if (groups > 0) {
    if (in.size() < 2 || in[1] % groups != 0) c.error("GroupNorm: channels are not a multiple of num_groups");
    shape = {in[0], groups, in[1] / groups};
    for (size_t i = 2; i < in.size(); ++i) shape.push_back(in[i]);
    std::string grp = "[[0], [1, 2]";
    for (size_t i = 2; i < in.size(); ++i) grp += ", [" + std::to_string(i + 1) + "]";
    grp += "]";
    auto expand = [&](const std::string& v) {
      return w.emit("tensor.expand_shape " + v + " " + grp + " output_shape [" + join(shape) + "] : " + tensor_type(in, t) +
                        " into " + tensor_type(shape, t),
                    shape, t);
    };
    x = expand(x);
    out = expand(out);
  }
  int rank = static_cast<int>(shape.size());
  AxisSet axes;
  for (int i = 2; i < rank; ++i) axes.insert(i);
  std::string km = affine_map(rank, {"d0", "d1"}), id = identity_map(rank), cm = affine_map(rank, {"d1"});
  double inv_n = 1.0 / static_cast<double>(std::max<int64_t>(1, count(shape, axes)));
  std::string mean = scale(w, reduce_into(w, x, w.fill(outs[1], 0), km, axes, t, "arith.addf"), inv_n);
  std::string var = w.generic({x, mean}, {id, km}, w.fill(outs[2], 0), km, iterators(rank, axes), t,
                              [&](ScalarBuilder& b, auto& a) {
                                auto d = b.binary("arith.subf", a[0], a[1]);
                                return b.reduce_step("arith.addf", a[2], b.binary("arith.mulf", d, d));
                              }, true);
  std::vector<std::string> par2(2, "parallel"), par(rank, "parallel");
  std::string sd = w.generic({var}, {identity_map(2)}, w.empty({shape[0], shape[1]}, t), "", par2, t,
                             [&](ScalarBuilder& b, auto& a) {
                               return b.unary("math.sqrt", b.binary("arith.addf", b.binary("arith.mulf", a[0], b.constant(inv_n)),
                                                                     b.constant(eps)));
                             });
  std::string y = w.generic({x, mean, sd, ins[1], ins[2]}, {id, km, km, cm, cm}, out, "", par, t,
                            [&](ScalarBuilder& b, auto& a) {
                              auto n = b.binary("arith.divf", b.binary("arith.subf", a[0], a[1]), a[2]);
                              return b.binary("arith.addf", b.binary("arith.mulf", n, a[3]), a[4]);
                            });
  if (groups > 0) {
    std::string grp = "[[0], [1, 2]";
    for (size_t i = 2; i < in.size(); ++i) grp += ", [" + std::to_string(i + 1) + "]";
    grp += "]";
    y = w.emit("tensor.collapse_shape " + y + " " + grp + " : " + tensor_type(shape, t) + " into " + tensor_type(in, t), in, t);
  }
  w.result(0, y);
  w.result(1, mean);
  if (out_std) {
    w.result(2, sd);
  } else {
    w.result(2, w.generic({var}, {identity_map(2)}, w.empty({shape[0], shape[1]}, t), "", par2, t,
                          [&](ScalarBuilder& b, auto& a) { return b.binary("arith.mulf", a[0], b.constant(inv_n)); }));
  }
}

}  // namespace

void register_nn_norm(LoweringTable& t) {
  t.kernel("InstanceNorm", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    lower_group_moments(c, w, ins, outs, 0, false);
  });
  t.kernel("GroupNorm", [](const NodeCtx& c, KernelWriter& w, auto& ins, auto& outs) {
    lower_group_moments(c, w, ins, outs, c.attrs.i("num_groups"), true);
  });
  t.kernel("LayerNorm", lower_layer_norm);
  t.kernel("BatchNorm", lower_batch_norm);
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
