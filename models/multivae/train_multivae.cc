// Mult-VAE (or Mult-DAE) trained as in the MXNet seed — Adam 1e-3, batch 500, the annealed
// KL schedule — on seeded synthetic implicit feedback (models/multivae/synthetic.h), then
// evaluated on held-out users (NDCG@100, Recall@20/50, training items masked) against a
// popularity ranking.
//
//   ./build/models/hgc_train_multivae [epochs] [vae|dae] [export-prefix]
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

#include "common/cli.h"
#include "multivae/multivae.h"
#include "multivae/synthetic.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {

struct Eval {
  double loss, n100, r20, r50;
};

template <class Forward>
Eval evaluate(Forward&& logits_of, const models::RecData& d) {
  NDArray logits = logits_of(d.heldout_tr);
  auto n = models::ranking_at_k(logits, d.heldout_tr, d.heldout_te, 100);
  return {models::multinomial_nll(d.heldout_tr, logits).asscalar(), models::mean(n.ndcg),
          models::mean(models::ranking_at_k(logits, d.heldout_tr, d.heldout_te, 20).recall),
          models::mean(models::ranking_at_k(logits, d.heldout_tr, d.heldout_te, 50).recall)};
}

}  // namespace

int main(int argc, char** argv) try {
  if (models::wants_help(argc, argv, "[epochs] [vae|dae] [export-prefix]")) return 0;
  int epochs = argc > 1 ? models::positive_int_arg(argv[1], "epochs") : 20;
  std::string kind = argc > 2 ? argv[2] : "vae";
  std::string prefix = argc > 3 ? argv[3] : "";
  if (kind != "vae" && kind != "dae") throw Error("train_multivae", "model must be vae or dae, not '" + kind + "'");
  models::SyntheticOptions so;
  so.n_items = 2000;
  so.n_train_users = 10000;
  so.n_heldout_users = 1000;
  auto d = models::make_synthetic(so);
  const int64_t I = d.n_items, N = d.train.shape()[0], batch = 500;
  std::printf("synthetic data: %lld users x %lld items (%.1f interactions per user), %lld held-out users\n",
              static_cast<long long>(N), static_cast<long long>(I), nd::sum(d.train).asscalar() / N,
              static_cast<long long>(d.heldout_tr.shape()[0]));

  auto pop = evaluate([&](const NDArray& x) { return models::popularity_scores(d.train, x.shape()[0]); }, d);
  std::printf("popularity baseline: NDCG@100 %.4f, Recall@20 %.4f, Recall@50 %.4f\n", pop.n100, pop.r20, pop.r50);

  nd::random::seed(7);
  std::shared_ptr<models::MultiVAE> vae;
  std::shared_ptr<models::MultiDAE> dae;
  if (kind == "vae") vae = std::make_shared<models::MultiVAE>(std::vector<int64_t>{200, 600, I});
  else dae = std::make_shared<models::MultiDAE>(std::vector<int64_t>{200, 600, I});
  Block& net = vae ? static_cast<Block&>(*vae) : static_cast<Block&>(*dae);
  net.initialize(init::Xavier());
  net.hybridize();
  Trainer trainer(net.collect_params(), "adam", {{"learning_rate", 1e-3}});
  // The seed's schedule: the cap is reached after 80% of the epochs.
  const int64_t steps_per_epoch = (N + batch - 1) / batch;
  models::KLAnnealer annealer{0.2, steps_per_epoch * (epochs - static_cast<int>(epochs * 0.2)) / 0.2};
  data::DataLoader loader(std::make_shared<data::ArrayDataset>(std::vector<NDArray>{d.train}),
                          data::DataLoaderOptions(batch).shuffle(true).seed(11));
  auto logits_of = [&](const NDArray& x) { return vae ? std::get<0>(vae->run3(x)) : (*dae)(x); };
  for (int epoch = 0; epoch < epochs; ++epoch) {
    auto t0 = std::chrono::steady_clock::now();
    double loss_sum = 0;
    int64_t steps = 0;
    for (const auto& b : loader) {
      const NDArray& x = b[0];
      double anneal = annealer.next();
      NDArray l;
      {
        auto r = autograd::record();
        if (vae) {
          auto [logits, mu, logvar] = vae->run3(x);
          l = models::vae_loss(x, logits, mu, logvar, anneal);
        } else {
          l = models::multinomial_nll(x, (*dae)(x));
        }
      }
      l.backward();
      trainer.step(x.shape()[0]);
      loss_sum += l.asscalar();
      ++steps;
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto e = evaluate(logits_of, d);
    std::printf("epoch %2d: train loss %.2f, held-out loss %.2f, NDCG@100 %.4f, Recall@20 %.4f, Recall@50 %.4f (%.2f s, %.1f ms/step)\n",
                epoch + 1, loss_sum / steps, e.loss, e.n100, e.r20, e.r50, s, 1000 * s / steps);
  }
  if (!prefix.empty()) {
    auto& block = vae ? static_cast<HybridBlock&>(*vae->decode) : static_cast<HybridBlock&>(*dae);
    block.export_model(prefix, epochs);
    std::printf("exported %s-symbol.json and %s-%04d.params\n", prefix.c_str(), prefix.c_str(), epochs);
  }
  return 0;
} catch (const hgc::Error& e) {
  std::cerr << "error: " << e.what() << "\n";
  return 1;
}
