#include "hgc/ir/shape.h"

#include "hgc/base/error.h"

namespace hgc {

bool Shape::known() const {
  if (!rank_known_) return false;
  for (int64_t d : dims_)
    if (d < 0) return false;
  return true;
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int64_t d : dims_) n *= d;
  return n;
}

std::string Shape::str() const {
  if (!rank_known_) return "?";
  std::string s = "(";
  for (size_t i = 0; i < dims_.size(); ++i) {
    if (i) s += ", ";
    s += dims_[i] < 0 ? "?" : std::to_string(dims_[i]);
  }
  if (dims_.size() == 1) s += ",";
  return s + ")";
}

std::string Shape::str_x() const {
  if (!rank_known_) return "?";
  std::string s;
  for (size_t i = 0; i < dims_.size(); ++i) {
    if (i) s += "x";
    s += dims_[i] < 0 ? "?" : std::to_string(dims_[i]);
  }
  return s;
}

bool Shape::merge(Shape& dst, const Shape& src) {
  if (!src.rank_known_) return true;
  if (!dst.rank_known_) {
    dst = src;
    return true;
  }
  if (dst.ndim() != src.ndim()) return false;
  for (int i = 0; i < dst.ndim(); ++i) {
    if (src.dims_[i] < 0) continue;
    if (dst.dims_[i] < 0)
      dst.dims_[i] = src.dims_[i];
    else if (dst.dims_[i] != src.dims_[i])
      return false;
  }
  return true;
}

int normalize_axis(int64_t axis, int ndim, const std::string& what) {
  int64_t a = axis < 0 ? axis + ndim : axis;
  if (a < 0 || a >= ndim) fail("ir", what, ": axis ", axis, " out of range for rank ", ndim);
  return static_cast<int>(a);
}

}  // namespace hgc
