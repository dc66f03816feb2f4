// metric_more.h: values against hand-computed (numpy-style) references.
#include <doctest/doctest.h>

#include <cmath>

#include "hgc/frontend/metric/metric_more.h"

using namespace hgc;
using namespace hgc::gluon;

TEST_CASE("metric: check_label_shapes") {
  CHECK_NOTHROW(metric::check_label_shapes(nd::zeros({3}), nd::zeros({3, 2})));
  CHECK_THROWS_AS(metric::check_label_shapes(nd::zeros({3}), nd::zeros({4, 2})), Error);
  CHECK_THROWS_AS(metric::check_label_shapes(nd::zeros({3}), nd::zeros({3, 2}), true), Error);
  CHECK_THROWS_AS(metric::check_label_shapes(std::vector<NDArray>{nd::zeros({1})}, std::vector<NDArray>{}), Error);
}

TEST_CASE("metric: MCC macro and micro, CompositeEvalMetric") {
  // preds argmax: 1 1 0 0 1; labels 1 0 0 1 1 -> tp 2, fp 1, fn 1, tn 1
  NDArray preds = nd::array({0.2f, 0.8f, 0.4f, 0.6f, 0.9f, 0.1f, 0.7f, 0.3f, 0.3f, 0.7f}, {5, 2});
  NDArray labels = nd::array({1, 0, 0, 1, 1});
  double want = (2.0 * 1 - 1.0 * 1) / std::sqrt(3.0 * 3 * 2 * 2);
  metric::MCC macro, micro("micro");
  macro.update(labels, preds);
  micro.update(labels, preds);
  micro.update(labels, preds);
  CHECK(macro.get().second == doctest::Approx(want));
  CHECK(micro.get().second == doctest::Approx(want));  // doubled counts, same ratio
  CHECK(macro.get().first == "mcc");
  CHECK_THROWS_AS(metric::MCC("weighted"), Error);
  CHECK_THROWS_AS(macro.update(labels, nd::zeros({5, 3})), Error);

  metric::CompositeEvalMetric all;
  all.add(std::make_shared<metric::Accuracy>());
  all.add(std::make_shared<metric::MCC>());
  all.update(labels, preds);
  auto nv = all.get_name_value();
  REQUIRE(nv.size() == 2);
  CHECK(nv[0].first == "accuracy");
  CHECK(nv[0].second == doctest::Approx(0.6));
  CHECK(nv[1].second == doctest::Approx(want));
  CHECK(all.get_metric(1)->get().first == "mcc");
  CHECK_THROWS_AS(all.get_metric(2), Error);
  CHECK_THROWS_AS(all.get(), Error);
  all.reset();
  CHECK(std::isnan(all.get_name_value()[0].second));
}

TEST_CASE("metric: NegativeLogLikelihood, PearsonCorrelation, PCC, CustomMetric") {
  NDArray p = nd::array({0.7f, 0.3f, 0.2f, 0.8f}, {2, 2});
  metric::NegativeLogLikelihood nll;
  nll.update(nd::array({0, 0}), p);
  CHECK(nll.get().first == "nll-loss");
  CHECK(nll.get().second == doctest::Approx(-(std::log(0.7) + std::log(0.2)) / 2).epsilon(1e-5));

  // Pearson r of x = 1 2 3 5 and y = 1 3 2 6
  NDArray y = nd::array({1, 3, 2, 6}), x = nd::array({1, 2, 3, 5});
  metric::PearsonCorrelation pr, prm("micro");
  pr.update(y, x);
  prm.update(y, x);
  double r = 10 / std::sqrt(8.75 * 14);  // centered sums by hand
  CHECK(pr.get().second == doctest::Approx(r).epsilon(1e-6));
  CHECK(prm.get().second == doctest::Approx(r).epsilon(1e-6));

  // 3 classes; labels 0 1 2 2, predictions 0 2 2 1
  NDArray pp = nd::array({1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 1, 0}, {4, 3});
  metric::PCC pcc;
  pcc.update(nd::array({0, 1, 2, 2}), pp);
  // cmat rows=label: [1 0 0; 0 0 1; 0 1 1]; n=4, x=(1,1,2), y=(1,1,2)
  double cov_xx = 1 * 3 + 1 * 3 + 2 * 2, cov_xy = (1 * 4 - 1) + (0 * 4 - 1) + (1 * 4 - 4);
  CHECK(pcc.get().second == doctest::Approx(cov_xy / cov_xx));
  pcc.reset();
  pcc.update(nd::array({1, 1}), nd::array({0, 1, 0, 1}, {2, 2}));
  CHECK(std::isnan(pcc.get().second));  // one class only

  metric::CustomMetric maxerr([](const NDArray& l, const NDArray& q) {
    return nd::max(nd::abs(l - q)).asscalar<double>();
  }, "maxerr");
  maxerr.update(nd::array({1, 2}), nd::array({1.5f, 2}));
  maxerr.update(nd::array({1, 2}), nd::array({1, 4}));
  CHECK(maxerr.get().first == "maxerr");
  CHECK(maxerr.get().second == doctest::Approx(1.25));
  metric::CustomMetric sums(metric::CustomMetric::FevalSum([](const NDArray& l, const NDArray&) {
    return std::make_pair(nd::sum(l).asscalar<double>(), double(l.size()));
  }));
  sums.update(nd::array({1, 2, 6}), nd::zeros({3}));
  CHECK(sums.get().second == doctest::Approx(3));
}
