// Seeded synthetic implicit-feedback data with planted structure, and the seed's ranking
// metrics. There is no public interaction data on these machines; users here draw items
// from one or two of a few latent "tastes" (with Zipf-like popularity inside each taste)
// plus some globally popular noise, so a model that infers a user's tastes from part of
// their history beats a popularity ranking on the held-out part.
#pragma once
#include <cstdint>
#include <vector>

#include "hgc/frontend/nd/ndarray.h"

namespace hgc::models {

struct SyntheticOptions {
  int64_t n_items = 1000, n_train_users = 3000, n_heldout_users = 500, n_tastes = 10;
  int64_t min_items = 15, max_items = 50;  // interactions per user
  double noise = 0.15;                     // share of items drawn by global popularity
  double heldout_fraction = 0.2;           // of a held-out user's items, hidden for testing
  uint64_t seed = 42;
};

struct RecData {
  NDArray train;                // (n_train_users, n_items) 0/1
  NDArray heldout_tr, heldout_te;  // (n_heldout_users, n_items): the fold-in part, the hidden part
  int64_t n_items = 0;
};

RecData make_synthetic(const SyntheticOptions& o = {});

struct RankingScores {
  std::vector<double> ndcg, recall;  // per user with a non-empty hidden part
};
// The seed's NDCG_binary_at_k_batch / Recall_at_k_batch: `scores` (B, I) ranked per row after
// the fold-in items (`seen` != 0) are excluded; hits are `heldout` != 0. Recall divides by
// min(k, number held out), NDCG by the ideal DCG of min(k, number held out) hits.
RankingScores ranking_at_k(const NDArray& scores, const NDArray& seen, const NDArray& heldout, int64_t k);
double mean(const std::vector<double>& v);

// Item popularity (interaction counts in `train`) as scores for every row of `like`.
NDArray popularity_scores(const NDArray& train, int64_t rows);

}  // namespace hgc::models
