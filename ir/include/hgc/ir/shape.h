// Tensor shapes whose rank or dims may be unknown until shape inference.
//
//   Shape s{256, Shape::kUnknownDim};   // "(256, ?)": a deferred parameter dim
//   s.known() == false;  s.str() == "(256, ?)"
//   Shape::merge(s, Shape{256, 512});   // fills the unknown dim, false on conflict
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace hgc {

class Shape {
 public:
  static constexpr int64_t kUnknownDim = -1;

  Shape() = default;  // unknown rank
  Shape(std::initializer_list<int64_t> dims) : dims_(dims), rank_known_(true) {}
  explicit Shape(std::vector<int64_t> dims) : dims_(std::move(dims)), rank_known_(true) {}
  static Shape unknown() { return Shape(); }
  static Shape scalar() { return Shape(std::vector<int64_t>{}); }
  // A shape of `ndim` unknown dims.
  static Shape of_rank(int ndim) { return Shape(std::vector<int64_t>(ndim, kUnknownDim)); }

  bool rank_known() const { return rank_known_; }
  // Rank and every dim known.
  bool known() const;
  int ndim() const { return static_cast<int>(dims_.size()); }
  int64_t operator[](int i) const { return dims_[i]; }
  int64_t& operator[](int i) { return dims_[i]; }
  const std::vector<int64_t>& dims() const { return dims_; }
  std::vector<int64_t>& dims() { return dims_; }
  // Product of dims (1 for a scalar); only meaningful when known().
  int64_t numel() const;
  // "(2, 3)", "(3,)", "()", "(256, ?)", "?" for unknown rank.
  std::string str() const;
  // "2x3"; the CLI's form.
  std::string str_x() const;

  bool operator==(const Shape& o) const { return rank_known_ == o.rank_known_ && dims_ == o.dims_; }
  bool operator!=(const Shape& o) const { return !(*this == o); }

  // Fills what `dst` lacks from `src`. Returns false when both know a dim and they differ.
  static bool merge(Shape& dst, const Shape& src);

 private:
  std::vector<int64_t> dims_;
  bool rank_known_ = false;
};

// Normalizes a possibly negative axis against `ndim`; throws hgc::Error (component "ir",
// naming `what`) when out of range.
int normalize_axis(int64_t axis, int ndim, const std::string& what);

}  // namespace hgc
