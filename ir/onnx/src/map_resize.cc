// Resize/Upsample and CumSum as constant matrices applied along one axis at a time (both are
// separable): the weights follow ONNX's reference implementation (onnx/backend/test/case/
// node/resize.py: coordinate transforms, nearest rounding modes, linear and cubic (A=-0.75)
// coefficients, edge padding, exclude_outside, tf_crop_and_resize extrapolation).
#include <algorithm>

#include "map_util.h"

namespace hgc::onnx_detail {
namespace {

// y = x with axis `axis` replaced by M (out x in) applied to it, plus an optional bias of
// the output's shape.
ValueRef along_axis(Importer& im, ValueRef x, int axis, const std::vector<double>& m, int64_t out, int64_t in) {
  std::vector<int64_t> s = known_shape_of(im, x);
  int r = (int)s.size();
  DType t = im.dtype_of(x);
  std::vector<int64_t> perm;
  for (int k = 0; k < r; ++k)
    if (k != axis) perm.push_back(k);
  perm.push_back(axis);
  ValueRef v = axis == r - 1 ? x : im.add("transpose", {x}, {{"axes", tuple_str(perm)}});
  int64_t rows = 1;
  for (int k = 0; k < r; ++k)
    if (k != axis) rows *= s[k];
  if (t == DType::f32) {  // one GEMM
    v = reshape_to(im, v, {rows, in});
    OnnxTensor mt = make_tensor(t, {in, out});  // M transposed
    for (int64_t o = 0; o < out; ++o)
      for (int64_t i = 0; i < in; ++i) set_elem(mt, i * out + o, m[o * in + i]);
    v = im.add("dot", {v, im.const_ref(mt, "interp")});
  } else {  // GEMM calls take float32: multiply and sum in the tensor's own dtype
    v = reshape_to(im, v, {rows, 1, in});
    OnnxTensor mm = make_tensor(t, {out, in});
    for (int64_t i = 0; i < out * in; ++i) set_elem(mm, i, m[i]);
    v = im.add("sum", {im.add("broadcast_mul", {v, im.const_ref(mm, "interp")})}, {{"axis", "(2,)"}});
  }
  std::vector<int64_t> moved;
  for (int64_t p : perm) moved.push_back(p == axis ? out : s[p]);
  v = reshape_to(im, v, moved);
  if (axis == r - 1) return v;
  std::vector<int64_t> inv(r);
  for (int k = 0; k < r; ++k) inv[perm[k]] = k;
  return im.add("transpose", {v}, {{"axes", tuple_str(inv)}});
}

struct ResizeMode {
  std::string mode = "nearest", ctm = "half_pixel", nearest = "round_prefer_floor";
  double cubic_a = -0.75, extrapolation = 0;
  bool exclude_outside = false;
};

std::vector<double> coeffs(const ResizeMode& rm, double ratio) {
  if (rm.mode == "nearest") {
    if (ratio == std::floor(ratio)) return {0, 1};
    if (rm.nearest == "round_prefer_floor") return {double(ratio <= 0.5), double(ratio > 0.5)};
    if (rm.nearest == "round_prefer_ceil") return {double(ratio < 0.5), double(ratio >= 0.5)};
    if (rm.nearest == "floor") return {1, 0};
    return {0, 1};
  }
  if (rm.mode == "linear") return {1 - ratio, ratio};
  double a = rm.cubic_a, r1 = 1 - ratio;
  return {((a * (ratio + 1) - 5 * a) * (ratio + 1) + 8 * a) * (ratio + 1) - 4 * a,
          ((a + 2) * ratio - (a + 3)) * ratio * ratio + 1,
          ((a + 2) * r1 - (a + 3)) * r1 * r1 + 1,
          ((a * (r1 + 1) - 5 * a) * (r1 + 1) + 8 * a) * (r1 + 1) - 4 * a};
}

// The (out x in) weights along one axis; `valid[o]` is false where tf_crop_and_resize
// extrapolates.
std::vector<double> resize_matrix(const ResizeMode& rm, int64_t in, int64_t out, double scale, double roi0, double roi1,
                                  std::vector<bool>& valid) {
  std::vector<double> m(out * in, 0.0);
  valid.assign(out, true);
  double out_w = scale * in;
  for (int64_t o = 0; o < out; ++o) {
    double x = static_cast<double>(o), xo;
    if (rm.ctm == "align_corners") xo = out_w == 1 ? 0 : x * (in - 1) / (out_w - 1);
    else if (rm.ctm == "asymmetric") xo = x / scale;
    else if (rm.ctm == "tf_crop_and_resize")
      xo = out_w == 1 ? (roi1 - roi0) * (in - 1) / 2 : roi0 * (in - 1) + x * (roi1 - roi0) * (in - 1) / (out_w - 1);
    else if (rm.ctm == "tf_half_pixel_for_nn") xo = (x + 0.5) / scale;
    else if (rm.ctm == "pytorch_half_pixel") xo = out_w == 1 ? -0.5 : (x + 0.5) / scale - 0.5;
    else xo = (x + 0.5) / scale - 0.5;  // half_pixel
    if (rm.ctm == "tf_crop_and_resize" && (xo < 0 || xo > in - 1)) {
      valid[o] = false;
      continue;
    }
    double fl = std::floor(xo);
    double ratio = xo == fl ? 1 : xo - fl;
    std::vector<double> c = coeffs(rm, ratio);
    int64_t n = (int64_t)c.size(), pad = (n + 1) / 2;
    // n nearest indices of the edge-padded data to xo + pad, by (distance, index).
    double xp = xo + pad;
    std::vector<int64_t> idx;
    for (int64_t i = 0; i < in + 2 * pad; ++i) idx.push_back(i);
    std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) {
      double da = std::fabs(xp - a), db = std::fabs(xp - b);
      return da != db ? da < db : a < b;
    });
    idx.resize(std::min<int64_t>(n, idx.size()));
    std::sort(idx.begin(), idx.end());
    if (rm.exclude_outside) {
      double sum = 0;
      for (int64_t k = 0; k < n; ++k) {
        int64_t i = idx[k] - pad;
        if (i < 0 || i >= in) c[k] = 0;
        sum += c[k];
      }
      for (double& v : c) v = sum != 0 ? v / sum : 0;
    }
    for (int64_t k = 0; k < n && k < (int64_t)idx.size(); ++k) {
      int64_t i = std::clamp<int64_t>(idx[k] - pad, 0, in - 1);
      m[o * in + i] += c[k];
    }
  }
  return m;
}

// 4-D resizes that MXNet's own ops compute exactly become those ops (one gather kernel
// instead of two interpolation GEMMs): integer nearest upsampling with floor rounding of
// asymmetric coordinates is UpSampling; linear with align_corners, pytorch_half_pixel (or
// half_pixel with outputs > 1) is BilinearResize2D — where the scale is exactly out / in, as
// MXNet computes its coordinates from the sizes.
bool resize_as_mxnet_op(Importer& im, const ResizeMode& rm, const std::vector<int64_t>& s,
                        const std::vector<double>& scales, const std::vector<int64_t>& sizes) {
  if (s.size() != 4 || rm.exclude_outside) return false;
  int64_t out[4];
  for (int k = 0; k < 4; ++k) {
    if (sizes.empty() && static_cast<double>(s[k]) * scales[k] != std::floor(static_cast<double>(s[k]) * scales[k]))
      return false;
    out[k] = sizes.empty() ? static_cast<int64_t>(static_cast<double>(s[k]) * scales[k]) : sizes[k];
    if (out[k] < 1) return false;
  }
  if (out[0] != s[0] || out[1] != s[1] || (out[2] == s[2] && out[3] == s[3])) return false;
  if (rm.mode == "nearest") {
    if (rm.ctm != "asymmetric" || rm.nearest != "floor") return false;
    int64_t f = out[2] / s[2];
    if (f < 1 || out[2] != f * s[2] || out[3] != f * s[3]) return false;
    im.set_output(0, im.add("UpSampling", {im.in(0)}, {{"scale", std::to_string(f)}, {"sample_type", "nearest"}, {"num_args", "1"}}));
    return true;
  }
  if (rm.mode != "linear") return false;
  bool align = rm.ctm == "align_corners";
  bool half = rm.ctm == "pytorch_half_pixel" || (rm.ctm == "half_pixel" && out[2] > 1 && out[3] > 1);
  if (!align && !half) return false;
  im.set_output(0, im.add("_contrib_BilinearResize2D", {im.in(0)},
                          {{"height", std::to_string(out[2])}, {"width", std::to_string(out[3])},
                           {"align_corners", align ? "True" : "False"}}));
  return true;
}

void resize(Importer& im, bool upsample) {
  std::vector<int64_t> s = known_shape(im, 0);
  int r = (int)s.size();
  ResizeMode rm;
  rm.mode = im.attr_s("mode", "nearest");
  std::vector<double> scales, roi;
  std::vector<int64_t> sizes;
  if (upsample || im.opset() < 11) {  // Upsample and Resize-10: asymmetric, nearest rounds down
    rm.ctm = "asymmetric";
    rm.nearest = "floor";
    scales = upsample && im.opset() < 9 ? im.attr_floats("scales") : tensor_doubles(im.need_constant(1, "scales"));
  } else {
    rm.ctm = im.attr_s("coordinate_transformation_mode", "half_pixel");
    rm.nearest = im.attr_s("nearest_mode", "round_prefer_floor");
    rm.cubic_a = im.attr_f("cubic_coeff_a", -0.75);
    rm.exclude_outside = im.attr_i("exclude_outside", 0) != 0;
    rm.extrapolation = im.attr_f("extrapolation_value", 0.0);
    if (rm.ctm == "tf_crop_and_resize") roi = tensor_doubles(im.need_constant(1, "roi"));
    if (im.has_input(3)) sizes = tensor_ints(im.need_constant(3, "sizes"));
    if (sizes.empty() && im.has_input(2)) scales = tensor_doubles(im.need_constant(2, "scales"));
  }
  if (rm.mode == "linear" && im.opset() < 11) rm.mode = "linear";
  if (rm.mode != "nearest" && rm.mode != "linear" && rm.mode != "cubic") im.error("mode '" + rm.mode + "' is not supported");
  if (!sizes.empty() && (int)sizes.size() != r) im.error("sizes has " + std::to_string(sizes.size()) + " entries for rank " + std::to_string(r));
  if (sizes.empty() && (int)scales.size() != r) im.error("scales has " + std::to_string(scales.size()) + " entries for rank " + std::to_string(r));
  if (rm.ctm == "tf_crop_and_resize" && (int)roi.size() != 2 * r) im.error("tf_crop_and_resize needs roi with 2 entries per dim");
  if (!dtype_is_float(im.dtype(0))) im.error("Resize of " + dtype_name(im.dtype(0)) + " tensors is not supported");
  if (resize_as_mxnet_op(im, rm, s, scales, sizes)) return;
  ValueRef x = im.in(0);
  std::vector<int64_t> out_shape(s);
  std::vector<std::vector<bool>> valid(r);
  bool any_invalid = false;
  for (int k = 0; k < r; ++k) {
    int64_t out = sizes.empty() ? static_cast<int64_t>(std::floor(s[k] * scales[k])) : sizes[k];
    double scale = sizes.empty() ? scales[k] : static_cast<double>(sizes[k]) / s[k];
    out_shape[k] = out;
    double r0 = roi.empty() ? 0 : roi[k], r1 = roi.empty() ? 1 : roi[k + r];
    std::vector<double> m = resize_matrix(rm, s[k], out, scale, r0, r1, valid[k]);
    bool identity = out == s[k];
    for (int64_t o = 0; identity && o < out; ++o)
      for (int64_t i = 0; i < s[k]; ++i)
        if (m[o * s[k] + i] != (o == i ? 1.0 : 0.0)) identity = false;
    for (bool v : valid[k]) any_invalid = any_invalid || !v;
    if (!identity) x = along_axis(im, x, k, m, out, s[k]);
  }
  if (any_invalid && rm.extrapolation != 0) {  // extrapolated points take the constant
    OnnxTensor bias = make_tensor(im.dtype(0), out_shape);
    std::vector<int64_t> st(r, 1);
    for (int k = r - 2; k >= 0; --k) st[k] = st[k + 1] * out_shape[k + 1];
    for (int64_t i = 0; i < bias.numel(); ++i) {
      bool ok = true;
      for (int k = 0; k < r; ++k) ok = ok && valid[k][(i / st[k]) % out_shape[k]];
      set_elem(bias, i, ok ? 0.0 : rm.extrapolation);
    }
    x = im.add("broadcast_add", {x, im.const_ref(bias, "extrapolation")});
  }
  if (x == im.in(0)) x = im.add("_copy", {x});
  im.set_output(0, x);
}

}  // namespace

void register_resize(MapTable& t) {
  t["Resize"] = [](Importer& im) { resize(im, false); };
  t["Upsample"] = [](Importer& im) { resize(im, true); };
  t["CumSum"] = [](Importer& im) {
    std::vector<int64_t> s = known_shape(im, 0);
    int r = (int)s.size();
    int axis = norm_axis(im, im.need_constant(1, "axis").as_int(0), r);
    bool excl = im.attr_i("exclusive", 0) != 0, rev = im.attr_i("reverse", 0) != 0;
    int64_t n = s[axis];
    std::vector<double> m(n * n, 0.0);  // out[o] = sum of in[i] for i before (or after) o
    for (int64_t o = 0; o < n; ++o)
      for (int64_t i = 0; i < n; ++i) {
        bool take = rev ? (excl ? i > o : i >= o) : (excl ? i < o : i <= o);
        m[o * n + i] = take ? 1 : 0;
      }
    DType t = im.dtype(0);
    ValueRef x = to_float(im, im.in(0));
    im.set_output(0, im.cast(along_axis(im, x, axis, m, n, n), t));
  };
}

}  // namespace hgc::onnx_detail
