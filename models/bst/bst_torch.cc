#include "bst_torch.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "bst_common.h"
#include "hgc/base/error.h"

namespace hgc::models {

using namespace gluon;

namespace {

// The seed's score.masked_fill(mask == 0, -1e9).
constexpr double kMaskedScore = -1e9;

nn::DenseOptions linear(int64_t out, int64_t in, bool bias) {
  return nn::DenseOptions(out).in_units(in).use_bias(bias).flatten(false);
}

}  // namespace

std::vector<float> bst_sinusoidal_table(int64_t L, int64_t dim) {
  const int64_t half = dim / 2;
  if (half < 2) fail("models", "bst_sinusoidal_table: embedding_dim must be at least 4, got ", dim);
  // emb = exp(arange(half) * -(log(10000) / (half - 1))); emb = arange(L)[:, None] * emb[None],
  // all in float32 as torch computes it.
  const float step = std::log(10000.0f) / static_cast<float>(half - 1);
  std::vector<float> a(static_cast<size_t>(2 * L * half));  // stack((sin, cos), 0): (2, L, half)
  for (int64_t p = 0; p < L; ++p)
    for (int64_t k = 0; k < half; ++k) {
      float e = static_cast<float>(p) * std::exp(static_cast<float>(k) * -step);
      a[p * half + k] = std::sin(e);
      a[L * half + p * half + k] = std::cos(e);
    }
  // .view(L, -1).t().contiguous().view(L, -1): element m of the result (row-major, 2*half
  // columns) is V[m % L][m / L] of V = a viewed as (L, 2*half).
  const int64_t w = 2 * half;
  std::vector<float> out(static_cast<size_t>(L * dim), 0.0f);  // odd dim: a zero last column
  for (int64_t i = 0; i < L; ++i)
    for (int64_t j = 0; j < w; ++j) {
      int64_t m = i * w + j;
      out[i * dim + j] = a[(m % L) * w + m / L];
    }
  return out;
}

// ---- MultiHeadAttention ----
BSTMultiHeadAttention::BSTMultiHeadAttention(int64_t att_dim, int64_t n_heads, double p)
    : HybridBlock("multiheadattention"), n_heads_(n_heads) {
  if (n_heads < 1 || att_dim % n_heads != 0)
    fail("models", "BSTMultiHeadAttention: att_dim (", att_dim, ") must be a multiple of n_heads (", n_heads, ")");
  att_size_ = att_dim / n_heads;
  auto scope = name_scope();
  query = register_child(std::make_shared<nn::Dense>(linear(att_dim, att_dim, false)), "_query");
  key = register_child(std::make_shared<nn::Dense>(linear(att_dim, att_dim, false)), "_key");
  value = register_child(std::make_shared<nn::Dense>(linear(att_dim, att_dim, false)), "_value");
  dense = register_child(std::make_shared<nn::Dense>(linear(att_dim, att_dim, false)), "dense");
  dropout = register_child(std::make_shared<nn::Dropout>(p), "dropout");
}

std::vector<NDArray> BSTMultiHeadAttention::hybrid_forward_multi(const std::vector<NDArray>& xs) {
  if (xs.size() < 3) fail("models", "BSTMultiHeadAttention: takes (q, k, v[, mask])");
  const int64_t Lq = xs[0].shape()[1], Lk = xs[1].shape()[1], H = n_heads_, A = att_size_;
  // (B, L, H * A) -> (B, H, L, A) -> (B * H, L, A): torch's view + transpose(1, 2), batched.
  // The batch is -1 throughout, so an exported graph takes any batch size.
  auto heads = [&](nn::Dense& proj, const NDArray& t, int64_t L) {
    return proj(t).reshape({-1, L, H, A}).transpose({0, 2, 1, 3}).reshape({-1, L, A});
  };
  NDArray q = heads(*query, xs[0], Lq), k = heads(*key, xs[1], Lk), v = heads(*value, xs[2], Lk);
  // The seed divides by sqrt(n_heads), not by sqrt(att_size).
  NDArray score = nd::batch_dot(q, k, false, true) * (1.0 / std::sqrt(static_cast<double>(H)));
  score = score.reshape({-1, H, Lq, Lk});
  if (xs.size() > 3) {
    // masked_fill(mask == 0, -1e9) as arithmetic: exact for 0/1 masks and finite scores.
    NDArray m = (xs[3] != 0.0).expand_dims(1);
    score = score * m + (1.0 - m) * kMaskedScore;
  }
  NDArray w = nd::softmax(score, -1).reshape({-1, Lq, Lk});
  NDArray z = nd::batch_dot((*dropout)(w), v);
  z = z.reshape({-1, H, Lq, A}).transpose({0, 2, 1, 3}).reshape({-1, Lq, H * A});
  return {(*dense)(z)};
}

// ---- EncoderCell ----
BSTEncoderCell::BSTEncoderCell(int64_t input_size, int64_t hidden_size, int64_t n_heads, double p)
    : HybridBlock("encodercell") {
  auto scope = name_scope();
  mh_attention = register_child(std::make_shared<BSTMultiHeadAttention>(input_size, n_heads, p), "mh_attention");
  lnorm_1 = register_child(std::make_shared<nn::LayerNorm>(nn::NormOptions().in_channels(input_size)), "lnorm_1");
  lin_1 = register_child(std::make_shared<nn::Dense>(linear(hidden_size, input_size, true)), "lin_1");
  lin_2 = register_child(std::make_shared<nn::Dense>(linear(input_size, hidden_size, true)), "lin_2");
  lnorm_2 = register_child(std::make_shared<nn::LayerNorm>(nn::NormOptions().in_channels(input_size)), "lnorm_2");
  dropout = register_child(std::make_shared<nn::Dropout>(p), "dropout");
}

std::vector<NDArray> BSTEncoderCell::hybrid_forward_multi(const std::vector<NDArray>& xs) {
  const NDArray& x = xs.at(0);
  std::vector<NDArray> in{x, x, x};
  if (xs.size() > 1) in.push_back(xs[1]);
  NDArray att = (*mh_attention)(in).at(0);
  att = (*lnorm_1)((*dropout)(att) + x);
  NDArray ff = (*lin_2)(nd::relu((*lin_1)(att)));
  return {(*lnorm_2)((*dropout)(ff) + att)};
}

// ---- Encoder ----
BSTEncoder::BSTEncoder(int64_t input_size, int64_t hidden_size, int64_t n_layers, int64_t n_heads, double p)
    : HybridBlock("encoder") {
  if (n_layers < 1) fail("models", "BSTEncoder: n_layers must be positive, got ", n_layers);
  auto scope = name_scope();
  for (int64_t i = 0; i < n_layers; ++i)
    stack.push_back(register_child(std::make_shared<BSTEncoderCell>(input_size, hidden_size, n_heads, p),
                                   "stack" + std::to_string(i)));
  dropout = register_child(std::make_shared<nn::Dropout>(p), "dropout");
}

std::vector<NDArray> BSTEncoder::hybrid_forward_multi(const std::vector<NDArray>& xs) {
  NDArray x = xs.at(0);
  for (auto& cell : stack) {
    std::vector<NDArray> in{(*dropout)(x)};
    if (xs.size() > 1) in.push_back(xs[1]);
    x = (*cell)(in).at(0);
  }
  return {x};
}

// ---- BSTransformer ----
BSTransformer::BSTransformer(BSTConfig cfg) : HybridBlock("bstransformer"), cfg_(std::move(cfg)) {
  const int64_t D = cfg_.item_embed.embedding_dim, L = cfg_.max_seq_len;
  if (cfg_.input_size != D)
    fail("models", "BSTransformer: trans.input_size (", cfg_.input_size, ") must equal item_embed.embedding_dim (", D, ")");
  if (L < 1 || cfg_.item_embed.num_embeddings < 2)
    fail("models", "BSTransformer: max_seq_len must be positive and num_embeddings at least 2");
  auto scope = name_scope();
  item_embed = register_child(std::make_shared<nn::Embedding>(cfg_.item_embed.num_embeddings, D), "item_embed");
  pos_embedding = params().get("pos_embedding", ParamOptions().shape({L, D}).init(TableInit(bst_sinusoidal_table(L, D), "sinusoidal")).grad_req("null"));
  std::vector<float> tril(static_cast<size_t>(L * L));
  for (int64_t i = 0; i < L; ++i)
    for (int64_t j = 0; j < L; ++j) tril[i * L + j] = j <= i ? 1.0f : 0.0f;  // np.triu(k=1) == 0
  causal = params().get("causal_mask", ParamOptions().shape({L, L}).init(TableInit(tril, "causal")).grad_req("null"));
  int64_t mlp_in = cfg_.input_size;
  for (size_t i = 0; i < cfg_.context_features.size(); ++i) {
    const auto& f = cfg_.context_features[i];
    context_embeddings.push_back(register_child(std::make_shared<nn::Embedding>(f.num_embeddings, f.embedding_dim),
                                                "context_embeddings" + std::to_string(i)));
    mlp_in += f.embedding_dim;
  }
  encoder = register_child(std::make_shared<BSTEncoder>(cfg_.input_size, cfg_.hidden_size, cfg_.n_layers, cfg_.n_heads, cfg_.dropout), "encoder");
  mlp = register_child(std::make_shared<nn::HybridSequential>(), "mlp");
  {
    auto s = mlp->name_scope();
    mlp->emplace<nn::Dense>(nn::DenseOptions(cfg_.mlp_hidden).in_units(mlp_in));
    mlp->emplace<nn::LeakyReLU>(0.01);  // torch.nn.LeakyReLU's default slope
    mlp->emplace<nn::Dense>(nn::DenseOptions(cfg_.item_embed.num_embeddings).in_units(cfg_.mlp_hidden));
  }
}

NDArray BSTransformer::operator()(const NDArray& x, const NDArray& context) {
  return Block::operator()(std::vector<NDArray>{x, context}).at(0);
}

std::vector<NDArray> BSTransformer::run(const std::vector<NDArray>& xs) {
  if (xs.size() != 2) fail("models", "BSTransformer: takes (x, context), got ", xs.size(), " inputs");
  const NDArray &x = xs[0], &c = xs[1];
  const int64_t n_ctx = static_cast<int64_t>(cfg_.context_features.size());
  if (x.ndim() != 2 || x.shape()[1] < 1 || x.shape()[1] > cfg_.max_seq_len)
    fail("models", "BSTransformer: x must be (batch, L) item ids with 1 <= L <= max_seq_len = ", cfg_.max_seq_len,
         ", got ", shape_text(x.shape()));
  if (c.shape() != std::vector<int64_t>{x.shape()[0], n_ctx})
    fail("models", "BSTransformer: context must be (batch, ", n_ctx, ") ids, got ", shape_text(c.shape()));
  check_ids(x, cfg_.item_embed.num_embeddings, "BSTransformer", "x (item ids)");
  if (!c.is_symbolic())
    for (int64_t i = 0; i < n_ctx; ++i) {
      std::string what = "context column " + std::to_string(i);
      check_ids(c.slice_axis(1, i, i + 1), cfg_.context_features[i].num_embeddings, "BSTransformer", what.c_str());
    }
  return HybridBlock::run(xs);
}

std::vector<NDArray> BSTransformer::hybrid_forward_multi(const std::vector<NDArray>& xs) {
  const NDArray &x = xs.at(0), &context = xs.at(1);
  const int64_t L = x.shape()[1];
  // get_mask: (x != 0)[:, None, :] & (triu(ones, k=1) == 0) -> (B, L, L).
  NDArray mask = (x != 0.0).expand_dims(1) * causal->data().slice_axis(0, 0, L).slice_axis(1, 0, L).expand_dims(0);
  NDArray item = (*item_embed)(x) * std::sqrt(static_cast<double>(cfg_.item_embed.embedding_dim));
  NDArray h = item + pos_embedding->data().slice_axis(0, 0, L).expand_dims(0);
  NDArray agg = nd::mean((*encoder)(std::vector<NDArray>{h, mask}).at(0), {1});
  std::vector<NDArray> parts{agg};
  for (size_t i = 0; i < context_embeddings.size(); ++i) {
    int64_t c = static_cast<int64_t>(i);
    parts.push_back((*context_embeddings[i])(context.slice_axis(1, c, c + 1).reshape({-1})));
  }
  return {(*mlp)(nd::concat(parts, 1))};
}

std::vector<BSTBatch> bst_batch_fn(const std::vector<std::vector<int64_t>>& user_seq,
                                   const std::vector<std::vector<int64_t>>& context_features,
                                   const std::vector<int64_t>& targets, int64_t batch_size, int64_t max_seq_len,
                                   bool shuffle, std::mt19937_64* rng) {
  const size_t n = user_seq.size();
  if (context_features.size() != n || targets.size() != n)
    fail("models", "bst_batch_fn: ", n, " sequences but ", context_features.size(), " contexts and ", targets.size(), " targets");
  if (batch_size < 1 || max_seq_len < 1) fail("models", "bst_batch_fn: batch_size and max_seq_len must be positive");
  if (shuffle && !rng) fail("models", "bst_batch_fn: shuffle needs a generator");
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  if (shuffle) std::shuffle(order.begin(), order.end(), *rng);
  const size_t n_ctx = n ? context_features[0].size() : 0;
  std::vector<BSTBatch> out;
  for (size_t start = 0; start + batch_size <= n; start += batch_size) {
    std::vector<float> x(batch_size * max_seq_len, 0.0f), c(batch_size * n_ctx), t(batch_size);
    for (int64_t b = 0; b < batch_size; ++b) {
      size_t u = order[start + b];
      const auto& s = user_seq[u];
      // seq[-max_seq_len:], then pad() on the left.
      size_t take = std::min<size_t>(s.size(), max_seq_len);
      for (size_t i = 0; i < take; ++i) x[b * max_seq_len + (max_seq_len - take) + i] = static_cast<float>(s[s.size() - take + i]);
      if (context_features[u].size() != n_ctx) fail("models", "bst_batch_fn: contexts of different lengths");
      for (size_t j = 0; j < n_ctx; ++j) c[b * n_ctx + j] = static_cast<float>(context_features[u][j]);
      t[b] = static_cast<float>(targets[u]);
    }
    out.push_back({nd::array(x, {batch_size, max_seq_len}), nd::array(c, {batch_size, static_cast<int64_t>(n_ctx)}),
                   nd::array(t, {batch_size})});
  }
  return out;
}

}  // namespace hgc::models
