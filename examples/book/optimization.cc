// Chapters "Optimization by gradient descent" (GD, SGD, mini-batch SGD with a decaying rate)
// and "Stochastic gradient descent with momentum": linear regression on synthetic data fitted
// by each method written from scratch, then the same through gluon's Trainer ("sgd" with and
// without momentum), compared by their loss after equal budgets.
#include "book.h"

namespace {
using namespace hgc;

struct Data {
  NDArray X, y;
};

// The book's data: y = 2 x1 - 3.4 x2 + 4.2 + noise, 1000 samples.
Data make_data(int64_t n) {
  NDArray X = nd::random::normal(0, 1, {n, 2});
  NDArray y = 2 * X.slice_axis(1, 0, 1) - 3.4 * X.slice_axis(1, 1, 2) + 4.2 + 0.01 * nd::random::normal(0, 1, {n, 1});
  return {X, y.reshape({n})};
}

double total_loss(const Data& d, const NDArray& w, const NDArray& b) {
  return nd::mean(nd::square(nd::dot(d.X, w).reshape({-1}) + b - d.y)).asscalar<double>() / 2;
}

// Mini-batch SGD (batch_size == n: gradient descent) with optional momentum; the rate decays
// by 0.1 after the second epoch, as the book does. Returns the loss after each epoch.
std::vector<double> train(const Data& d, int64_t batch_size, double lr, double mom, int epochs, uint64_t seed) {
  nd::random::seed(seed);
  NDArray w = nd::random::normal(0, 1, {2, 1}), b = nd::zeros({1});
  w.attach_grad();
  b.attach_grad();
  NDArray vw = nd::zeros({2, 1}), vb = nd::zeros({1});
  auto ds = std::make_shared<gluon::data::ArrayDataset>(std::vector<NDArray>{d.X, d.y});
  gluon::data::DataLoader loader(ds, gluon::data::DataLoaderOptions(batch_size).shuffle(true).seed(seed));
  std::vector<double> out{total_loss(d, w, b)};
  for (int e = 1; e <= epochs; ++e) {
    if (e > 2) lr *= 0.1;
    for (const auto& batch : loader) {
      NDArray l;
      {
        auto rec = autograd::record();
        l = nd::mean(nd::square(nd::dot(batch[0], w).reshape({-1}) + b - batch[1])) / 2.0;
      }
      l.backward();
      vw.assign(mom * vw + lr * w.grad());
      vb.assign(mom * vb + lr * b.grad());
      w -= vw;
      b -= vb;
    }
    out.push_back(total_loss(d, w, b));
  }
  return out;
}
}  // namespace

int main(int argc, char** argv) {
  book::Chapter ch(argc, argv, "Optimization: gradient descent, SGD, momentum",
                   "the book's synthetic linear regression (y = 2 x1 - 3.4 x2 + 4.2 + noise, 1000 samples)");
  if (ch.help) return 0;
  Data d = make_data(1000);
  int epochs = ch.budget(3, 3);

  auto gd = train(d, 1000, 0.2, 0, epochs, ch.seed);
  auto sgd = train(d, 1, 0.2, 0, epochs, ch.seed);
  auto mb = train(d, 10, 0.2, 0, epochs, ch.seed);
  auto mom = train(d, 10, 0.2, 0.9, epochs, ch.seed);
  auto mb_slow = train(d, 10, 0.02, 0, epochs, ch.seed);
  auto mom_slow = train(d, 10, 0.02, 0.9, epochs, ch.seed);
  std::printf("  loss after %d epochs: GD %.2e, SGD %.2e, mini-batch %.2e, momentum %.2e; at rate 0.02: %.2e vs %.2e\n",
              epochs, gd.back(), sgd.back(), mb.back(), mom.back(), mb_slow.back(), mom_slow.back());
  ch.claim(gd.back() < gd.front() && gd[1] < gd[0], "gradient descent lowers the loss every epoch (", gd.front(), " -> ", gd.back(), ")");
  ch.claim(sgd.back() < 1e-3 && mb.back() < 1e-3, "SGD and mini-batch SGD (batch 10) reach the noise floor: ", sgd.back(), ", ", mb.back());
  ch.claim(mb.back() < gd.back(), "with equal epochs mini-batch SGD ends lower than full-batch GD (more updates)");
  ch.claim(mom_slow.back() < mb_slow.back(), "with a small rate, momentum 0.9 converges further than plain SGD (", mom_slow.back(),
           " < ", mb_slow.back(), ")");
  ch.claim(book::write_svg_plot(ch.path("optimization.svg"), "loss per epoch (log10)",
                                {{"GD", gd}, {"SGD", sgd}, {"mini-batch", mb}, {"momentum", mom}}),
           "the loss curves are plotted to ", ch.path("optimization.svg"));

  // The same through gluon: Trainer("sgd", momentum) on nn.Dense(1).
  using namespace hgc::gluon;
  auto run = [&](double m) {
    nd::random::seed(ch.seed);
    auto net = std::make_shared<nn::Dense>(nn::DenseOptions(1));
    net->collect_params().initialize(init::Normal(1.0));
    Trainer trainer(net->collect_params(), "sgd", {{"learning_rate", 0.02}, {"momentum", m}});
    loss::L2Loss l2;
    auto ds = std::make_shared<data::ArrayDataset>(std::vector<NDArray>{d.X, d.y.reshape({-1, 1})});
    data::DataLoader loader(ds, data::DataLoaderOptions(10).shuffle(true).seed(ch.seed));
    book::fit(*net, loader, l2, trainer, 1);
    return nd::mean(nd::square((*net)(d.X) - d.y.reshape({-1, 1}))).asscalar<double>() / 2;
  };
  double plain = run(0), with_mom = run(0.9);
  ch.claim(with_mom < plain, "gluon Trainer: sgd with momentum 0.9 ends lower than without (", with_mom, " < ", plain, ")");
  return ch.finish();
}
