// Chapters "Convolutional neural networks from scratch" and "... in gluon": nd.Convolution
// and nd.Pooling by hand (their output shapes, a two-conv-layer net trained with SGD), then
// the same LeNet-style net from nn.Conv2D / MaxPool2D / Flatten / Dense with a Trainer.
#include "book.h"

int main(int argc, char** argv) {
  book::Chapter ch(argc, argv, "Convolutional neural networks (scratch and gluon)",
                   "the book: MNIST; here: Fashion-MNIST (Debian dataset-fashion-mnist) as (N, 1, 28, 28)");
  if (ch.help) return 0;
  using namespace hgc;
  using namespace hgc::gluon;

  // The book's shape walk-through: 20 filters of 3x3 over (64, 1, 28, 28).
  NDArray W1 = nd::random::normal(0, 0.01, {20, 1, 3, 3}), b1 = nd::zeros({20});
  NDArray data = nd::ones({64, 1, 28, 28});
  NDArray conv = nd::op("Convolution", {{"kernel", std::vector<int64_t>{3, 3}}, {"num_filter", int64_t(20)}}, {data, W1, b1});
  ch.claim(conv.shape() == std::vector<int64_t>{64, 20, 26, 26}, "nd.Convolution 3x3, 20 filters: (64, 20, 26, 26)");
  NDArray pool = nd::op("Pooling", {{"kernel", std::vector<int64_t>{2, 2}}, {"stride", std::vector<int64_t>{2, 2}},
                                    {"pool_type", std::string("max")}},
                        {conv});
  ch.claim(pool.shape() == std::vector<int64_t>{64, 20, 13, 13}, "nd.Pooling max 2x2 stride 2: (64, 20, 13, 13)");

  if (!book::have_fashion()) return book::skip("Fashion-MNIST is not installed (dataset-fashion-mnist)");
  auto tr = book::fashion(true, ch.quick ? 8000 : 0, true), te = book::fashion(false, ch.quick ? 1000 : 0, true);
  auto ds = std::make_shared<data::ArrayDataset>(std::vector<NDArray>{tr.x, tr.y});
  data::DataLoader train_data(ds, data::DataLoaderOptions(64).shuffle(true).seed(ch.seed));
  int epochs = ch.budget(2, 5);

  // ---- from scratch: conv(20, 3x3) relu pool, conv(50, 5x5) relu pool, dense 128, dense 10 ----
  double s = 0.1;  // the book: 0.01 with a longer run
  std::vector<NDArray> P = {nd::random::normal(0, s, {20, 1, 3, 3}),  nd::zeros({20}),
                            nd::random::normal(0, s, {50, 20, 5, 5}), nd::zeros({50}),
                            nd::random::normal(0, s, {800, 128}),     nd::zeros({128}),
                            nd::random::normal(0, s, {128, 10}),      nd::zeros({10})};
  for (auto& p : P) p.attach_grad();
  auto conv_relu_pool = [](const NDArray& x, const NDArray& w, const NDArray& b, int64_t k, int64_t f) {
    NDArray h = nd::op("Convolution", {{"kernel", std::vector<int64_t>{k, k}}, {"num_filter", f}}, {x, w, b});
    return nd::op("Pooling", {{"kernel", std::vector<int64_t>{2, 2}}, {"stride", std::vector<int64_t>{2, 2}},
                              {"pool_type", std::string("max")}},
                  {nd::relu(h)});
  };
  auto net = [&](const NDArray& X) {
    NDArray h1 = conv_relu_pool(X, P[0], P[1], 3, 20);
    NDArray h2 = conv_relu_pool(h1, P[2], P[3], 5, 50).flatten();
    NDArray h3 = nd::relu(nd::dot(h2, P[4]) + P[5]);
    return nd::dot(h3, P[6]) + P[7];
  };
  ch.claim(net(te.x.slice(0, 2)).shape() == std::vector<int64_t>{2, 10}, "the scratch CNN maps (2, 1, 28, 28) to (2, 10)");
  for (int e = 0; e < epochs; ++e)
    for (const auto& batch : train_data) {
      NDArray loss;
      {
        auto rec = autograd::record();
        loss = -nd::sum(nd::one_hot(batch[1], 10) * nd::log_softmax(net(batch[0])), {1});
      }
      loss.backward();
      for (auto& p : P) p -= (0.1 / 64) * p.grad();
    }
  double acc_scratch = book::accuracy(net, te.x, te.y);
  ch.claim(acc_scratch > 0.65, "scratch CNN: test accuracy ", acc_scratch, " (bar 0.65)");

  // ---- with gluon ----
  auto gnet = std::make_shared<nn::HybridSequential>();
  gnet->add(std::make_shared<nn::Conv2D>(nn::Conv2DOptions(20, {5, 5}).activation("relu")));
  gnet->add(std::make_shared<nn::MaxPool2D>(nn::Pool2DOptions({2, 2}).strides({2, 2})));
  gnet->add(std::make_shared<nn::Conv2D>(nn::Conv2DOptions(50, {5, 5}).activation("relu")));
  gnet->add(std::make_shared<nn::MaxPool2D>(nn::Pool2DOptions({2, 2}).strides({2, 2})));
  gnet->add(std::make_shared<nn::Flatten>());
  gnet->add(std::make_shared<nn::Dense>(nn::DenseOptions(512).activation("relu")));
  gnet->add(std::make_shared<nn::Dense>(nn::DenseOptions(10)));
  gnet->collect_params().initialize(init::Xavier(2.24));
  gnet->hybridize();
  loss::SoftmaxCrossEntropyLoss ce;
  Trainer trainer(gnet->collect_params(), "sgd", {{"learning_rate", 0.1}});
  book::fit(*gnet, train_data, ce, trainer, epochs);
  double acc_gluon = book::accuracy(*gnet, te.x, te.y);
  ch.claim(acc_gluon > 0.7, "gluon CNN (hybridized): test accuracy ", acc_gluon, " (bar 0.7)");
  std::cout << *gnet << "\n";
  return ch.finish();
}
