// Reference kernels of the movement_index family: slicing and gathers (MXNet 1.x
// tensor/matrix_op-inl.h slice*, tensor/indexing_op.h take/pick/gather_nd). Index inputs
// may have any dtype; a float index is truncated toward zero as MXNet's casts do.
#include <algorithm>
#include <cctype>
#include <optional>

#include "reference/ref_kernels.h"

namespace hgc::ref {
namespace {

using OptTuple = std::vector<std::optional<int64_t>>;

// slice's begin/end/step are tuples whose entries may be None: "(0, None)", "[1, 2]", "(3,)".
OptTuple parse_opt_tuple(const Ctx& c, const std::string& name) {
  std::string s = c.a.s(name);
  for (char& ch : s)
    if (ch == '(' || ch == ')' || ch == '[' || ch == ']') ch = ' ';
  OptTuple out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    std::string part = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    part.erase(std::remove_if(part.begin(), part.end(), [](unsigned char ch) { return std::isspace(ch); }),
               part.end());
    if (part == "None")
      out.push_back(std::nullopt);
    else if (!part.empty())
      out.push_back(std::stoll(part));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

int64_t to_index(double v) { return static_cast<int64_t>(v); }

// out[idx] = in[begin + idx * step] per axis; begins follow MXNet's GetIndexRange (negative
// counts from the end, then clamped into the axis in the step's direction).
void slice(Ctx& c) {
  const Arr& x = c.in[0];
  Arr& o = c.out[0];
  OptTuple begin = parse_opt_tuple(c, "begin"), step = parse_opt_tuple(c, "step");
  Dims b(x.ndim(), 0), s(x.ndim(), 1);
  for (size_t d = 0; d < begin.size(); ++d) {
    int64_t len = x.shape[d];
    s[d] = d < step.size() && step[d] ? *step[d] : 1;
    int64_t v = begin[d] ? *begin[d] : (s[d] < 0 ? len - 1 : 0);
    if (v < 0) v += len;
    if (v < 0 && s[d] > 0) v = 0;
    if (v > len - 1 && s[d] < 0) v = len - 1;
    b[d] = v;
  }
  Dims st = strides_of(x.shape);
  int64_t k = 0;
  for (Odometer it(o.shape); it.valid(); it.next(), ++k) {
    int64_t off = 0;
    for (int d = 0; d < x.ndim(); ++d) off += (b[d] + it.idx[d] * s[d]) * st[d];
    o.v[k] = x.v[off];
  }
}

void slice_axis(Ctx& c) {
  const Arr& x = c.in[0];
  int axis = c.axis(c.a.i("axis"), x.ndim());
  int64_t b = c.a.i("begin");
  if (b < 0) b += x.shape[axis];
  AxisView xv(x.shape, axis), ov(c.out[0].shape, axis);
  for (int64_t a = 0; a < ov.outer; ++a)
    for (int64_t j = 0; j < ov.len; ++j)
      for (int64_t i = 0; i < ov.inner; ++i) c.out[0].v[ov.at(a, j, i)] = x.v[xv.at(a, b + j, i)];
}

// The leading corner of data: every sliced axis starts at 0.
void slice_like(Ctx& c) {
  const Arr& x = c.in[0];
  Dims st = strides_of(x.shape);
  int64_t k = 0;
  for (Odometer it(c.out[0].shape); it.valid(); it.next(), ++k) {
    int64_t off = 0;
    for (int d = 0; d < x.ndim(); ++d) off += it.idx[d] * st[d];
    c.out[0].v[k] = x.v[off];
  }
}

// Resolves index `j` into [0, len) for mode clip / wrap / raise.
int64_t resolve(const Ctx& c, int64_t j, int64_t len, const std::string& mode) {
  if (mode == "clip") return std::clamp<int64_t>(j, 0, len - 1);
  if (mode == "wrap") return ((j % len) + len) % len;
  if (j < -len || j >= len)
    c.fail("index " + std::to_string(j) + " is out of range for axis of size " + std::to_string(len));
  return j < 0 ? j + len : j;
}

// out = a.shape[:axis] + indices.shape + a.shape[axis+1:].
void take(Ctx& c) {
  const Arr &x = c.in[0], &idx = c.in[1];
  int axis = c.axis(c.a.i("axis"), x.ndim());
  const std::string& mode = c.a.s("mode");
  AxisView xv(x.shape, axis);
  int64_t n = idx.numel();
  for (int64_t a = 0; a < xv.outer; ++a)
    for (int64_t k = 0; k < n; ++k) {
      int64_t j = resolve(c, to_index(idx.v[k]), xv.len, mode);
      for (int64_t i = 0; i < xv.inner; ++i) c.out[0].v[(a * n + k) * xv.inner + i] = x.v[xv.at(a, j, i)];
    }
}

// out[a, i] = data[a, index[a, i], i] around `axis`.
void pick(Ctx& c) {
  const Arr &x = c.in[0], &idx = c.in[1];
  AxisView xv(x.shape, c.axis(c.a.i("axis"), x.ndim()));
  const std::string& mode = c.a.s("mode");
  for (int64_t a = 0; a < xv.outer; ++a)
    for (int64_t i = 0; i < xv.inner; ++i) {
      int64_t j = resolve(c, to_index(idx.v[a * xv.inner + i]), xv.len, mode);
      c.out[0].v[a * xv.inner + i] = x.v[xv.at(a, j, i)];
    }
}

// indices (M, Y...) address the first M dims of data: out[y, rest] = data[i_0[y].., rest];
// negative indices count from the end, as MXNet's (idx + dim) % dim does.
void gather_nd(Ctx& c) {
  const Arr &x = c.in[0], &idx = c.in[1];
  int64_t m = idx.shape[0], y = idx.numel() / m;
  Dims st = strides_of(x.shape);
  int64_t rest = m < x.ndim() ? st[m - 1] : 1;
  for (int64_t k = 0; k < y; ++k) {
    int64_t off = 0;
    for (int64_t d = 0; d < m; ++d) off += resolve(c, to_index(idx.v[d * y + k]), x.shape[d], "raise") * st[d];
    for (int64_t r = 0; r < rest; ++r) c.out[0].v[k * rest + r] = x.v[off + r];
  }
}

}  // namespace

void add_movement_index_kernels(KernelTable& t) {
  t.add("slice", slice);
  t.add("slice_axis", slice_axis);
  t.add("slice_like", slice_like);
  t.add("take", take);
  t.add("pick", pick);
  t.add("gather_nd", gather_nd);
}

}  // namespace hgc::ref
