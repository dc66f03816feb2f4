// Chapters "Deep convolutional neural networks" (AlexNet) and "Very deep networks with
// repeating elements" (VGG): the architectures as the book writes them, their shape walk at
// the book's input size, and width-scaled versions trained on resized images.
#include "book.h"

namespace {
using namespace hgc;
using namespace hgc::gluon;

// AlexNet with every width divided by `div` (1: the book's).
std::shared_ptr<nn::HybridSequential> alexnet(int64_t div, int64_t dense) {
  auto net = std::make_shared<nn::HybridSequential>();
  auto scope = net->name_scope();
  net->add(std::make_shared<nn::Conv2D>(nn::Conv2DOptions(96 / div, {11, 11}).strides({4, 4}).activation("relu")));
  net->add(std::make_shared<nn::MaxPool2D>(nn::Pool2DOptions({3, 3}).strides({2, 2})));
  net->add(std::make_shared<nn::Conv2D>(nn::Conv2DOptions(192 / div, {5, 5}).padding({2, 2}).activation("relu")));
  net->add(std::make_shared<nn::MaxPool2D>(nn::Pool2DOptions({3, 3}).strides({2, 2})));
  net->add(std::make_shared<nn::Conv2D>(nn::Conv2DOptions(384 / div, {3, 3}).padding({1, 1}).activation("relu")));
  net->add(std::make_shared<nn::Conv2D>(nn::Conv2DOptions(384 / div, {3, 3}).padding({1, 1}).activation("relu")));
  net->add(std::make_shared<nn::Conv2D>(nn::Conv2DOptions(256 / div, {3, 3}).padding({1, 1}).activation("relu")));
  net->add(std::make_shared<nn::MaxPool2D>(nn::Pool2DOptions({3, 3}).strides({2, 2})));
  net->add(std::make_shared<nn::Flatten>());
  net->add(std::make_shared<nn::Dense>(nn::DenseOptions(dense).activation("relu")));
  net->add(std::make_shared<nn::Dropout>(0.5));
  net->add(std::make_shared<nn::Dense>(nn::DenseOptions(dense).activation("relu")));
  net->add(std::make_shared<nn::Dropout>(0.5));
  net->add(std::make_shared<nn::Dense>(nn::DenseOptions(10)));
  return net;
}

// The book's vgg_block: num_convs 3x3 convolutions (padding 1, relu) and a 2x2 max pool.
std::shared_ptr<nn::HybridSequential> vgg_block(int num_convs, int64_t channels) {
  auto out = std::make_shared<nn::HybridSequential>();
  for (int i = 0; i < num_convs; ++i)
    out->add(std::make_shared<nn::Conv2D>(nn::Conv2DOptions(channels, {3, 3}).padding({1, 1}).activation("relu")));
  out->add(std::make_shared<nn::MaxPool2D>(nn::Pool2DOptions({2, 2}).strides({2, 2})));
  return out;
}

std::shared_ptr<nn::HybridSequential> vgg(const std::vector<std::pair<int, int64_t>>& arch, int64_t dense) {
  auto net = std::make_shared<nn::HybridSequential>();
  for (auto [n, c] : arch) net->add(vgg_block(n, c));
  net->add(std::make_shared<nn::Flatten>());
  net->add(std::make_shared<nn::Dense>(nn::DenseOptions(dense).activation("relu")));
  net->add(std::make_shared<nn::Dropout>(0.5));
  net->add(std::make_shared<nn::Dense>(nn::DenseOptions(dense).activation("relu")));
  net->add(std::make_shared<nn::Dropout>(0.5));
  net->add(std::make_shared<nn::Dense>(nn::DenseOptions(10)));
  return net;
}

// Images resized with the vision transform (the book resizes CIFAR to 224 for AlexNet).
NDArray resized(const NDArray& u8_nhwc, int64_t size) {
  NDArray r = data::transforms::Resize(size)(u8_nhwc);
  return data::transforms::ToTensor()(r);
}
}  // namespace

int main(int argc, char** argv) {
  book::Chapter ch(argc, argv, "Deep CNNs (AlexNet) and very deep networks (VGG)",
                   "the book: CIFAR-10 resized to 224 (AlexNet) and MNIST (VGG); here: Fashion-MNIST resized (dataset-fashion-mnist)");
  if (ch.help) return 0;

  // The shape walk at the book's 224 x 224 input, on narrow widths (shapes do not depend on them).
  auto probe = alexnet(16, 64);
  probe->collect_params().initialize(init::Xavier());
  NDArray y = (*probe)(nd::ones({1, 3, 224, 224}));
  ch.claim(y.shape() == std::vector<int64_t>{1, 10}, "AlexNet maps a 224 x 224 image to 10 scores");
  ch.claim(probe->collect_params().values()[0]->shape() == std::vector<int64_t>{96 / 16, 3, 11, 11},
           "its first layer holds 11 x 11 filters over 3 channels");
  auto vprobe = vgg({{1, 4}, {1, 8}, {2, 16}, {2, 32}, {2, 32}}, 32);
  vprobe->collect_params().initialize(init::Xavier());
  ch.claim((*vprobe)(nd::ones({1, 1, 224, 224})).shape() == std::vector<int64_t>{1, 10},
           "VGG-11's five blocks halve 224 five times (to 7) before the dense layers");

  if (!book::have_fashion()) return book::skip("Fashion-MNIST is not installed (dataset-fashion-mnist)");
  data::vision::FashionMNIST train_set, test_set(data::vision::FashionMNIST::default_root(), false);
  int64_t ntr = ch.quick ? 2000 : 60000, nte = ch.quick ? 500 : 10000;
  int epochs = ch.budget(3, 5);
  loss::SoftmaxCrossEntropyLoss ce;

  // Trains `net` (Adam, batch 64) on the first ntr training images resized to `size`; returns
  // its accuracy on the first nte test images.
  auto train_and_test = [&](std::shared_ptr<nn::HybridSequential> net, int64_t size, int n_epochs) {
    NDArray xtr = resized(train_set.images().slice(0, ntr), size), xte = resized(test_set.images().slice(0, nte), size);
    NDArray ytr = train_set.labels().slice(0, ntr).astype(DType::f32), yte = test_set.labels().slice(0, nte).astype(DType::f32);
    ch.claim(xtr.shape() == std::vector<int64_t>{ntr, 1, size, size}, "Resize(", size, ") + ToTensor give (N, 1, ",
             size, ", ", size, ")");
    net->collect_params().initialize(init::Xavier());
    net->hybridize();
    Trainer trainer(net->collect_params(), "adam", {{"learning_rate", 1e-3}});
    auto ds = std::make_shared<data::ArrayDataset>(std::vector<NDArray>{xtr, ytr});
    data::DataLoader loader(ds, data::DataLoaderOptions(64).shuffle(true).seed(ch.seed));
    book::fit(*net, loader, ce, trainer, n_epochs);
    return book::accuracy(*net, xte, yte);
  };
  // AlexNet / 4 at 96 x 96 (the book: full width at 224; 96 is the smallest size its three pools fit).
  double acc = train_and_test(alexnet(4, 256), 96, epochs);
  ch.claim(acc > 0.6, "AlexNet/4 on 96 x 96 images: test accuracy ", acc, " (bar 0.6)");
  // VGG-11 / 8 at 32 x 32; deeper, no batch norm: slower to start.
  acc = train_and_test(vgg({{1, 8}, {1, 16}, {2, 32}, {2, 64}, {2, 64}}, 128), 32, ch.budget(4, 5));
  ch.claim(acc > 0.5, "VGG-11/8 on 32 x 32 images: test accuracy ", acc, " (bar 0.5)");
  return ch.finish();
}
