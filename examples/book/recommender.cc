// Chapter "Introduction to recommender systems": rating prediction by the global average,
// by an offset plus user and item biases, and by a latent factor model (matrix
// factorization: Embedding lookups, a dot product and biases in a HybridBlock), compared by
// held-out RMSE.
#include "book.h"

namespace {
using namespace hgc;
using namespace hgc::gluon;

// r(u, i) = mu + b_u + b_i + <p_u, q_i>, in a block taking {users, items}.
class MFBlock : public HybridBlock {
 public:
  MFBlock(int64_t users, int64_t items, int64_t k, bool factors) : HybridBlock("mfblock"), factors_(factors) {
    auto scope = name_scope();
    user_bias = register_child(std::make_shared<nn::Embedding>(users, 1), "user_bias");
    item_bias = register_child(std::make_shared<nn::Embedding>(items, 1), "item_bias");
    if (factors) {
      user_emb = register_child(std::make_shared<nn::Embedding>(users, k), "user_emb");
      item_emb = register_child(std::make_shared<nn::Embedding>(items, k), "item_emb");
    }
    mu = params().get("mu", ParamOptions().shape({1}).init(init::Zero()));
  }
  std::vector<NDArray> hybrid_forward_multi(const std::vector<NDArray>& xs) override {
    NDArray r = (*user_bias)(xs[0]).reshape({-1}) + (*item_bias)(xs[1]).reshape({-1}) + mu->data();
    if (factors_) r = r + nd::sum((*user_emb)(xs[0]) * (*item_emb)(xs[1]), {1});
    return {r};
  }
  std::shared_ptr<nn::Embedding> user_bias, item_bias, user_emb, item_emb;
  std::shared_ptr<Parameter> mu;

 private:
  bool factors_;
};
}  // namespace

int main(int argc, char** argv) {
  book::Chapter ch(argc, argv, "Recommender systems: biases and matrix factorization",
                   "the book: Amazon grocery reviews (downloaded); here: seeded synthetic ratings with planted rank-4 "
                   "tastes, user/item biases and noise 0.3");
  if (ch.help) return 0;
  int64_t U = 300, I = 200, k = 4, n = ch.quick ? 20000 : 40000;
  NDArray P = nd::random::normal(0, 0.6, {U, k}), Q = nd::random::normal(0, 0.6, {I, k});
  NDArray bu = nd::random::normal(0, 0.5, {U}), bi = nd::random::normal(0, 0.5, {I});
  NDArray users = nd::floor(nd::random::uniform(0, U, {n})), items = nd::floor(nd::random::uniform(0, I, {n}));
  NDArray ratings = 3.5 + nd::take(bu, users) + nd::take(bi, items) +
                    nd::sum(nd::take(P, users) * nd::take(Q, items), {1}) + 0.3 * nd::random::normal(0, 1, {n});
  int64_t ntr = n * 9 / 10;
  NDArray ut = users.slice(0, ntr), it = items.slice(0, ntr), rt = ratings.slice(0, ntr);
  NDArray uv = users.slice(ntr, n), iv = items.slice(ntr, n), rv = ratings.slice(ntr, n);
  auto rmse = [&](const NDArray& pred) { return std::sqrt(nd::mean(nd::square(pred - rv)).asscalar<double>()); };

  double mean_rating = nd::mean(rt).asscalar<double>();
  double rmse_avg = rmse(nd::full({n - ntr}, mean_rating));
  auto fit = [&](bool factors) {
    nd::random::seed(ch.seed);
    auto net = std::make_shared<MFBlock>(U, I, 2 * k, factors);
    net->collect_params().initialize(init::Normal(0.01));
    net->mu->set_data(nd::full({1}, mean_rating));
    net->hybridize();
    Trainer trainer(net->collect_params(), "adam", {{"learning_rate", 0.02}, {"wd", factors ? 1e-4 : 0.0}});
    loss::L2Loss l2;
    auto ds = std::make_shared<data::ArrayDataset>(std::vector<NDArray>{ut, it, rt});
    data::DataLoader loader(ds, data::DataLoaderOptions(256).shuffle(true).seed(ch.seed));
    for (int e = 0; e < ch.budget(15, 40); ++e)
      for (const auto& b : loader) {
        NDArray l;
        {
          auto rec = autograd::record();
          l = l2((*net)(std::vector<NDArray>{b[0], b[1]})[0], b[2]);
        }
        l.backward();
        trainer.step(static_cast<double>(b[0].shape()[0]));
      }
    return rmse((*net)(std::vector<NDArray>{uv, iv})[0]);
  };
  double rmse_bias = fit(false), rmse_mf = fit(true);
  std::printf("  held-out RMSE: average %.3f, biases %.3f, matrix factorization %.3f (noise 0.3)\n", rmse_avg, rmse_bias, rmse_mf);
  ch.claim(rmse_bias < 0.85 * rmse_avg, "user and item biases beat the global average (", rmse_bias, " < ", rmse_avg, ")");
  ch.claim(rmse_mf < 0.8 * rmse_bias, "latent factors beat the biases (", rmse_mf, " < ", rmse_bias, ")");
  ch.claim(rmse_mf < 0.5, "matrix factorization approaches the noise level 0.3 (", rmse_mf, ")");
  return ch.finish();
}
