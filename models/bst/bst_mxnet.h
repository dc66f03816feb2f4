// The Behaviour Sequence Transformer (Chen et al. 2019, Alibaba) as in the MXNet seed: its
// `Rec` HybridBlock. Item ids and "other" (engineered) feature ids are embedded; the items
// get the seed's BST positional embedding (the un-sinusoided table pos / 10000^(2i/d), as the
// seed's _position_encoding_init_BST), then one transformer block: GluonNLP multi-head
// attention (8 heads, 32 units, no bias, scaled dot product, dropout 0.2 on the weights), a
// projection, dropout, residual and LayerNorm, and the seed's PositionwiseFFN (LeakyReLU(0.1)
// after both Dense layers, dropout, residual, LayerNorm). The sequence encoding is
// concatenated with the other features' embeddings along the sequence axis (the seed's
// mx.nd.concat default dim=1) and an MLP 8-4-2-1 with LeakyReLU(0.1) gives one click logit.
//
//   models::BSTRec net;                                 // the seed's sizes (BSTRecOptions)
//   net.initialize(gluon::init::Xavier());
//   net.hybridize();
//   NDArray logit = net(x, x_other);                    // (B, seq_len), (B, other_len) ids -> (B, 1)
//   NDArray l = gluon::loss::SigmoidBinaryCrossEntropyLoss()(logit, y);
//
// The seed builds its positional table with mx.nd.array inside hybrid_forward (which only
// works imperatively); here the table is a parameter with grad_req "null" ("rec0_position_
// weight"), so it is part of the compiled graph and of exported files.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "hgc/hgc.h"

namespace hgc::models {

struct BSTRecOptions {
  // The seed: _SEQ_LEN = _OTHER_LEN = _EMB_DIM = _UNITS = 32, 8 heads, dropout 0.2. Its item
  // Embedding has input_dim=_SEQ_LEN (32 item ids) and the other-feature one _OTHER_LEN.
  int64_t seq_len = 32;       // items per sequence (also the positional table's length)
  int64_t n_items = 32;       // item ids 0..n_items-1
  int64_t n_other = 32;       // other-feature ids 0..n_other-1
  int64_t emb_dim = 32, units = 32, num_heads = 8;
  double dropout = 0.2;
  std::vector<int64_t> mlp = {8, 4, 2};  // hidden sizes of the output MLP (then 1)
  // The seed's _get_positional(weight_type): "BST" (what its Rec uses: raw p / 10000^(2i/d),
  // values up to seq_len - 1) or "sinusoidal" (_position_encoding_init: sin on even columns,
  // cos on odd ones, all in [-1, 1]).
  std::string positional = "BST";
  // Not the seed's: sum the sequence encoding over its items (scaled by 1 / seq_len) before the
  // output MLP, instead of flattening it into the MLP's first Dense, whose weight would bake
  // the length in. Sequences may then hold 1..seq_len items (the positional table's rows), and
  // the sequence axis may be dynamic (HybridizeOptions::dynamic_axes(0, {0, 1})): one compile
  // for every length.
  bool pool_sequence = false;
  BSTRecOptions& pooled(bool on = true) { pool_sequence = on; return *this; }
  BSTRecOptions& sequence_length(int64_t v) { seq_len = v; return *this; }
  BSTRecOptions& items(int64_t v) { n_items = v; return *this; }
  BSTRecOptions& other_values(int64_t v) { n_other = v; return *this; }
  BSTRecOptions& dims(int64_t emb, int64_t u) { emb_dim = emb; units = u; return *this; }
  BSTRecOptions& heads(int64_t h) { num_heads = h; return *this; }
  BSTRecOptions& drop(double p) { dropout = p; return *this; }
  BSTRecOptions& mlp_units(std::vector<int64_t> v) { mlp = std::move(v); return *this; }
  BSTRecOptions& positional_weight(std::string w) { positional = std::move(w); return *this; }
};

// The seed's _position_encoding_init_BST: table[p][i] = p / 10000^(2i / dim) (no sin/cos).
std::vector<float> bst_position_table(int64_t max_length, int64_t dim);
// The seed's _position_encoding_init: the same angles, sin on even columns, cos on odd ones.
std::vector<float> sinusoid_position_table(int64_t max_length, int64_t dim);

class BSTRec : public gluon::HybridBlock {
 public:
  explicit BSTRec(BSTRecOptions opts = {});
  // Inputs (x, x_other[, mask]): x (B, seq_len) item ids (pooled: (B, L), 1 <= L <= seq_len), x_other (B, O) other-feature ids
  // (float), mask (B, seq_len, seq_len) 1 keep / 0 drop. Output (B, 1) logits.
  std::vector<NDArray> hybrid_forward_multi(const std::vector<NDArray>& xs) override;
  using Block::operator();
  NDArray operator()(const NDArray& x, const NDArray& x_other, const NDArray& mask = NDArray());
  const BSTRecOptions& options() const { return opts_; }

  std::shared_ptr<gluon::nn::Embedding> otherfeatures, features;
  std::shared_ptr<gluon::Parameter> position_weight;
  std::shared_ptr<gluon::nn::MultiHeadAttentionCell> cell;
  std::shared_ptr<gluon::nn::Dense> proj;
  std::shared_ptr<gluon::nn::Dropout> drop_out_layer;
  std::shared_ptr<gluon::nn::PositionwiseFFN> ffn;
  std::shared_ptr<gluon::nn::LayerNorm> layer_norm;
  std::shared_ptr<gluon::nn::HybridSequential> output;

 protected:
  // Checks concrete inputs (shapes, id ranges, mask values) before running: MXNet's Embedding
  // clips out-of-range ids silently, the seed's data never has any, so here they are errors.
  std::vector<NDArray> run(const std::vector<NDArray>& xs) override;

 private:
  BSTRecOptions opts_;
};

// Area under the ROC curve of `scores` for binary `labels` (Mann-Whitney U with ties counted
// half). Throws when either class is missing or the sizes differ.
double auc(const std::vector<float>& scores, const std::vector<float>& labels);

}  // namespace hgc::models
