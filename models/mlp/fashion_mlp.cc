#include "fashion_mlp.h"

#include <filesystem>

namespace hgc::models {

namespace {
std::pair<NDArray, NDArray> load_split(const std::string& dir, const std::string& split) {
  NDArray images = gluon::data::read_idx(dir + split + "-images-idx3-ubyte.gz");
  NDArray labels = gluon::data::read_idx(dir + split + "-labels-idx1-ubyte.gz");
  return {images.astype(DType::f32).reshape({images.shape()[0], -1}) / 255.0, labels.astype(DType::f32)};
}
}  // namespace

std::optional<FashionMnist> load_fashion_mnist(const std::string& dir) {
  if (!std::filesystem::exists(dir + "train-images-idx3-ubyte.gz")) return std::nullopt;
  FashionMnist d;
  std::tie(d.train_x, d.train_y) = load_split(dir, "train");
  std::tie(d.test_x, d.test_y) = load_split(dir, "t10k");
  return d;
}

std::shared_ptr<gluon::nn::HybridSequential> fashion_mlp() {
  auto net = std::make_shared<gluon::nn::HybridSequential>();
  net->emplace<gluon::nn::Dense>(gluon::nn::DenseOptions(256).activation("relu"));
  net->emplace<gluon::nn::Dense>(gluon::nn::DenseOptions(128).activation("relu"));
  net->emplace<gluon::nn::Dense>(gluon::nn::DenseOptions(10));
  return net;
}

}  // namespace hgc::models
