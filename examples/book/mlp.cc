// Chapters "Multilayer perceptrons from scratch" and "... in gluon": 784 -> 256 -> 128 ->
// 10 with relu, hand-written (parameters, relu, softmax cross-entropy, SGD) and as an
// nn.Sequential of Dense layers with a Trainer; both beat the linear model's accuracy bar.
#include "book.h"

int main(int argc, char** argv) {
  book::Chapter ch(argc, argv, "Multilayer perceptrons (scratch and gluon)",
                   "the book: MNIST; here: Fashion-MNIST (Debian dataset-fashion-mnist)");
  if (ch.help) return 0;
  using namespace hgc;
  using namespace hgc::gluon;
  if (!book::have_fashion()) return book::skip("Fashion-MNIST is not installed (dataset-fashion-mnist)");
  auto tr = book::fashion(true, ch.quick ? 20000 : 0), te = book::fashion(false, ch.quick ? 2000 : 0);
  auto ds = std::make_shared<data::ArrayDataset>(std::vector<NDArray>{tr.x, tr.y});
  data::DataLoader train_data(ds, data::DataLoaderOptions(64).shuffle(true).seed(ch.seed));
  int epochs = ch.budget(3, 10);

  // ---- from scratch ----
  int64_t num_hidden = 256, num_hidden2 = 128;
  double weight_scale = 0.1;  // the book: 0.01 with a longer run; 0.1 trains within the test budget
  std::vector<NDArray> params = {nd::random::normal(0, weight_scale, {784, num_hidden}), nd::zeros({num_hidden}),
                                 nd::random::normal(0, weight_scale, {num_hidden, num_hidden2}), nd::zeros({num_hidden2}),
                                 nd::random::normal(0, weight_scale, {num_hidden2, 10}), nd::zeros({10})};
  for (auto& p : params) p.attach_grad();
  auto relu = [](const NDArray& x) { return nd::maximum(x, 0.0); };
  auto net = [&](const NDArray& x) {
    NDArray h1 = relu(nd::dot(x, params[0]) + params[1]);
    NDArray h2 = relu(nd::dot(h1, params[2]) + params[3]);
    return nd::dot(h2, params[4]) + params[5];
  };
  auto softmax_cross_entropy = [](const NDArray& yhat_linear, const NDArray& y) {
    return -nd::sum(y * nd::log_softmax(yhat_linear), {1});
  };
  double first = 0, last = 0;
  for (int e = 0; e < epochs; ++e) {
    double total = 0;
    int64_t n = 0;
    for (const auto& batch : train_data) {
      NDArray loss;
      {
        auto rec = autograd::record();
        loss = softmax_cross_entropy(net(batch[0]), nd::one_hot(batch[1], 10));
      }
      loss.backward();
      for (auto& p : params) p -= (0.2 / 64) * p.grad();  // SGD(params, lr) on the batch sum
      total += nd::sum(loss).asscalar<double>();
      n += batch[0].shape()[0];
    }
    (e == 0 ? first : last) = total / n;
    if (e == 0) last = first;
    std::printf("  scratch epoch %d: loss %.4f\n", e + 1, total / n);
  }
  double acc_scratch = book::accuracy(net, te.x, te.y);
  ch.claim(acc_scratch > 0.78, "scratch MLP: test accuracy ", acc_scratch, " (bar 0.78)");

  // ---- with gluon ----
  auto gnet = std::make_shared<nn::Sequential>();
  {
    auto scope = gnet->name_scope();
    gnet->add(std::make_shared<nn::Dense>(nn::DenseOptions(64).activation("relu")));
    gnet->add(std::make_shared<nn::Dense>(nn::DenseOptions(64).activation("relu")));
    gnet->add(std::make_shared<nn::Dense>(nn::DenseOptions(10)));
  }
  gnet->collect_params().initialize(init::Normal(0.1));
  loss::SoftmaxCrossEntropyLoss ce;
  Trainer trainer(gnet->collect_params(), "sgd", {{"learning_rate", 0.1}});
  auto curve = book::fit(*gnet, train_data, ce, trainer, epochs);
  double acc_gluon = book::accuracy(*gnet, te.x, te.y);
  ch.claim(curve.back() < curve.front() || epochs == 1, "gluon MLP: the training loss falls (", curve.front(), " -> ", curve.back(), ")");
  ch.claim(acc_gluon > 0.78, "gluon MLP: test accuracy ", acc_gluon, " (bar 0.78)");
  std::cout << *gnet << "\n";
  return ch.finish();
}
