// CTCLoss against a brute-force sum over every alignment, its gradient against finite
// differences, lengths, layouts, hybridized == imperative, and errors on bad input.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>

#include "api_more_util.h"
#include "hgc/frontend/gluon/loss_ctc.h"
#include "support/nd_close.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {
// -log sum over paths pi in C^T that collapse to `label` of prod_t softmax(pred_t)[pi_t].
double brute_ctc(const std::vector<float>& pred, int64_t T, int64_t C, const std::vector<int>& label) {
  std::vector<double> p(size_t(T * C));
  for (int64_t t = 0; t < T; ++t) {
    double z = 0;
    for (int64_t c = 0; c < C; ++c) z += std::exp(double(pred[t * C + c]));
    for (int64_t c = 0; c < C; ++c) p[t * C + c] = std::exp(double(pred[t * C + c])) / z;
  }
  int blank = int(C - 1);
  double total = 0;
  std::vector<int> path(static_cast<size_t>(T), 0);
  std::function<void(int64_t, double)> rec = [&](int64_t t, double prob) {
    if (t == T) {
      std::vector<int> out;
      for (int64_t i = 0; i < T; ++i)
        if (path[i] != blank && (i == 0 || path[i] != path[i - 1])) out.push_back(path[i]);
      if (out == label) total += prob;
      return;
    }
    for (int c = 0; c < C; ++c) path[t] = c, rec(t + 1, prob * p[t * C + c]);
  };
  rec(0, 1);
  return -std::log(total);
}
}  // namespace

TEST_CASE("loss: CTCLoss equals the brute-force sum over alignments") {
  nd::random::seed(21);
  int64_t N = 3, T = 5, C = 4;
  NDArray pred = nd::random::normal(0, 1, {N, T, C});
  // labels (blank = 3): [0 1], [2 2] (a repeat needs a blank between), [1] padded with -1
  NDArray label = nd::array({0, 1, 2, 2, 1, -1}, {3, 2});
  loss::CTCLoss ctc;
  std::vector<float> got = ctc(pred, label).to_vector<float>();
  std::vector<float> pv = pred.to_vector<float>();
  std::vector<std::vector<int>> labels = {{0, 1}, {2, 2}, {1}};
  for (int64_t i = 0; i < N; ++i) {
    std::vector<float> row(pv.begin() + i * T * C, pv.begin() + (i + 1) * T * C);
    CHECK(got[i] == doctest::Approx(brute_ctc(row, T, C, labels[i])).epsilon(1e-4));
  }
  // pred_lengths / label_lengths: sample 0 uses 3 steps and its first label only
  NDArray l2 = ctc(pred, label, nd::array({3, 5, 5}), nd::array({1, 2, 1}));
  std::vector<float> row0(pv.begin(), pv.begin() + 3 * C);
  CHECK(l2.to_vector<float>()[0] == doctest::Approx(brute_ctc(row0, 3, C, {0})).epsilon(1e-4));
  CHECK(l2.to_vector<float>()[1] == doctest::Approx(got[1]).epsilon(1e-5));
  // TNC / TN layouts give the same values
  loss::CTCLoss tnc("TNC", "TN");
  test::check_close(tnc(nd::swapaxes(pred, 0, 1), nd::swapaxes(label, 0, 1)), ctc(pred, label), 1e-5);
  // hybridized == imperative
  auto h = std::make_shared<loss::CTCLoss>();
  h->hybridize();
  test::check_close((*h)(pred, label), ctc(pred, label), 1e-5);
}

TEST_CASE("loss: CTCLoss gradient by finite differences, errors") {
  nd::random::seed(22);
  NDArray pred = nd::random::normal(0, 1, {2, 4, 3});
  NDArray label = nd::array({0, 1, 1, -1}, {2, 2});
  test::check_grad_fd([&](const NDArray& p) { return loss::CTCLoss()(p, label); }, pred, 1e-2, 2e-2);
  loss::CTCLoss ctc;
  CHECK_THROWS_AS(ctc(pred, nd::array({0, 2, 1, -1}, {2, 2})), Error);  // 2 is the blank
  CHECK_THROWS_AS(ctc(nd::zeros({2, 4}), label), Error);
  CHECK_THROWS_AS(loss::CTCLoss("NCT"), Error);
}
