// transforms_more.h: rotations against hand-worked pixel moves, hue/lighting against the
// formulas, crop windows, random draws reproducible with a seed; errors on bad input.
#include <doctest/doctest.h>

#include <cmath>

#include "hgc/frontend/gluon/data/vision/transforms_more.h"
#include "support/nd_close.h"

using namespace hgc;
using namespace hgc::gluon::data;

namespace {
using V = std::vector<float>;
using S = std::vector<int64_t>;
std::vector<float> vals(const NDArray& x) { return x.to_vector<float>(); }
}  // namespace

TEST_CASE("transforms: Rotate moves pixels as imrotate does") {
  NDArray x = nd::arange(0, 9).reshape({1, 3, 3});
  test::check_close(vals(transforms::Rotate(0)(x)), vals(x), 1e-5);
  // 90 degrees: out[y][x] = in[x][2 - y]
  std::vector<float> in = vals(x), want(9);
  for (int y = 0; y < 3; ++y)
    for (int c = 0; c < 3; ++c) want[y * 3 + c] = in[c * 3 + (2 - y)];
  test::check_close(vals(transforms::Rotate(90)(x)), want, 1e-5);
  std::vector<float> r180 = vals(transforms::Rotate(180)(x));
  for (int i = 0; i < 9; ++i) CHECK(r180[i] == doctest::Approx(8 - i).epsilon(1e-5).scale(1));
  // 45 degrees: the corners fall outside and read zeros partly; the center stays.
  std::vector<float> r45 = vals(transforms::Rotate(45)(x));
  CHECK(r45[4] == doctest::Approx(4));
  CHECK(r45[0] < in[0] + 4);
  // zoom_out keeps the whole image inside: a constant image darkens at the corners only
  NDArray ones = nd::ones({2, 1, 5, 5});
  std::vector<float> zo = vals(transforms::Rotate(30, false, true)(ones));
  CHECK(zo[12] == doctest::Approx(1));
  CHECK(zo[0] < 1);
  std::vector<float> zi = vals(transforms::Rotate(30, true)(ones));
  for (int i = 0; i < 25; ++i) CHECK(zi[i] == doctest::Approx(1).epsilon(1e-4));  // no padding shows
  CHECK_THROWS_AS(transforms::Rotate(10)(nd::ones({3, 3, 3}, DType::u8)), Error);
  CHECK_THROWS_AS(transforms::Rotate(10, true, true), Error);
}

TEST_CASE("transforms: RandomRotation draws from the limits") {
  NDArray x = nd::random::uniform(0, 1, {4, 1, 5, 5});
  nd::random::seed(3);
  NDArray a = transforms::RandomRotation({-30, 30})(x);
  nd::random::seed(3);
  nd::random::uniform(0, 1, {1}, DType::f64);  // the rotate_with_proba draw
  double deg = nd::random::uniform(-30, 30, {1}, DType::f64).asscalar<double>();
  test::check_close(vals(a[0]), vals(transforms::Rotate(deg)(x[0])), 1e-5);
  CHECK(vals(transforms::RandomRotation({-30, 30}, false, false, 0.0)(x)) == vals(x));
  CHECK_THROWS_AS(transforms::RandomRotation({30, -30}), Error);
}

TEST_CASE("transforms: CropResize") {
  NDArray img = nd::arange(0, 48).reshape({4, 4, 3});
  NDArray c = transforms::CropResize(1, 2, 2, 1)(img);
  CHECK(c.shape() == S{1, 2, 3});
  CHECK(vals(c) == V{27, 28, 29, 30, 31, 32});  // row 2, columns 1..2
  CHECK(transforms::CropResize(0, 0, 2, 2, std::make_pair(int64_t(4), int64_t(6)))(img).shape() == S{6, 4, 3});
  CHECK(transforms::CropResize(0, 0, 2, 2)(nd::zeros({5, 4, 4, 3})).shape() == S{5, 2, 2, 3});
  CHECK_THROWS_AS(transforms::CropResize(3, 0, 2, 2)(img), Error);
}

TEST_CASE("transforms: adjust_hue / RandomHue keep lightness and saturation") {
  NDArray red = nd::array({255, 0, 0, 10, 200, 60}, {1, 2, 3});
  std::vector<float> g = vals(transforms::adjust_hue(red, 1.0 / 3));
  CHECK(g[0] == doctest::Approx(0).scale(1));
  CHECK(g[1] == doctest::Approx(255));
  CHECK(g[2] == doctest::Approx(0).scale(1));
  test::check_close(vals(transforms::adjust_hue(red, 1.0)), vals(red), 1e-5);  // a full turn
  NDArray img = nd::random::uniform(0, 255, {3, 3, 3});
  std::vector<float> a = vals(img), b = vals(transforms::RandomHue(0.4)(img));
  for (int p = 0; p < 9; ++p) {
    float mx = std::max({a[3 * p], a[3 * p + 1], a[3 * p + 2]}), mn = std::min({a[3 * p], a[3 * p + 1], a[3 * p + 2]});
    float mx2 = std::max({b[3 * p], b[3 * p + 1], b[3 * p + 2]}), mn2 = std::min({b[3 * p], b[3 * p + 1], b[3 * p + 2]});
    CHECK(mx + mn == doctest::Approx(mx2 + mn2).epsilon(1e-3));  // lightness
    CHECK(mx - mn == doctest::Approx(mx2 - mn2).epsilon(1e-3));  // chroma
  }
  NDArray u8 = nd::array({255, 0, 0}, {1, 1, 3}, DType::u8);
  CHECK(transforms::RandomHue(0.1)(u8).dtype() == DType::u8);
  CHECK_THROWS_AS(transforms::adjust_hue(nd::zeros({2, 2, 1}), 0.1), Error);
  CHECK_THROWS_AS(transforms::RandomHue(-1), Error);
}

TEST_CASE("transforms: adjust_lighting / RandomLighting add the PCA offset") {
  NDArray img = nd::full({2, 2, 3}, 100);
  std::vector<float> l = vals(transforms::adjust_lighting(img, {0.1, 0, 0}));
  CHECK(l[0] == doctest::Approx(100 + 5.546 * -0.5675).epsilon(1e-5));
  CHECK(l[1] == doctest::Approx(100 + 5.546 * -0.5808).epsilon(1e-5));
  CHECK(l[11] == doctest::Approx(100 + 5.546 * -0.5836).epsilon(1e-5));
  std::vector<float> l2 = vals(transforms::adjust_lighting(img, {0, 0, 1}));
  CHECK(l2[1] == doctest::Approx(100 + 1.148 * -0.8140).epsilon(1e-5));
  nd::random::seed(5);
  NDArray r = transforms::RandomLighting(0.1)(img);
  nd::random::seed(5);
  std::vector<double> al = nd::random::normal(0, 0.1, {3}, DType::f64).to_vector<double>();
  test::check_close(vals(r), vals(transforms::adjust_lighting(img, {al[0], al[1], al[2]})), 1e-6);
  CHECK(vals(transforms::RandomLighting(0)(img)) == vals(img));
  CHECK_THROWS_AS(transforms::RandomLighting(-0.1), Error);
}

TEST_CASE("transforms: RandomApply applies with probability p") {
  NDArray x = nd::ones({2, 2, 1});
  transforms::RandomApply always({transforms::Cast(DType::f64)}, 1.0), never({transforms::Cast(DType::f64)}, 0.0);
  CHECK(always(x).dtype() == DType::f64);
  CHECK(never(x).dtype() == DType::f32);
  transforms::RandomApply half({[](const NDArray& a) { return a * 2; }}, 0.5);
  nd::random::seed(9);
  int applied = 0;
  for (int i = 0; i < 400; ++i) applied += half(x).to_vector<float>()[0] == 2;
  CHECK(applied > 150);
  CHECK(applied < 250);
  CHECK_THROWS_AS(transforms::RandomApply({}, 1.5), Error);
}
