// Chapter "Bayes by backprop with gluon": the scratch chapter's Bayesian MLP as a HybridBlock.
// Every weight is a Gaussian (mu, sigma = softplus(rho)); in training mode the hybridized
// forward samples w = mu + sigma * eps with eps from the _random_normal_like op, so the
// compiled graph draws fresh weights at every call (its seed comes from the global
// generator); in predict mode it uses the posterior means, as the book's evaluation does.
// The block returns the logits and the KL term log q(w) - log p(w) (the book's scale-mixture
// prior); the ELBO loss is the cross-entropy plus KL / batches.
#include "book.h"

namespace {
using namespace hgc;
using namespace hgc::gluon;

const double kLogGaussConst = -0.5 * std::log(2 * M_PI);

NDArray softplus(const NDArray& x) { return nd::log1p(nd::exp(x)); }
NDArray log_gaussian(const NDArray& x, const NDArray& mu, const NDArray& sigma) {
  return kLogGaussConst - nd::log(sigma) - nd::square(x - mu) / (2.0 * nd::square(sigma));
}
NDArray log_gaussian(const NDArray& x, double sigma) {
  return kLogGaussConst - std::log(sigma) - nd::square(x) / (2 * sigma * sigma);
}
// The book's prior: pi N(0, sigma_p1) + (1 - pi) N(0, sigma_p2).
NDArray log_prior(const NDArray& x, double pi = 0.25, double s1 = std::exp(-1.0), double s2 = std::exp(-6.0)) {
  return nd::log(pi * nd::exp(log_gaussian(x, s1)) + (1 - pi) * nd::exp(log_gaussian(x, s2)) + 1e-30);
}

// An MLP of Bayesian dense layers: (x) -> (logits, KL).
class BayesMLP : public HybridBlock {
 public:
  BayesMLP(std::vector<int64_t> units) : HybridBlock("bayesmlp") {
    auto scope = name_scope();
    for (size_t l = 0; l + 1 < units.size(); ++l) {
      std::string p = "l" + std::to_string(l) + "_";
      std::vector<int64_t> ws = {units[l], units[l + 1]}, bs = {units[l + 1]};
      layers_.push_back({params().get(p + "weight_mu", ParamOptions().shape(ws).init(init::Normal(0.1))),
                         params().get(p + "weight_rho", ParamOptions().shape(ws).init(init::Constant(-3.0))),
                         params().get(p + "bias_mu", ParamOptions().shape(bs).init(init::Zero())),
                         params().get(p + "bias_rho", ParamOptions().shape(bs).init(init::Constant(-3.0)))});
    }
  }
  std::vector<NDArray> hybrid_forward_multi(const std::vector<NDArray>& xs) override {
    NDArray h = xs[0], kl;
    bool sample = is_training();
    for (size_t l = 0; l < layers_.size(); ++l) {
      NDArray w[2];
      for (int k = 0; k < 2; ++k) {
        NDArray mu = layers_[l][2 * k]->data();
        if (!sample) {
          w[k] = mu;
          continue;
        }
        NDArray sigma = softplus(layers_[l][2 * k + 1]->data());
        w[k] = mu + sigma * nd::random::normal_like(mu);  // the reparameterization
        NDArray t = nd::sum(log_gaussian(w[k], mu, sigma) - log_prior(w[k]));
        kl = kl.defined() ? kl + t : t;
      }
      h = nd::dot(h, w[0]) + w[1];
      if (l + 1 < layers_.size()) h = nd::relu(h);
    }
    if (!kl.defined()) kl = nd::sum(h) * 0.0;  // predict mode: no KL (a (1,) zero)
    return {h, kl};
  }
  // The mean sigma of the first layer's weights.
  std::shared_ptr<Parameter> rho0() { return layers_[0][1]; }
  double mean_sigma() { return nd::mean(softplus(layers_[0][1]->data())).asscalar<double>(); }

 private:
  std::vector<std::vector<std::shared_ptr<Parameter>>> layers_;
};

double max_diff(const NDArray& a, const NDArray& b) {
  std::vector<float> u = a.to_vector<float>(), v = b.to_vector<float>();
  double w = 0;
  for (size_t i = 0; i < u.size(); ++i) w = std::max(w, double(std::fabs(u[i] - v[i])));
  return u.size() == v.size() ? w : 1e30;
}

void copy_params(Block& from, Block& to) {
  auto a = from.collect_params().values(), b = to.collect_params().values();
  for (size_t i = 0; i < a.size(); ++i) b[i]->set_data(a[i]->data());
}
}  // namespace

int main(int argc, char** argv) {
  book::Chapter ch(argc, argv, "Bayes by backprop with gluon",
                   "the book: MNIST; here: Fashion-MNIST (Debian dataset-fashion-mnist). The weight noise is the "
                   "_random_normal_like op inside the hybridized forward (hgc's in-kernel counter-based generator "
                   "stands in for MXNet's per-device random resource)");
  if (ch.help) return 0;
  if (!book::have_fashion()) return book::skip("Fashion-MNIST is not installed (dataset-fashion-mnist)");
  auto tr = book::fashion(true, ch.quick ? 10000 : 0), te = book::fashion(false, ch.quick ? 2000 : 0);
  int64_t hidden = ch.quick ? 100 : 400, batch_size = 128;
  std::vector<int64_t> units = {784, hidden, hidden, 10};

  NameManager names;
  auto net = std::make_shared<BayesMLP>(units);
  net->initialize();
  auto imp = std::make_shared<BayesMLP>(units);  // an imperative twin with the same parameters
  imp->initialize();
  copy_params(*net, *imp);
  net->hybridize();

  // Hybridized and imperative agree after the same seed (the same eps: a fresh seed per draw,
  // taken from the global generator in forward order either way), values and gradients.
  NDArray x8 = tr.x.slice(0, 8), y8 = tr.y.slice(0, 8);
  loss::SoftmaxCrossEntropyLoss ce;
  auto step_grads = [&](BayesMLP& b) {
    NDArray l;
    std::vector<NDArray> out;
    {
      auto rec = autograd::record();
      out = b(std::vector<NDArray>{x8});
      l = nd::mean(ce(out[0], y8)) + out[1] / 1000.0;
    }
    l.backward();
    return std::vector<NDArray>{out[0], out[1], b.rho0()->grad().copy()};
  };
  nd::random::seed(ch.seed + 100);
  auto gi = step_grads(*imp);
  nd::random::seed(ch.seed + 100);
  auto gh = step_grads(*net);
  double d_out = max_diff(gi[0], gh[0]), d_kl = std::fabs(gi[1].asscalar<double>() - gh[1].asscalar<double>()),
         d_grad = max_diff(gi[2], gh[2]);
  ch.claim(d_out < 1e-4 && d_kl < 1e-2 * std::fabs(gi[1].asscalar<double>()) && d_grad < 1e-4,
           "hybridized == imperative in one seed: logits differ by ", d_out, ", KL by ", d_kl, " (of ",
           gi[1].asscalar<double>(), "), d loss / d rho (layer 0) by ", d_grad);

  // Each hybridized call (training mode) samples new weights, without a new trace.
  std::vector<NDArray> a, b;
  int64_t traces = 0;
  {
    auto train = autograd::train_mode();
    (*net)(std::vector<NDArray>{x8});  // the first call in this mode traces and compiles
    traces = net->cache_stats().traces;
    a = (*net)(std::vector<NDArray>{x8});
    b = (*net)(std::vector<NDArray>{x8});
  }
  double d_calls = max_diff(a[0], b[0]);
  ch.claim(d_calls > 1e-3 && net->cache_stats().traces == traces,
           "two hybridized training-mode calls draw different weights: logits differ by ", d_calls,
           " (no retrace: ", net->cache_stats().traces - traces, " new traces)");

  Trainer trainer(net->collect_params(), "adam", {{"learning_rate", 0.002}});
  auto ds = std::make_shared<data::ArrayDataset>(std::vector<NDArray>{tr.x, tr.y});
  data::DataLoader loader(ds, data::DataLoaderOptions(batch_size).shuffle(true).seed(ch.seed));
  double num_batches = static_cast<double>(loader.num_batches());
  std::vector<double> epoch_loss, epoch_ce;
  int epochs = ch.budget(2, 10);
  for (int e = 0; e < epochs; ++e) {
    double total = 0, total_ce = 0;
    for (const auto& batch : loader) {
      NDArray l, c;
      {
        auto rec = autograd::record();
        auto out = (*net)(std::vector<NDArray>{batch[0]});
        double bs = static_cast<double>(batch[0].shape()[0]);
        // The ELBO per sample: cross-entropy + KL spread over the epoch's batches.
        c = nd::mean(ce(out[0], batch[1]));
        l = c + out[1] / (num_batches * bs);
      }
      l.backward();
      trainer.step(1);
      total += l.asscalar<double>();
      total_ce += c.asscalar<double>();
    }
    epoch_loss.push_back(total / num_batches);
    epoch_ce.push_back(total_ce / num_batches);
    std::printf("  epoch %d: ELBO loss %.4f (cross-entropy %.4f + KL / N %.4f)\n", e + 1, epoch_loss.back(),
                epoch_ce.back(), epoch_loss.back() - epoch_ce.back());
  }
  ch.claim(epoch_loss.back() < epoch_loss.front() && epoch_ce.back() < 0.8 * epoch_ce.front(),
           "the ELBO loss falls: ", epoch_loss.front(), " -> ", epoch_loss.back(), " (its cross-entropy ",
           epoch_ce.front(), " -> ", epoch_ce.back(), ")");
  double acc = book::accuracy([&](const NDArray& x) { return (*net)(std::vector<NDArray>{x})[0]; }, te.x, te.y);
  ch.claim(acc > 0.7, "classifying with the posterior means (predict mode): test accuracy ", acc, " (bar 0.7)");
  NDArray p1 = (*net)(std::vector<NDArray>{x8})[0], p2 = (*net)(std::vector<NDArray>{x8})[0];
  ch.claim(max_diff(p1, p2) == 0, "predict mode uses the means: two calls agree");
  double sigma = net->mean_sigma();
  ch.claim(sigma > 1e-3, "the first layer's weights keep a posterior spread (mean sigma ", sigma, ")");
  return ch.finish();
}
