// The demo: the seed book's MLP shape (784 -> 256 -> 128 -> 10, relu) trained on the real
// Fashion-MNIST (Debian's dataset-fashion-mnist) with hgc's Gluon-style API, imperatively
// (autograd tape, SGD Trainer), then hybridized for inference and exported as MXNet files.
//
//   ./build/models/hgc_train_fashion_mlp [epochs] [export-prefix]
#include <chrono>
#include <cstdio>
#include <iostream>

#include "mlp/fashion_mlp.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {
double accuracy(nn::HybridSequential& net, data::DataLoader& loader) {
  metric::Accuracy acc;
  for (const auto& b : loader) acc.update(b[1], net(b[0]));
  return acc.get().second;
}
}  // namespace

int main(int argc, char** argv) try {
  int epochs = argc > 1 ? std::atoi(argv[1]) : 2;
  std::string prefix = argc > 2 ? argv[2] : "";
  auto data = models::load_fashion_mnist();
  if (!data) {
    std::cerr << "Fashion-MNIST is not installed (" << models::kFashionMnistDir << "); scripts/setup.sh installs it\n";
    return 1;
  }
  auto& [train_x, train_y, test_x, test_y] = *data;
  std::cout << "Fashion-MNIST: " << train_x.shape()[0] << " training and " << test_x.shape()[0] << " test images\n";

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

  for (int epoch = 0; epoch < epochs; ++epoch) {
    auto t0 = std::chrono::steady_clock::now();
    double loss_sum = 0;
    int64_t n = 0;
    utils::ProgressBar bar(static_cast<int64_t>(train.num_batches()),
                           utils::ProgressOptions().desc("epoch " + std::to_string(epoch + 1) + "/" +
                                                         std::to_string(epochs)).lines(4));
    for (const auto& b : train) {
      NDArray l;
      {
        auto r = autograd::record();
        l = ce((*net)(b[0]), b[1]);
      }
      l.backward();
      trainer.step(batch);
      if (n++ % 50 == 0) {  // reading the loss costs a reduction and a copy: every 50 steps
        loss_sum += nd::mean(l).asscalar();
        bar.set_postfix({{"loss", loss_sum / ((n + 49) / 50)}});
      }
      bar.update(1, b[0].shape()[0]);
    }
    bar.close();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("epoch %d: loss %.4f, test accuracy %.4f, %.1f s (%.2f ms per step)\n", epoch + 1,
                loss_sum / ((n + 49) / 50), accuracy(*net, test), s, 1000.0 * s / n);
  }
  net->hybridize();  // the trained network, compiled for inference
  std::printf("hybridized: test accuracy %.4f\n", accuracy(*net, test));
  if (!prefix.empty()) {
    net->export_model(prefix, epochs);
    std::printf("exported %s-symbol.json and %s-%04d.params (MXNet format)\n", prefix.c_str(), prefix.c_str(), epochs);
  }
  return 0;
} catch (const hgc::Error& e) {
  std::cerr << "error: " << e.what() << "\n";
  return 1;
}
