// Shared by the test_api_more_*.cc tests: a finite-difference gradient check of a scalar
// function of one array.
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "hgc/frontend/autograd/autograd.h"
#include "hgc/frontend/nd/ndarray.h"

namespace hgc::test {

// d sum(f(x)) / dx by autograd against central differences (f64 when x is f64).
inline void check_grad_fd(const std::function<NDArray(const NDArray&)>& f, NDArray x, double eps = 1e-3,
                          double tol = 2e-2) {
  x = x.copy();
  x.attach_grad();
  {
    auto rec = autograd::record();
    NDArray y = nd::sum(f(x));
    y.backward();
  }
  std::vector<double> g = x.grad().astype(DType::f64).to_vector<double>();
  std::vector<double> v = x.astype(DType::f64).to_vector<double>();
  for (size_t i = 0; i < v.size(); ++i) {
    auto at = [&](double d) {
      std::vector<double> w = v;
      w[i] += d;
      std::vector<float> wf(w.begin(), w.end());
      return nd::sum(f(nd::array(wf, x.shape()).astype(x.dtype()))).astype(DType::f64).asscalar<double>();
    };
    double fd = (at(eps) - at(-eps)) / (2 * eps);
    INFO("element ", i, ": autograd ", g[i], " vs finite difference ", fd);
    CHECK(std::abs(g[i] - fd) <= tol * (1 + std::abs(fd)));
  }
}

}  // namespace hgc::test
