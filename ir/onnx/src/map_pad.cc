// Pad (constant/edge/reflect, negative pads crop) built from slices, constant blocks and
// Concat; OneHot and IsInf/IsNaN built from registry ops; Tile and InstanceNormalization as
// MXNet's tile and InstanceNorm.
#include "map_util.h"

namespace hgc::onnx_detail {
namespace {

std::string tuple_of(const std::vector<std::string>& v) {
  std::string t = "(";
  for (size_t i = 0; i < v.size(); ++i) t += (i ? ", " : "") + v[i];
  return t + (v.size() == 1 ? ",)" : ")");
}

// x[b:e:step] along `axis` (e may be "None").
ValueRef slice_axis(Importer& im, ValueRef x, int axis, int64_t b, const std::string& e, int64_t step) {
  int r = im.shape_of(x).ndim();
  std::vector<std::string> bb(r, "None"), ee(r, "None"), ss(r, "None");
  bb[axis] = std::to_string(b);
  ee[axis] = e;
  ss[axis] = std::to_string(step);
  return im.add("slice", {x}, {{"begin", tuple_of(bb)}, {"end", tuple_of(ee)}, {"step", tuple_of(ss)}});
}

}  // namespace

ValueRef pad_tensor(Importer& im, ValueRef x, const std::vector<int64_t>& pads, const std::string& mode, double value) {
  std::vector<int64_t> s = known_shape_of(im, x);
  int r = (int)s.size();
  if ((int)pads.size() != 2 * r) im.error("pads has " + std::to_string(pads.size()) + " entries for rank " + std::to_string(r));
  DType t = im.dtype_of(x);
  for (int k = 0; k < r; ++k) {
    int64_t b = pads[k], e = pads[k + r], n = s[k];
    if (b < 0 || e < 0) {  // negative pads crop
      int64_t lo = std::max<int64_t>(0, -b), hi = n - std::max<int64_t>(0, -e);
      if (hi < lo) im.error("pads crop more than the dim holds");
      x = slice_axis(im, x, k, lo, std::to_string(hi), 1);
      n = s[k] = hi - lo;
      b = std::max<int64_t>(b, 0);
      e = std::max<int64_t>(e, 0);
    }
    if (!b && !e) continue;
    std::vector<ValueRef> parts;
    auto block = [&](int64_t len, bool left) {
      std::vector<int64_t> bs = s;
      bs[k] = len;
      if (mode == "constant") {
        OnnxTensor c = make_tensor(t, bs);
        for (int64_t i = 0; i < c.numel(); ++i) set_elem(c, i, value);
        return im.const_ref(c, "pad_value");
      }
      if (n == 0) im.error("cannot " + mode + "-pad an empty dim");
      if (mode == "edge") {
        ValueRef edge = slice_axis(im, x, k, left ? 0 : n - 1, std::to_string(left ? 1 : n), 1);
        return broadcast_to(im, edge, bs);
      }
      if (len >= n) im.error("reflect padding of " + std::to_string(len) + " needs a dim larger than " + std::to_string(n));
      // reflect: x[len], ..., x[1] on the left; x[n-2], ..., x[n-1-len] on the right
      if (left) return slice_axis(im, x, k, len, "0", -1);
      int64_t end = n - 2 - len;
      return slice_axis(im, x, k, n - 2, end < 0 ? "None" : std::to_string(end), -1);
    };
    if (mode != "constant" && mode != "edge" && mode != "reflect") im.error("pad mode '" + mode + "' is not supported");
    if (b) parts.push_back(block(b, true));
    parts.push_back(x);
    if (e) parts.push_back(block(e, false));
    x = im.add("Concat", parts, {{"num_args", int64_t(parts.size())}, {"dim", int64_t(k)}});
    s[k] = n + b + e;
  }
  return x;
}

void register_pad(MapTable& t) {
  t["Pad"] = [](Importer& im) {
    std::string mode = im.attr_s("mode", "constant");
    std::vector<int64_t> pads;
    double value = 0;
    if (im.opset() < 11) {
      pads = im.attr_ints(im.has_attr("pads") ? "pads" : "paddings");
      value = im.attr_f("value", 0.0);
    } else {
      pads = tensor_ints(im.need_constant(1, "pads"));
      if (im.has_input(2)) value = im.need_constant(2, "constant_value").as_double(0);
    }
    ValueRef x = im.in(0);
    ValueRef y = pad_tensor(im, x, pads, mode, value);
    if (y == x) y = im.add("_copy", {x});
    im.set_output(0, y);
  };
  t["OneHot"] = [](Importer& im) {
    int64_t depth = static_cast<int64_t>(im.need_constant(1, "depth").as_double(0));
    const OnnxTensor& vals = im.need_constant(2, "values");
    if (vals.numel() != 2) im.error("values must hold [off_value, on_value]");
    int r = im.rank(0) + 1;
    int axis = norm_axis(im, im.attr_i("axis", -1), r);
    ValueRef idx = im.cast(im.in(0), DType::i64);
    idx = im.add("_mod_scalar", {idx}, {{"scalar", static_cast<double>(depth)}});  // negative counts from the end
    ValueRef oh = im.add("one_hot", {idx}, {{"depth", depth}, {"on_value", vals.as_double(1)}, {"off_value", vals.as_double(0)},
                                            {"dtype", dtype_name(vals.dtype)}});
    if (axis != r - 1) {
      std::vector<int64_t> p;
      for (int k = 0; k < r - 1; ++k) {
        if (k == axis) p.push_back(r - 1);
        p.push_back(k);
      }
      oh = im.add("transpose", {oh}, {{"axes", tuple_str(p)}});
    }
    im.set_output(0, oh);
  };
  t["IsNaN"] = [](Importer& im) {
    ValueRef x = im.in(0);
    im.set_output(0, im.cast(im.add("broadcast_not_equal", {x, x}), DType::boolean));
  };
  t["IsInf"] = [](Importer& im) {
    ValueRef x = im.in(0);
    bool pos = im.attr_i("detect_positive", 1) != 0, neg = im.attr_i("detect_negative", 1) != 0;
    double inf = std::numeric_limits<double>::infinity();
    ValueRef p = im.add("_equal_scalar", {x}, {{"scalar", inf}, {"is_int", false}});
    ValueRef n = im.add("_equal_scalar", {x}, {{"scalar", -inf}, {"is_int", false}});
    ValueRef y = pos && neg ? im.add("elemwise_add", {p, n}) : pos ? p : neg ? n : im.add("zeros_like", {x});
    im.set_output(0, im.cast(y, DType::boolean));
  };
  t["Tile"] = [](Importer& im) {
    std::vector<int64_t> s = known_shape(im, 0), reps = tensor_ints(im.need_constant(1, "repeats"));
    if (reps.size() != s.size()) im.error("repeats has " + std::to_string(reps.size()) + " entries for rank " + std::to_string(s.size()));
    for (int64_t r : reps)
      if (r < 0) im.error("negative repeat");
    im.set_output(0, im.add("tile", {im.in(0)}, {{"reps", tuple_str(reps)}}));
  };
  t["InstanceNormalization"] = [](Importer& im) {  // MXNet's InstanceNorm: per (n, c) over the spatial dims
    if (known_shape(im, 0).size() < 3) im.error("needs rank >= 3");
    im.set_output(0, im.add("InstanceNorm", {im.in(0), im.in(1), im.in(2)}, {{"eps", im.attr_f("epsilon", 1e-5)}}));
  };
}

}  // namespace hgc::onnx_detail
