// Chapters "Dropout regularization from scratch" and "... with gluon": the book's dropout
// function (keep each unit with probability 1 - p, scale survivors by 1 / (1 - p)), an MLP
// with dropout after each hidden layer trained from scratch, and the same with nn.Dropout,
// which drops only under autograd::record() (train mode) and is the identity in predict mode.
#include "book.h"

namespace {
hgc::NDArray dropout(const hgc::NDArray& X, double drop_probability) {
  using namespace hgc;
  double keep = 1 - drop_probability;
  NDArray mask = nd::random::uniform(0, 1, X.shape()) < keep;
  double scale = keep > 0 ? 1 / keep : 0;
  return mask * X * scale;
}
}  // namespace

int main(int argc, char** argv) {
  book::Chapter ch(argc, argv, "Dropout regularization (scratch and gluon)",
                   "the book: MNIST; here: Fashion-MNIST (Debian dataset-fashion-mnist)");
  if (ch.help) return 0;
  using namespace hgc;
  using namespace hgc::gluon;

  NDArray A = nd::arange(20).reshape({5, 4}) + 1;
  ch.claim(nd::sum(dropout(A, 0.0) == A).asscalar<float>() == 20, "dropout(A, 0) keeps A");
  ch.claim(nd::sum(dropout(A, 1.0)).asscalar<float>() == 0, "dropout(A, 1) zeroes A");
  NDArray big = nd::ones({100000});
  NDArray d = dropout(big, 0.5);
  double kept = nd::mean(d > 0.0).asscalar<double>();
  ch.claim(std::abs(kept - 0.5) < 0.01 && std::abs(nd::mean(d).asscalar<double>() - 1) < 0.02,
           "dropout(x, 0.5) keeps ", kept, " of the units and preserves the mean");

  if (!book::have_fashion()) return book::skip("Fashion-MNIST is not installed (dataset-fashion-mnist)");
  auto tr = book::fashion(true, ch.quick ? 20000 : 0), te = book::fashion(false, ch.quick ? 2000 : 0);
  auto ds = std::make_shared<data::ArrayDataset>(std::vector<NDArray>{tr.x, tr.y});
  data::DataLoader train_data(ds, data::DataLoaderOptions(64).shuffle(true).seed(ch.seed));
  int epochs = ch.budget(3, 10);

  // ---- from scratch: dropout in the forward when training ----
  std::vector<NDArray> params = {nd::random::normal(0, 0.1, {784, 256}), nd::zeros({256}),
                                 nd::random::normal(0, 0.1, {256, 128}), nd::zeros({128}),
                                 nd::random::normal(0, 0.1, {128, 10}), nd::zeros({10})};
  for (auto& p : params) p.attach_grad();
  auto net = [&](const NDArray& X, double drop_prob) {
    NDArray h1 = dropout(nd::relu(nd::dot(X, params[0]) + params[1]), drop_prob);
    NDArray h2 = dropout(nd::relu(nd::dot(h1, params[2]) + params[3]), drop_prob);
    return nd::dot(h2, params[4]) + params[5];
  };
  for (int e = 0; e < epochs; ++e)
    for (const auto& batch : train_data) {
      NDArray loss;
      {
        auto rec = autograd::record();
        loss = -nd::sum(nd::one_hot(batch[1], 10) * nd::log_softmax(net(batch[0], 0.5)), {1});
      }
      loss.backward();
      for (auto& p : params) p -= (0.2 / 64) * p.grad();
    }
  double acc_scratch = book::accuracy([&](const NDArray& x) { return net(x, 0.0); }, te.x, te.y);
  ch.claim(acc_scratch > 0.75, "scratch MLP with dropout 0.5: test accuracy ", acc_scratch, " (bar 0.75)");

  // ---- with gluon ----
  auto gnet = std::make_shared<nn::HybridSequential>();
  gnet->add(std::make_shared<nn::Dense>(nn::DenseOptions(256).activation("relu")));
  gnet->add(std::make_shared<nn::Dropout>(0.5));
  gnet->add(std::make_shared<nn::Dense>(nn::DenseOptions(128).activation("relu")));
  gnet->add(std::make_shared<nn::Dropout>(0.5));
  gnet->add(std::make_shared<nn::Dense>(nn::DenseOptions(10)));
  gnet->collect_params().initialize(init::Xavier(2.24));
  NDArray probe = te.x.slice(0, 8);
  NDArray p1 = (*gnet)(probe), p2 = (*gnet)(probe);
  ch.claim(nd::max(nd::abs(p1 - p2)).asscalar<float>() == 0, "nn.Dropout is the identity in predict mode (two calls agree)");
  NDArray t1, t2;
  {
    auto rec = autograd::record();
    t1 = (*gnet)(probe);
    t2 = (*gnet)(probe);
  }
  ch.claim(nd::max(nd::abs(t1 - t2)).asscalar<float>() > 0, "under autograd.record() (train mode) it drops: two calls differ");
  loss::SoftmaxCrossEntropyLoss ce;
  Trainer trainer(gnet->collect_params(), "sgd", {{"learning_rate", 0.1}});
  book::fit(*gnet, train_data, ce, trainer, epochs);
  double acc_gluon = book::accuracy(*gnet, te.x, te.y);
  ch.claim(acc_gluon > 0.75, "gluon MLP with nn.Dropout: test accuracy ", acc_gluon, " (bar 0.75)");
  return ch.finish();
}
