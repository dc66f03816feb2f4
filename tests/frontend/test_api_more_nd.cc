// The legacy-named mx.nd functions (nd/legacy_ops.h): values against hand-computed
// references, gradients against finite differences, errors on bad input.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "api_more_util.h"
#include "hgc/frontend/nd/legacy_ops.h"
#include "support/nd_close.h"

using namespace hgc;

namespace {
using V = std::vector<float>;
using S = std::vector<int64_t>;
std::vector<float> vals(const NDArray& x) { return x.to_vector<float>(); }
}  // namespace

TEST_CASE("nd legacy: Pooling max/avg/global and its gradient") {
  NDArray x = nd::arange(0, 16).reshape({1, 1, 4, 4});
  CHECK(vals(nd::Pooling(x, {2, 2}, "max", {2, 2})) == V{5, 7, 13, 15});
  CHECK(vals(nd::Pooling(x, {2, 2}, "avg", {2, 2})) == V{2.5, 4.5, 10.5, 12.5});
  CHECK(vals(nd::Pooling(x, {2, 2}, "sum", {2, 2})) == V{10, 18, 42, 50});
  NDArray g = nd::Pooling(x, {1, 1}, "avg", {}, {}, true);
  CHECK(g.shape() == S{1, 1, 1, 1});
  CHECK(vals(g) == V{7.5});
  CHECK(nd::Pooling(x, {3, 3}, "max", {2, 2}, {}, false, "full").shape() == S{1, 1, 2, 2});
  test::check_grad_fd([](const NDArray& a) { return nd::Pooling(a, {2, 2}, "avg", {1, 1}); },
                      nd::random::uniform(-1, 1, {1, 1, 3, 3}));
  CHECK_THROWS_AS(nd::Pooling(x, {2, 2}, "median"), Error);
}

TEST_CASE("nd legacy: SoftmaxActivation instance and channel") {
  NDArray x = nd::array({1, 2, 3, 4, 0, 0}, {2, 3});
  std::vector<float> r = vals(nd::SoftmaxActivation(x));
  double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  CHECK(r[0] == doctest::Approx(std::exp(1.0) / z).epsilon(1e-5));
  CHECK(r[4] == doctest::Approx(std::exp(0.0) / (std::exp(4.0) + 2)).epsilon(1e-5));
  NDArray c = nd::SoftmaxActivation(nd::array({0, 1, 2, 3}, {1, 2, 2}), "channel");
  std::vector<float> cv = vals(c);  // over axis 1: pairs (0, 2) and (1, 3)
  CHECK(cv[0] + cv[2] == doctest::Approx(1));
  CHECK(cv[2] == doctest::Approx(1 / (1 + std::exp(-2.0))).epsilon(1e-5));
  CHECK_THROWS_AS(nd::SoftmaxActivation(x, "channel"), Error);  // rank < 3
}

TEST_CASE("nd legacy: abs, square, broadcast and elemwise arithmetic") {
  NDArray a = nd::array({-1, 2, -3, 4}, {2, 2}), row = nd::array({2, 4}, {1, 2});
  CHECK(vals(nd::abs(a)) == V{1, 2, 3, 4});
  CHECK(vals(nd::square(a)) == V{1, 4, 9, 16});
  CHECK(vals(nd::broadcast_div(a, row)) == V{-0.5, 0.5, -1.5, 1});
  CHECK(vals(nd::broadcast_mul(a, row)) == V{-2, 8, -6, 16});
  CHECK(vals(nd::broadcast_sub(a, row)) == V{-3, -2, -5, 0});
  CHECK(vals(nd::broadcast_add(a, row)) == V{1, 6, -1, 8});
  CHECK(vals(nd::elemwise_add(a, a)) == V{-2, 4, -6, 8});
  CHECK(vals(nd::elemwise_mul(a, a)) == V{1, 4, 9, 16});
  CHECK_THROWS_AS(nd::elemwise_add(a, row), Error);
  CHECK_THROWS_AS(nd::broadcast_mul(a, nd::ones({3})), Error);
  test::check_grad_fd([&](const NDArray& x) { return nd::broadcast_div(x, row); }, a);
  test::check_grad_fd([&](const NDArray& x) { return nd::square(x) + nd::elemwise_add(x, x); }, a);
}

TEST_CASE("nd legacy: nansum skips NaN, with its gradient") {
  float nan = std::numeric_limits<float>::quiet_NaN();
  NDArray x = nd::array({1, nan, 3, 4}, {2, 2});
  CHECK(vals(nd::nansum(x)) == V{8});
  CHECK(vals(nd::nansum(x, {1})) == V{1, 7});
  x.attach_grad();
  {
    auto rec = autograd::record();
    nd::nansum(x).backward();
  }
  CHECK(vals(x.grad()) == V{1, 0, 1, 1});
}

TEST_CASE("nd legacy: split, concatenate") {
  NDArray x = nd::arange(0, 12).reshape({2, 6});
  auto parts = nd::split(x, 3, 1);
  REQUIRE(parts.size() == 3);
  CHECK(vals(parts[1]) == V{2, 3, 8, 9});
  auto rows = nd::split(x, 2, 0, true);
  CHECK(rows[1].shape() == S{6});
  CHECK(vals(nd::concatenate({rows[1], rows[0]})) == V{6, 7, 8, 9, 10, 11, 0, 1, 2, 3, 4, 5});
  CHECK(nd::concatenate({x, x}).shape() == S{4, 6});
  CHECK(nd::concatenate({x, x}, 1).shape() == S{2, 12});
  CHECK_THROWS_AS(nd::split(x, 4, 1), Error);
  CHECK_THROWS_AS(nd::concatenate({}), Error);
}

TEST_CASE("nd legacy: random_normal/uniform moments, sample_multinomial frequencies, waitall") {
  nd::random::seed(7);
  NDArray n = nd::random_normal(2, 3, {20000});
  CHECK(nd::mean(n).asscalar<float>() == doctest::Approx(2).epsilon(0.05));
  double var = nd::mean(nd::square(n - 2)).asscalar<float>();
  CHECK(std::sqrt(var) == doctest::Approx(3).epsilon(0.03));
  NDArray u = nd::random_uniform(-1, 3, {20000});
  CHECK(nd::min(u).asscalar<float>() >= -1);
  CHECK(nd::max(u).asscalar<float>() <= 3);
  CHECK(nd::mean(u).asscalar<float>() == doctest::Approx(1).epsilon(0.05));
  CHECK_THROWS_AS(nd::random_uniform(1, 0), Error);
  NDArray p = nd::array({0.1f, 0.6f, 0.3f, 1.0f, 0.0f, 0.0f}, {2, 3});
  NDArray s = nd::sample_multinomial(p, {10000});
  CHECK(s.shape() == S{2, 10000});
  CHECK(s.dtype() == DType::i32);
  std::vector<int32_t> sv = s.to_vector<int32_t>();
  double c[3] = {0, 0, 0};
  for (int i = 0; i < 10000; ++i) c[sv[i]] += 1e-4;
  CHECK(c[0] == doctest::Approx(0.1).epsilon(0.1));
  CHECK(c[1] == doctest::Approx(0.6).epsilon(0.05));
  for (int i = 10000; i < 20000; ++i) CHECK(sv[i] == 0);
  CHECK(nd::sample_multinomial(p).shape() == S{2});
  CHECK_THROWS_AS(nd::sample_multinomial(nd::array({0.5f, 0.6f})), Error);
  nd::waitall();
}
