// Constant evaluation while reading: Constant nodes, and the shape-computing subgraphs that
// exporters emit (Shape -> Gather -> Unsqueeze -> Concat -> Reshape, ...) once every input is
// a constant or has a known shape. Values are computed in double/int64 and stored in the
// node's output dtype; only small tensors are folded (real compute stays in the graph).
#include <cmath>
#include <cstring>
#include <functional>

#include "importer.h"

namespace hgc::onnx_detail {
namespace {

constexpr int64_t kMaxFold = 1 << 16;

std::vector<int64_t> strides_of(const std::vector<int64_t>& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (int i = (int)s.size() - 2; i >= 0; --i) st[i] = st[i + 1] * s[i + 1];
  return st;
}

// Offset into `in` (numpy-broadcast against `out`) of the flat output index `i`.
int64_t bcast_offset(int64_t i, const std::vector<int64_t>& out, const std::vector<int64_t>& in) {
  int64_t off = 0, stride = 1;
  for (int d = (int)out.size() - 1, e = (int)in.size() - 1; d >= 0; --d, --e) {
    int64_t idx = i % out[d];
    i /= out[d];
    if (e >= 0) {
      if (in[e] != 1) off += idx * stride;
      stride *= in[e];
    }
  }
  return off;
}

bool broadcast_shapes(const std::vector<const OnnxTensor*>& ts, std::vector<int64_t>& out) {
  out.clear();
  for (const OnnxTensor* t : ts) {
    std::vector<int64_t> s = t->shape;
    if (s.size() > out.size()) out.insert(out.begin(), s.size() - out.size(), 1);
    for (size_t k = 0; k < s.size(); ++k) {
      int64_t& o = out[out.size() - s.size() + k];
      if (o == 1) o = s[k];
      else if (s[k] != 1 && s[k] != o) return false;
    }
  }
  return true;
}

bool is_int(DType t) { return !dtype_is_float(t); }

using Fn = std::function<double(const std::vector<double>&)>;

// Elementwise over numpy-broadcast inputs.
bool elementwise(Importer& im, const std::vector<const OnnxTensor*>& ts, DType out_t, const Fn& f) {
  std::vector<int64_t> out;
  if (!broadcast_shapes(ts, out)) im.error("inputs do not broadcast");
  OnnxTensor r = make_tensor(out_t, out);
  if (r.numel() > kMaxFold) return false;
  std::vector<double> a(ts.size());
  for (int64_t i = 0; i < r.numel(); ++i) {
    for (size_t k = 0; k < ts.size(); ++k) a[k] = ts[k]->as_double(bcast_offset(i, out, ts[k]->shape));
    set_elem(r, i, f(a));
  }
  im.set_output(0, std::move(r));
  return true;
}

int axis_norm(Importer& im, int64_t a, int rank) {
  if (a < -rank || a >= rank) im.error("axis " + std::to_string(a) + " out of range for rank " + std::to_string(rank));
  return a < 0 ? static_cast<int>(a + rank) : static_cast<int>(a);
}

OnnxTensor constant_attr(Importer& im) {
  const auto& n = im.node();
  for (const auto& a : n.attribute()) {
    if (a.name() == "value") return tensor_from_proto(a.t(), ".", im.where());
    if (a.name() == "value_float") return Importer::scalar_tensor(a.f(), DType::f32);
    if (a.name() == "value_int") return Importer::scalar_tensor(static_cast<double>(a.i()), DType::i64);
    if (a.name() == "value_floats") {
      OnnxTensor t = make_tensor(DType::f32, {a.floats_size()});
      for (int i = 0; i < a.floats_size(); ++i) set_elem(t, i, a.floats(i));
      return t;
    }
    if (a.name() == "value_ints") return int_tensor({a.ints().begin(), a.ints().end()});
    if (a.name() == "value_string" || a.name() == "value_strings")
      im.unsupported(OnnxUnsupportedKind::Dtype, "string constants are not supported");
    if (a.name() == "sparse_value") im.error("sparse constants are not supported");
  }
  im.error("Constant without a value attribute");
}

// Gathers along `axis` from a constant.
OnnxTensor gather(Importer& im, const OnnxTensor& d, const OnnxTensor& idx, int axis) {
  std::vector<int64_t> os(d.shape.begin(), d.shape.begin() + axis);
  os.insert(os.end(), idx.shape.begin(), idx.shape.end());
  os.insert(os.end(), d.shape.begin() + axis + 1, d.shape.end());
  OnnxTensor r = make_tensor(d.dtype, os);
  int64_t outer = 1, inner = 1, n = d.shape[axis];
  for (int k = 0; k < axis; ++k) outer *= d.shape[k];
  for (size_t k = axis + 1; k < d.shape.size(); ++k) inner *= d.shape[k];
  size_t es = dtype_size(d.dtype);
  int64_t m = idx.numel(), o = 0;
  for (int64_t a = 0; a < outer; ++a)
    for (int64_t j = 0; j < m; ++j) {
      int64_t k = idx.as_int(j);
      if (k < 0) k += n;
      if (k < 0 || k >= n) im.error("index " + std::to_string(idx.as_int(j)) + " out of range for a dim of " + std::to_string(n));
      std::memcpy(r.bytes.data() + o * es, d.bytes.data() + ((a * n + k) * inner) * es, inner * es);
      o += inner;
    }
  return r;
}

OnnxTensor reshaped(OnnxTensor t, std::vector<int64_t> s) {
  t.shape = std::move(s);
  return t;
}

bool fold(Importer& im) {
  const std::string& op = im.node().op_type();
  int n_in = im.num_inputs();
  if (op == "Constant") {
    im.set_output(0, constant_attr(im));
    return true;
  }
  if (op == "Shape" || op == "Size") {
    Shape s = im.shape(0);
    if (!s.known()) return false;
    if (op == "Size") {
      im.set_output(0, int_tensor({s.numel()}, true));
      return true;
    }
    int64_t r = s.ndim(), b = im.attr_i("start", 0), e = im.attr_i("end", r);
    if (b < 0) b += r;
    if (e < 0) e += r;
    b = std::clamp<int64_t>(b, 0, r);
    e = std::clamp<int64_t>(e, 0, r);
    std::vector<int64_t> d;
    for (int64_t k = b; k < e; ++k) d.push_back(s[k]);
    im.set_output(0, int_tensor(d));
    return true;
  }
  std::vector<const OnnxTensor*> c;
  for (int i = 0; i < n_in; ++i) {
    if (!im.has_input(i)) {
      c.push_back(nullptr);
      continue;
    }
    const OnnxTensor* t = im.constant(i);
    if (!t) return false;
    if (t->numel() > kMaxFold) return false;
    c.push_back(t);
  }
  if (c.empty() || !c[0]) return false;
  const OnnxTensor& x = *c[0];
  DType t0 = x.dtype;
  if (op == "Identity") {
    im.set_output(0, x);
    return true;
  }
  if (op == "Cast") {
    DType to = dtype_from_onnx(static_cast<int>(im.attr_i("to", 1)), im.where());
    return elementwise(im, {&x}, to, [](auto& a) { return a[0]; });
  }
  if (op == "ConstantOfShape") {
    OnnxTensor v = Importer::scalar_tensor(0, DType::f32);
    if (const auto* a = im.attr("value")) v = tensor_from_proto(a->t(), ".", im.where());
    std::vector<int64_t> s = tensor_ints(x);
    for (int64_t d : s)
      if (d < 0) im.error("negative dim in the shape");
    OnnxTensor r = make_tensor(v.dtype, s);
    if (r.numel() > kMaxFold) return false;
    for (int64_t i = 0; i < r.numel(); ++i) set_elem(r, i, v.as_double(0));
    im.set_output(0, std::move(r));
    return true;
  }
  if (op == "Gather") {
    if (n_in < 2 || !c[1]) return false;
    int ax = axis_norm(im, im.attr_i("axis", 0), (int)x.shape.size());
    im.set_output(0, gather(im, x, *c[1], ax));
    return true;
  }
  if (op == "Unsqueeze" || op == "Squeeze") {
    std::vector<int64_t> axes = im.opset() >= 13 ? (n_in > 1 && c[1] ? tensor_ints(*c[1]) : std::vector<int64_t>{})
                                                 : im.attr_ints("axes");
    std::vector<int64_t> s = x.shape;
    if (op == "Squeeze") {
      int r = (int)s.size();
      std::vector<bool> drop(r, false);
      if (axes.empty())
        for (int k = 0; k < r; ++k) drop[k] = s[k] == 1;
      for (int64_t a : axes) drop[axis_norm(im, a, r)] = true;
      std::vector<int64_t> o;
      for (int k = 0; k < r; ++k)
        if (!drop[k]) o.push_back(s[k]);
      im.set_output(0, reshaped(x, o));
    } else {
      int r = (int)s.size() + (int)axes.size();
      std::vector<bool> ins(r, false);
      for (int64_t a : axes) ins[axis_norm(im, a, r)] = true;
      std::vector<int64_t> o;
      for (int k = 0, j = 0; k < r; ++k) o.push_back(ins[k] ? 1 : s[j++]);
      im.set_output(0, reshaped(x, o));
    }
    return true;
  }
  if (op == "Reshape") {
    if (n_in < 2 || !c[1]) return false;
    std::vector<int64_t> s = tensor_ints(*c[1]);
    bool allowzero = im.attr_i("allowzero", 0) != 0;
    int64_t known = 1, infer = -1;
    for (size_t k = 0; k < s.size(); ++k) {
      if (s[k] == 0 && !allowzero) {
        if (k >= x.shape.size()) im.error("shape entry 0 copies a dim the input lacks");
        s[k] = x.shape[k];
      }
      if (s[k] == -1) infer = k;
      else known *= s[k];
    }
    if (infer >= 0) s[infer] = known ? x.numel() / known : 0;
    OnnxTensor r = reshaped(x, s);
    if (r.numel() != x.numel()) im.error("cannot reshape " + Shape(x.shape).str() + " to " + Shape(s).str());
    im.set_output(0, std::move(r));
    return true;
  }
  if (op == "Concat") {
    for (const OnnxTensor* t : c)
      if (!t) return false;
    int r = (int)x.shape.size();
    int ax = axis_norm(im, im.attr_i("axis", 0), r);
    std::vector<int64_t> os = x.shape;
    os[ax] = 0;
    for (const OnnxTensor* t : c) {
      if ((int)t->shape.size() != r) im.error("inputs of different ranks");
      os[ax] += t->shape[ax];
    }
    OnnxTensor out = make_tensor(t0, os);
    int64_t outer = 1;
    for (int k = 0; k < ax; ++k) outer *= os[k];
    size_t es = dtype_size(t0), off = 0;
    for (int64_t a = 0; a < outer; ++a)
      for (const OnnxTensor* t : c) {
        if (t->dtype != t0) im.error("inputs of different dtypes");
        size_t chunk = (t->numel() / std::max<int64_t>(outer, 1)) * es;
        std::memcpy(out.bytes.data() + off, t->bytes.data() + a * chunk, chunk);
        off += chunk;
      }
    im.set_output(0, std::move(out));
    return true;
  }
  if (op == "Slice") {
    if (im.opset() >= 10 && (n_in < 3 || !c[1] || !c[2])) return false;
    int r = (int)x.shape.size();
    std::vector<int64_t> st = im.opset() >= 10 ? tensor_ints(*c[1]) : im.attr_ints("starts");
    std::vector<int64_t> en = im.opset() >= 10 ? tensor_ints(*c[2]) : im.attr_ints("ends");
    std::vector<int64_t> ax, sp;
    if (im.opset() >= 10) {
      if (n_in > 3 && c[3]) ax = tensor_ints(*c[3]);
      if (n_in > 4 && c[4]) sp = tensor_ints(*c[4]);
    } else {
      ax = im.attr_ints("axes");
    }
    if (ax.empty())
      for (size_t k = 0; k < st.size(); ++k) ax.push_back(k);
    if (sp.empty()) sp.assign(st.size(), 1);
    std::vector<int64_t> b(r, 0), e(x.shape), s(r, 1);
    for (size_t k = 0; k < st.size() && k < en.size() && k < ax.size() && k < sp.size(); ++k) {
      int a = axis_norm(im, ax[k], r);
      int64_t d = x.shape[a];
      if (sp[k] == 0) im.error("step 0");
      int64_t lo = st[k] < 0 ? st[k] + d : st[k], hi = en[k] < 0 ? en[k] + d : en[k];
      if (sp[k] > 0) {
        lo = std::clamp<int64_t>(lo, 0, d);
        hi = std::clamp<int64_t>(hi, 0, d);
      } else {
        lo = std::clamp<int64_t>(lo, 0, d - 1);
        hi = std::clamp<int64_t>(hi, -1, d - 1);
      }
      b[a] = lo;
      e[a] = hi;
      s[a] = sp[k];
    }
    std::vector<int64_t> os(r);
    for (int k = 0; k < r; ++k) {
      int64_t len = s[k] > 0 ? (e[k] - b[k] + s[k] - 1) / s[k] : (b[k] - e[k] - s[k] - 1) / -s[k];
      os[k] = std::max<int64_t>(len, 0);
    }
    OnnxTensor out = make_tensor(t0, os);
    std::vector<int64_t> ist = strides_of(x.shape);
    size_t es = dtype_size(t0);
    for (int64_t i = 0; i < out.numel(); ++i) {
      int64_t rem = i, src = 0;
      for (int k = r - 1; k >= 0; --k) {
        int64_t idx = rem % os[k];
        rem /= os[k];
        src += (b[k] + idx * s[k]) * ist[k];
      }
      std::memcpy(out.bytes.data() + i * es, x.bytes.data() + src * es, es);
    }
    im.set_output(0, std::move(out));
    return true;
  }
  if (op == "Range") {
    if (n_in < 3 || !c[1] || !c[2]) return false;
    double start = x.as_double(0), limit = c[1]->as_double(0), delta = c[2]->as_double(0);
    if (delta == 0) im.error("delta is 0");
    int64_t n = std::max<int64_t>(0, static_cast<int64_t>(std::ceil((limit - start) / delta)));
    if (n > kMaxFold) return false;
    OnnxTensor out = make_tensor(t0, {n});
    for (int64_t i = 0; i < n; ++i) set_elem(out, i, start + i * delta);
    im.set_output(0, std::move(out));
    return true;
  }
  // Elementwise arithmetic on (mostly integer) shape values.
  static const std::map<std::string, Fn> binary = {
      {"Add", [](auto& a) { return a[0] + a[1]; }},
      {"Sub", [](auto& a) { return a[0] - a[1]; }},
      {"Mul", [](auto& a) { return a[0] * a[1]; }},
  };
  static const std::map<std::string, std::function<bool(double, double)>> compare = {
      {"Equal", [](double a, double b) { return a == b; }},
      {"Less", [](double a, double b) { return a < b; }},
      {"Greater", [](double a, double b) { return a > b; }},
      {"LessOrEqual", [](double a, double b) { return a <= b; }},
      {"GreaterOrEqual", [](double a, double b) { return a >= b; }},
  };
  if (!is_int(t0) && t0 != DType::f32 && t0 != DType::f64) return false;
  if (auto it = binary.find(op); it != binary.end() && n_in == 2 && c[1])
    return elementwise(im, {c[0], c[1]}, t0, it->second);
  if (op == "Div" && n_in == 2 && c[1]) {
    bool integer = is_int(t0);
    return elementwise(im, {c[0], c[1]}, t0, [integer](auto& a) {
      if (!integer) return a[0] / a[1];
      return a[1] == 0 ? 0.0 : std::trunc(a[0] / a[1]);
    });
  }
  if (auto it = compare.find(op); it != compare.end() && n_in == 2 && c[1]) {
    auto f = it->second;
    return elementwise(im, {c[0], c[1]}, DType::boolean, [f](auto& a) { return f(a[0], a[1]) ? 1.0 : 0.0; });
  }
  if ((op == "Max" || op == "Min") && n_in >= 1) {
    bool mx = op == "Max";
    return elementwise(im, c, t0, [mx](auto& a) {
      double r = a[0];
      for (double v : a) r = mx ? std::max(r, v) : std::min(r, v);
      return r;
    });
  }
  if (op == "Where" && n_in == 3 && c[1] && c[2])
    return elementwise(im, {c[0], c[1], c[2]}, c[1]->dtype, [](auto& a) { return a[0] != 0 ? a[1] : a[2]; });
  if (op == "Not") return elementwise(im, {&x}, DType::boolean, [](auto& a) { return a[0] == 0 ? 1.0 : 0.0; });
  if (op == "Neg" && is_int(t0)) return elementwise(im, {&x}, t0, [](auto& a) { return -a[0]; });
  if (op == "Abs" && is_int(t0)) return elementwise(im, {&x}, t0, [](auto& a) { return std::fabs(a[0]); });
  return false;
}

}  // namespace

bool try_fold(Importer& im) { return fold(im); }

}  // namespace hgc::onnx_detail
