// ONNX movement and indexing ops -> registry ops. Shapes are known here (the reader folds
// shape computations first), so most ops become a Reshape/transpose/slice with explicit dims.
#include "map_util.h"

namespace hgc::onnx_detail {
namespace {

std::vector<int64_t> axes_arg(Importer& im, int input) {
  if (im.opset() >= 13) return im.has_input(input) ? tensor_ints(im.need_constant(input, "axes")) : std::vector<int64_t>{};
  return im.attr_ints("axes");
}

void reshape(Importer& im) {
  std::vector<int64_t> x = known_shape(im, 0);
  std::vector<int64_t> s = tensor_ints(im.need_constant(1, "shape"));
  bool allowzero = im.attr_i("allowzero", 0) != 0;
  int64_t numel = 1, known = 1;
  for (int64_t d : x) numel *= d;
  int infer = -1;
  for (size_t k = 0; k < s.size(); ++k) {
    if (s[k] == 0 && !allowzero) {
      if (k >= x.size()) im.error("shape entry 0 copies a dim the input lacks");
      s[k] = x[k];
    }
    if (s[k] == -1) {
      if (infer >= 0) im.error("more than one -1 in the shape");
      infer = (int)k;
    } else if (s[k] < 0) {
      im.error("negative dim in the shape " + tuple_str(s));
    } else {
      known *= s[k];
    }
  }
  if (infer >= 0) s[infer] = known ? numel / known : 0;
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  if (n != numel) im.error("cannot reshape " + Shape(x).str() + " to " + Shape(s).str());
  im.set_output(0, im.add("_np_reshape", {im.in(0)}, {{"newshape", tuple_str(s)}}));
}

void slice(Importer& im) {
  std::vector<int64_t> x = known_shape(im, 0);
  int r = (int)x.size();
  std::vector<int64_t> st, en, ax, sp;
  if (im.opset() >= 10) {
    st = tensor_ints(im.need_constant(1, "starts"));
    en = tensor_ints(im.need_constant(2, "ends"));
    if (im.has_input(3)) ax = tensor_ints(im.need_constant(3, "axes"));
    if (im.has_input(4)) sp = tensor_ints(im.need_constant(4, "steps"));
  } else {
    st = im.attr_ints("starts");
    en = im.attr_ints("ends");
    ax = im.attr_ints("axes");
  }
  if (ax.empty())
    for (size_t k = 0; k < st.size(); ++k) ax.push_back(k);
  if (sp.empty()) sp.assign(st.size(), 1);
  if (st.size() != en.size() || st.size() != ax.size() || st.size() != sp.size())
    im.error("starts, ends, axes and steps differ in length");
  std::vector<std::string> b(r, "None"), e(r, "None"), s(r, "None");
  for (size_t k = 0; k < st.size(); ++k) {
    int a = norm_axis(im, ax[k], r);
    int64_t d = x[a], step = sp[k];
    if (step == 0) im.error("step 0");
    int64_t lo = st[k] < 0 ? st[k] + d : st[k], hi = en[k] < 0 ? en[k] + d : en[k];
    if (step > 0) {
      lo = std::clamp<int64_t>(lo, 0, d);
      hi = std::clamp<int64_t>(hi, 0, d);
      if (hi < lo) hi = lo;
      b[a] = std::to_string(lo);
      e[a] = std::to_string(hi);
    } else {
      lo = std::clamp<int64_t>(lo, -1, d - 1);
      hi = std::clamp<int64_t>(hi, -1, d - 1);
      if (hi > lo) hi = lo;
      b[a] = std::to_string(lo);
      e[a] = hi < 0 ? "None" : std::to_string(hi);
      if (lo < 0) e[a] = b[a] = "0";  // empty
    }
    s[a] = std::to_string(step);
  }
  auto join = [](const std::vector<std::string>& v) {
    std::string t = "(";
    for (size_t i = 0; i < v.size(); ++i) t += (i ? ", " : "") + v[i];
    return t + (v.size() == 1 ? ",)" : ")");
  };
  im.set_output(0, im.add("slice", {im.in(0)}, {{"begin", join(b)}, {"end", join(e)}, {"step", join(s)}}));
}

// Rearranges channel blocks by reshape/transpose/reshape.
void blocks(Importer& im, bool to_space) {
  std::vector<int64_t> x = known_shape(im, 0);
  if (x.size() != 4) im.error("needs a 4-D input");
  int64_t bs = im.attr_i("blocksize", 0), n = x[0], c = x[1], h = x[2], w = x[3];
  if (bs <= 0) im.error("blocksize must be positive");
  ValueRef v = im.in(0);
  std::vector<int64_t> s6, perm, out;
  if (to_space) {
    if (c % (bs * bs)) im.error("channels not divisible by blocksize^2");
    int64_t c2 = c / (bs * bs);
    if (im.attr_s("mode", "DCR") == "CRD") {
      s6 = {n, c2, bs, bs, h, w};
      perm = {0, 1, 4, 2, 5, 3};
    } else {
      s6 = {n, bs, bs, c2, h, w};
      perm = {0, 3, 4, 1, 5, 2};
    }
    out = {n, c2, h * bs, w * bs};
  } else {
    if (h % bs || w % bs) im.error("spatial dims not divisible by blocksize");
    s6 = {n, c, h / bs, bs, w / bs, bs};
    perm = {0, 3, 5, 1, 2, 4};
    out = {n, c * bs * bs, h / bs, w / bs};
  }
  v = reshape_to(im, v, s6);
  v = im.add("transpose", {v}, {{"axes", tuple_str(perm)}});
  im.set_output(0, reshape_to(im, v, out));
}

}  // namespace

void register_movement(MapTable& t) {
  t["Reshape"] = reshape;
  t["Transpose"] = [](Importer& im) {
    std::vector<int64_t> perm = im.attr_ints("perm");
    int r = im.rank(0);
    if (perm.empty())
      for (int k = r - 1; k >= 0; --k) perm.push_back(k);
    im.set_output(0, im.add("transpose", {im.in(0)}, {{"axes", tuple_str(perm)}}));
  };
  t["Concat"] = [](Importer& im) {
    std::vector<ValueRef> ins;
    int r = im.rank(0);
    for (int i = 0; i < im.num_inputs(); ++i)
      if (im.has_input(i)) ins.push_back(im.in(i));
    int64_t axis = norm_axis(im, im.attr_i("axis", 0), r);
    im.set_output(0, im.add("Concat", ins, {{"num_args", int64_t(ins.size())}, {"dim", axis}}));
  };
  t["Squeeze"] = [](Importer& im) {
    std::vector<int64_t> s = known_shape(im, 0), axes = axes_arg(im, 1), o;
    int r = (int)s.size();
    std::vector<bool> drop(r, false);
    if (axes.empty())
      for (int k = 0; k < r; ++k) drop[k] = s[k] == 1;
    for (int64_t a : axes) {
      int k = norm_axis(im, a, r);
      if (s[k] != 1) im.error("cannot squeeze axis " + std::to_string(a) + " of size " + std::to_string(s[k]));
      drop[k] = true;
    }
    for (int k = 0; k < r; ++k)
      if (!drop[k]) o.push_back(s[k]);
    im.set_output(0, im.add("_np_reshape", {im.in(0)}, {{"newshape", tuple_str(o)}}));
  };
  t["Unsqueeze"] = [](Importer& im) {
    std::vector<int64_t> s = known_shape(im, 0), axes = axes_arg(im, 1), o;
    int r = (int)(s.size() + axes.size());
    std::vector<bool> ins(r, false);
    for (int64_t a : axes) {
      int k = norm_axis(im, a, r);
      if (ins[k]) im.error("repeated axis " + std::to_string(a));
      ins[k] = true;
    }
    for (int k = 0, j = 0; k < r; ++k) o.push_back(ins[k] ? 1 : s[j++]);
    im.set_output(0, im.add("_np_reshape", {im.in(0)}, {{"newshape", tuple_str(o)}}));
  };
  t["Slice"] = slice;
  t["Gather"] = [](Importer& im) {
    int r = im.rank(0);
    int axis = norm_axis(im, im.attr_i("axis", 0), r);
    ValueRef idx = im.cast(im.in(1), DType::i64);
    im.set_output(0, im.add("take", {im.in(0), idx}, {{"axis", int64_t(axis)}, {"mode", "wrap"}}));
  };
  t["Split"] = [](Importer& im) {
    std::vector<int64_t> s = known_shape(im, 0);
    int r = (int)s.size();
    int axis = norm_axis(im, im.attr_i("axis", 0), r);
    std::vector<int64_t> sizes = im.opset() >= 13 ? (im.has_input(1) ? tensor_ints(im.need_constant(1, "split")) : std::vector<int64_t>{})
                                                  : im.attr_ints("split");
    int n = im.num_outputs();
    if (sizes.empty()) {
      if (s[axis] % n) im.error("dim " + std::to_string(s[axis]) + " does not split evenly into " + std::to_string(n));
      sizes.assign(n, s[axis] / n);
    }
    if ((int)sizes.size() != n) im.error("split has " + std::to_string(sizes.size()) + " sizes for " + std::to_string(n) + " outputs");
    int64_t at = 0;
    ValueRef x = im.in(0);
    for (int k = 0; k < n; ++k) {
      im.set_output(k, im.add("slice_axis", {x}, {{"axis", int64_t(axis)}, {"begin", at}, {"end", at + sizes[k]}}));
      at += sizes[k];
    }
    if (at != s[axis]) im.error("split sizes sum to " + std::to_string(at) + ", dim is " + std::to_string(s[axis]));
  };
  t["Expand"] = [](Importer& im) {
    std::vector<int64_t> target = tensor_ints(im.need_constant(1, "shape"));
    std::vector<int64_t> out = broadcast_dims(im, known_shape(im, 0), target);
    ValueRef x = im.in(0);
    ValueRef y = broadcast_to(im, x, out);
    if (y == x) y = im.add("_copy", {x});
    im.set_output(0, y);
  };
  t["DepthToSpace"] = [](Importer& im) { blocks(im, true); };
  t["SpaceToDepth"] = [](Importer& im) { blocks(im, false); };
  auto shape_needed = [](Importer& im) { im.error("the input's shape must be known to evaluate it (give input shapes)"); };
  t["Shape"] = shape_needed;
  t["Size"] = shape_needed;
}

}  // namespace hgc::onnx_detail
