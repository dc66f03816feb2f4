#include "synthetic.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "hgc/base/error.h"

namespace hgc::models {

namespace {

// Draws `n` distinct indices from the discrete distribution `d` over `size` items.
std::vector<int64_t> draw_distinct(std::mt19937_64& rng, std::discrete_distribution<int64_t>& taste,
                                   std::discrete_distribution<int64_t>& global, double noise, int64_t n, int64_t size) {
  std::vector<char> taken(static_cast<size_t>(size), 0);
  std::vector<int64_t> out;
  std::bernoulli_distribution from_noise(noise);
  for (int tries = 0; static_cast<int64_t>(out.size()) < n && tries < 100 * n; ++tries) {
    int64_t i = from_noise(rng) ? global(rng) : taste(rng);
    if (!taken[i]) {
      taken[i] = 1;
      out.push_back(i);
    }
  }
  return out;
}

}  // namespace

RecData make_synthetic(const SyntheticOptions& o) {
  if (o.n_items <= 0 || o.n_tastes <= 0 || o.min_items <= 0 || o.max_items < o.min_items || o.max_items > o.n_items)
    fail("models", "make_synthetic: bad options (n_items ", o.n_items, ", n_tastes ", o.n_tastes, ", items per user [",
         o.min_items, ", ", o.max_items, "])");
  std::mt19937_64 rng(o.seed);
  const int64_t I = o.n_items, K = o.n_tastes;
  // Items are dealt to tastes at random; inside a taste, popularity falls as 1/rank^0.8.
  std::vector<int64_t> perm(I);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  std::vector<std::vector<double>> taste_w(K, std::vector<double>(I, 0.0));
  std::vector<double> global_w(I);
  for (int64_t r = 0; r < I; ++r) {
    int64_t item = perm[r], k = r % K, rank = r / K;
    taste_w[k][item] = 1.0 / std::pow(rank + 1.0, 0.8);
    global_w[item] = 1.0 / std::pow(r + 1.0, 0.6);
  }
  std::discrete_distribution<int64_t> global(global_w.begin(), global_w.end());
  std::uniform_int_distribution<int64_t> pick_taste(0, K - 1), count(o.min_items, o.max_items);
  std::bernoulli_distribution two_tastes(0.5);

  auto user = [&]() {
    int64_t a = pick_taste(rng), b = two_tastes(rng) ? pick_taste(rng) : a;
    std::vector<double> w(I);
    for (int64_t i = 0; i < I; ++i) w[i] = taste_w[a][i] + (b == a ? 0.0 : 0.5 * taste_w[b][i]);
    std::discrete_distribution<int64_t> taste(w.begin(), w.end());
    return draw_distinct(rng, taste, global, o.noise, count(rng), I);
  };

  RecData d;
  d.n_items = I;
  std::vector<float> train(static_cast<size_t>(o.n_train_users * I), 0.f);
  for (int64_t u = 0; u < o.n_train_users; ++u)
    for (int64_t i : user()) train[u * I + i] = 1.f;
  std::vector<float> tr(static_cast<size_t>(o.n_heldout_users * I), 0.f), te(tr.size(), 0.f);
  for (int64_t u = 0; u < o.n_heldout_users; ++u) {
    auto items = user();
    std::shuffle(items.begin(), items.end(), rng);
    auto hidden = static_cast<size_t>(std::max<double>(1, std::round(o.heldout_fraction * items.size())));
    for (size_t j = 0; j < items.size(); ++j) (j < hidden ? te : tr)[u * I + items[j]] = 1.f;
  }
  d.train = nd::array(train, {o.n_train_users, I});
  d.heldout_tr = nd::array(tr, {o.n_heldout_users, I});
  d.heldout_te = nd::array(te, {o.n_heldout_users, I});
  return d;
}

RankingScores ranking_at_k(const NDArray& scores, const NDArray& seen, const NDArray& heldout, int64_t k) {
  if (scores.shape().size() != 2 || scores.shape() != seen.shape() || scores.shape() != heldout.shape())
    fail("models", "ranking_at_k: scores, seen and heldout must be (users, items) of one shape");
  const int64_t B = scores.shape()[0], I = scores.shape()[1];
  if (k <= 0 || k > I) fail("models", "ranking_at_k: k = ", k, " is outside [1, ", I, "]");
  auto s = scores.to_vector<float>(), m = seen.to_vector<float>(), h = heldout.to_vector<float>();
  RankingScores r;
  std::vector<int64_t> idx(I);
  for (int64_t b = 0; b < B; ++b) {
    const float *sr = &s[b * I], *mr = &m[b * I], *hr = &h[b * I];
    int64_t n_held = 0;
    for (int64_t i = 0; i < I; ++i) n_held += hr[i] != 0;
    if (n_held == 0) continue;
    auto score = [&](int64_t i) { return mr[i] != 0 ? -INFINITY : sr[i]; };
    std::iota(idx.begin(), idx.end(), 0);
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int64_t x, int64_t y) { return score(x) > score(y); });
    double dcg = 0, idcg = 0, hits = 0;
    for (int64_t j = 0; j < k; ++j) {
      if (hr[idx[j]] != 0) {
        dcg += 1.0 / std::log2(j + 2.0);
        hits += 1;
      }
    }
    for (int64_t j = 0; j < std::min(k, n_held); ++j) idcg += 1.0 / std::log2(j + 2.0);
    r.ndcg.push_back(dcg / idcg);
    r.recall.push_back(hits / static_cast<double>(std::min(k, n_held)));
  }
  return r;
}

double mean(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

NDArray popularity_scores(const NDArray& train, int64_t rows) {
  NDArray pop = nd::sum(train, {0}, true);
  return nd::broadcast_to(pop, {rows, train.shape()[1]});
}

}  // namespace hgc::models
