// The Behaviour Sequence Transformer as in the PyTorch seed (BSTransformer): the item
// embedding scaled by sqrt(embedding_dim) plus the seed's sinusoidal table (including its
// view/transpose reshuffle of the sin and cos halves), n_layers encoder cells
// (multi-head attention without biases scaled by sqrt(n_heads) as the seed does, dropout,
// add & LayerNorm, ReLU feed-forward, dropout, add & LayerNorm) under a padding + causal mask,
// mean pooling over the sequence, the context features' embeddings concatenated, and an MLP
// (Linear 1024, LeakyReLU(0.01), Linear num_items) giving next-item logits.
//
//   models::BSTConfig cfg;                        // the seed's config_sample.py
//   models::BSTransformer net(cfg);
//   net.initialize(gluon::init::Xavier());        // the seed's init_method 'xavier'
//   net.hybridize();
//   NDArray logits = net(x, context);             // (B, L <= max_seq_len) ids, 0 = padding;
//                                                 // (B, n_context) ids -> (B, num_items)
//
// Differences from the seed, each forced or a fix: the seed's forward also returns
// targets = x[..., -1] taken from the very sequence it encodes (the model sees the item it is
// asked to predict); here forward returns the logits and the target comes separately
// (BSTBatch). The seed's padding_idx=-1 (row 499, never used: padding is id 0 in its pad()
// and get_mask) is dropped. The context is (B, n_context) instead of a list of (B,) tensors.
// The sinusoidal table and the causal mask are parameters with grad_req "null".
#pragma once
#include <memory>
#include <random>
#include <vector>

#include "hgc/hgc.h"

namespace hgc::models {

struct BSTEmbedConfig {
  int64_t num_embeddings, embedding_dim;
};

struct BSTConfig {
  BSTEmbedConfig item_embed{500, 32};
  // trans: input_size must equal item_embed.embedding_dim.
  int64_t input_size = 32, hidden_size = 16, n_layers = 2, n_heads = 4;
  std::vector<BSTEmbedConfig> context_features{{6, 10}, {4, 10}};
  int64_t max_seq_len = 6;
  int64_t mlp_hidden = 1024;  // the seed's nn.Linear(mlp_input_size, 1024)
  double dropout = 0.1;       // every nn.Dropout(0.1) of the seed
};

// The seed's pos_embedding_sinusoidal(max_seq_len, embedding_dim), values in float32 order.
std::vector<float> bst_sinusoidal_table(int64_t max_seq_len, int64_t embedding_dim);

// The seed's MultiHeadAttention: inputs (q, k, v[, mask (B, Lq, Lk), 0 = masked]).
class BSTMultiHeadAttention : public gluon::HybridBlock {
 public:
  BSTMultiHeadAttention(int64_t att_dim, int64_t n_heads, double dropout);
  std::vector<NDArray> hybrid_forward_multi(const std::vector<NDArray>& xs) override;
  std::shared_ptr<gluon::nn::Dense> query, key, value, dense;
  std::shared_ptr<gluon::nn::Dropout> dropout;

 private:
  int64_t n_heads_, att_size_;
};

// MultiHeadAttention > Add & LayerNorm1 > FF > Add & LayerNorm2; inputs (x, mask).
class BSTEncoderCell : public gluon::HybridBlock {
 public:
  BSTEncoderCell(int64_t input_size, int64_t hidden_size, int64_t n_heads, double dropout);
  std::vector<NDArray> hybrid_forward_multi(const std::vector<NDArray>& xs) override;
  std::shared_ptr<BSTMultiHeadAttention> mh_attention;
  std::shared_ptr<gluon::nn::LayerNorm> lnorm_1, lnorm_2;
  std::shared_ptr<gluon::nn::Dense> lin_1, lin_2;  // the seed's FF
  std::shared_ptr<gluon::nn::Dropout> dropout;
};

// n_layers cells, each fed dropout(x); inputs (x, mask).
class BSTEncoder : public gluon::HybridBlock {
 public:
  BSTEncoder(int64_t input_size, int64_t hidden_size, int64_t n_layers, int64_t n_heads, double dropout);
  std::vector<NDArray> hybrid_forward_multi(const std::vector<NDArray>& xs) override;
  std::vector<std::shared_ptr<BSTEncoderCell>> stack;
  std::shared_ptr<gluon::nn::Dropout> dropout;
};

class BSTransformer : public gluon::HybridBlock {
 public:
  explicit BSTransformer(BSTConfig cfg = {});
  // Inputs (x (B, L) item ids, 0 = padding, L <= max_seq_len; context (B, n_context) ids).
  std::vector<NDArray> hybrid_forward_multi(const std::vector<NDArray>& xs) override;
  using Block::operator();
  NDArray operator()(const NDArray& x, const NDArray& context);
  const BSTConfig& config() const { return cfg_; }

  std::shared_ptr<gluon::nn::Embedding> item_embed;
  std::vector<std::shared_ptr<gluon::nn::Embedding>> context_embeddings;
  std::shared_ptr<gluon::Parameter> pos_embedding;  // (max_seq_len, embedding_dim), grad_req null
  std::shared_ptr<gluon::Parameter> causal;         // (max_seq_len, max_seq_len) lower triangle of ones
  std::shared_ptr<BSTEncoder> encoder;
  std::shared_ptr<gluon::nn::HybridSequential> mlp;

 protected:
  // Checks concrete inputs: shapes, item and context ids in range.
  std::vector<NDArray> run(const std::vector<NDArray>& xs) override;

 private:
  BSTConfig cfg_;
};

// One batch of the seed's batch_fn: the last max_seq_len items of each history, left-padded
// with 0; the context ids; the item to predict.
struct BSTBatch {
  NDArray x;        // (B, max_seq_len)
  NDArray context;  // (B, n_context)
  NDArray target;   // (B,)
};

// The seed's batch_fn: optionally shuffled (with `rng`), whole batches only (the remainder is
// dropped, as range(0, n - batch_size + 1, batch_size) does).
std::vector<BSTBatch> bst_batch_fn(const std::vector<std::vector<int64_t>>& user_seq,
                                   const std::vector<std::vector<int64_t>>& context_features,
                                   const std::vector<int64_t>& targets, int64_t batch_size, int64_t max_seq_len,
                                   bool shuffle, std::mt19937_64* rng = nullptr);

}  // namespace hgc::models
