// Seeded synthetic behaviour sequences with planted structure for the two BST models. Items
// are split into a few latent "tastes" (equal-sized groups, Zipf-like popularity inside each);
// a user has one taste and draws their sequence from it, with some items drawn from global
// popularity instead (noise).
//
// Click data (BSTRec): the target item is drawn uniformly from the user's taste or from the
// other items, half each, and clicked with probability p_match or p_other — so clicks are
// predictable from the sequence together with the target, and not from the target alone
// (every item is a match equally often): the item's training click rate scores an AUC near
// 0.5. As in the BST paper (and unlike the seed's toy data, which has no target), the target
// item is the last position of the sequence, so attention relates it to the history; the
// "other" features are random context ids that carry no signal.
//
// Next-item data (BSTransformer): the item after the history comes from the same taste (or
// noise); a popularity top-k scores about k / items_per_taste of what knowing the taste gives.
#pragma once
#include <cstdint>
#include <vector>

#include "hgc/frontend/nd/ndarray.h"

namespace hgc::models {

struct ClickDataOptions {
  int64_t n_train = 4000, n_test = 1000;
  int64_t n_items = 32, n_tastes = 4, seq_len = 32;
  int64_t n_context = 4, context_values = 8;  // random "other" features
  double noise = 0.1, p_match = 0.9, p_other = 0.1;
  uint64_t seed = 1;
};

struct ClickSplit {
  NDArray x;      // (N, seq_len) item ids: seq_len - 1 history items, then the target item
  NDArray other;  // (N, n_context) context ids, feature j offset by j * context_values
  NDArray y;      // (N, 1) 0/1
};

struct ClickData {
  ClickSplit train, test;
  int64_t n_items = 0, n_other = 0;  // id ranges of x and of other
};

ClickData make_click_data(const ClickDataOptions& o = {});

// The popularity baseline: each test row scored by its target item's training click rate.
std::vector<float> item_ctr_scores(const ClickData& d);

struct NextItemOptions {
  int64_t n_train = 6000, n_test = 1000;
  int64_t n_items = 500;  // ids 1..n_items-1; 0 is padding
  int64_t n_tastes = 10;
  int64_t min_len = 2, max_len = 6;  // history lengths
  std::vector<int64_t> context_values = {6, 4};  // the seed's two context features (random)
  double noise = 0.1;
  uint64_t seed = 2;
};

struct NextItemSplit {
  std::vector<std::vector<int64_t>> seq;      // histories
  std::vector<std::vector<int64_t>> context;  // per user, one id per context feature
  std::vector<int64_t> target;                // the next item
};

struct NextItemData {
  NextItemSplit train, test;
  int64_t n_items = 0;
};

NextItemData make_next_item_data(const NextItemOptions& o = {});

// Share of rows whose target is among the k highest scores of `scores` (B, n_items).
double hit_rate_at_k(const NDArray& scores, const std::vector<int64_t>& targets, int64_t k);
// The popularity baseline: every row scores items by how often they are a training target.
NDArray popularity_next_item_scores(const NextItemData& d, int64_t rows);

}  // namespace hgc::models
