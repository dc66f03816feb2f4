// Comparing NDArrays in tests: same shape, and the largest |a - b| / (1 + |b|) within `tol`
// (relative for large values, absolute near zero).
#pragma once
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "hgc/frontend/nd/ndarray.h"

namespace hgc::test {

inline double max_rel_diff(const NDArray& a, const NDArray& b) {
  auto x = a.to_vector<float>(), y = b.to_vector<float>();
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i)
    worst = std::max(worst, std::abs(double(x[i]) - double(y[i])) / (1 + std::abs(double(y[i]))));
  return worst;
}

inline void check_close(const NDArray& a, const NDArray& b, double tol = 1e-5) {
  REQUIRE(a.shape() == b.shape());
  double worst = max_rel_diff(a, b);
  INFO("max relative diff ", worst);
  CHECK(worst <= tol);
}

// Element by element, |a - b| <= tol * (1 + |b|), naming the first elements that differ.
inline void check_close(const std::vector<float>& a, const std::vector<float>& b, double tol = 1e-5) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    INFO("element ", i, ": ", a[i], " vs ", b[i]);
    CHECK(std::abs(a[i] - b[i]) <= tol * (1 + std::abs(b[i])));
  }
}

}  // namespace hgc::test
