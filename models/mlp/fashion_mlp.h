// The Fashion-MNIST MLP of the seed book (784 -> 256 -> 128 -> 10, relu) and the real data
// from Debian's dataset-fashion-mnist, shared by the demo trainer and the tests.
//
//   if (auto data = models::load_fashion_mnist()) {
//     auto net = models::fashion_mlp();  net->initialize(gluon::init::Xavier());
//     ... data->train_x (60000, 784) in [0, 1], data->train_y (60000,) ...
//   }
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "hgc/hgc.h"

namespace hgc::models {

struct FashionMnist {
  NDArray train_x, train_y, test_x, test_y;  // images (N, 784) float32 / 255, labels float32
};

inline const std::string kFashionMnistDir = "/usr/share/datasets/fashion-mnist/";

// nullopt when the dataset is not installed.
std::optional<FashionMnist> load_fashion_mnist(const std::string& dir = kFashionMnistDir);

// Dense(256, relu) -> Dense(128, relu) -> Dense(10), uninitialized.
std::shared_ptr<gluon::nn::HybridSequential> fashion_mlp();

}  // namespace hgc::models
