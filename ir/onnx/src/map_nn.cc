// ONNX neural-network ops (convolution, pooling, normalization, GEMM) -> registry ops.
#include <algorithm>

#include "map_util.h"

namespace hgc::onnx_detail {
namespace {

// Symmetric per-dim padding from ONNX pads/auto_pad; asymmetric padding is refused.
std::vector<int64_t> window_pads(Importer& im, int nd, const std::vector<int64_t>& kernel,
                                 const std::vector<int64_t>& stride, const std::vector<int64_t>& dil,
                                 const std::vector<int64_t>& spatial, std::vector<int64_t>* asym = nullptr) {
  std::string ap = im.attr_s("auto_pad", "NOTSET");
  std::vector<int64_t> pads = im.attr_ints("pads");
  if (ap == "SAME_UPPER" || ap == "SAME_LOWER") {
    pads.assign(2 * nd, 0);
    for (int k = 0; k < nd; ++k) {
      if (spatial.size() != (size_t)nd || spatial[k] < 0) im.error("auto_pad needs known spatial dims");
      int64_t out = (spatial[k] + stride[k] - 1) / stride[k];
      int64_t total = std::max<int64_t>(0, (out - 1) * stride[k] + (kernel[k] - 1) * dil[k] + 1 - spatial[k]);
      int64_t small = total / 2, big = total - small;
      pads[k] = ap == "SAME_UPPER" ? small : big;
      pads[k + nd] = ap == "SAME_UPPER" ? big : small;
    }
  } else if (ap == "VALID" || pads.empty()) {
    pads.assign(2 * nd, 0);
  }
  if ((int)pads.size() != 2 * nd) im.error("pads has " + std::to_string(pads.size()) + " entries, expected " + std::to_string(2 * nd));
  std::vector<int64_t> p(nd);
  for (int k = 0; k < nd; ++k) {
    if (pads[k] != pads[k + nd]) {
      if (!asym) im.error("asymmetric padding " + tuple_str(pads) + " is not supported here");
      *asym = pads;  // the caller pads explicitly
      return std::vector<int64_t>(nd, 0);
    }
    p[k] = pads[k];
  }
  return p;
}

std::vector<int64_t> or_ones(std::vector<int64_t> v, int nd) {
  if (v.empty()) v.assign(nd, 1);
  return v;
}

// 3-D convolution as a sum over the kernel's depth of 2-D convolutions on depth slices (the
// compiler lowers 1-D and 2-D convolutions): x (N, C, D, H, W) padded in depth, for each kd
// the strided depth slice as (N*Do, C, H, W), convolved with W[:, :, kd].
ValueRef conv3d_by_2d(Importer& im, ValueRef x, ValueRef w, const std::vector<int64_t>& ws, const std::vector<int64_t>& kernel,
                      const std::vector<int64_t>& stride, const std::vector<int64_t>& dil, const std::vector<int64_t>& pad,
                      int64_t group) {
  std::vector<int64_t> pads(10, 0);
  pads[2] = pads[7] = pad[0];
  x = pad_tensor(im, x, pads, "constant", 0.0);
  std::vector<int64_t> xs = known_shape_of(im, x);
  int64_t n = xs[0], c = xs[1], d = xs[2], h = xs[3], wd = xs[4];
  int64_t dout = (d - dil[0] * (kernel[0] - 1) - 1) / stride[0] + 1;
  if (dout <= 0) im.error("the kernel is deeper than the padded input");
  ValueRef sum{-1, 0};
  for (int64_t kd = 0; kd < kernel[0]; ++kd) {
    int64_t b = kd * dil[0];
    ValueRef sl = im.add("slice", {x}, {{"begin", "(None, None, " + std::to_string(b) + ", None, None)"},
                                         {"end", "(None, None, " + std::to_string(b + (dout - 1) * stride[0] + 1) + ", None, None)"},
                                         {"step", "(None, None, " + std::to_string(stride[0]) + ", None, None)"}});
    sl = im.add("transpose", {sl}, {{"axes", "(0, 2, 1, 3, 4)"}});
    sl = reshape_to(im, sl, {n * dout, c, h, wd});
    ValueRef wk = im.add("slice_axis", {w}, {{"axis", int64_t(2)}, {"begin", kd}, {"end", kd + 1}});
    wk = reshape_to(im, wk, {ws[0], ws[1], ws[3], ws[4]});
    ValueRef y = im.add("Convolution", {sl, wk}, {{"kernel", tuple_str({kernel[1], kernel[2]})}, {"stride", tuple_str({stride[1], stride[2]})},
                                                 {"dilate", tuple_str({dil[1], dil[2]})}, {"pad", tuple_str({pad[1], pad[2]})},
                                                 {"num_filter", ws[0]}, {"num_group", group}, {"no_bias", true}});
    sum = sum.node < 0 ? y : im.add("elemwise_add", {sum, y});
  }
  std::vector<int64_t> ys = known_shape_of(im, sum);
  ValueRef y = reshape_to(im, sum, {n, dout, ys[1], ys[2], ys[3]});
  return im.add("transpose", {y}, {{"axes", "(0, 2, 1, 3, 4)"}});
}

void conv(Importer& im, bool transpose) {
  std::vector<int64_t> w = known_shape(im, 1), x = known_shape(im, 0);
  int nd = (int)w.size() - 2;
  if (nd < 1) im.error("weight of rank " + std::to_string(w.size()));
  std::vector<int64_t> kernel = im.attr_ints("kernel_shape");
  if (kernel.empty()) kernel.assign(w.begin() + 2, w.end());
  std::vector<int64_t> stride = or_ones(im.attr_ints("strides"), nd), dil = or_ones(im.attr_ints("dilations"), nd);
  std::vector<int64_t> spatial(x.begin() + 2, x.end());
  int64_t group = im.attr_i("group", 1);
  KV kv{{"kernel", tuple_str(kernel)}, {"stride", tuple_str(stride)}, {"dilate", tuple_str(dil)},
        {"num_group", group}, {"no_bias", !im.has_input(2)}};
  std::vector<ValueRef> ins{im.in(0), im.in(1)};
  if (im.has_input(2)) ins.push_back(im.in(2));
  if (!transpose && nd == 3) {
    std::vector<int64_t> asym, pad = window_pads(im, nd, kernel, stride, dil, spatial, &asym);
    if (!asym.empty()) im.error("asymmetric 3-D padding is not supported");
    ValueRef y = conv3d_by_2d(im, ins[0], ins[1], w, kernel, stride, dil, pad, group);
    if (ins.size() > 2) y = im.add("broadcast_add", {y, reshape_to(im, ins[2], {w[0], 1, 1, 1})});
    im.set_output(0, y);
    return;
  }
  if (!transpose) {
    std::vector<int64_t> asym;
    kv.push_back({"pad", tuple_str(window_pads(im, nd, kernel, stride, dil, spatial, &asym))});
    if (!asym.empty()) {  // zero-pad first: (0, 0, begins..., 0, 0, ends...)
      std::vector<int64_t> full(2 * (nd + 2), 0);
      for (int k = 0; k < nd; ++k) {
        full[2 + k] = asym[k];
        full[nd + 4 + k] = asym[k + nd];
      }
      ins[0] = pad_tensor(im, ins[0], full, "constant", 0.0);
    }
    kv.push_back({"num_filter", w[0]});
    im.set_output(0, im.add("Convolution", ins, kv));
    return;
  }
  std::vector<int64_t> adj = im.attr_ints("output_padding");
  if (adj.empty()) adj.assign(nd, 0);
  std::vector<int64_t> out_shape = im.attr_ints("output_shape");
  std::vector<int64_t> pad(nd, 0), crop_begin, crop_end;
  if (!out_shape.empty() || im.attr_s("auto_pad", "NOTSET") != "NOTSET") {
    if (out_shape.empty())
      for (int k = 0; k < nd; ++k) out_shape.push_back(spatial[k] * stride[k]);
    if ((int)out_shape.size() > nd) out_shape.erase(out_shape.begin(), out_shape.end() - nd);
    bool upper = im.attr_s("auto_pad", "NOTSET") == "SAME_UPPER";
    for (int k = 0; k < nd; ++k) {  // total padding = stride*(in-1) + adj + (k-1)*d + 1 - out
      int64_t total = stride[k] * (spatial[k] - 1) + adj[k] + (kernel[k] - 1) * dil[k] + 1 - out_shape[k];
      if (total < 0) {  // a larger output: the extra rows at the end (MXNet's adj)
        adj[k] += -total;
        total = 0;
      }
      int64_t begin = upper ? total / 2 : total - total / 2, end = total - begin;
      pad[k] = std::min(begin, end);
      crop_begin.push_back(begin - pad[k]);
      crop_end.push_back(end - pad[k]);
    }
  } else {
    pad = window_pads(im, nd, kernel, stride, dil, spatial);
  }
  kv.push_back({"pad", tuple_str(pad)});
  kv.push_back({"adj", tuple_str(adj)});  // after output_shape may have grown it
  kv.push_back({"num_filter", w[1] * group});
  ValueRef y = im.add("Deconvolution", ins, kv);
  bool crop = false;
  for (size_t k = 0; k < crop_begin.size(); ++k) crop = crop || crop_begin[k] || crop_end[k];
  if (crop) {  // the odd pixel of asymmetric padding
    std::vector<int64_t> ys = known_shape_of(im, y);
    std::string b = "(None, None", e = "(None, None";
    for (int k = 0; k < nd; ++k) {
      b += ", " + std::to_string(crop_begin[k]);
      e += ", " + std::to_string(ys[k + 2] - crop_end[k]);
    }
    y = im.add("slice", {y}, {{"begin", b + ")"}, {"end", e + ")"}});
  }
  im.set_output(0, y);
}

void pool(Importer& im, const std::string& type) {
  std::vector<int64_t> x = known_shape(im, 0);
  int nd = (int)x.size() - 2;
  std::vector<int64_t> kernel = im.attr_ints("kernel_shape");
  if ((int)kernel.size() != nd) im.error("kernel_shape must have one entry per spatial dim");
  std::vector<int64_t> stride = or_ones(im.attr_ints("strides"), nd), dil = or_ones(im.attr_ints("dilations"), nd);
  if (im.has_output(1)) im.error("the Indices output of MaxPool is not supported");
  if (std::any_of(dil.begin(), dil.end(), [](int64_t d) { return d != 1; })) {
    if (type != "max") im.error("average pooling with dilations is not supported");
    std::vector<int64_t> asym;
    std::vector<int64_t> sym = window_pads(im, nd, kernel, stride, dil, std::vector<int64_t>(x.begin() + 2, x.end()), &asym);
    if (asym.empty()) {
      asym = sym;
      asym.insert(asym.end(), sym.begin(), sym.end());
    }
    dilated_max_pool(im, kernel, stride, dil, asym);
    return;
  }
  if (im.attr_i("storage_order", 0) != 0) im.error("storage_order=1 is not supported");
  std::vector<int64_t> spatial(x.begin() + 2, x.end());
  std::vector<int64_t> asym;
  std::vector<int64_t> sym = window_pads(im, nd, kernel, stride, dil, spatial, &asym);
  ValueRef data = im.in(0);
  if (!asym.empty()) {  // max pooling: pad with -inf, then pool unpadded
    std::vector<int64_t> full(2 * (nd + 2), 0);
    for (int k = 0; k < nd; ++k) {
      full[2 + k] = asym[k];
      full[nd + 4 + k] = asym[k + nd];
    }
    if (type == "avg") {  // sum over the zero-padded window / number of counted elements
      KV sk{{"kernel", tuple_str(kernel)}, {"stride", tuple_str(stride)}, {"pool_type", "sum"},
            {"pooling_convention", im.attr_i("ceil_mode", 0) ? "full" : "valid"}};
      ValueRef num = im.add("Pooling", {pad_tensor(im, data, full, "constant", 0.0)}, sk);
      ValueRef den;
      if (im.attr_i("count_include_pad", 0)) {
        int64_t n = 1;
        for (int64_t k : kernel) n *= k;
        den = im.scalar_ref(static_cast<double>(n), im.dtype(0));
      } else {
        OnnxTensor ones = make_tensor(im.dtype(0), std::vector<int64_t>{1, 1});
        ones.shape.insert(ones.shape.end(), spatial.begin(), spatial.end());
        ones.bytes.assign(Shape(ones.shape).numel() * dtype_size(ones.dtype), '\0');
        for (int64_t i = 0; i < Shape(ones.shape).numel(); ++i) set_elem(ones, i, 1.0);
        std::vector<int64_t> sp(x.size(), 1);
        for (size_t k = 2; k < x.size(); ++k) sp[k] = x[k];
        ValueRef o = im.const_ref(ones, "pool_count");
        den = im.add("Pooling", {pad_tensor(im, o, full, "constant", 0.0)}, sk);
      }
      im.set_output(0, im.add("broadcast_div", {num, den}));
      return;
    }
    data = pad_tensor(im, data, full, "constant", -std::numeric_limits<double>::infinity());
  }
  KV kv{{"kernel", tuple_str(kernel)}, {"stride", tuple_str(stride)}, {"pool_type", type},
        {"pad", tuple_str(sym)},
        {"pooling_convention", im.attr_i("ceil_mode", 0) ? "full" : "valid"}};
  if (type == "avg") kv.push_back({"count_include_pad", im.attr_i("count_include_pad", 0) != 0});
  // Integer max pooling runs on float32 (exact for 8/16-bit values).
  DType ty = im.dtype(0);
  bool via_float = !dtype_is_float(ty) && dtype_size(ty) <= 2;
  if (via_float) data = im.cast(data, DType::f32);
  im.set_output(0, im.cast(im.add("Pooling", {data}, kv), ty));
}

void global_pool(Importer& im, const std::string& type) {
  int nd = im.rank(0) - 2;
  im.set_output(0, im.add("Pooling", {im.in(0)}, {{"kernel", tuple_str(std::vector<int64_t>(nd, 1))}, {"pool_type", type}, {"global_pool", true}}));
}

// numpy matmul: 1-D operands promoted, batch dims broadcast, then dot or batch_dot.
ValueRef matmul(Importer& im, ValueRef a, ValueRef b) {
  std::vector<int64_t> sa = known_shape_of(im, a), sb = known_shape_of(im, b);
  bool va = sa.size() == 1, vb = sb.size() == 1;
  if (va) sa.insert(sa.begin(), 1);
  if (vb) sb.push_back(1);
  a = reshape_to(im, a, sa);
  b = reshape_to(im, b, sb);
  std::vector<int64_t> out;
  ValueRef r;
  if (sa.size() == 2 && sb.size() == 2) {
    r = im.add("dot", {a, b});
    out = {sa[0], sb[1]};
  } else if (sb.size() == 2) {  // (..., m, k) x (k, n): one GEMM over the flattened rows
    int64_t rows = 1;
    for (size_t k = 0; k + 1 < sa.size(); ++k) rows *= sa[k];
    r = im.add("dot", {reshape_to(im, a, {rows, sa.back()}), b});
    out = sa;
    out.back() = sb[1];
  } else {
    std::vector<int64_t> ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
    std::vector<int64_t> batch = broadcast_dims(im, ba, bb);
    int64_t nb = 1;
    for (int64_t d : batch) nb *= d;
    auto full = [&](ValueRef v, const std::vector<int64_t>& s) {
      std::vector<int64_t> f = batch;
      f.push_back(s[s.size() - 2]);
      f.push_back(s.back());
      v = broadcast_to(im, v, f);
      return reshape_to(im, v, {nb, s[s.size() - 2], s.back()});
    };
    r = im.add("batch_dot", {full(a, sa), full(b, sb)});
    out = batch;
    out.push_back(sa[sa.size() - 2]);
    out.push_back(sb.back());
  }
  if (va) out.erase(out.end() - 2);
  if (vb) out.erase(out.end() - 1);
  return reshape_to(im, r, out);
}

}  // namespace

void register_nn(MapTable& t) {
  t["Conv"] = [](Importer& im) { conv(im, false); };
  t["ConvTranspose"] = [](Importer& im) { conv(im, true); };
  t["MaxPool"] = [](Importer& im) { pool(im, "max"); };
  t["AveragePool"] = [](Importer& im) { pool(im, "avg"); };
  t["GlobalAveragePool"] = [](Importer& im) { global_pool(im, "avg"); };
  t["GlobalMaxPool"] = [](Importer& im) { global_pool(im, "max"); };
  t["BatchNormalization"] = [](Importer& im) {
    if (im.attr_i("training_mode", 0) || im.num_outputs() > 1)
      im.unsupported(OnnxUnsupportedKind::Training, "BatchNormalization in training mode");
    std::vector<ValueRef> ins;
    for (int i = 0; i < 5; ++i) ins.push_back(im.in(i));
    im.set_output(0, im.add("BatchNorm", ins, {{"eps", im.attr_f("epsilon", 1e-5)}, {"fix_gamma", false}, {"use_global_stats", true}}));
  };
  t["LayerNormalization"] = [](Importer& im) {
    std::vector<int64_t> s = known_shape(im, 0);
    int r = (int)s.size(), axis = norm_axis(im, im.attr_i("axis", -1), r);
    int64_t outer = 1, inner = 1;
    for (int k = 0; k < r; ++k) (k < axis ? outer : inner) *= s[k];
    ValueRef x = reshape_to(im, im.in(0), {outer, inner});
    ValueRef g = broadcast_to(im, im.in(1), std::vector<int64_t>(s.begin() + axis, s.end()));
    g = reshape_to(im, g, {inner});
    ValueRef b = im.has_input(2) ? im.in(2) : im.scalar_ref(0, im.dtype(0));
    b = reshape_to(im, broadcast_to(im, b, std::vector<int64_t>(s.begin() + axis, s.end())), {inner});
    double eps = im.attr_f("epsilon", 1e-5);
    ValueRef y = im.add("LayerNorm", {x, g, b}, {{"axis", int64_t(-1)}, {"eps", eps}});
    im.set_output(0, reshape_to(im, y, s));
    if (im.has_output(1) || im.has_output(2)) {  // Mean and InvStdDev, shaped (s[:axis], 1, ...)
      std::vector<int64_t> ms(s.begin(), s.begin() + axis);
      ms.resize(r, 1);
      ValueRef mean = im.add("mean", {x}, {{"axis", "(1,)"}, {"keepdims", true}});
      ValueRef var = im.add("mean", {im.add("square", {im.add("broadcast_sub", {x, mean})})}, {{"axis", "(1,)"}, {"keepdims", true}});
      ValueRef inv = im.add("rsqrt", {im.add("_plus_scalar", {var}, {{"scalar", eps}})});
      im.set_output(1, reshape_to(im, mean, ms));
      im.set_output(2, reshape_to(im, inv, ms));
    }
  };
  t["Dropout"] = [](Importer& im) {
    bool training = im.has_input(2) && (!im.constant(2) || im.constant(2)->as_double(0) != 0);
    if (training) im.unsupported(OnnxUnsupportedKind::Training, "Dropout with training_mode");
    ValueRef x = im.in(0);
    im.set_output(0, im.add("_copy", {x}));
    if (im.has_output(1)) im.set_output(1, im.cast(im.add("ones_like", {to_float(im, x)}), DType::boolean));
  };
  t["Flatten"] = [](Importer& im) {
    std::vector<int64_t> s = known_shape(im, 0);
    int r = (int)s.size();
    int64_t a = im.attr_i("axis", 1);
    if (a < -r || a > r) im.error("axis out of range");
    if (a < 0) a += r;
    int64_t outer = 1, inner = 1;
    for (int k = 0; k < r; ++k) (k < a ? outer : inner) *= s[k];
    im.set_output(0, im.add("_copy", {reshape_to(im, im.in(0), {outer, inner})}));
  };
  t["MatMul"] = [](Importer& im) { im.set_output(0, matmul(im, im.in(0), im.in(1))); };
  t["Gemm"] = [](Importer& im) {
    double alpha = im.attr_f("alpha", 1.0), beta = im.attr_f("beta", 1.0);
    bool ta = im.attr_i("transA", 0) != 0, tb = im.attr_i("transB", 0) != 0;
    std::vector<int64_t> sb = known_shape(im, 1);
    // Linear layers: y = x W^T + b in one FullyConnected.
    if (!ta && tb && alpha == 1.0 && beta == 1.0 && im.has_input(2) && im.shape(2).ndim() == 1 && im.shape(2)[0] == sb[0]) {
      im.set_output(0, im.add("FullyConnected", {im.in(0), im.in(1), im.in(2)}, {{"num_hidden", sb[0]}, {"flatten", false}}));
      return;
    }
    ValueRef y = im.add("dot", {im.in(0), im.in(1)}, {{"transpose_a", ta}, {"transpose_b", tb}});
    if (alpha != 1.0) y = im.add("_mul_scalar", {y}, {{"scalar", alpha}});
    if (im.has_input(2) && beta != 0.0) {
      ValueRef c = im.in(2);
      if (beta != 1.0) c = im.add("_mul_scalar", {c}, {{"scalar", beta}});
      y = im.add("broadcast_add", {y, c});
    }
    im.set_output(0, y);
  };
}

}  // namespace hgc::onnx_detail
