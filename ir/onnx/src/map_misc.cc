// More ONNX ops from registry ops: BitShift (through 2^s), Compress and ReverseSequence
// (their index inputs fix the data movement, so they are read as constants), LRN,
// MeanVarianceNormalization, DequantizeLinear and dilated max pooling (a max over
// strided slices).
#include <algorithm>

#include "map_util.h"

namespace hgc::onnx_detail {
namespace {

ValueRef flat_take(Importer& im, ValueRef x, const std::vector<int64_t>& idx, const std::vector<int64_t>& out_shape) {
  int64_t n = im.shape_of(x).numel();
  ValueRef f = reshape_to(im, x, {n});
  OnnxTensor it = int_tensor(idx);
  ValueRef y = im.add("take", {f, im.const_ref(it, "index_map")}, {{"axis", int64_t(0)}, {"mode", "clip"}});
  return reshape_to(im, y, out_shape);
}

std::string tuple_of(const std::vector<std::string>& v) {
  std::string t = "(";
  for (size_t i = 0; i < v.size(); ++i) t += (i ? ", " : "") + v[i];
  return t + (v.size() == 1 ? ",)" : ")");
}

}  // namespace

void dilated_max_pool(Importer& im, const std::vector<int64_t>& kernel, const std::vector<int64_t>& stride,
                      const std::vector<int64_t>& dil, const std::vector<int64_t>& pads) {
  std::vector<int64_t> s = known_shape(im, 0);
  int nd = (int)kernel.size(), r = nd + 2;
  bool ceil_mode = im.attr_i("ceil_mode", 0) != 0;
  std::vector<int64_t> full(2 * r, 0), out(nd);
  for (int k = 0; k < nd; ++k) {
    int64_t span = dil[k] * (kernel[k] - 1) + 1, in = s[k + 2] + pads[k] + pads[k + nd];
    int64_t num = in - span;
    if (num < 0) im.error("the pooling window is larger than the padded input");
    out[k] = (ceil_mode ? (num + stride[k] - 1) / stride[k] : num / stride[k]) + 1;
    int64_t need = (out[k] - 1) * stride[k] + span;
    full[2 + k] = pads[k];
    full[r + 2 + k] = pads[k + nd] + std::max<int64_t>(0, need - in);
  }
  ValueRef x = pad_tensor(im, im.in(0), full, "constant", -std::numeric_limits<double>::infinity());
  ValueRef best{-1, 0};
  std::vector<int64_t> off(nd, 0);
  while (true) {
    std::vector<std::string> b(r, "None"), e(r, "None"), st(r, "None");
    for (int k = 0; k < nd; ++k) {
      int64_t b0 = off[k] * dil[k];
      b[k + 2] = std::to_string(b0);
      e[k + 2] = std::to_string(b0 + (out[k] - 1) * stride[k] + 1);
      st[k + 2] = std::to_string(stride[k]);
    }
    ValueRef v = im.add("slice", {x}, {{"begin", tuple_of(b)}, {"end", tuple_of(e)}, {"step", tuple_of(st)}});
    best = best.node < 0 ? v : im.add("_maximum", {best, v});
    int k = nd - 1;
    while (k >= 0 && ++off[k] == kernel[k]) off[k--] = 0;
    if (k < 0) break;
  }
  im.set_output(0, best);
}

namespace {

// Row numbers of `indices`' last-axis tuples into data viewed as (rows, inner), computed in
// the graph (indices are data): sum_k idx[..., k] * stride_k, through float64 (exact).
ValueRef flat_rows(Importer& im, ValueRef indices, const std::vector<int64_t>& ds, int64_t& inner) {
  std::vector<int64_t> is = known_shape_of(im, indices);
  int64_t k = is.back();
  if (k > (int64_t)ds.size()) im.error("index tuples longer than the data's rank");
  std::vector<int64_t> strides(k, 1);
  inner = 1;
  for (size_t d = k; d < ds.size(); ++d) inner *= ds[d];
  for (int64_t d = k - 2; d >= 0; --d) strides[d] = strides[d + 1] * ds[d + 1];
  OnnxTensor st = make_tensor(DType::f64, {k}), dims = make_tensor(DType::f64, {k});
  for (int64_t d = 0; d < k; ++d) {
    set_elem(st, d, static_cast<double>(strides[d]));
    set_elem(dims, d, static_cast<double>(ds[d]));
  }
  ValueRef f = im.cast(indices, DType::f64);
  f = im.add("broadcast_mod", {f, im.const_ref(dims, "index_dims")});  // negative indices count from the end
  ValueRef rows = im.add("sum", {im.add("broadcast_mul", {f, im.const_ref(st, "index_strides")})}, {{"axis", tuple_str({(int64_t)is.size() - 1})}});
  std::vector<int64_t> rs(is.begin(), is.end() - 1);
  if (rs.empty()) rs = {1};
  return im.cast(reshape_to(im, rows, rs), DType::i64);
}

}  // namespace

void register_misc(MapTable& t) {
  t["GatherND"] = [](Importer& im) {
    if (im.attr_i("batch_dims", 0) != 0) im.error("batch_dims != 0 is not supported");
    std::vector<int64_t> ds = known_shape(im, 0), is = known_shape(im, 1);
    int64_t inner = 1;
    ValueRef rows = flat_rows(im, im.in(1), ds, inner);
    int64_t total = Shape(ds).numel();
    ValueRef data = reshape_to(im, im.in(0), {inner ? total / inner : 0, inner});
    ValueRef y = im.add("take", {data, rows}, {{"axis", int64_t(0)}, {"mode", "clip"}});
    std::vector<int64_t> out(is.begin(), is.end() - 1);
    out.insert(out.end(), ds.begin() + is.back(), ds.end());
    im.set_output(0, reshape_to(im, y, out));
  };
  t["ScatterND"] = [](Importer& im) {  // data with rows replaced (or added to) by updates
    std::string red = im.attr_s("reduction", "none");
    if (red != "none" && red != "add") im.error("reduction '" + red + "' is not supported");
    std::vector<int64_t> ds = known_shape(im, 0), us = known_shape(im, 2);
    DType ty = im.dtype(0);
    if (ty != DType::f32) im.error("ScatterND of " + dtype_name(ty) + " is not supported");
    int64_t inner = 1;
    ValueRef rows = flat_rows(im, im.in(1), ds, inner);
    int64_t n = inner ? Shape(ds).numel() / inner : 0, u = im.shape_of(rows).numel();
    ValueRef oh = im.add("one_hot", {reshape_to(im, rows, {u})}, {{"depth", n}});  // (u, n)
    ValueRef upd = reshape_to(im, im.in(2), {u, inner});
    ValueRef scattered = im.add("dot", {oh, upd}, {{"transpose_a", true}});  // (n, inner)
    ValueRef data = reshape_to(im, im.in(0), {n, inner});
    ValueRef y;
    if (red == "add") {
      y = im.add("elemwise_add", {data, scattered});
    } else {
      ValueRef hit = im.add("_minimum_scalar", {im.add("sum", {oh}, {{"axis", "(0,)"}})}, {{"scalar", 1.0}});  // (n,)
      ValueRef keep = im.add("_rminus_scalar", {reshape_to(im, hit, {n, 1})}, {{"scalar", 1.0}});
      y = im.add("broadcast_add", {im.add("broadcast_mul", {data, keep}), scattered});
    }
    im.set_output(0, reshape_to(im, y, ds));
  };
  t["BitShift"] = [](Importer& im) {  // x * 2^s or x / 2^s in the integer kernels
    DType ty = im.dtype(0);
    if (dtype_is_float(ty)) im.error("BitShift needs integer tensors");
    ValueRef p = im.add("_rpower_scalar", {im.cast(im.in(1), DType::f64)}, {{"scalar", 2.0}, {"is_int", false}});
    p = im.cast(p, ty);
    std::string dir = im.attr_s("direction", "");
    if (dir != "LEFT" && dir != "RIGHT") im.error("direction must be LEFT or RIGHT");
    im.set_output(0, im.add(dir == "LEFT" ? "broadcast_mul" : "broadcast_div", {im.in(0), p}));
  };
  t["Compress"] = [](Importer& im) {
    std::vector<int64_t> s = known_shape(im, 0);
    std::vector<int64_t> cond = tensor_ints(im.need_constant(1, "condition"));
    std::vector<int64_t> idx;
    for (size_t i = 0; i < cond.size(); ++i)
      if (cond[i]) idx.push_back(static_cast<int64_t>(i));
    ValueRef x = im.in(0);
    int64_t axis = 0;
    if (im.has_attr("axis")) {
      axis = norm_axis(im, im.attr_i("axis", 0), (int)s.size());
    } else {
      x = reshape_to(im, x, {Shape(s).numel()});
    }
    int64_t len = known_shape_of(im, x)[axis];
    for (int64_t i : idx)
      if (i >= len) im.error("condition selects index " + std::to_string(i) + " past the dim of " + std::to_string(len));
    if (idx.empty()) im.error("a condition that selects nothing gives an empty tensor, which is not supported");
    im.set_output(0, im.add("take", {x, im.const_ref(int_tensor(idx), "compress_index")}, {{"axis", axis}}));
  };
  t["ReverseSequence"] = [](Importer& im) {
    std::vector<int64_t> s = known_shape(im, 0);
    int r = (int)s.size();
    int ba = norm_axis(im, im.attr_i("batch_axis", 1), r), ta = norm_axis(im, im.attr_i("time_axis", 0), r);
    std::vector<int64_t> lens = tensor_ints(im.need_constant(1, "sequence_lens"));
    if ((int64_t)lens.size() != s[ba]) im.error("sequence_lens has " + std::to_string(lens.size()) + " entries");
    int64_t n = Shape(s).numel();
    std::vector<int64_t> st(r, 1), idx(n);
    for (int k = r - 2; k >= 0; --k) st[k] = st[k + 1] * s[k + 1];
    for (int64_t i = 0; i < n; ++i) {
      int64_t b = (i / st[ba]) % s[ba], tt = (i / st[ta]) % s[ta], len = std::clamp<int64_t>(lens[b], 0, s[ta]);
      idx[i] = tt < len ? i + (len - 1 - 2 * tt) * st[ta] : i;
    }
    im.set_output(0, flat_take(im, im.in(0), idx, s));
  };
  t["MeanVarianceNormalization"] = [](Importer& im) {  // (x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9)
    std::vector<int64_t> axes = im.has_attr("axes") ? im.attr_ints("axes") : std::vector<int64_t>{0, 2, 3};
    int r = im.rank(0);
    for (int64_t& a : axes) a = norm_axis(im, a, r);
    ValueRef x = im.in(0);
    KV kv{{"axis", tuple_str(axes)}, {"keepdims", true}};
    ValueRef m = im.add("mean", {x}, kv), m2 = im.add("mean", {im.add("square", {x})}, kv);
    ValueRef var = im.add("elemwise_sub", {m2, im.add("square", {m})});
    ValueRef den = im.add("_plus_scalar", {im.add("sqrt", {var})}, {{"scalar", 1e-9}});
    im.set_output(0, im.add("broadcast_div", {im.add("broadcast_sub", {x, m}), den}));
  };
  t["LRN"] = [](Importer& im) {  // x / (bias + alpha / size * sum of x^2 over nearby channels)^beta
    std::vector<int64_t> s = known_shape(im, 0);
    int64_t size = im.attr_i("size", 0), c = s[1];
    if (size <= 0) im.error("size must be positive");
    double alpha = im.attr_f("alpha", 1e-4), beta = im.attr_f("beta", 0.75), bias = im.attr_f("bias", 1.0);
    ValueRef x = im.in(0);
    std::vector<int64_t> pads(2 * s.size(), 0);
    pads[1] = (size - 1) / 2;
    pads[s.size() + 1] = size - 1 - (size - 1) / 2;
    ValueRef sq = pad_tensor(im, im.add("square", {x}), pads, "constant", 0.0);
    std::vector<ValueRef> parts;
    for (int64_t k = 0; k < size; ++k) parts.push_back(im.add("slice_axis", {sq}, {{"axis", int64_t(1)}, {"begin", k}, {"end", k + c}}));
    ValueRef sum = parts.size() == 1 ? parts[0] : im.add("add_n", parts, {{"num_args", int64_t(parts.size())}});
    ValueRef d = im.add("_plus_scalar", {im.add("_mul_scalar", {sum}, {{"scalar", alpha / size}})}, {{"scalar", bias}});
    d = im.add("_power_scalar", {d}, {{"scalar", beta}});
    im.set_output(0, im.add("elemwise_div", {x, d}));
  };
  t["DequantizeLinear"] = [](Importer& im) {  // (x - zero_point) * scale, per tensor or per axis
    int r = im.rank(0);
    ValueRef x = im.cast(im.in(0), DType::f32), sc = im.cast(im.in(1), DType::f32);
    auto per_axis = [&](ValueRef v) {
      Shape vs = im.shape_of(v);
      if (vs.ndim() != 1 || r < 2) return v;
      int a = norm_axis(im, im.attr_i("axis", 1), r);
      std::vector<int64_t> ns(r - a, 1);
      ns[0] = vs[0];
      return reshape_to(im, v, ns);
    };
    if (im.has_input(2)) x = im.add("broadcast_sub", {x, per_axis(im.cast(im.in(2), DType::f32))});
    im.set_output(0, im.add("broadcast_mul", {x, per_axis(sc)}));
  };
}

}  // namespace hgc::onnx_detail
