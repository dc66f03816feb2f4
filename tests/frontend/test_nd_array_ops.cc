// mx.nd indexing, tiling, block moves, norms, special functions and ordering ops
// (nd/array_ops.h): values as MXNet 1.9 documents them, run through the compiled kernels.
#include <doctest/doctest.h>

#include <cmath>

#include "hgc/frontend/nd/array_ops.h"
#include "hgc/frontend/nd/ndarray.h"
#include "support/nd_close.h"

using namespace hgc;

namespace {
std::vector<float> vals(const NDArray& x) { return x.to_vector<float>(); }
using V = std::vector<float>;
using S = std::vector<int64_t>;
}  // namespace

TEST_CASE("nd: pick and gather_nd as in MXNet's docs") {
  NDArray x = nd::array({1, 2, 3, 4, 5, 6}, {3, 2});
  CHECK(vals(nd::pick(x, nd::array({0, 1, 0}), 1)) == V{1, 4, 5});
  CHECK(vals(nd::pick(x, nd::array({0, 1}), 0)) == V{1, 4});
  CHECK(nd::pick(x, nd::array({0, 1, 0}, {3, 1}), 1, true).shape() == S{3, 1});
  CHECK(vals(nd::pick(x, nd::array({2, -1, 3}), 1, false, "wrap")) == V{1, 4, 6});
  CHECK(vals(nd::pick(x, nd::array({2, -1, 3}), 1)) == V{2, 3, 6});  // clip
  NDArray d = nd::array({1, 2, 3, 4}, {2, 2});
  CHECK(vals(nd::gather_nd(d, nd::array({1, 1, 0, 1}, {2, 2}))) == V{3, 4});
  NDArray e = nd::array({1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 2});
  CHECK(vals(nd::gather_nd(e, nd::array({0, 1, 1, 0}, {2, 2}))) == V{3, 4, 5, 6});
}

TEST_CASE("nd: tile, repeat, flip, depth_to_space/space_to_depth, stack") {
  NDArray x = nd::array({1, 2, 3, 4}, {2, 2});
  CHECK(vals(nd::tile(x, {2, 1})) == V{1, 2, 3, 4, 1, 2, 3, 4});
  CHECK(nd::tile(x, {2, 1, 3}).shape() == S{2, 2, 6});
  CHECK(vals(nd::repeat(x, 2)) == V{1, 1, 2, 2, 3, 3, 4, 4});
  CHECK(vals(nd::repeat(x, 2, 1)) == V{1, 1, 2, 2, 3, 3, 4, 4});
  CHECK(vals(nd::repeat(x, 2, 0)) == V{1, 2, 1, 2, 3, 4, 3, 4});
  CHECK(vals(nd::flip(x, {0})) == V{3, 4, 1, 2});
  CHECK(vals(nd::reverse(x, {0, 1})) == V{4, 3, 2, 1});
  // MXNet's depth_to_space example: (1, 4, 2, 3) with block 2 -> (1, 1, 4, 6).
  NDArray deep = nd::arange(0, 24).reshape({1, 4, 2, 3});
  NDArray wide = nd::depth_to_space(deep, 2);
  CHECK(wide.shape() == S{1, 1, 4, 6});
  CHECK(vals(wide) == V{0, 6, 1, 7, 2, 8, 12, 18, 13, 19, 14, 20, 3, 9, 4, 10, 5, 11, 15, 21, 16, 22, 17, 23});
  CHECK(vals(nd::space_to_depth(wide, 2)) == vals(deep));
  CHECK(vals(nd::stack({x, x * 10.0}, 1)) == V{1, 2, 10, 20, 3, 4, 30, 40});
}

TEST_CASE("nd: shape_array, size_array (int64), eye, argmax_channel") {
  NDArray x = nd::zeros({2, 3, 4});
  NDArray s = nd::shape_array(x);
  CHECK(s.dtype() == DType::i64);
  CHECK(s.to_vector<int64_t>() == std::vector<int64_t>{2, 3, 4});
  CHECK(nd::size_array(x).to_vector<int64_t>() == std::vector<int64_t>{24});
  CHECK(vals(nd::eye(2, 3, 1)) == V{0, 1, 0, 0, 0, 1});
  CHECK(vals(nd::eye(3)) == V{1, 0, 0, 0, 1, 0, 0, 0, 1});
  CHECK(nd::eye(2, 0, 0, DType::f64).dtype() == DType::f64);
  CHECK(vals(nd::argmax_channel(nd::array({1, 3, 2, 5, 4, 0}, {2, 3}))) == V{1, 0});
}

TEST_CASE("nd: norm with ord and axis; erfinv, gamma, gammaln") {
  NDArray x = nd::array({3, -4, 1, 2, 0, -2}, {2, 3});
  test::check_close(vals(nd::norm(x)), {std::sqrt(34.f)});
  test::check_close(vals(nd::norm(x, 2, {1})), {std::sqrt(26.f), std::sqrt(8.f)});
  CHECK(vals(nd::norm(x, 1, {0})) == V{5, 4, 3});
  CHECK(nd::norm(x, 1, {1}, true).shape() == S{2, 1});
  test::check_close(vals(nd::erfinv(nd::array({0, 0.5f, -0.9f}))), {0, 0.4769362762f, -1.1630871537f});
  CHECK(std::isinf(vals(nd::erfinv(nd::array({1})))[0]));
  test::check_close(vals(nd::gamma(nd::array({0.5f, 1, 5, -0.5f}))), {std::sqrt(float(M_PI)), 1, 24, -2 * std::sqrt(float(M_PI))});
  test::check_close(vals(nd::gammaln(nd::array({1, 10, 0.25f}))), {0, std::lgamma(10.f), std::lgamma(0.25f)});
}

TEST_CASE("nd: topk, sort and argsort with MXNet's attributes") {
  NDArray x = nd::array({0.3f, 0.2f, 0.4f, 0.1f, 0.3f, 0.5f}, {2, 3});
  // MXNet's topk default: the index of the largest value per row, as float32.
  NDArray i = nd::topk(x);
  CHECK(i.dtype() == DType::f32);
  CHECK(vals(i) == V{2, 2});
  CHECK(vals(nd::topk(x, -1, 2, "value")) == V{0.4f, 0.3f, 0.5f, 0.3f});
  CHECK(vals(nd::topk(x, 0, 1, "value")) == V{0.3f, 0.3f, 0.5f});
  CHECK(vals(nd::topk(x, -1, 2, "mask")) == V{1, 0, 1, 0, 1, 1});
  CHECK(vals(nd::topk(x, -1, 1, "indices", true)) == V{1, 0});
  CHECK(nd::topk(x, -1, 2, "indices", false, DType::i32).to_vector<int32_t>() == std::vector<int32_t>{2, 0, 2, 1});
  CHECK(vals(nd::topk(x, std::nullopt, 2, "value")) == V{0.5f, 0.4f});
  auto [v, idx] = nd::topk_both(x, -1, 2);
  CHECK(vals(v) == V{0.4f, 0.3f, 0.5f, 0.3f});
  CHECK(vals(idx) == V{2, 0, 2, 1});
  CHECK(vals(nd::sort(x)) == V{0.2f, 0.3f, 0.4f, 0.1f, 0.3f, 0.5f});
  CHECK(vals(nd::sort(x, 0, false)) == V{0.3f, 0.3f, 0.5f, 0.1f, 0.2f, 0.4f});
  CHECK(vals(nd::argsort(x)) == V{1, 0, 2, 0, 1, 2});
  CHECK(vals(nd::argsort(x, std::nullopt, false)) == V{5, 2, 0, 4, 1, 3});
  // Ties keep their order (a stable sort), in both directions.
  CHECK(vals(nd::argsort(nd::array({1, 0, 1, 0}))) == V{1, 3, 0, 2});
  CHECK(vals(nd::argsort(nd::array({1, 0, 1, 0}), -1, false)) == V{0, 2, 1, 3});
  CHECK_THROWS_WITH_AS(nd::topk(x, -1, 4), doctest::Contains("larger than the axis length"), Error);
}
