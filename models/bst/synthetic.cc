#include "synthetic.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "hgc/base/error.h"

namespace hgc::models {

namespace {

// Items (ids first..n-1) shuffled into n_tastes equal groups, each with Zipf(1) weights.
struct Tastes {
  std::vector<std::vector<int64_t>> items;
  std::vector<int64_t> taste_of;  // by item id (-1: none)
  std::vector<std::discrete_distribution<size_t>> pick;
  std::discrete_distribution<size_t> global;  // over all items, for noise
  std::vector<int64_t> all;

  Tastes(int64_t first, int64_t n, int64_t n_tastes, std::mt19937_64& rng, const char* what) {
    const int64_t m = n - first;
    if (n_tastes < 2 || m < 2 * n_tastes) fail("models", what, ": needs at least two tastes of two items each");
    all.resize(m);
    std::iota(all.begin(), all.end(), first);
    std::vector<int64_t> perm = all;
    std::shuffle(perm.begin(), perm.end(), rng);
    items.resize(n_tastes);
    taste_of.assign(n, -1);
    std::vector<double> gw(m);
    for (int64_t i = 0; i < m; ++i) {
      int64_t t = i % n_tastes, r = i / n_tastes;
      items[t].push_back(perm[i]);
      taste_of[perm[i]] = t;
      gw[perm[i] - first] = 1.0 / (r + 1);
    }
    for (auto& g : items) {
      std::vector<double> w(g.size());
      for (size_t r = 0; r < g.size(); ++r) w[r] = 1.0 / (r + 1);
      pick.emplace_back(w.begin(), w.end());
    }
    global = std::discrete_distribution<size_t>(gw.begin(), gw.end());
  }
  int64_t draw(int64_t taste, double noise, std::mt19937_64& rng) {
    if (std::uniform_real_distribution<double>(0, 1)(rng) < noise) return all[global(rng)];
    return items[taste][pick[taste](rng)];
  }
};

}  // namespace

ClickData make_click_data(const ClickDataOptions& o) {
  if (o.n_train < 1 || o.n_test < 1 || o.seq_len < 2 || o.n_context < 1)
    fail("models", "make_click_data: needs rows, seq_len >= 2 and a context feature");
  std::mt19937_64 rng(o.seed);
  Tastes tastes(0, o.n_items, o.n_tastes, rng, "make_click_data");
  ClickData d;
  d.n_items = o.n_items;
  d.n_other = o.n_context * o.context_values;
  auto split = [&](int64_t n) {
    const int64_t O = o.n_context, L = o.seq_len;
    std::vector<float> x(n * L), other(n * O), y(n);
    std::uniform_int_distribution<int64_t> taste_d(0, o.n_tastes - 1), ctx_d(0, o.context_values - 1);
    std::uniform_int_distribution<int64_t> item_d(0, o.n_items - 1);
    std::uniform_real_distribution<double> u(0, 1);
    for (int64_t r = 0; r < n; ++r) {
      int64_t t = taste_d(rng);
      for (int64_t i = 1; i < L; ++i) x[r * L + i] = static_cast<float>(tastes.draw(t, o.noise, rng));
      bool match = u(rng) < 0.5;
      int64_t target;
      if (match) {
        const auto& g = tastes.items[t];
        target = g[std::uniform_int_distribution<size_t>(0, g.size() - 1)(rng)];
      } else {
        do target = item_d(rng);
        while (tastes.taste_of[target] == t);
      }
      x[r * L] = static_cast<float>(target);
      for (int64_t j = 0; j < O; ++j) other[r * O + j] = static_cast<float>(j * o.context_values + ctx_d(rng));
      y[r] = u(rng) < (match ? o.p_match : o.p_other) ? 1.0f : 0.0f;
    }
    return ClickSplit{nd::array(x, {n, L}), nd::array(other, {n, O}), nd::array(y, {n, 1})};
  };
  d.train = split(o.n_train);
  d.test = split(o.n_test);
  return d;
}

std::vector<float> item_ctr_scores(const ClickData& d) {
  std::vector<double> clicks(d.n_items, 0), shown(d.n_items, 0);
  const int64_t L = d.train.x.shape()[1];
  auto x = d.train.x.to_vector<float>(), y = d.train.y.to_vector<float>();
  for (size_t r = 0; r < y.size(); ++r) {
    auto item = static_cast<int64_t>(x[r * L]);
    shown[item] += 1;
    clicks[item] += y[r];
  }
  const double prior = std::accumulate(y.begin(), y.end(), 0.0) / y.size();
  auto test_x = d.test.x.to_vector<float>();
  const int64_t n = d.test.x.shape()[0];
  std::vector<float> s(n);
  for (int64_t r = 0; r < n; ++r) {
    auto item = static_cast<int64_t>(test_x[r * L]);
    s[r] = static_cast<float>(shown[item] > 0 ? clicks[item] / shown[item] : prior);
  }
  return s;
}

NextItemData make_next_item_data(const NextItemOptions& o) {
  if (o.min_len < 1 || o.max_len < o.min_len) fail("models", "make_next_item_data: needs 1 <= min_len <= max_len");
  std::mt19937_64 rng(o.seed);
  Tastes tastes(1, o.n_items, o.n_tastes, rng, "make_next_item_data");
  NextItemData d;
  d.n_items = o.n_items;
  auto split = [&](int64_t n) {
    NextItemSplit s;
    std::uniform_int_distribution<int64_t> taste_d(0, o.n_tastes - 1), len_d(o.min_len, o.max_len);
    for (int64_t r = 0; r < n; ++r) {
      int64_t t = taste_d(rng), len = len_d(rng);
      std::vector<int64_t> seq;
      for (int64_t i = 0; i < len; ++i) seq.push_back(tastes.draw(t, o.noise, rng));
      std::vector<int64_t> ctx;
      for (int64_t v : o.context_values) ctx.push_back(std::uniform_int_distribution<int64_t>(0, v - 1)(rng));
      s.seq.push_back(std::move(seq));
      s.context.push_back(std::move(ctx));
      s.target.push_back(tastes.draw(t, o.noise, rng));
    }
    return s;
  };
  d.train = split(o.n_train);
  d.test = split(o.n_test);
  return d;
}

double hit_rate_at_k(const NDArray& scores, const std::vector<int64_t>& targets, int64_t k) {
  if (scores.ndim() != 2 || scores.shape()[0] != static_cast<int64_t>(targets.size()))
    fail("models", "hit_rate_at_k: scores must be (", targets.size(), ", n_items)");
  const int64_t I = scores.shape()[1];
  if (k < 1 || k > I) fail("models", "hit_rate_at_k: k = ", k, " outside [1, ", I, "]");
  auto s = scores.astype(DType::f32).to_vector<float>();
  double hits = 0;
  for (size_t r = 0; r < targets.size(); ++r) {
    if (targets[r] < 0 || targets[r] >= I) fail("models", "hit_rate_at_k: target ", targets[r], " outside [0, ", I, ")");
    const float* row = s.data() + r * I;
    // The target is in the top k when fewer than k items score strictly higher.
    int64_t higher = 0;
    for (int64_t i = 0; i < I; ++i) higher += row[i] > row[targets[r]];
    hits += higher < k;
  }
  return targets.empty() ? 0.0 : hits / targets.size();
}

NDArray popularity_next_item_scores(const NextItemData& d, int64_t rows) {
  std::vector<float> count(d.n_items, 0.0f);
  for (int64_t t : d.train.target) count[t] += 1;
  count[0] = -1;  // padding is never a target
  std::vector<float> s;
  s.reserve(rows * d.n_items);
  for (int64_t r = 0; r < rows; ++r) s.insert(s.end(), count.begin(), count.end());
  return nd::array(s, {rows, d.n_items});
}

}  // namespace hgc::models
