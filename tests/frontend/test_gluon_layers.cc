// Every layer: hybridized output == imperative output (tolerance 1e-5 relative), deferred
// shapes filled by the first forward, and the layers' own behaviour.
#include <doctest/doctest.h>

#include <cmath>

#include "hgc/hgc.h"
#include "hgc/ir/op.h"
#include "support/nd_close.h"

using namespace hgc;
using namespace hgc::gluon;
using hgc::test::check_close;

namespace {

// Runs `b` on `x` imperatively, then hybridized; both must agree. Returns the output.
NDArray same_hybridized(const std::shared_ptr<HybridBlock>& b, const NDArray& x) {
  b->hybridize(false);
  NDArray imperative = (*b)(x);
  b->hybridize();
  NDArray hybrid = (*b)(x);
  check_close(hybrid, imperative);
  CHECK(b->cache_stats().misses == 1);
  b->hybridize(false);
  return imperative;
}

}  // namespace

TEST_CASE("gluon layers: activations") {
  NameManager names;
  NDArray x = nd::array({-2, -0.5, 0, 0.5, 2, 3}, {2, 3});
  auto leaky = std::make_shared<nn::LeakyReLU>(0.1);
  check_close(same_hybridized(leaky, x), nd::array({-0.2f, -0.05f, 0, 0.5, 2, 3}, {2, 3}));
  CHECK(leaky->repr() == "LeakyReLU(0.1)");
  auto elu = std::make_shared<nn::ELU>(1.0);
  NDArray e = same_hybridized(elu, x);
  CHECK(e.to_vector<float>()[0] == doctest::Approx(std::expm1(-2.0)));
  auto gelu = std::make_shared<nn::GELU>();
  NDArray g = same_hybridized(gelu, x);
  CHECK(g.to_vector<float>()[4] == doctest::Approx(0.5 * 2 * (1 + std::erf(2 / std::sqrt(2.0)))).epsilon(1e-5));
  auto selu = std::make_shared<nn::SELU>();
  same_hybridized(selu, x);
  auto prelu = std::make_shared<nn::PReLU>();
  prelu->initialize();
  check_close(same_hybridized(prelu, x), nd::array({-0.5f, -0.125f, 0, 0.5, 2, 3}, {2, 3}));
  // The block accepts exactly the op record's act_type choices (log_sigmoid and mish too).
  for (const std::string& act : OpRegistry::global().get("Activation").attr_spec("act_type")->choices)
    same_hybridized(std::make_shared<nn::Activation>(act), x);
  check_close(same_hybridized(std::make_shared<nn::Activation>("mish"), x),
              nd::array({-0.25250148f, -0.22074377f, 0, 0.37524521f, 1.94395896f, 2.98653500f}, {2, 3}));
  CHECK_THROWS_WITH_AS(nn::Activation("swishy"), doctest::Contains("swishy"), Error);
}

TEST_CASE("gluon layers: Embedding, LayerNorm, Flatten, Dropout") {
  NameManager names;
  nd::random::seed(11);
  auto emb = std::make_shared<nn::Embedding>(10, 4);
  emb->initialize();
  NDArray ids = nd::array({1, 3, 9, 0, 3, 3}, {2, 3});
  NDArray e = same_hybridized(emb, ids);
  CHECK(e.shape() == std::vector<int64_t>{2, 3, 4});
  auto w = emb->weight->data().to_vector<float>();
  auto ev = e.to_vector<float>();
  for (int k = 0; k < 4; ++k) CHECK(ev[4 + k] == w[3 * 4 + k]);
  CHECK(emb->repr() == "Embedding(10 -> 4, float32)");

  auto ln = std::make_shared<nn::LayerNorm>();
  ln->initialize();
  NDArray x = nd::random::normal(0, 2, {3, 5});
  NDArray y = same_hybridized(ln, x);
  CHECK(ln->gamma->shape() == std::vector<int64_t>{5});  // deferred in_channels
  auto yv = y.to_vector<float>();
  double m = 0;
  for (int i = 0; i < 5; ++i) m += yv[i];
  CHECK(std::abs(m / 5) < 1e-5);
  CHECK(ln->repr() == "LayerNorm(eps=1e-05, axis=-1, center=True, scale=True, in_channels=5)");

  auto fl = std::make_shared<nn::Flatten>();
  CHECK(same_hybridized(fl, nd::ones({2, 3, 4})).shape() == std::vector<int64_t>{2, 12});

  auto drop = std::make_shared<nn::Dropout>(0.5);
  NDArray ones = nd::ones({100, 100});
  check_close(same_hybridized(drop, ones), ones);  // predict mode: the identity
  {
    TrainMode train;
    NDArray d = (*drop)(ones);
    auto dv = d.to_vector<float>();
    int zeros = 0;
    for (float f : dv) {
      CHECK((f == 0.f || f == 2.f));
      zeros += f == 0.f;
    }
    CHECK(zeros > 4000);
    CHECK(zeros < 6000);
    // Hybridized: the mask is drawn outside the compiled graph, from the same generator.
    nd::random::seed(99);
    NDArray di = (*drop)(ones);
    drop->hybridize();
    nd::random::seed(99);
    check_close((*drop)(ones), di);
    CHECK(drop->cache_stats().traces == 2);  // the predict-mode graph above, this training one
  }
}

TEST_CASE("gluon layers: BatchNorm keeps running statistics and uses them to predict") {
  NameManager names;
  nd::random::seed(12);
  auto bn = std::make_shared<nn::BatchNorm>();
  bn->initialize();
  NDArray x = nd::random::normal(3, 2, {8, 4, 2, 2});
  {
    TrainMode train;
    NDArray y = (*bn)(x);  // deferred in_channels from the first (training) forward
    CHECK(bn->gamma->shape() == std::vector<int64_t>{4});
    // Batch statistics: each channel of y has mean 0.
    NDArray ch_mean = nd::mean(y, {0, 2, 3});
    for (float f : ch_mean.to_vector<float>()) CHECK(std::abs(f) < 1e-4);
  }
  NDArray batch_mean = nd::mean(x, {0, 2, 3});
  auto rm = bn->running_mean->data().to_vector<float>();
  auto bmv = batch_mean.to_vector<float>();
  for (size_t c = 0; c < 4; ++c) CHECK(rm[c] == doctest::Approx(0.1 * bmv[c]).epsilon(1e-4));
  // Predict mode: (x - running_mean) / sqrt(running_var + eps), imperative == hybridized.
  NDArray p = same_hybridized(bn, x);
  auto rv = bn->running_var->data().to_vector<float>();
  auto xv = x.to_vector<float>(), pv = p.to_vector<float>();
  CHECK(pv[0] == doctest::Approx((xv[0] - rm[0]) / std::sqrt(rv[0] + 1e-5)).epsilon(1e-4));
  CHECK(bn->repr() == "BatchNorm(axis=1, eps=1e-05, momentum=0.9, fix_gamma=False, use_global_stats=False, in_channels=4)");
  // Hybridized in training mode: batch statistics, running statistics written back.
  NDArray rm0 = bn->running_mean->data().copy(), rv0 = bn->running_var->data().copy(), yi;
  bn->hybridize(false);
  {
    TrainMode train;
    yi = (*bn)(x);
  }
  NDArray rmi = bn->running_mean->data().copy(), rvi = bn->running_var->data().copy();
  bn->running_mean->set_data(rm0);
  bn->running_var->set_data(rv0);
  bn->hybridize();
  {
    TrainMode train;
    check_close((*bn)(x), yi);
  }
  check_close(bn->running_mean->data(), rmi);
  check_close(bn->running_var->data(), rvi);
}

TEST_CASE("gluon layers: Conv2D and pooling") {
  NameManager names;
  nd::random::seed(13);
  auto conv = std::make_shared<nn::Conv2D>(nn::Conv2DOptions(6, {3, 3}).padding({1, 1}).activation("relu"));
  CHECK(conv->repr() == "Conv2D(None -> 6, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), Activation(relu))");
  conv->initialize(init::Xavier());
  NDArray x = nd::random::normal(0, 1, {2, 3, 8, 8});
  NDArray y = same_hybridized(conv, x);
  CHECK(y.shape() == std::vector<int64_t>{2, 6, 8, 8});
  CHECK(conv->weight->shape() == std::vector<int64_t>{6, 3, 3, 3});
  CHECK(conv->repr() == "Conv2D(3 -> 6, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), Activation(relu))");

  auto mp = std::make_shared<nn::MaxPool2D>(nn::Pool2DOptions({2, 2}));
  CHECK(same_hybridized(mp, y).shape() == std::vector<int64_t>{2, 6, 4, 4});
  CHECK(mp->repr() ==
        "MaxPool2D(size=(2, 2), stride=(2, 2), padding=(0, 0), ceil_mode=False, global_pool=False, pool_type=max, layout=NCHW)");
  auto ap = std::make_shared<nn::AvgPool2D>(nn::Pool2DOptions({3, 3}).strides({1, 1}).padding({1, 1}));
  CHECK(same_hybridized(ap, y).shape() == std::vector<int64_t>{2, 6, 8, 8});
  auto gp = std::make_shared<nn::GlobalAvgPool2D>();
  NDArray g = same_hybridized(gp, y);
  CHECK(g.shape() == std::vector<int64_t>{2, 6, 1, 1});
  check_close(g.reshape({2, 6}), nd::mean(y, {2, 3}));

  // The book's CNN (multi-GPU chapter) as one hybridized Sequential.
  auto net = std::make_shared<nn::HybridSequential>(BlockArgs().prefix("cnn_"));
  {
    auto s = net->name_scope();
    net->emplace<nn::Conv2D>(nn::Conv2DOptions(20, {3, 3}).activation("relu"));
    net->emplace<nn::MaxPool2D>(nn::Pool2DOptions({2, 2}).strides({2, 2}));
    net->emplace<nn::Conv2D>(nn::Conv2DOptions(50, {5, 5}).activation("relu"));
    net->emplace<nn::MaxPool2D>(nn::Pool2DOptions({2, 2}).strides({2, 2}));
    net->emplace<nn::Flatten>();
    net->emplace<nn::Dense>(nn::DenseOptions(128).activation("relu"));
    net->emplace<nn::Dense>(nn::DenseOptions(10));
  }
  net->initialize(init::Xavier());
  NDArray img = nd::random::uniform(0, 1, {2, 1, 28, 28});
  CHECK(same_hybridized(net, img).shape() == std::vector<int64_t>{2, 10});
  CHECK(net->collect_params().contains("cnn_conv0_weight"));
  CHECK(net->collect_params()["cnn_dense0_weight"]->shape() == std::vector<int64_t>{128, 800});
}

TEST_CASE("gluon layers: Conv2DTranspose is the adjoint of Conv2D with the same weight") {
  NameManager names;
  nd::random::seed(21);
  // Conv2D 3 -> 5 channels and Conv2DTranspose 5 -> 3: both weights are (5, 3, 3, 3).
  auto conv = std::make_shared<nn::Conv2D>(nn::Conv2DOptions(5, {3, 3}).strides({2, 2}).padding({1, 1}).use_bias(false));
  auto convt = std::make_shared<nn::Conv2DTranspose>(
      nn::Conv2DOptions(3, {3, 3}).strides({2, 2}).padding({1, 1}).use_bias(false).output_padding({0, 1}));
  CHECK(convt->repr() == "Conv2DTranspose(None -> 3, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), "
                         "output_padding=(0, 1), bias=False)");
  conv->initialize(init::Xavier());
  convt->initialize(init::Xavier());
  NDArray x = nd::random::normal(0, 1, {2, 3, 7, 8});
  NDArray y = nd::random::normal(0, 1, {2, 5, 4, 4});
  NDArray cx = same_hybridized(conv, x);  // (2, 5, 4, 4)
  NDArray ty = same_hybridized(convt, y);  // deferred in_channels = 5; (2, 3, 7, 8)
  REQUIRE(ty.shape() == x.shape());
  CHECK(convt->weight->shape() == conv->weight->shape());  // (5, 3, 3, 3) for both
  convt->weight->set_data(conv->weight->data());
  ty = (*convt)(y);
  CHECK(nd::sum(cx * y).asscalar() == doctest::Approx(nd::sum(x * ty).asscalar()).epsilon(1e-4));
  CHECK(convt->repr() == "Conv2DTranspose(5 -> 3, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), "
                         "output_padding=(0, 1), bias=False)");
  auto biased = std::make_shared<nn::Conv2DTranspose>(nn::Conv2DOptions(4, {2, 2}).strides({2, 2}).activation("relu"));
  biased->initialize();
  CHECK(same_hybridized(biased, y).shape() == std::vector<int64_t>{2, 4, 8, 8});
  CHECK_THROWS_AS(nn::Conv2DTranspose(nn::Conv2DOptions(4, {2, 2}).output_padding({1})), Error);
}
