// Training pieces: loss values and gradients against closed forms, one SGD/Adam step
// against hand-computed updates, DataLoader batching (keep/discard/rollover, seeded
// shuffles), the IDX reader (plain and gzip'd), Accuracy, and the book's linear regression
// with Gluon trained imperatively to its known weights.
#include <doctest/doctest.h>
#include <zlib.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "hgc/hgc.h"
#include "hgc/base/error.h"
#include "support/paths.h"
#include "support/nd_close.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {
std::vector<float> vals(const NDArray& x) { return x.to_vector<float>(); }
using test::check_close;
}  // namespace

TEST_CASE("losses: values follow Gluon") {
  NDArray pred = nd::array({1, 2, 3, 1, 1, 1}, {2, 3});
  loss::SoftmaxCrossEntropyLoss ce;
  check_close(vals(ce(pred, nd::array({2, 0}))), {std::log(1 + std::exp(-1.f) + std::exp(-2.f)), std::log(3.f)});
  // dense labels, class axis first (axis 0, batch_axis 1), per-sample weights
  loss::SoftmaxCrossEntropyLoss dense(loss::LossOptions().sparse_label(false));
  check_close(vals(dense(pred, nd::array({0, 0, 1, 1, 0, 0}, {2, 3}), nd::array({1, 2}, {2, 1}))),
              {std::log(1 + std::exp(-1.f) + std::exp(-2.f)), 2 * std::log(3.f)});
  loss::SoftmaxCrossEntropyLoss ax0(loss::LossOptions().axis(0).batch_axis(1));
  check_close(vals(ax0(pred.T(), nd::array({2, 0}))), {std::log(1 + std::exp(-1.f) + std::exp(-2.f)), std::log(3.f)});
  loss::SoftmaxCrossEntropyLoss logits(loss::LossOptions().from_logits(true));
  check_close(vals(logits(pred, nd::array({2, 0}))), {-3, -1});
  check_close(vals(loss::L2Loss()(nd::array({1, 2}, {2, 1}), nd::array({0, 4}))), {0.5, 2});
  check_close(vals(loss::L2Loss(loss::LossOptions().weight(4))(nd::array({1, 2}), nd::array({0, 4}))), {2, 8});
  check_close(vals(loss::L1Loss()(nd::array({1, 2, 3, 5}, {2, 2}), nd::array({0, 4, 3, 3}, {2, 2}))), {1.5, 1});
  loss::SigmoidBinaryCrossEntropyLoss bce;
  check_close(vals(bce(nd::array({0, 2}), nd::array({1, 0}))), {std::log(2.f), std::log(1 + std::exp(2.f))});
  loss::SigmoidBinaryCrossEntropyLoss bces(loss::LossOptions().from_sigmoid(true));
  check_close(vals(bces(nd::array({0.5f, 0.25f}), nd::array({1, 0}))), {std::log(2.f), -std::log(0.75f)}, 1e-4);
  check_close(vals(loss::HuberLoss()(nd::array({0.5f, 3}), nd::array({0, 0}))), {0.125, 2.5});
  check_close(vals(loss::KLDivLoss()(nd::log(nd::array({0.5f, 0.5f}, {1, 2})), nd::array({0.25f, 0.75f}, {1, 2}))),
              {float(0.5 * (0.25 * std::log(0.5) + 0.75 * std::log(1.5)))}, 1e-4);
}

TEST_CASE("losses: the softmax cross-entropy gradient is softmax - one_hot") {
  NDArray pred = nd::array({1, 2, 3, 1, 1, 1}, {2, 3});
  pred.attach_grad();
  NDArray l;
  {
    auto r = autograd::record();
    l = loss::SoftmaxCrossEntropyLoss()(pred, nd::array({2, 0}));
  }
  l.backward();
  std::vector<float> p = vals(nd::softmax(pred.detach()));
  p[2] -= 1;
  p[3] -= 1;
  check_close(vals(pred.grad()), p);
  NDArray x = nd::array({-3, 0.5f, 4});
  x.attach_grad();
  {
    auto r = autograd::record();
    l = loss::SigmoidBinaryCrossEntropyLoss()(x, nd::array({1, 0, 1}));
  }
  l.backward();  // sigmoid(x) - label
  std::vector<float> s = vals(nd::sigmoid(x.detach()));
  check_close(vals(x.grad()), {s[0] - 1, s[1], s[2] - 1});
}

TEST_CASE("optimizers: one SGD, momentum and Adam step by hand; Trainer rescales by batch size") {
  ParameterDict pd("t_");
  auto w = pd.get("w", ParamOptions().shape({2}));
  pd.initialize(init::Constant(1));
  auto set_grad = [&](std::vector<float> g) { w->grad().assign(nd::array(g)); };
  Trainer sgd(pd, "sgd", {{"learning_rate", 0.1}, {"wd", 0.5}});
  set_grad({2, -4});
  sgd.step(2);  // w - 0.1 * (g / 2 + 0.5 w)
  check_close(vals(w->data()), {1 - 0.1f * (1 + 0.5f), 1 - 0.1f * (-2 + 0.5f)});

  w->set_data(nd::ones({2}));
  Trainer mom(pd, "sgd", {{"learning_rate", 0.1}, {"momentum", 0.9}, {"clip_gradient", 1}});
  set_grad({4, -0.5});
  mom.step(1);  // clipped to (1, -0.5): mom = -0.1 g
  mom.step(1);  // mom = 0.9 mom - 0.1 g
  check_close(vals(w->data()), {1 - 0.1f - 0.19f, 1 + 0.05f + 0.095f});

  w->set_data(nd::ones({2}));
  Trainer adam(pd, "adam", {{"learning_rate", 0.01}});
  set_grad({3, -0.5});
  adam.step(1);  // first step moves by ~lr * sign(g)
  check_close(vals(w->data()), {0.99f, 1.01f}, 1e-5);
  CHECK_THROWS_WITH_AS(Trainer(pd, "nadamw"), doctest::Contains("unknown optimizer"), hgc::Error);
  CHECK_THROWS_WITH_AS(Trainer(pd, "sgd", {{"momentun", 0.9}}), doctest::Contains("momentun"), hgc::Error);
}

TEST_CASE("data: DataLoader batches with keep, discard, rollover and seeded shuffles") {
  NDArray x = nd::arange(0, 10).reshape({10, 1});
  auto ds = std::make_shared<data::ArrayDataset>(std::vector<NDArray>{x, nd::arange(0, 10)});
  auto sizes = [](data::DataLoader& l) {
    std::vector<int64_t> s;
    for (const auto& b : l) s.push_back(b[0].shape()[0]);
    return s;
  };
  data::DataLoader keep(ds, data::DataLoaderOptions(4));
  CHECK(sizes(keep) == std::vector<int64_t>{4, 4, 2});
  data::DataLoader discard(ds, data::DataLoaderOptions(4).last_batch("discard"));
  CHECK(sizes(discard) == std::vector<int64_t>{4, 4});
  data::DataLoader roll(ds, data::DataLoaderOptions(4).last_batch("rollover"));
  CHECK(sizes(roll) == std::vector<int64_t>{4, 4});
  CHECK(sizes(roll) == std::vector<int64_t>{4, 4, 4});  // 2 carried over + 10
  auto order = [&](uint64_t seed) {
    data::DataLoader l(ds, data::DataLoaderOptions(3).shuffle(true).seed(seed));
    std::vector<float> o;
    for (const auto& b : l) {
      CHECK(vals(b[0].reshape({-1})) == vals(b[1]));  // fields stay aligned
      for (float v : vals(b[1])) o.push_back(v);
    }
    return o;
  };
  std::vector<float> a = order(7), b = order(7), c = order(8);
  CHECK(a == b);
  CHECK(a != c);
  CHECK(std::set<float>(a.begin(), a.end()).size() == 10);
  CHECK_THROWS_WITH_AS(data::DataLoader(ds, data::DataLoaderOptions(4).last_batch("drop")), doctest::Contains("rollover"),
                       hgc::Error);
}

TEST_CASE("data: IDX files, plain and gzip'd; Accuracy") {
  // type u8, rank 2: 2 x 3
  std::string bytes = std::string("\0\0\x08\x02\0\0\0\x02\0\0\0\x03", 12) + std::string("\x01\x02\x03\x04\x05\xff", 6);
  std::string dir = test::temp_dir();
  std::ofstream(dir + "/a.idx", std::ios::binary) << bytes;
  gzFile gz = gzopen((dir + "/a.idx.gz").c_str(), "wb");
  gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(gz);
  for (const char* f : {"/a.idx", "/a.idx.gz"}) {
    NDArray x = data::read_idx(dir + f);
    CHECK(x.dtype() == DType::u8);
    CHECK(x.shape() == std::vector<int64_t>{2, 3});
    CHECK(x.to_vector<uint8_t>() == std::vector<uint8_t>{1, 2, 3, 4, 5, 255});
  }
  std::ofstream(dir + "/bad.idx", std::ios::binary) << bytes.substr(0, 15);
  CHECK_THROWS_WITH_AS(data::read_idx(dir + "/bad.idx"), doctest::Contains("data bytes"), hgc::Error);
  CHECK_THROWS_WITH_AS(data::read_idx(dir + "/none.idx"), doctest::Contains("cannot open"), hgc::Error);

  metric::Accuracy acc;
  acc.update(nd::array({0, 2, 1}), nd::array({0.9f, 0.1f, 0, 0.1f, 0.2f, 0.7f, 0.5f, 0.1f, 0.4f}, {3, 3}));
  CHECK(acc.get().second == doctest::Approx(2.0 / 3));
  acc.update(nd::array({1}), nd::array({0, 1}, {1, 2}));
  CHECK(acc.get().second == doctest::Approx(3.0 / 4));
  CHECK(acc.get().first == "accuracy");
}

TEST_CASE("train: the book's linear regression with Gluon recovers w = [2, -3.4], b = 4.2") {
  nd::random::seed(42);
  const int64_t n = 1000, batch = 10;
  NDArray X = nd::random::normal(0, 1, {n, 2});
  NDArray y = X.index({Slice(), 0}) * 2 - X.index({Slice(), 1}) * 3.4 + 4.2 + nd::random::normal(0, 0.01, {n});
  auto ds = std::make_shared<data::ArrayDataset>(std::vector<NDArray>{X, y});
  data::DataLoader loader(ds, data::DataLoaderOptions(batch).shuffle(true).seed(1));
  auto net = std::make_shared<nn::Dense>(nn::DenseOptions(1));
  net->initialize(init::Normal(1.0));
  loss::L2Loss square_loss;
  Trainer trainer(net->collect_params(), "sgd", {{"learning_rate", 0.1}});
  std::vector<double> epoch_loss;
  auto t0 = std::chrono::steady_clock::now();
  int steps = 0;
  for (int epoch = 0; epoch < 5; ++epoch) {
    double total = 0;
    for (const auto& b : loader) {
      NDArray l;
      {
        auto r = autograd::record();
        l = square_loss((*net)(b[0]), b[1]);
      }
      l.backward();
      trainer.step(batch);
      total += nd::mean(l).asscalar();
      ++steps;
    }
    epoch_loss.push_back(total / static_cast<double>(loader.num_batches()));
  }
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("linear regression: ", steps, " steps in ", ms, " ms (", ms / steps, " ms/step incl. loader); epoch losses ",
          epoch_loss[0], " -> ", epoch_loss.back());
  std::vector<float> w = vals(net->weight->data()), bias = vals(net->bias->data());
  MESSAGE("learned w = [", w[0], ", ", w[1], "], b = ", bias[0]);
  CHECK(std::abs(w[0] - 2) < 0.05);
  CHECK(std::abs(w[1] + 3.4) < 0.05);
  CHECK(std::abs(bias[0] - 4.2) < 0.05);
  CHECK(epoch_loss.back() < epoch_loss.front());
  CHECK(epoch_loss.back() < 1e-3);
}
