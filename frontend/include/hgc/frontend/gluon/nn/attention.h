// Attention layers with GluonNLP's semantics (gluonnlp.model.attention_cell and
// transformer.PositionwiseFFN), as used by transformer encoders such as the BST recommender:
// DotProductAttentionCell, MultiHeadAttentionCell, PositionwiseFFN.
//
//   using namespace hgc::gluon;
//   auto cell = std::make_shared<nn::MultiHeadAttentionCell>(
//       nn::MultiHeadAttentionOptions(32, 8).use_bias(false).dropout(0.2));
//   auto [out, weights] = (*cell)(x, x, x);        // x (batch, len, dim): self-attention
//   auto [o2, w2] = (*cell)(q, k, v, mask);        // mask (batch, q_len, m_len), 1 keep / 0 drop
//   // out (batch, q_len, 32); weights (batch, 8, q_len, m_len)
//   auto ffn = std::make_shared<nn::PositionwiseFFN>(
//       nn::PositionwiseFFNOptions(32, 32).dropout(0.2).activation("leakyrelu"));
//   NDArray y = (*ffn)(out);                       // layer_norm(out + ffn_2(act(ffn_1(out))))
//
// An attention cell is a HybridBlock of 3 or 4 inputs (query, key, value[, mask]) and two
// outputs (context, attention weights); it hybridizes and trains like any block. Parameter
// names follow GluonNLP: "multiheadattentioncell0_query_weight", ..._key_weight,
// ..._value_weight (children proj_query / proj_key / proj_value).
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hgc/frontend/gluon/block.h"
#include "hgc/frontend/gluon/nn/basic_layers.h"

namespace hgc::gluon::nn {

// GluonNLP's AttentionCell: context = read_by_weight(compute_weight(query, key, mask), value).
class AttentionCell : public HybridBlock {
 public:
  explicit AttentionCell(const std::string& hint, BlockArgs args = {}) : HybridBlock(hint, std::move(args)) {}
  using Block::operator();
  // (context, attention weights). An undefined `value` means the key (GluonNLP's value=None);
  // an undefined `mask` means none. mask: (batch, query_length, memory_length), nonzero = keep.
  std::pair<NDArray, NDArray> operator()(const NDArray& query, const NDArray& key, const NDArray& value,
                                         const NDArray& mask = NDArray());
  // Inputs (query, key[, value[, mask]]); outputs {context, weights}.
  std::vector<NDArray> hybrid_forward_multi(const std::vector<NDArray>& xs) override;

  // The two halves, on values or traced values (not block calls; a wrapping cell such as
  // MultiHeadAttentionCell calls its base cell's halves directly, as GluonNLP does).
  // Weights (batch, query_length, memory_length) from query (batch, q, d) and key (batch, m, d).
  virtual NDArray compute_weight(const NDArray& query, const NDArray& key, const NDArray& mask) = 0;
  // context (batch, q, dv) = weights . value (batch, m, dv).
  virtual NDArray read_by_weight(const NDArray& weights, const NDArray& value);
};

// Softmax over the last axis ignoring masked positions: scores where mask is 0 are set to
// -1e18 before the softmax and the weights multiplied by the mask after (GluonNLP's
// _masked_softmax; a fully masked row gives zeros). No mask: a plain softmax.
NDArray masked_softmax(const NDArray& scores, const NDArray& mask);

struct DotProductAttentionOptions {
  std::optional<int64_t> units_;  // project query and key to `units` first (Dense, flatten=False)
  bool luong_style_ = false;      // with units: project the query only, score = <W q, k>
  bool scaled_ = true;            // divide the query by sqrt(its last dim)
  bool normalized_ = false;       // cosine: L2-normalize query and key (eps 1e-6)
  bool use_bias_ = true;          // of the projections
  double dropout_ = 0.0;          // on the attention weights
  // The BST seed's variant: an activation after the query/key projections ("leakyrelu" is
  // LeakyReLU(0.1)); only used with units. Empty: none (GluonNLP).
  std::string activation_;
  std::shared_ptr<Initializer> weight_initializer_, bias_initializer_ = init::create("zeros");
  DotProductAttentionOptions& units(int64_t u) { units_ = u; return *this; }
  DotProductAttentionOptions& luong_style(bool b) { luong_style_ = b; return *this; }
  DotProductAttentionOptions& scaled(bool b) { scaled_ = b; return *this; }
  DotProductAttentionOptions& normalized(bool b) { normalized_ = b; return *this; }
  DotProductAttentionOptions& use_bias(bool b) { use_bias_ = b; return *this; }
  DotProductAttentionOptions& dropout(double p) { dropout_ = p; return *this; }
  DotProductAttentionOptions& activation(std::string a) { activation_ = std::move(a); return *this; }
  DotProductAttentionOptions& weight_initializer(const Initializer& i) { weight_initializer_ = i.clone(); return *this; }
  DotProductAttentionOptions& bias_initializer(const Initializer& i) { bias_initializer_ = i.clone(); return *this; }
};

// score = <q, k> (/ sqrt(d) when scaled); weights = dropout(masked_softmax(score, mask)).
// Children (GluonNLP's): dropout_layer, proj_query ("query_"), proj_key ("key_"), act.
class DotProductAttentionCell : public AttentionCell {
 public:
  explicit DotProductAttentionCell(DotProductAttentionOptions opts = {}, BlockArgs args = {});
  NDArray compute_weight(const NDArray& query, const NDArray& key, const NDArray& mask) override;
  const DotProductAttentionOptions& options() const { return opts_; }
  std::shared_ptr<Dense> proj_query, proj_key;  // null without units (proj_key: luong_style)

 private:
  DotProductAttentionOptions opts_;
  std::shared_ptr<Dropout> dropout_;
  std::shared_ptr<HybridBlock> act_;
};

struct MultiHeadAttentionOptions {
  // query_units = key_units = value_units = units; each must be a multiple of num_heads.
  MultiHeadAttentionOptions(int64_t units, int64_t num_heads)
      : query_units_(units), key_units_(units), value_units_(units), num_heads_(num_heads) {}
  int64_t query_units_, key_units_, value_units_, num_heads_;
  bool use_bias_ = true;
  // The base cell; null: DotProductAttentionCell(scaled, dropout) made in this cell's scope.
  std::shared_ptr<AttentionCell> base_cell_;
  bool scaled_ = true;
  double dropout_ = 0.0;
  std::shared_ptr<Initializer> weight_initializer_, bias_initializer_ = init::create("zeros");
  MultiHeadAttentionOptions& query_units(int64_t u) { query_units_ = u; return *this; }
  MultiHeadAttentionOptions& key_units(int64_t u) { key_units_ = u; return *this; }
  MultiHeadAttentionOptions& value_units(int64_t u) { value_units_ = u; return *this; }
  MultiHeadAttentionOptions& use_bias(bool b) { use_bias_ = b; return *this; }
  MultiHeadAttentionOptions& base_cell(std::shared_ptr<AttentionCell> c) { base_cell_ = std::move(c); return *this; }
  MultiHeadAttentionOptions& scaled(bool b) { scaled_ = b; return *this; }
  MultiHeadAttentionOptions& dropout(double p) { dropout_ = p; return *this; }
  MultiHeadAttentionOptions& weight_initializer(const Initializer& i) { weight_initializer_ = i.clone(); return *this; }
  MultiHeadAttentionOptions& bias_initializer(const Initializer& i) { bias_initializer_ = i.clone(); return *this; }
};

// Query, key and value projected (Dense, flatten=False) and split into num_heads heads; the
// base cell attends per head; the heads' contexts concatenated. Outputs: context
// (batch, q_len, value_units) and weights (batch, num_heads, q_len, m_len).
class MultiHeadAttentionCell : public AttentionCell {
 public:
  explicit MultiHeadAttentionCell(MultiHeadAttentionOptions opts, BlockArgs args = {});
  NDArray compute_weight(const NDArray& query, const NDArray& key, const NDArray& mask) override;
  NDArray read_by_weight(const NDArray& weights, const NDArray& value) override;
  const MultiHeadAttentionOptions& options() const { return opts_; }
  std::shared_ptr<AttentionCell> base_cell;
  std::shared_ptr<Dense> proj_query, proj_key, proj_value;

 private:
  // (batch, len, units) projected -> (batch * num_heads, len, units / num_heads).
  NDArray project(Dense& proj, const NDArray& x);
  MultiHeadAttentionOptions opts_;
};

struct PositionwiseFFNOptions {
  explicit PositionwiseFFNOptions(int64_t units = 512, int64_t hidden_size = 2048)
      : units_(units), hidden_size_(hidden_size) {}
  int64_t units_, hidden_size_;
  double dropout_ = 0.0;
  bool use_residual_ = true;
  bool ffn1_dropout_ = false;   // also dropout after the first Dense's activation
  std::string activation_ = "relu";  // Activation act_type, "leakyrelu" (alpha 0.1), "gelu"; empty: none
  // The BST seed's variant applies the activation after ffn_2 as well (GluonNLP does not).
  bool ffn2_activation_ = false;
  double layer_norm_eps_ = 1e-5;
  std::shared_ptr<Initializer> weight_initializer_, bias_initializer_ = init::create("zeros");
  PositionwiseFFNOptions& dropout(double p) { dropout_ = p; return *this; }
  PositionwiseFFNOptions& use_residual(bool b) { use_residual_ = b; return *this; }
  PositionwiseFFNOptions& ffn1_dropout(bool b) { ffn1_dropout_ = b; return *this; }
  PositionwiseFFNOptions& activation(std::string a) { activation_ = std::move(a); return *this; }
  PositionwiseFFNOptions& ffn2_activation(bool b) { ffn2_activation_ = b; return *this; }
  PositionwiseFFNOptions& layer_norm_eps(double e) { layer_norm_eps_ = e; return *this; }
  PositionwiseFFNOptions& weight_initializer(const Initializer& i) { weight_initializer_ = i.clone(); return *this; }
  PositionwiseFFNOptions& bias_initializer(const Initializer& i) { bias_initializer_ = i.clone(); return *this; }
};

class LayerNorm;

// y = layer_norm(dropout(ffn_2(act(ffn_1(x)))) + x) (the residual with use_residual), on
// (batch, len, C_in) -> (batch, len, units). Children: ffn_1 ("ffn_1_"), activation, ffn_2
// ("ffn_2_"), dropout_layer (dropout > 0), layer_norm (in_channels = units).
class PositionwiseFFN : public HybridBlock {
 public:
  explicit PositionwiseFFN(PositionwiseFFNOptions opts = PositionwiseFFNOptions(), BlockArgs args = {});
  NDArray hybrid_forward(const NDArray& x) override;
  const PositionwiseFFNOptions& options() const { return opts_; }
  std::shared_ptr<Dense> ffn_1, ffn_2;
  std::shared_ptr<HybridBlock> activation;  // null without one
  std::shared_ptr<Dropout> dropout_layer;    // null with dropout 0
  std::shared_ptr<LayerNorm> layer_norm;

 private:
  PositionwiseFFNOptions opts_;
};

// The activation block GluonNLP's transformer code builds from a name: "leakyrelu" is
// LeakyReLU(0.1) (the BST seed's), "gelu" GELU, anything else Activation(name).
std::shared_ptr<HybridBlock> make_activation(const std::string& name);

}  // namespace hgc::gluon::nn
