// Chapters "Linear regression from scratch" and "Linear regression with gluon": the book's
// synthetic data y = 2 x1 - 3.4 x2 + 4.2 + noise, fitted once with hand-written parameters,
// squared loss and SGD, once with nn.Dense(1), L2Loss and a Trainer; a learning-curve plot.
#include "book.h"

int main(int argc, char** argv) {
  book::Chapter ch(argc, argv, "Linear regression (scratch and gluon)",
                   "the book's own synthetic data: y = 2 x1 - 3.4 x2 + 4.2 + 0.01 noise, 10000 samples");
  if (ch.help) return 0;
  using namespace hgc;
  using namespace hgc::gluon;

  int64_t num_examples = 10000, batch_size = 4 * 25;
  NDArray X = nd::random::normal(0, 1, {num_examples, 2});
  NDArray y = 2 * X.slice_axis(1, 0, 1) - 3.4 * X.slice_axis(1, 1, 2) + 4.2;
  y = y.reshape({num_examples}) + 0.01 * nd::random::normal(0, 1, {num_examples});
  auto ds = std::make_shared<data::ArrayDataset>(std::vector<NDArray>{X, y});
  data::DataLoader train_data(ds, data::DataLoaderOptions(batch_size).shuffle(true).seed(ch.seed));
  int epochs = ch.budget(2, 5);

  // ---- from scratch ----
  NDArray w = nd::random::normal(0, 1, {2, 1}), b = nd::random::normal(0, 1, {1});
  w.attach_grad();
  b.attach_grad();
  auto net = [&](const NDArray& x) { return nd::dot(x, w) + b; };
  auto square_loss = [](const NDArray& yhat, const NDArray& yy) { return nd::mean(nd::square(yhat - yy.reshape({-1, 1}))); };
  double lr = 0.05, first = -1, last = 0;
  std::vector<double> curve;
  for (int e = 0; e < epochs; ++e)
    for (const auto& batch : train_data) {
      NDArray loss;
      {
        auto rec = autograd::record();
        loss = square_loss(net(batch[0]), batch[1]);
      }
      loss.backward();
      w -= lr * w.grad();  // the book's SGD(params, lr)
      b -= lr * b.grad();
      last = loss.asscalar<double>();
      if (first < 0) first = last;
      curve.push_back(last);
    }
  auto wv = w.to_vector<float>();
  float bv = b.asscalar<float>();
  ch.claim(last < 0.01 * first, "scratch: the squared loss falls from ", first, " to ", last);
  ch.claim(std::abs(wv[0] - 2) < 0.02 && std::abs(wv[1] + 3.4) < 0.02 && std::abs(bv - 4.2) < 0.02,
           "scratch: w = (", wv[0], ", ", wv[1], "), b = ", bv, " recover (2, -3.4), 4.2");
  ch.claim(book::write_svg_plot(ch.path("linreg_loss.svg"), "Loss during training", {{"scratch", curve}}),
           "the learning curve is plotted to ", ch.path("linreg_loss.svg"));

  // ---- with gluon ----
  auto dense = std::make_shared<nn::Sequential>();
  dense->add(std::make_shared<nn::Dense>(nn::DenseOptions(1)));
  dense->collect_params().initialize(init::Normal(1.0));
  loss::L2Loss l2;
  Trainer trainer(dense->collect_params(), "sgd", {{"learning_rate", 0.05}});
  double gfirst = -1, glast = 0;
  for (int e = 0; e < epochs; ++e)
    for (const auto& batch : train_data) {
      NDArray loss;
      {
        auto rec = autograd::record();
        loss = l2((*dense)(batch[0]), batch[1].reshape({-1, 1}));
      }
      loss.backward();
      trainer.step(static_cast<double>(batch[0].shape()[0]));
      glast = book::mean(loss);
      if (gfirst < 0) gfirst = glast;
    }
  auto params = dense->collect_params();
  auto gw = params.values()[0]->data().to_vector<float>();
  float gb = params.values()[1]->data().asscalar<float>();
  ch.claim(glast < 0.01 * gfirst, "gluon: the L2 loss falls from ", gfirst, " to ", glast);
  ch.claim(std::abs(gw[0] - 2) < 0.02 && std::abs(gw[1] + 3.4) < 0.02 && std::abs(gb - 4.2) < 0.02,
           "gluon: dense0_weight = (", gw[0], ", ", gw[1], "), dense0_bias = ", gb);
  ch.claim(params.values()[0]->name() == "dense0_weight" || params.values()[0]->name().find("dense") != std::string::npos,
           "the learned parameters are read off the ParameterDict by name (", params.values()[0]->name(), ")");
  return ch.finish();
}
