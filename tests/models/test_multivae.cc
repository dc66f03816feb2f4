// Mult-VAE / Mult-DAE (models/multivae): brief training on small synthetic data beats the
// popularity ranking on held-out users; hybridized == imperative; export -> imports.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "hgc/runtime/library.h"
#include "multivae/multivae.h"
#include "multivae/synthetic.h"
#include "support/paths.h"
#include "support/nd_close.h"
#include "models/cli_check.h"

using namespace hgc;
using namespace hgc::gluon;
using hgc::test::check_close;

namespace {

models::RecData small_data() {
  models::SyntheticOptions o;
  o.n_items = 300;
  o.n_train_users = 1500;
  o.n_heldout_users = 300;
  o.n_tastes = 6;
  o.min_items = 10;
  o.max_items = 30;
  return models::make_synthetic(o);
}

}  // namespace

TEST_CASE("models: synthetic interactions and the seed's ranking metrics") {
  auto d = small_data();
  CHECK(d.train.shape() == std::vector<int64_t>{1500, 300});
  CHECK(d.heldout_tr.shape() == d.heldout_te.shape());
  // Fold-in and hidden parts are disjoint and every held-out user hides something.
  CHECK(nd::sum(d.heldout_tr * d.heldout_te).asscalar() == 0);
  CHECK(nd::min(nd::sum(d.heldout_te, {1})).asscalar() >= 1);
  // A perfect ranking scores 1; ranking the hidden items last scores 0.
  auto perfect = models::ranking_at_k(d.heldout_te, d.heldout_tr, d.heldout_te, 20);
  CHECK(models::mean(perfect.ndcg) == doctest::Approx(1.0));
  CHECK(models::mean(perfect.recall) == doctest::Approx(1.0));
  auto worst = models::ranking_at_k(-1.0 * d.heldout_te, d.heldout_tr, d.heldout_te, 20);
  CHECK(models::mean(worst.ndcg) == 0);
  // Hand-checked row: hits at ranks 0 and 2 of k = 3 with 2 held out.
  NDArray s = nd::array(std::vector<float>{0.9f, 0.8f, 0.7f, 0.1f}, {1, 4}), seen = nd::zeros({1, 4}),
          held = nd::array(std::vector<float>{1.f, 0.f, 1.f, 0.f}, {1, 4});
  auto r = models::ranking_at_k(s, seen, held, 3);
  CHECK(r.ndcg[0] == doctest::Approx((1 + 1 / std::log2(4.0)) / (1 + 1 / std::log2(3.0))));
  CHECK(r.recall[0] == doctest::Approx(1.0));
  CHECK_THROWS_WITH_AS(models::ranking_at_k(s, seen, held, 5), doctest::Contains("k = 5"), Error);
  CHECK_THROWS_AS(models::ranking_at_k(s, nd::zeros({1, 3}), held, 2), Error);
}

TEST_CASE("models: Mult-VAE learns synthetic tastes and beats popularity (hybridized)") {
  auto d = small_data();
  double pop = models::mean(models::ranking_at_k(models::popularity_scores(d.train, d.heldout_tr.shape()[0]),
                                                 d.heldout_tr, d.heldout_te, 100).ndcg);
  nd::random::seed(5);
  models::MultiVAE vae({64, 128, d.n_items});
  vae.initialize(init::Xavier());
  vae.hybridize();
  Trainer trainer(vae.collect_params(), "adam", {{"learning_rate", 3e-3}});
  data::DataLoader loader(std::make_shared<data::ArrayDataset>(std::vector<NDArray>{d.train}),
                          data::DataLoaderOptions(100).shuffle(true).seed(2));
  models::KLAnnealer annealer{0.2, 200};
  double first = 0, last = 0;
  int steps = 0;
  for (int epoch = 0; epoch < 6; ++epoch) {
    for (const auto& b : loader) {
      NDArray l;
      {
        auto r = autograd::record();
        auto [logits, mu, logvar] = vae.run3(b[0]);
        l = models::vae_loss(b[0], logits, mu, logvar, annealer.next());
      }
      l.backward();
      trainer.step(b[0].shape()[0]);
      (steps++ == 0 ? first : last) = l.asscalar();
    }
  }
  auto logits = std::get<0>(vae.run3(d.heldout_tr));  // predict mode: z = mu
  double ndcg = models::mean(models::ranking_at_k(logits, d.heldout_tr, d.heldout_te, 100).ndcg);
  MESSAGE("Mult-VAE NDCG@100 ", ndcg, " vs popularity ", pop, "; loss ", first, " -> ", last);
  CHECK(last < 0.9 * first);
  CHECK(ndcg > pop + 0.05);
  CHECK(vae.encode->cache_stats().traces >= 1);  // the encoder really compiled

  // The same weights without hybridization give the same predict-mode forward.
  models::MultiVAE plain({64, 128, d.n_items});
  auto dir = test::temp_dir();
  vae.save_parameters(dir + "/vae.params");
  plain.load_parameters(dir + "/vae.params");
  auto p = plain.run3(d.heldout_tr);
  check_close(std::get<0>(p), logits, 5e-5);
  check_close(std::get<1>(p), std::get<1>(vae.run3(d.heldout_tr)), 5e-6);

  // The decoder exports as MXNet files and imports back with identical output.
  vae.decode->export_model(dir + "/vae_dec", 0);
  auto imported = SymbolBlock::imports(dir + "/vae_dec-symbol.json", {"data"}, dir + "/vae_dec-0000.params");
  NDArray z = std::get<1>(vae.run3(d.heldout_tr));
  check_close((*imported)(z), (*vae.decode)(z), 5e-7);
  test::check_hgc_cli(dir + "/vae_dec", 0, {{"data", z.slice(0, 20)}}, (*vae.decode)(z.slice(0, 20)));
}

TEST_CASE("models: Mult-DAE learns, hybridized == imperative") {
  auto d = small_data();
  double pop = models::mean(models::ranking_at_k(models::popularity_scores(d.train, d.heldout_tr.shape()[0]),
                                                 d.heldout_tr, d.heldout_te, 100).ndcg);
  nd::random::seed(9);
  models::MultiDAE dae({64, 128, d.n_items});
  dae.initialize(init::Xavier());
  NDArray before = dae(d.heldout_tr);
  dae.hybridize();
  check_close(dae(d.heldout_tr), before, 5e-6);
  Trainer trainer(dae.collect_params(), "adam", {{"learning_rate", 3e-3}});
  data::DataLoader loader(std::make_shared<data::ArrayDataset>(std::vector<NDArray>{d.train}),
                          data::DataLoaderOptions(100).shuffle(true).seed(2));
  for (int epoch = 0; epoch < 5; ++epoch)
    for (const auto& b : loader) {
      NDArray l;
      {
        auto r = autograd::record();
        l = models::multinomial_nll(b[0], dae(b[0]));
      }
      l.backward();
      trainer.step(b[0].shape()[0]);
    }
  double ndcg = models::mean(models::ranking_at_k(dae(d.heldout_tr), d.heldout_tr, d.heldout_te, 100).ndcg);
  MESSAGE("Mult-DAE NDCG@100 ", ndcg, " vs popularity ", pop);
  CHECK(ndcg > pop + 0.05);
  CHECK_THROWS_WITH_AS(models::MultiVAE({64, 128, 300}, {200, 128, 64}), doctest::Contains("q_dims"), Error);
  CHECK_THROWS_WITH_AS(models::VAEEncoder({300, 128, 64}, {0.5}), doctest::Contains("dropout"), Error);
}

TEST_CASE("models: a click-matrix input takes the sparse GEMM path in a hybridized Dense, values and gradients as dense") {
  // W5's first layer in small: a 1 % click matrix into Dense, forward and weight gradient in
  // the compiled graphs; both products are past the size the runtime looks at sparsity for.
  const int64_t B = 100, items = 4096, hidden = 64;
  std::mt19937 g(3);
  std::uniform_real_distribution<float> u(0, 1);
  std::vector<float> xv(B * items), rv(B * hidden);
  for (float& v : xv) v = u(g) < 0.01f ? 1.f : 0.f;
  for (float& v : rv) v = u(g) - 0.5f;
  NDArray x = nd::array(xv, {B, items}), r = nd::array(rv, {B, hidden});
  auto net = std::make_shared<nn::HybridSequential>();
  net->emplace<nn::Dense>(nn::DenseOptions(hidden).in_units(items));
  net->initialize(init::Xavier());
  net->hybridize();
  auto fc = std::dynamic_pointer_cast<nn::Dense>(net->children()[0].second);
  const uint64_t before = lib::sparse_gemm_calls();
  NDArray y;
  {
    auto rec = autograd::record();
    y = (*net)(x);
    nd::sum(y * r).backward();
  }
  CHECK(lib::sparse_gemm_calls() >= before + 2);  // y = x W^T + b and dW = r^T x
  std::vector<float> w = fc->weight->data().to_vector<float>(), b = fc->bias->data().to_vector<float>();
  std::vector<float> y_ref(B * hidden), dw_ref(hidden * items, 0.f), db_ref(hidden, 0.f);
  for (int64_t i = 0; i < B; ++i)
    for (int64_t n = 0; n < hidden; ++n) {
      double s = b[n];
      for (int64_t k = 0; k < items; ++k) s += double(xv[i * items + k]) * w[n * items + k];
      y_ref[i * hidden + n] = static_cast<float>(s);
      db_ref[n] += rv[i * hidden + n];
      for (int64_t k = 0; k < items; ++k) dw_ref[n * items + k] += rv[i * hidden + n] * xv[i * items + k];
    }
  check_close(y.to_vector<float>(), y_ref, 1e-5);
  check_close(fc->weight->grad().to_vector<float>(), dw_ref, 1e-5);
  check_close(fc->bias->grad().to_vector<float>(), db_ref, 1e-5);
}

TEST_CASE("models: VAELoss hybridized equals vae_loss, gradients too, and a new anneal does not recompile") {
  nd::random::seed(5);
  NDArray x = nd::floor(nd::random::uniform(0, 2, {16, 40}));
  NDArray logits = nd::random::normal(0, 1, {16, 40}), mu = nd::random::normal(0, 1, {16, 8}),
          logvar = nd::random::normal(0, 0.5, {16, 8});
  models::VAELoss loss;
  loss.hybridize();
  for (double anneal : {0.0, 0.05, 0.2}) {
    CAPTURE(anneal);
    std::vector<NDArray> imp_grads, hyb_grads;
    for (bool hybrid : {false, true}) {
      NDArray lg = logits.copy(), m = mu.copy(), lv = logvar.copy();
      lg.attach_grad();
      m.attach_grad();
      lv.attach_grad();
      NDArray l;
      {
        auto r = autograd::record();
        l = hybrid ? loss(x, lg, m, lv, anneal) : models::vae_loss(x, lg, m, lv, anneal);
      }
      l.backward();
      CHECK(l.size() == 1);
      (hybrid ? hyb_grads : imp_grads) = {l.reshape({1}), lg.grad(), m.grad(), lv.grad()};
    }
    for (size_t k = 0; k < imp_grads.size(); ++k) check_close(hyb_grads[k], imp_grads[k], 1e-5);
  }
  CHECK(loss.compile_count() <= 2);  // one forward and one backward graph for every anneal
}
