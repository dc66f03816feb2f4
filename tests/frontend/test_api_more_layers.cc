// nn/extra_layers.h and contrib/basic_layers.h: values against hand references (imperative
// and hybridized), gradients against finite differences, errors on bad input.
#include <doctest/doctest.h>

#include <cmath>

#include "api_more_util.h"
#include "hgc/frontend/gluon/contrib/basic_layers.h"
#include "hgc/frontend/gluon/nn/extra_layers.h"
#include "hgc/frontend/nd/array_ops.h"
#include "support/nd_close.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {
using V = std::vector<float>;
using S = std::vector<int64_t>;
std::vector<float> vals(const NDArray& x) { return x.to_vector<float>(); }
}  // namespace

TEST_CASE("nn: Lambda, Swish, BatchNormReLU") {
  nn::Lambda twice([](const NDArray& x) { return x * 2; }, "twice");
  CHECK(vals(twice(nd::array({1, -2}))) == V{2, -4});
  CHECK(twice.repr() == "Lambda(twice)");
  CHECK_THROWS_AS(nn::Lambda(nullptr), Error);

  auto sw = std::make_shared<nn::Swish>(2.0);
  NDArray x = nd::array({-1, 0, 0.5f, 3});
  std::vector<float> want;
  for (float v : vals(x)) want.push_back(float(v / (1 + std::exp(-2.0 * v))));
  test::check_close(vals((*sw)(x)), want, 1e-5);
  sw->hybridize();
  test::check_close(vals((*sw)(x)), want, 1e-5);
  test::check_grad_fd([&](const NDArray& a) { return (*std::make_shared<nn::Swish>(2.0))(a); }, x);

  auto bn = std::make_shared<nn::BatchNormReLU>();
  bn->initialize();
  NDArray y = (*bn)(nd::array({-1, 2, 3, -4}, {1, 4, 1, 1}));  // predict mode: running stats 0 / 1
  std::vector<float> yv = vals(y);
  CHECK(yv[0] == 0);
  CHECK(yv[1] == doctest::Approx(2 / std::sqrt(1 + 1e-5)));
  CHECK(yv[3] == 0);
  CHECK(bn->repr().rfind("BatchNormReLU(axis=1", 0) == 0);
}

TEST_CASE("nn: ReflectionPad2D matches numpy's reflect") {
  auto pad = std::make_shared<nn::ReflectionPad2D>(std::array<int64_t, 4>{1, 2, 2, 1});
  NDArray x = nd::arange(0, 9).reshape({1, 1, 3, 3});
  NDArray y = (*pad)(x);
  REQUIRE(y.shape() == S{1, 1, 6, 6});
  // numpy.pad(arange(9).reshape(3, 3), ((1, 2), (2, 1)), "reflect")
  CHECK(vals(y) == V{5, 4, 3, 4, 5, 4, 2, 1, 0, 1, 2, 1, 5, 4, 3, 4, 5, 4, 8, 7, 6, 7, 8, 7, 5, 4, 3, 4, 5, 4,
                     2, 1, 0, 1, 2, 1});
  pad->hybridize();
  CHECK(vals((*pad)(x)) == vals(y));
  test::check_grad_fd([](const NDArray& a) { return (*std::make_shared<nn::ReflectionPad2D>(1))(a) * nd::arange(0, 25).reshape({1, 1, 5, 5}); },
                      nd::random::uniform(-1, 1, {1, 1, 3, 3}));
  CHECK_THROWS_AS((*std::make_shared<nn::ReflectionPad2D>(3))(x), Error);
  CHECK_THROWS_AS(nn::ReflectionPad2D(-1), Error);
}

TEST_CASE("nn: Conv1DTranspose is the adjoint of Conv1D") {
  // <conv(x), y> == <x, convT(y)> with the same weight.
  auto conv = std::make_shared<nn::Conv1D>(nn::Conv1DOptions(3, 3).strides(2).padding(1).in_channels(2).use_bias(false));
  auto convt = std::make_shared<nn::Conv1DTranspose>(nn::Conv1DOptions(2, 3).strides(2).padding(1).in_channels(3).use_bias(false), 1);
  conv->initialize(init::Normal(1));
  convt->initialize();
  convt->weight->set_data(conv->weight->data());
  NDArray x = nd::random::normal(0, 1, {1, 2, 8}), y = nd::random::normal(0, 1, {1, 3, 4});
  NDArray cx = (*conv)(x), ty = (*convt)(y);
  REQUIRE(cx.shape() == S{1, 3, 4});
  REQUIRE(ty.shape() == S{1, 2, 8});  // 2 * 3 + 3 - 2 + 1
  CHECK(nd::sum(cx * y).asscalar<float>() == doctest::Approx(nd::sum(x * ty).asscalar<float>()).epsilon(1e-4));
  auto deferred = std::make_shared<nn::Conv1DTranspose>(nn::Conv1DOptions(4, 2));
  deferred->initialize();
  CHECK((*deferred)(nd::ones({2, 3, 5})).shape() == S{2, 4, 6});
  CHECK(deferred->weight->shape() == S{3, 4, 2});
  CHECK_THROWS_AS((*deferred)(nd::ones({2, 3})), Error);
}

TEST_CASE("contrib.nn: Identity, Concurrent, HybridConcurrent, SparseEmbedding") {
  NDArray x = nd::array({1, 2, 3, 4}, {2, 2});
  CHECK(vals((*std::make_shared<contrib::nn::Identity>())(x)) == vals(x));
  auto cc = std::make_shared<contrib::nn::Concurrent>(1);
  cc->add(std::make_shared<contrib::nn::Identity>());
  cc->add(std::make_shared<nn::Lambda>([](const NDArray& a) { return a * 10; }));
  CHECK(vals((*cc)(x)) == V{1, 2, 10, 20, 3, 4, 30, 40});
  CHECK_THROWS_AS((*std::make_shared<contrib::nn::Concurrent>())(x), Error);
  auto hc = std::make_shared<contrib::nn::HybridConcurrent>(0);
  hc->add(std::make_shared<contrib::nn::Identity>());
  hc->add(std::make_shared<contrib::nn::Identity>());
  CHECK((*hc)(x).shape() == S{4, 2});
  auto emb = std::make_shared<contrib::nn::SparseEmbedding>(5, 2);
  emb->initialize(init::Constant(0.5));
  NDArray ids = nd::array({1, 3});
  NDArray out;
  {
    auto rec = autograd::record();
    out = (*emb)(ids);
    out.backward();
  }
  CHECK(out.shape() == S{2, 2});
  CHECK(vals(emb->weight->grad()) == V{0, 0, 1, 1, 0, 0, 1, 1, 0, 0});
}

TEST_CASE("contrib.nn: PixelShuffle1D/2D/3D move channels into space") {
  auto p1 = std::make_shared<contrib::nn::PixelShuffle1D>(2);
  // (1, 4, 2): channel c*2 + i lands at position w*2 + i of channel c
  NDArray x1 = nd::arange(0, 8).reshape({1, 4, 2});
  CHECK(vals((*p1)(x1)) == V{0, 2, 1, 3, 4, 6, 5, 7});
  auto p2 = std::make_shared<contrib::nn::PixelShuffle2D>(2);
  NDArray x2 = nd::arange(0, 4).reshape({1, 4, 1, 1});
  NDArray y2 = (*p2)(x2);
  CHECK(y2.shape() == S{1, 1, 2, 2});
  CHECK(vals(y2) == V{0, 1, 2, 3});
  NDArray big = nd::random::uniform(0, 1, {2, 8, 3, 3});
  NDArray yb = (*p2)(big);
  CHECK(yb.shape() == S{2, 2, 6, 6});
  // out[n, c, h*2 + i, w*2 + j] = in[n, c*4 + i*2 + j, h, w]
  std::vector<float> bv = vals(big), ybv = vals(yb);
  CHECK(ybv[((1 * 2 + 1) * 6 + (2 * 2 + 1)) * 6 + (0 * 2 + 0)] == bv[((1 * 8 + 1 * 4 + 1 * 2 + 0) * 3 + 2) * 3 + 0]);
  p2->hybridize();
  CHECK(vals((*p2)(big)) == ybv);
  auto p3 = std::make_shared<contrib::nn::PixelShuffle3D>(std::array<int64_t, 3>{1, 2, 1});
  NDArray x3 = nd::arange(0, 4).reshape({1, 2, 1, 1, 2});
  NDArray y3 = (*p3)(x3);
  CHECK(y3.shape() == S{1, 1, 1, 2, 2});
  CHECK(vals(y3) == V{0, 1, 2, 3});
  CHECK_THROWS_AS((*p2)(nd::zeros({1, 3, 2, 2})), Error);
  CHECK_THROWS_AS(contrib::nn::PixelShuffle1D(0), Error);
  test::check_grad_fd([](const NDArray& a) { return (*std::make_shared<contrib::nn::PixelShuffle1D>(2))(a) *
                                                    nd::arange(0, 8).reshape({1, 2, 4}); },
                      nd::random::uniform(-1, 1, {1, 4, 2}));
}
