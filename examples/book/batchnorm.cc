// Chapters "Batch Normalization from scratch" and "... in gluon": the book's pure_batch_norm
// (per-feature or per-channel statistics of the batch) and its train/test form with moving
// averages, checked against nn.BatchNorm; a CNN with batch norm trained from scratch and in
// gluon.
#include "book.h"

namespace {
using namespace hgc;
using namespace hgc::gluon;

// The book's pure_batch_norm: X (N, C) or (N, C, H, W), statistics per feature / channel.
NDArray pure_batch_norm(const NDArray& X, const NDArray& gamma, const NDArray& beta, double eps = 1e-5) {
  std::vector<int64_t> axes = X.ndim() == 2 ? std::vector<int64_t>{0} : std::vector<int64_t>{0, 2, 3};
  NDArray mean = nd::mean(X, axes, true);
  NDArray var = nd::mean(nd::square(X - mean), axes, true);
  NDArray X_hat = (X - mean) / nd::sqrt(var + eps);
  std::vector<int64_t> shp = X.ndim() == 2 ? std::vector<int64_t>{1, -1} : std::vector<int64_t>{1, -1, 1, 1};
  return gamma.reshape(shp) * X_hat + beta.reshape(shp);
}

// The book's batch_norm with moving statistics: batch statistics when training (updating
// the moving ones), the moving ones when testing.
NDArray batch_norm(const NDArray& X, const NDArray& gamma, const NDArray& beta, double momentum, NDArray& moving_mean,
                   NDArray& moving_var, bool is_training, double eps = 1e-5) {
  std::vector<int64_t> axes = {0, 2, 3}, shp = {1, -1, 1, 1};
  NDArray mean, var;
  if (is_training) {
    mean = nd::mean(X, axes, true);
    var = nd::mean(nd::square(X - mean), axes, true);
    moving_mean.assign(momentum * moving_mean + (1 - momentum) * mean.reshape({-1}).detach());
    moving_var.assign(momentum * moving_var + (1 - momentum) * var.reshape({-1}).detach());
  } else {
    mean = moving_mean.reshape(shp);
    var = moving_var.reshape(shp);
  }
  return gamma.reshape(shp) * (X - mean) / nd::sqrt(var + eps) + beta.reshape(shp);
}
}  // namespace

int main(int argc, char** argv) {
  book::Chapter ch(argc, argv, "Batch normalization (scratch and gluon)",
                   "the book: MNIST; here: Fashion-MNIST (Debian dataset-fashion-mnist)");
  if (ch.help) return 0;

  NDArray A = nd::array({1, 7, 5, 4, 6, 10}, {3, 2});
  NDArray An = pure_batch_norm(A, nd::ones({2}), nd::zeros({2}));
  auto m = nd::mean(An, {0}).to_vector<float>(), v = nd::mean(nd::square(An), {0}).to_vector<float>();
  ch.claim(std::abs(m[0]) < 1e-5 && std::abs(v[1] - 1) < 1e-3, "pure_batch_norm of a (3, 2) batch: each column has mean 0, variance 1");
  NDArray B = nd::random::normal(3, 2, {8, 4, 5, 5});
  NDArray Bn = pure_batch_norm(B, nd::ones({4}), nd::zeros({4}));
  auto cm = nd::mean(Bn, {0, 2, 3}).to_vector<float>();
  ch.claim(std::abs(cm[2]) < 1e-4, "on (N, C, H, W) the statistics are per channel");

  // Against gluon's BatchNorm in training mode (momentum 0.9, eps 1e-5).
  auto bn = std::make_shared<nn::BatchNorm>();
  bn->collect_params().initialize();
  NDArray yg;
  {
    auto rec = autograd::record();
    yg = (*bn)(B);
  }
  NDArray mm = nd::zeros({4}), mv = nd::ones({4});
  NDArray ys = batch_norm(B, nd::ones({4}), nd::zeros({4}), 0.9, mm, mv, true);
  ch.claim(nd::max(nd::abs(yg - ys)).asscalar<float>() < 1e-4, "the scratch batch_norm equals nn.BatchNorm in training mode");
  NDArray rm = bn->running_mean->data();
  ch.claim(nd::max(nd::abs(rm - mm)).asscalar<float>() < 1e-4, "and the moving means agree (", rm.to_vector<float>()[0], ")");

  if (!book::have_fashion()) return book::skip("Fashion-MNIST is not installed (dataset-fashion-mnist)");
  auto tr = book::fashion(true, ch.quick ? 6000 : 0, true), te = book::fashion(false, ch.quick ? 1000 : 0, true);
  auto ds = std::make_shared<data::ArrayDataset>(std::vector<NDArray>{tr.x, tr.y});
  data::DataLoader loader(ds, data::DataLoaderOptions(64).shuffle(true).seed(ch.seed));
  int epochs = ch.budget(2, 5);

  // ---- from scratch: conv(20) bn relu pool, conv(50) bn relu pool, dense 128 bn relu, dense 10 ----
  std::vector<NDArray> P = {nd::random::normal(0, 0.01, {20, 1, 3, 3}), nd::zeros({20}), nd::ones({20}), nd::zeros({20}),
                            nd::random::normal(0, 0.01, {50, 20, 5, 5}), nd::zeros({50}), nd::ones({50}), nd::zeros({50}),
                            nd::random::normal(0, 0.01, {800, 128}), nd::zeros({128}),
                            nd::random::normal(0, 0.01, {128, 10}), nd::zeros({10})};
  for (auto& p : P) p.attach_grad();
  NDArray mm1 = nd::zeros({20}), mv1 = nd::ones({20}), mm2 = nd::zeros({50}), mv2 = nd::ones({50});
  auto pool = [](const NDArray& x) {
    return nd::op("Pooling", {{"kernel", std::vector<int64_t>{2, 2}}, {"stride", std::vector<int64_t>{2, 2}}, {"pool_type", std::string("max")}}, {x});
  };
  auto net = [&](const NDArray& X, bool is_training) {
    NDArray h = nd::op("Convolution", {{"kernel", std::vector<int64_t>{3, 3}}, {"num_filter", int64_t(20)}}, {X, P[0], P[1]});
    h = pool(nd::relu(batch_norm(h, P[2], P[3], 0.9, mm1, mv1, is_training)));
    h = nd::op("Convolution", {{"kernel", std::vector<int64_t>{5, 5}}, {"num_filter", int64_t(50)}}, {h, P[4], P[5]});
    h = pool(nd::relu(batch_norm(h, P[6], P[7], 0.9, mm2, mv2, is_training))).flatten();
    h = nd::relu(nd::dot(h, P[8]) + P[9]);
    return nd::dot(h, P[10]) + P[11];
  };
  for (int e = 0; e < epochs; ++e)
    for (const auto& batch : loader) {
      NDArray loss;
      {
        auto rec = autograd::record();
        loss = -nd::sum(nd::one_hot(batch[1], 10) * nd::log_softmax(net(batch[0], true)), {1});
      }
      loss.backward();
      for (auto& p : P) p -= (0.2 / 64) * p.grad();
    }
  double acc_scratch = book::accuracy([&](const NDArray& x) { return net(x, false); }, te.x, te.y);
  ch.claim(acc_scratch > 0.7, "scratch CNN with batch norm: test accuracy ", acc_scratch, " (bar 0.7)");

  // ---- with gluon ----
  auto gnet = std::make_shared<nn::HybridSequential>();
  gnet->add(std::make_shared<nn::Conv2D>(nn::Conv2DOptions(20, {5, 5})));
  gnet->add(std::make_shared<nn::BatchNorm>(nn::BatchNormOptions().axis(1).center(true).scale(true)));
  gnet->add(std::make_shared<nn::Activation>("relu"));
  gnet->add(std::make_shared<nn::MaxPool2D>(nn::Pool2DOptions({2, 2}).strides({2, 2})));
  gnet->add(std::make_shared<nn::Conv2D>(nn::Conv2DOptions(50, {5, 5})));
  gnet->add(std::make_shared<nn::BatchNorm>(nn::BatchNormOptions().axis(1).center(true).scale(true)));
  gnet->add(std::make_shared<nn::Activation>("relu"));
  gnet->add(std::make_shared<nn::MaxPool2D>(nn::Pool2DOptions({2, 2}).strides({2, 2})));
  gnet->add(std::make_shared<nn::Flatten>());
  gnet->add(std::make_shared<nn::Dense>(nn::DenseOptions(128).activation("relu")));
  gnet->add(std::make_shared<nn::Dense>(nn::DenseOptions(10)));
  gnet->collect_params().initialize(init::Xavier(2.24));
  gnet->hybridize();
  loss::SoftmaxCrossEntropyLoss ce;
  Trainer trainer(gnet->collect_params(), "sgd", {{"learning_rate", 0.1}});
  book::fit(*gnet, loader, ce, trainer, epochs);
  double acc = book::accuracy(*gnet, te.x, te.y);
  ch.claim(acc > 0.75, "gluon CNN with nn.BatchNorm (hybridized): test accuracy ", acc, " (bar 0.75)");
  return ch.finish();
}
