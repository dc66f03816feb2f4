// Helpers of the dynamic-shape tests (tests/frontend/test_hybrid_dynamic*.cc): compile options
// with an empty kernel cache of their own (so compiles can be counted), and the largest
// absolute difference of two arrays of one shape.
#pragma once
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "hgc/base/compile_options.h"
#include "hgc/frontend/nd/ndarray.h"

namespace hgc::test {

inline CompileOptions fresh_cache(const std::string& tag) {
  std::string dir = (std::filesystem::temp_directory_path() / ("hgc-dyn-" + tag + "-" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  CompileOptions o;
  o.cache_dir = dir;
  o.memory_cache = false;
  return o;
}

inline double max_diff(const NDArray& a, const NDArray& b) {
  REQUIRE(a.shape() == b.shape());
  std::vector<float> u = a.to_vector<float>(), v = b.to_vector<float>();
  double worst = 0;
  for (size_t i = 0; i < u.size(); ++i) worst = std::max(worst, double(std::abs(u[i] - v[i])));
  return worst;
}

}  // namespace hgc::test
