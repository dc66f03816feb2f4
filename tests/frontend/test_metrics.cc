// Metrics against hand computations with MXNet 1.9's update/get/reset semantics: TopKAccuracy,
// CrossEntropy, Perplexity (ignore_label, class axis), F1 macro (mean of batch F1s) and micro
// (F1 of summed counts), RMSE (mean of batch RMSEs), and bad input.
#include <doctest/doctest.h>

#include <cmath>

#include "hgc/hgc.h"
#include "hgc/base/error.h"

using namespace hgc;
using namespace hgc::gluon;

TEST_CASE("metrics: TopKAccuracy counts labels among the k best classes") {
  metric::TopKAccuracy top2(2);
  CHECK(std::isnan(top2.get().second));
  top2.update(nd::array({2, 2, 0}), nd::array({0.1f, 0.5f, 0.4f, 0.6f, 0.3f, 0.1f, 0.2f, 0.2f, 0.6f}, {3, 3}));
  CHECK(top2.get().first == "top_k_accuracy_2");
  CHECK(top2.get().second == doctest::Approx(2.0 / 3));  // row 1's label is third
  top2.update(nd::array({1}), nd::array({0.1f, 0.2f, 0.7f}, {1, 3}));
  CHECK(top2.get().second == doctest::Approx(3.0 / 4));
  top2.reset();
  CHECK(std::isnan(top2.get().second));
  metric::TopKAccuracy top5(5);  // more than the classes: every label is inside
  top5.update(nd::array({0, 2}), nd::array({0.9f, 0.05f, 0.05f, 0.9f, 0.05f, 0.05f}, {2, 3}));
  CHECK(top5.get().second == 1);
  CHECK_THROWS_WITH_AS(metric::TopKAccuracy(1), doctest::Contains("use Accuracy"), hgc::Error);
  CHECK_THROWS_WITH_AS(top2.update(nd::array({3}), nd::array({0.1f, 0.2f, 0.7f}, {1, 3})),
                       doctest::Contains("[0, 3)"), hgc::Error);
}

TEST_CASE("metrics: CrossEntropy and Perplexity") {
  metric::CrossEntropy ce;
  ce.update(nd::array({1, 1}), nd::array({0.2f, 0.8f, 0.6f, 0.4f}, {2, 2}));
  CHECK(ce.get().second == doctest::Approx(-(std::log(0.8) + std::log(0.4)) / 2));
  ce.update(nd::array({0}), nd::array({0.5f, 0.5f}, {1, 2}));
  CHECK(ce.get().second == doctest::Approx(-(std::log(0.8) + std::log(0.4) + std::log(0.5)) / 3));
  CHECK(ce.get().first == "cross-entropy");
  CHECK_THROWS_WITH_AS(ce.update(nd::array({1, 0, 1}), nd::array({0.2f, 0.8f, 0.6f, 0.4f}, {2, 2})),
                       doctest::Contains("3 labels for 2"), hgc::Error);

  NDArray p = nd::array({0.2f, 0.8f, 0.6f, 0.4f, 0.5f, 0.5f}, {3, 2});
  metric::Perplexity ppl;
  ppl.update(nd::array({1, 0, 1}), p);
  CHECK(ppl.get().second == doctest::Approx(std::exp(-(std::log(0.8) + std::log(0.6) + std::log(0.5)) / 3)));
  metric::Perplexity ignoring(0.0);  // ignore_label 0: the second sample drops out
  ignoring.update(nd::array({1, 0, 1}), p);
  CHECK(ignoring.get().second == doctest::Approx(std::exp(-(std::log(0.8) + std::log(0.5)) / 2)));
  metric::Perplexity axis0(std::nullopt, 0);
  axis0.update(nd::array({1, 0, 1}), p.T());
  CHECK(axis0.get().second == doctest::Approx(ppl.get().second));
  CHECK_THROWS_WITH_AS(ppl.update(nd::array({1, 0}), p), doctest::Contains("2 labels"), hgc::Error);
}

TEST_CASE("metrics: F1 macro averages batch F1s, micro pools the counts") {
  NDArray p1 = nd::array({0.1f, 0.9f, 0.8f, 0.2f, 0.3f, 0.7f, 0.6f, 0.4f}, {4, 2});  // predicts 1, 0, 1, 0
  NDArray l1 = nd::array({1, 1, 0, 0});                                               // tp 1, fp 1, fn 1: F1 0.5
  NDArray p2 = nd::array({0.2f, 0.8f, 0.9f, 0.1f}, {2, 2});                           // predicts 1, 0
  NDArray l2 = nd::array({1, 0});                                                     // tp 1: F1 1
  metric::F1 macro, micro("micro");
  for (auto* m : {&macro, &micro}) {
    m->update(l1, p1);
    CHECK(m->get().second == doctest::Approx(0.5));
    m->update(l2, p2);
  }
  CHECK(macro.get().second == doctest::Approx(0.75));
  CHECK(micro.get().second == doctest::Approx(2.0 / 3));  // tp 2, fp 1, fn 1
  CHECK(micro.get().first == "f1");
  micro.reset();
  CHECK(std::isnan(micro.get().second));
  micro.update(nd::array({0, 0}), nd::array({0.9f, 0.1f, 0.8f, 0.2f}, {2, 2}));  // no positives: 0
  CHECK(micro.get().second == 0);
  CHECK_THROWS_WITH_AS(metric::F1("weighted"), doctest::Contains("macro"), hgc::Error);
  CHECK_THROWS_WITH_AS(macro.update(nd::array({2}), nd::array({0.1f, 0.2f, 0.7f}, {1, 3})), doctest::Contains("binary"),
                       hgc::Error);
}

TEST_CASE("metrics: RMSE is the mean of each update's root mean squared error") {
  metric::RMSE rmse;
  rmse.update(nd::array({1, 2}), nd::array({1, 4}, {2, 1}));
  CHECK(rmse.get().second == doctest::Approx(std::sqrt(2.0)));
  rmse.update(nd::array({0}), nd::array({3}));
  CHECK(rmse.get().second == doctest::Approx((std::sqrt(2.0) + 3) / 2));
  CHECK(rmse.get().first == "rmse");
  CHECK_THROWS_WITH_AS(rmse.update(nd::array({1, 2, 3}), nd::array({3})), doctest::Contains("3 labels"), hgc::Error);
}
