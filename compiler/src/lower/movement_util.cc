// Movement lowering helpers (movement_util.h). Pure data movement is one linalg.generic whose
// input map does the work (transpose = permuted dims, slice = d*step + begin, broadcast = 0);
// gathers read their table with tensor.extract inside the body.
#include "movement_util.h"

#include "hgc/base/error.h"

namespace hgc::lower {

std::string d(int i) { return "d" + std::to_string(i); }
std::vector<std::string> parallel(size_t n) { return std::vector<std::string>(n, "parallel"); }
std::string copy_body(ScalarBuilder&, const std::vector<std::string>& a) { return a[0]; }

// out = in read through `in_map` over out's iteration space.
std::string gather_copy(KernelWriter& w, const std::string& in, const std::string& out, const std::string& in_map) {
  return w.generic({in}, {in_map}, out, "", parallel(w.shape_of(out).size()), w.type_of(out), copy_body);
}

std::string join(const std::vector<int64_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s;
}

// out[i] = x[offset + i * stride] per dim. Positive strides take a tensor.extract_slice (a
// strided view after bufferization, copied by one generic); a linalg.generic cannot read a
// larger input through a plain identity map, since loop bounds are inferred from operands.
// Negative strides gather with tensor.extract.
std::string strided_copy(KernelWriter& w, const std::string& x, const std::string& out,
                         const std::vector<int64_t>& offsets, const std::vector<int64_t>& strides) {
  Dims in = w.shape_of(x), os = w.shape_of(out);
  DType t = w.type_of(x);
  int n = static_cast<int>(in.size());
  bool positive = true;
  for (int64_t st : strides) positive = positive && st > 0;
  if (positive) {
    std::string sizes;  // symbolic dims (ids <= -2) are read off an argument at run time
    for (size_t i = 0; i < os.size(); ++i) sizes += (i ? ", " : "") + (os[i] < 0 ? w.dim_value(os[i]) : std::to_string(os[i]));
    std::string v = w.emit("tensor.extract_slice " + x + "[" + join(offsets) + "] [" + sizes + "] [" + join(strides) +
                               "] : " + tensor_type(in, t) + " to " + tensor_type(os, t),
                           os, t);
    return gather_copy(w, v, out, identity_map(n));
  }
  return w.generic({}, {}, out, "", parallel(n), t, [&](ScalarBuilder& b, auto&) {
    std::string coords;
    for (int i = 0; i < n; ++i) {
      auto idx = b.raw(KernelWriter::index_op(i));
      auto m = b.raw("arith.muli " + idx + ", " + b.raw("arith.constant " + std::to_string(strides[i]) + " : index") + " : index");
      auto c = b.raw("arith.addi " + m + ", " + b.raw("arith.constant " + std::to_string(offsets[i]) + " : index") + " : index");
      coords += (i ? ", " : "") + c;
    }
    return b.raw("tensor.extract " + x + "[" + coords + "] : " + tensor_type(in, t));
  });
}

// Converts a scalar index element (any int or float type) to `index`.
std::string to_index(ScalarBuilder& b, const std::string& v, DType t) {
  std::string iv = v;
  if (dtype_is_float(t)) iv = b.raw("arith.fptosi " + v + " : " + elem_type(t) + " to i64");
  else if (elem_type(t) != "i64") iv = b.raw("arith.extsi " + v + " : " + elem_type(t) + " to i64");
  return b.raw("arith.index_cast " + iv + " : i64 to index");
}
std::string idx_const(ScalarBuilder& b, int64_t v) { return b.raw("arith.constant " + std::to_string(v) + " : index"); }
std::string clamp_index(ScalarBuilder& b, const std::string& i, int64_t n) {
  auto lo = b.raw("arith.maxsi " + i + ", " + idx_const(b, 0) + " : index");
  return b.raw("arith.minsi " + lo + ", " + idx_const(b, n - 1) + " : index");
}
std::string wrap_index(ScalarBuilder& b, const std::string& i, int64_t n) {
  auto nn = idx_const(b, n);
  auto r = b.raw("arith.remsi " + i + ", " + nn + " : index");
  return b.raw("arith.remsi " + b.raw("arith.addi " + r + ", " + nn + " : index") + ", " + nn + " : index");
}

// take: out = a[:axis] + indices.shape + a[axis+1:]; a is read with tensor.extract.
void lower_take(const NodeCtx& c, KernelWriter& w, const std::string& a, const std::string& idx, const std::string& out,
                int axis, bool wrap) {
  const Dims& as = c.in_shapes[0];
  int ir = static_cast<int>(c.in_shapes[1].size()), orank = static_cast<int>(c.out_shapes[0].size());
  std::vector<std::string> imap;
  for (int k = 0; k < ir; ++k) imap.push_back(d(axis + k));
  DType it = c.in_types[1];
  w.result(0, w.generic({idx}, {affine_map(orank, imap)}, out, "", parallel(orank), c.out_types[0],
                        [&](ScalarBuilder& b, auto& v) {
                          auto i = to_index(b, v[0], it);
                          i = wrap ? wrap_index(b, i, as[axis]) : clamp_index(b, i, as[axis]);
                          std::string coords;
                          for (int k = 0; k < static_cast<int>(as.size()); ++k) {
                            std::string ck = k < axis ? b.raw(KernelWriter::index_op(k))
                                             : k == axis ? i
                                                         : b.raw(KernelWriter::index_op(k + ir - 1));
                            coords += (k ? ", " : "") + ck;
                          }
                          return b.raw("tensor.extract " + a + "[" + coords + "] : " + tensor_type(as, c.in_types[0]));
                        }));
}

std::vector<int64_t> tuple_entries(const std::string& text, int64_t none) {
  std::vector<int64_t> v;
  std::string t;
  for (char ch : text)
    if (ch != '(' && ch != ')' && ch != '[' && ch != ']' && ch != ' ') t += ch;
  size_t p = 0;
  while (p <= t.size() && !t.empty()) {
    size_t q = t.find(',', p);
    std::string e = t.substr(p, q == std::string::npos ? std::string::npos : q - p);
    if (!e.empty()) v.push_back(e == "None" ? none : std::stoll(e));
    if (q == std::string::npos) break;
    p = q + 1;
  }
  return v;
}

}  // namespace hgc::lower
