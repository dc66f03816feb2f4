// Conv1D against a direct convolution loop (padding, stride, dilation, groups), deferred
// in_channels, repr, hybridized == imperative (1e-5 relative), training in both modes to the
// same weights, export round trip; the MSRAPrelu initializer.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "hgc/hgc.h"
#include "hgc/base/error.h"
#include "support/paths.h"
#include "support/nd_close.h"

using namespace hgc;
using namespace hgc::gluon;
using hgc::test::check_close;

namespace {

// y[n, o, j] = b[o] + sum_{c in o's group, t} w[o, c, t] * x[n, g*Cg + c, j*s + t*d - p].
std::vector<double> conv1d_ref(const NDArray& x, const NDArray& w, const NDArray* b, int64_t s, int64_t p, int64_t d,
                               int64_t groups) {
  auto xv = x.to_vector<double>(), wv = w.to_vector<double>();
  int64_t N = x.shape()[0], C = x.shape()[1], W = x.shape()[2], O = w.shape()[0], Cg = w.shape()[1], K = w.shape()[2];
  int64_t Wo = (W + 2 * p - d * (K - 1) - 1) / s + 1, Og = O / groups;
  REQUIRE(Cg * groups == C);
  std::vector<double> y(N * O * Wo);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t j = 0; j < Wo; ++j) {
        double acc = b ? b->to_vector<double>()[o] : 0;
        int64_t g = o / Og;
        for (int64_t c = 0; c < Cg; ++c)
          for (int64_t t = 0; t < K; ++t) {
            int64_t i = j * s + t * d - p;
            if (i >= 0 && i < W) acc += wv[(o * Cg + c) * K + t] * xv[(n * C + g * Cg + c) * W + i];
          }
        y[(n * O + o) * Wo + j] = acc;
      }
  return y;
}

}  // namespace

TEST_CASE("gluon Conv1D: values against a convolution loop, deferred shapes, repr, hybridized") {
  NameManager names;
  nd::random::seed(9);
  struct Case {
    int64_t channels, k, s, p, d, groups;
    bool bias;
  };
  for (const Case& c : {Case{4, 3, 1, 0, 1, 1, true}, Case{6, 3, 2, 1, 1, 1, false}, Case{4, 2, 1, 2, 2, 1, true},
                        Case{4, 3, 1, 1, 1, 2, true}}) {
    CAPTURE(c.k);
    CAPTURE(c.s);
    CAPTURE(c.groups);
    auto conv = std::make_shared<nn::Conv1D>(
        nn::Conv1DOptions(c.channels, c.k).strides(c.s).padding(c.p).dilation(c.d).groups(c.groups).use_bias(c.bias));
    CHECK(conv->weight->shape() == std::vector<int64_t>{c.channels, 0, c.k});
    conv->initialize(init::Xavier());
    if (conv->bias) conv->bias->set_data(nd::random::normal(0, 1, {c.channels}));
    NDArray x = nd::random::normal(0, 1, {2, 4, 9});
    NDArray y = (*conv)(x);
    CHECK(conv->weight->shape() == std::vector<int64_t>{c.channels, 4 / c.groups, c.k});
    NDArray bias = conv->bias ? conv->bias->data() : NDArray();
    std::vector<double> want = conv1d_ref(x, conv->weight->data(), conv->bias ? &bias : nullptr, c.s, c.p, c.d, c.groups);
    auto got = y.to_vector<float>();
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < want.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-5).scale(1));
    conv->hybridize();
    check_close((*conv)(x), y);
  }
  auto conv = std::make_shared<nn::Conv1D>(nn::Conv1DOptions(16, 3).activation("relu"));
  CHECK(conv->prefix() == "conv4_");
  CHECK(conv->repr() == "Conv1D(None -> 16, kernel_size=(3,), stride=(1,), Activation(relu))");
  auto conv2 = std::make_shared<nn::Conv1D>(nn::Conv1DOptions(8, 5).in_channels(4).padding(2).use_bias(false));
  CHECK(conv2->repr() == "Conv1D(4 -> 8, kernel_size=(5,), stride=(1,), padding=(2,), bias=False)");
  CHECK_THROWS_WITH_AS(nn::Conv1D(nn::Conv1DOptions(6, 3).groups(4)), doctest::Contains("groups"), Error);
  conv2->initialize();
  CHECK_THROWS_WITH_AS((*conv2)(nd::ones({2, 4})), doctest::Contains("Conv1D"), Error);
}

TEST_CASE("gluon Conv1D: a text-CNN-like net trains hybridized exactly as imperatively; export round trip") {
  nd::random::seed(14);
  auto make = [] {
    NameManager names;
    auto net = std::make_shared<nn::HybridSequential>();
    {
      auto scope = net->name_scope();
      net->emplace<nn::Conv1D>(nn::Conv1DOptions(6, 3).padding(1).activation("relu"));
      net->emplace<nn::Conv1D>(nn::Conv1DOptions(4, 2).activation("tanh"));
      net->emplace<nn::Flatten>();
      net->emplace<nn::Dense>(nn::DenseOptions(3));
    }
    net->initialize(init::MSRAPrelu());
    return net;
  };
  auto imp = make(), hyb = make();
  NDArray x = nd::random::normal(0, 1, {5, 2, 8});
  NDArray y = nd::array({0, 1, 2, 1, 0});
  (*imp)(x);
  (*hyb)(x);
  auto a = imp->collect_params().values(), b = hyb->collect_params().values();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) b[i]->set_data(a[i]->data());
  hyb->hybridize();
  Trainer ti(imp->collect_params(), "sgd", {{"learning_rate", 0.2}});
  Trainer th(hyb->collect_params(), "sgd", {{"learning_rate", 0.2}});
  loss::SoftmaxCrossEntropyLoss ce;
  for (int step = 0; step < 4; ++step) {
    double l2[2];
    int k = 0;
    for (auto [net, tr] : {std::pair{imp.get(), &ti}, std::pair{hyb.get(), &th}}) {
      NDArray l;
      {
        auto r = autograd::record();
        l = ce((*net)(x), y);
      }
      l.backward();
      tr->step(5);
      l2[k++] = nd::mean(l).asscalar();
    }
    INFO("step ", step, ": imperative ", l2[0], ", hybridized ", l2[1]);
    CHECK(std::abs(l2[0] - l2[1]) <= 1e-5 * (1 + l2[0]));
  }
  for (size_t i = 0; i < a.size(); ++i) {
    INFO("parameter ", a[i]->name());
    check_close(b[i]->data(), a[i]->data(), 1e-4);
  }
  CHECK(hyb->cache_stats().backward_compiles == 1);
  std::string dir = test::temp_dir();
  NDArray out = (*hyb)(x);
  hyb->export_model(dir + "/cnn1d");
  auto back = SymbolBlock::imports(dir + "/cnn1d-symbol.json", {"data"}, dir + "/cnn1d-0000.params");
  CHECK((*back)(x).to_vector<float>() == out.to_vector<float>());
  std::filesystem::remove_all(dir);
}

TEST_CASE("init: MSRAPrelu is Xavier(gaussian, magnitude 2 / (1 + slope^2)) with MXNet's defaults") {
  init::MSRAPrelu m;
  CHECK(m.dumps() == "[\"msraprelu\", {\"factor_type\": \"avg\", \"slope\": 0.25}]");
  CHECK(init::create("msraprelu")->dumps() == m.dumps());
  // The same draws as the equivalent Xavier.
  NDArray a = nd::zeros({64, 32, 3}), b = nd::zeros({64, 32, 3});
  nd::random::seed(5);
  m.init_weight("w", a);
  nd::random::seed(5);
  init::Xavier(2.0 / (1 + 0.0625)).rnd_type("gaussian").init_weight("w", b);
  CHECK(a.to_vector<float>() == b.to_vector<float>());
  // The spread: sigma = sqrt(2 / ((1 + slope^2) * factor)), factor = (fan_in + fan_out) / 2.
  double factor = (32 * 3 + 64 * 3) / 2.0, sigma = std::sqrt(2 / (1.0625 * factor));
  auto v = a.to_vector<float>();
  double ss = 0, mean = 0;
  for (float x : v) ss += double(x) * x, mean += x;
  mean /= v.size();
  double sd = std::sqrt(ss / v.size());
  CHECK(std::abs(mean) < 0.1 * sigma);
  CHECK(sd == doctest::Approx(sigma).epsilon(0.03));
  // factor_type "in" and another slope.
  NDArray c = nd::zeros({200, 100});
  init::MSRAPrelu("in", 0).init_weight("w", c);
  auto cv = c.to_vector<float>();
  ss = 0;
  for (float x : cv) ss += double(x) * x;
  CHECK(std::sqrt(ss / cv.size()) == doctest::Approx(std::sqrt(2.0 / 100)).epsilon(0.03));
  CHECK_THROWS_WITH_AS(init::MSRAPrelu("sideways"), doctest::Contains("factor_type"), Error);
  NDArray vec = nd::zeros({4});
  CHECK_THROWS_WITH_AS(m.init_weight("bias_like", vec), doctest::Contains("2D"), Error);
}
