// ONNX ops that hgc builds from several registry ops: losses (NegativeLogLikelihoodLoss,
// SoftmaxCrossEntropyLoss), GatherElements and Hardmax through one_hot, Trilu through a
// constant mask, and ops whose result is fixed once their (shape-like) inputs are known.
#include "map_util.h"

namespace hgc::onnx_detail {
namespace {

std::vector<int64_t> iota_perm_last_to(int r, int to) {  // moves the last axis to `to`
  std::vector<int64_t> p;
  for (int k = 0; k < r - 1; ++k) {
    if (k == to) p.push_back(r - 1);
    p.push_back(k);
  }
  if (to == r - 1) p.push_back(r - 1);
  return p;
}

// out = one_hot(idx, depth) moved so the class axis is `axis`, in dtype t.
ValueRef one_hot_at(Importer& im, ValueRef idx, int64_t depth, DType t, int axis) {
  ValueRef oh = im.add("one_hot", {idx}, {{"depth", depth}, {"dtype", dtype_name(t)}});
  int r = im.shape_of(oh).ndim();
  if (axis == r - 1) return oh;
  return im.add("transpose", {oh}, {{"axes", tuple_str(iota_perm_last_to(r, axis))}});
}

// -input[n, target[n, ...], ...] * weight[target], reduced; `input` holds log-probabilities.
ValueRef nll(Importer& im, ValueRef input, ValueRef target, bool has_weight, int weight_input) {
  std::vector<int64_t> s = known_shape_of(im, input);
  if (s.size() < 2) im.error("input must have rank >= 2 (N, C, ...)");
  DType t = im.dtype_of(input);
  int64_t c = s[1];
  target = im.cast(target, DType::i64);
  ValueRef oh = one_hot_at(im, target, c, t, 1);
  ValueRef picked = im.add("sum", {im.add("elemwise_mul", {oh, input})}, {{"axis", "(1,)"}});
  ValueRef w;
  if (has_weight) w = im.add("take", {im.in(weight_input), target}, {{"axis", int64_t(0)}, {"mode", "clip"}});
  if (im.has_attr("ignore_index")) {
    ValueRef keep = im.add("_not_equal_scalar", {target}, {{"scalar", static_cast<double>(im.attr_i("ignore_index", 0))}});
    keep = im.cast(keep, t);
    w = has_weight ? im.add("elemwise_mul", {w, keep}) : keep;
  }
  ValueRef loss = im.add("negative", {picked});
  if (w.node >= 0) loss = im.add("elemwise_mul", {loss, w});
  std::string red = im.attr_s("reduction", "mean");
  if (red == "none") return loss;
  ValueRef total = im.add("sum", {loss});
  if (red == "sum") return reshape_to(im, total, {});
  if (red != "mean") im.error("reduction '" + red + "' is not one of none, sum, mean");
  if (w.node < 0) total = im.add("_div_scalar", {total}, {{"scalar", static_cast<double>(im.shape_of(target).numel())}});
  else total = im.add("elemwise_div", {total, im.add("sum", {w})});
  return reshape_to(im, total, {});
}

}  // namespace

void register_extra(MapTable& t) {
  t["NegativeLogLikelihoodLoss"] = [](Importer& im) {
    im.set_output(0, nll(im, im.in(0), im.in(1), im.has_input(2), 2));
  };
  t["SoftmaxCrossEntropyLoss"] = [](Importer& im) {
    ValueRef lp = im.add("log_softmax", {im.in(0)}, {{"axis", int64_t(1)}});
    im.set_output(0, nll(im, lp, im.in(1), im.has_input(2), 2));
    if (im.has_output(1)) im.set_output(1, lp);
  };
  t["GatherElements"] = [](Importer& im) {
    std::vector<int64_t> ds = known_shape(im, 0), is = known_shape(im, 1);
    int r = (int)ds.size();
    if ((int)is.size() != r) im.error("data and indices differ in rank");
    int a = norm_axis(im, im.attr_i("axis", 0), r);
    int64_t depth = ds[a];
    ValueRef idx = im.cast(im.in(1), DType::i64);
    idx = im.add("_mod_scalar", {idx}, {{"scalar", static_cast<double>(depth)}});  // negative indices count from the end
    DType t = im.dtype(0);
    ValueRef data = im.in(0);
    DType work = dtype_is_float(t) ? t : DType::f64;
    data = im.cast(data, work);
    // data restricted to the indices' extent on the other axes, class axis last, a 1 at `a`.
    std::vector<std::string> b(r, "None"), e(r, "None");
    for (int k = 0; k < r; ++k)
      if (k != a) {
        if (is[k] > ds[k]) im.error("indices " + Shape(is).str() + " exceed data " + Shape(ds).str());
        b[k] = "0";
        e[k] = std::to_string(is[k]);
      }
    auto join = [](const std::vector<std::string>& v) {
      std::string s = "(";
      for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
      return s + (v.size() == 1 ? ",)" : ")");
    };
    data = im.add("slice", {data}, {{"begin", join(b)}, {"end", join(e)}});
    std::vector<int64_t> perm, shp;
    for (int k = 0; k < r; ++k)
      if (k != a) perm.push_back(k);
    perm.push_back(a);
    data = im.add("transpose", {data}, {{"axes", tuple_str(perm)}});
    for (int k = 0; k < r; ++k) shp.push_back(k == a ? 1 : is[k]);
    shp.push_back(depth);
    data = reshape_to(im, data, shp);
    ValueRef oh = im.add("one_hot", {idx}, {{"depth", depth}, {"dtype", dtype_name(work)}});
    ValueRef y = im.add("sum", {im.add("broadcast_mul", {oh, data})}, {{"axis", tuple_str({r})}});
    im.set_output(0, im.cast(y, t));
  };
  t["Hardmax"] = [](Importer& im) {
    std::vector<int64_t> s = known_shape(im, 0);
    int r = (int)s.size();
    bool legacy = im.opset() < 13;
    int a = norm_axis(im, im.attr_i("axis", legacy ? 1 : -1), r);
    DType t = im.dtype(0);
    ValueRef x = to_float(im, im.in(0));
    if (legacy) {
      int64_t outer = 1, inner = 1;
      for (int k = 0; k < r; ++k) (k < a ? outer : inner) *= s[k];
      ValueRef am = im.add("argmax", {reshape_to(im, x, {outer, inner})}, {{"axis", int64_t(1)}});
      ValueRef oh = im.add("one_hot", {am}, {{"depth", inner}, {"dtype", dtype_name(t)}});
      im.set_output(0, reshape_to(im, oh, s));
      return;
    }
    ValueRef am = im.add("argmax", {x}, {{"axis", int64_t(a)}});
    im.set_output(0, one_hot_at(im, am, s[a], t, a));
  };
  t["Trilu"] = [](Importer& im) {
    std::vector<int64_t> s = known_shape(im, 0);
    if (s.size() < 2) im.error("needs rank >= 2");
    int64_t k = im.has_input(1) ? im.need_constant(1, "k").as_int(0) : 0;
    bool upper = im.attr_i("upper", 1) != 0;
    int64_t n = s[s.size() - 2], m = s.back();
    OnnxTensor mask = make_tensor(DType::boolean, {n, m});
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < m; ++j) set_elem_int(mask, i * m + j, upper ? (j - i >= k) : (j - i <= k));
    ValueRef x = im.in(0);
    ValueRef c = broadcast_to(im, im.const_ref(mask, "trilu_mask"), s);
    im.set_output(0, im.add("where", {c, x, im.add("zeros_like", {x})}));
  };
  t["Range"] = [](Importer& im) {
    const OnnxTensor& a = im.need_constant(0, "start");
    double start = a.as_double(0), limit = im.need_constant(1, "limit").as_double(0), delta = im.need_constant(2, "delta").as_double(0);
    if (delta == 0) im.error("delta is 0");
    double n = std::max(0.0, std::ceil((limit - start) / delta));
    if (n > (1 << 26)) im.error("range of " + std::to_string(n) + " elements is too large");
    OnnxTensor r = make_tensor(a.dtype, {static_cast<int64_t>(n)});
    for (int64_t i = 0; i < r.numel(); ++i) set_elem(r, i, start + i * delta);
    im.set_output(0, std::move(r));
  };
  t["ConstantOfShape"] = [](Importer& im) {
    std::vector<int64_t> s = tensor_ints(im.need_constant(0, "shape"));
    OnnxTensor v = Importer::scalar_tensor(0, DType::f32);
    if (const auto* at = im.attr("value")) v = tensor_from_proto(at->t(), ".", im.where());
    int64_t n = 1;
    for (int64_t d : s) {
      if (d < 0 || (d > 0 && n > (int64_t(1) << 26) / d)) im.error("bad or too large shape " + tuple_str(s));
      n *= d;
    }
    OnnxTensor r = make_tensor(v.dtype, s);
    for (int64_t i = 0; i < n; ++i) set_elem(r, i, v.as_double(0));
    im.set_output(0, std::move(r));
  };
  t["EyeLike"] = [](Importer& im) {
    std::vector<int64_t> s = known_shape(im, 0);
    if (s.size() != 2) im.error("needs a 2-D input");
    DType t = im.has_attr("dtype") ? dtype_from_onnx(static_cast<int>(im.attr_i("dtype", 1)), im.where()) : im.dtype(0);
    int64_t k = im.attr_i("k", 0);
    OnnxTensor r = make_tensor(t, s);
    for (int64_t i = 0; i < s[0]; ++i)
      if (i + k >= 0 && i + k < s[1]) set_elem(r, i * s[1] + i + k, 1);
    im.set_output(0, std::move(r));
  };
}

}  // namespace hgc::onnx_detail
