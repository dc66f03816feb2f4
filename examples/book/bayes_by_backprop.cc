// Chapter "Bayes by backprop from scratch": an MLP whose weights are Gaussians (mu, sigma =
// log(1 + exp(rho))), sampled by the reparameterization w = mu + sigma * eps each batch;
// the loss is the negative log-likelihood plus the KL term log q(w) - log p(w) against the
// book's scale-mixture prior, weighted over the batches of an epoch. The network classifies,
// and its weights keep a spread (sigma > 0) that predictions can average over.
#include "book.h"

namespace {
using namespace hgc;

double log_gaussian_const = -0.5 * std::log(2 * M_PI);

NDArray log_gaussian(const NDArray& x, const NDArray& mu, const NDArray& sigma) {
  return log_gaussian_const - nd::log(sigma) - nd::square(x - mu) / (2.0 * nd::square(sigma));
}
NDArray log_gaussian(const NDArray& x, double mu, double sigma) {
  return log_gaussian_const - std::log(sigma) - nd::square(x - mu) / (2 * sigma * sigma);
}
// The book's prior: pi N(0, sigma_p1) + (1 - pi) N(0, sigma_p2).
NDArray log_prior(const NDArray& x, double pi = 0.25, double s1 = std::exp(-1.0), double s2 = std::exp(-6.0)) {
  return nd::log(pi * nd::exp(log_gaussian(x, 0, s1)) + (1 - pi) * nd::exp(log_gaussian(x, 0, s2)) + 1e-30);
}
NDArray softplus(const NDArray& x) { return nd::log1p(nd::exp(x)); }
}  // namespace

int main(int argc, char** argv) {
  book::Chapter ch(argc, argv, "Bayes by backprop from scratch",
                   "the book: MNIST; here: Fashion-MNIST (Debian dataset-fashion-mnist)");
  if (ch.help) return 0;
  if (!book::have_fashion()) return book::skip("Fashion-MNIST is not installed (dataset-fashion-mnist)");
  auto tr = book::fashion(true, ch.quick ? 10000 : 0), te = book::fashion(false, ch.quick ? 2000 : 0);
  int64_t hidden = ch.quick ? 100 : 400, batch_size = 128;
  std::vector<std::vector<int64_t>> shapes = {{784, hidden}, {hidden}, {hidden, hidden}, {hidden}, {hidden, 10}, {10}};
  std::vector<NDArray> mus, rhos;
  for (auto& s : shapes) {
    mus.push_back(nd::random::normal(0, 0.1, s));
    rhos.push_back(nd::full(s, -3.0));
    mus.back().attach_grad();
    rhos.back().attach_grad();
  }
  auto net = [&](const NDArray& X, const std::vector<NDArray>& w) {
    NDArray h = nd::relu(nd::dot(X, w[0]) + w[1]);
    h = nd::relu(nd::dot(h, w[2]) + w[3]);
    return nd::dot(h, w[4]) + w[5];
  };
  auto ds = std::make_shared<gluon::data::ArrayDataset>(std::vector<NDArray>{tr.x, tr.y});
  gluon::data::DataLoader loader(ds, gluon::data::DataLoaderOptions(batch_size).shuffle(true).seed(ch.seed));
  double num_batches = static_cast<double>(loader.num_batches());
  auto trainer_step = [&](double lr) {
    for (auto* ps : {&mus, &rhos})
      for (auto& p : *ps) p -= lr * p.grad();
  };
  double kl_first = 0, kl_last = 0;
  int epochs = ch.budget(3, 10);
  for (int e = 0; e < epochs; ++e) {
    double kl_sum = 0;
    for (const auto& batch : loader) {
      NDArray loss, kl;
      {
        auto rec = autograd::record();
        std::vector<NDArray> w;
        kl = nd::zeros({1});
        for (size_t i = 0; i < mus.size(); ++i) {
          NDArray sigma = softplus(rhos[i]);
          NDArray eps = nd::random::normal(0, 1, mus[i].shape());
          w.push_back(mus[i] + sigma * eps);
          kl = kl + nd::sum(log_gaussian(w.back(), mus[i], sigma) - log_prior(w.back()));
        }
        NDArray nll = -nd::sum(nd::one_hot(batch[1], 10) * nd::log_softmax(net(batch[0], w)));
        loss = (kl / num_batches + nll) / double(batch_size);
      }
      loss.backward();
      trainer_step(0.05);
      kl_sum += kl.asscalar<double>();
    }
    (e == 0 ? kl_first : kl_last) = kl_sum / num_batches;
    std::printf("  epoch %d: mean KL %.0f\n", e + 1, kl_sum / num_batches);
  }
  // Predict with the posterior means (the book's evaluate_accuracy uses mus).
  double acc = book::accuracy([&](const NDArray& x) { return net(x, mus); }, te.x, te.y);
  ch.claim(acc > 0.7, "classifying with the posterior means: test accuracy ", acc, " (bar 0.7)");
  ch.claim(kl_last < kl_first, "the KL term to the prior falls during training (", kl_first, " -> ", kl_last, ")");
  double mean_sigma = nd::mean(softplus(rhos[0])).asscalar<double>();
  ch.claim(mean_sigma > 1e-3, "the first layer's weights keep a posterior spread (mean sigma ", mean_sigma, ")");
  return ch.finish();
}
