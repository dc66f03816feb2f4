// Helpers shared by the nn, matmul, movement and rnn family files, and the entry points of
// the files that register_nn / register_movement call (so families.h stays untouched).
//
//   int ax = util::axis(c, a.i("axis"), d.ndim());     // errors name the node and op
//   int64_t k = util::prod(d, 1, d.ndim());           // kUnknownDim if any dim is unknown
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "families.h"
#include "hgc/base/error.h"
#include "hgc/ir/shape.h"

namespace hgc::ops {

void register_nn_norm(OpRegistry& r);         // nn_norm.cc
void register_nn_conv(OpRegistry& r);         // nn_conv.cc
void register_nn_resize(OpRegistry& r);       // nn_resize.cc
void register_matmul(OpRegistry& r);          // matmul.cc
void register_movement_index(OpRegistry& r);  // movement_index.cc

namespace util {

inline bool known(int64_t d) { return d >= 0; }

// Product of dims [b, e); kUnknownDim when any of them is unknown.
inline int64_t prod(const Shape& s, int b, int e) {
  int64_t p = 1;
  for (int i = b; i < e; ++i) {
    if (s[i] < 0) return Shape::kUnknownDim;
    p *= s[i];
  }
  return p;
}

// An attribute tuple as MXNet spells it: "(3, -1)".
inline std::string str(const std::vector<int64_t>& v) { return format_attr(AttrValue(v)); }

// Normalizes `a` against `ndim` (accepting -ndim..ndim-1); a bad axis is a user error that
// must name the node, so it goes through the context.
template <typename Ctx>
int axis(const Ctx& c, int64_t a, int ndim, const std::string& what = "axis") {
  int64_t r = a < 0 ? a + ndim : a;
  if (r < 0 || r >= ndim)
    c.error(what + "=" + std::to_string(a) + " is out of range for rank " + std::to_string(ndim));
  return static_cast<int>(r);
}

// Copy of `s` with `n` dims inserted/removed: s[0:i] + mid + s[j:].
inline Shape splice(const Shape& s, int i, int j, const std::vector<int64_t>& mid) {
  std::vector<int64_t> d(s.dims().begin(), s.dims().begin() + i);
  d.insert(d.end(), mid.begin(), mid.end());
  d.insert(d.end(), s.dims().begin() + j, s.dims().end());
  return Shape(d);
}

// dtype rule for ops whose outputs take the first input's dtype while the other inputs
// (indices, lengths) keep whatever dtype they have — MXNet's take/pick/gather_nd rules.
inline bool type_like_first(TypeCtx& c) {
  DType t = c.in[0];
  for (DType o : c.out) {
    if (o == DType::unknown) continue;
    if (t == DType::unknown)
      t = o;
    else if (t != o)
      c.error("dtypes disagree: " + dtype_name(t) + " vs " + dtype_name(o));
  }
  if (t == DType::unknown) return false;
  c.in[0] = t;
  for (DType& o : c.out) o = t;
  return true;
}

// Outputs take the first input's dtype; the other inputs only lend shapes or indices and keep
// their own dtypes, defaulting to the first's (count_sketch's h and s, Crop's crop_like).
inline bool type_like_first_others_default(TypeCtx& c) {
  std::vector<DType> one = {c.in[0]};
  TypeCtx sub{c.attrs, one, c.out};
  if (!type_like_first(sub)) return false;
  c.in[0] = one[0];
  for (size_t i = 1; i < c.in.size(); ++i)
    if (c.in[i] == DType::unknown) c.in[i] = one[0];
  return true;
}

// Output-name lists.
inline NamesFn names(Names n) {
  return [n](const AttrView&) { return n; };
}

}  // namespace util
}  // namespace hgc::ops
