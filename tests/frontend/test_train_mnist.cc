// Integration: an MLP (784 -> 256 -> 128 -> 10, relu) trained imperatively with SGD on the
// real Fashion-MNIST (Debian's dataset-fashion-mnist) reaches >= 80% test accuracy in two
// epochs (about 84% after the first). Skips with a message when the data files are absent. Reports the train-step time.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>

#include "hgc/hgc.h"
#include "mlp/fashion_mlp.h"

using namespace hgc;
using namespace hgc::gluon;

TEST_CASE("train: Fashion-MNIST MLP, imperative SGD, >= 80% test accuracy in two epochs") {
  auto data = models::load_fashion_mnist();
  if (!data) {
    MESSAGE("skipped: ", models::kFashionMnistDir, " is absent (install Debian's dataset-fashion-mnist)");
    return;
  }
  auto& [train_x, train_y, test_x, test_y] = *data;
  CHECK(train_x.shape() == std::vector<int64_t>{60000, 784});
  CHECK(test_y.shape() == std::vector<int64_t>{10000});

  nd::random::seed(1);
  auto net = models::fashion_mlp();
  net->initialize(init::Xavier());
  loss::SoftmaxCrossEntropyLoss ce;
  Trainer trainer(net->collect_params(), "sgd", {{"learning_rate", 0.1}});
  const int64_t batch = 64;
  data::DataLoader train(std::make_shared<data::ArrayDataset>(std::vector<NDArray>{train_x, train_y}),
                         data::DataLoaderOptions(batch).shuffle(true).seed(3).last_batch("discard"));
  data::DataLoader test(std::make_shared<data::ArrayDataset>(std::vector<NDArray>{test_x, test_y}),
                        data::DataLoaderOptions(1000));

  using clock = std::chrono::steady_clock;
  double step_ms = 0, first_loss = 0, last_loss = 0;
  int steps = 0;
  auto t0 = clock::now();
  for (int epoch = 0; epoch < 2; ++epoch)
  for (const auto& b : train) {
    auto s0 = clock::now();
    NDArray l;
    {
      auto r = autograd::record();
      l = ce((*net)(b[0]), b[1]);
    }
    l.backward();
    trainer.step(batch);
    step_ms += std::chrono::duration<double, std::milli>(clock::now() - s0).count();
    if (steps % 100 == 0) {  // an occasional loss read, outside the timed step
      double v = nd::mean(l).asscalar();
      if (steps == 0) first_loss = v;
      last_loss = v;
    }
    ++steps;
  }
  double epoch_s = std::chrono::duration<double>(clock::now() - t0).count();
  metric::Accuracy acc;
  for (const auto& b : test) acc.update(b[1], (*net)(b[0]));
  double test_acc = acc.get().second;
  MESSAGE("Fashion-MNIST MLP: ", steps, " imperative train steps (batch ", batch, ") in ", epoch_s, " s; ",
          step_ms / steps, " ms per step (forward + backward + SGD update); loss ", first_loss, " -> ", last_loss,
          "; test accuracy ", test_acc);
  CHECK(last_loss < first_loss);
  CHECK(test_acc >= 0.80);
}
