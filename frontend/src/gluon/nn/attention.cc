// GluonNLP's attention cells and PositionwiseFFN over NDArray ops (each with a gradient
// rule), so they run imperatively, hybridized, and train in both modes.
#include "hgc/frontend/gluon/nn/attention.h"

#include <cctype>
#include <cmath>

#include "hgc/frontend/gluon/nn/activations.h"
#include "hgc/frontend/gluon/nn/norm_layers.h"
#include "hgc/frontend/nd/op.h"
#include "hgc/base/error.h"
#include "nd/detail.h"

namespace hgc::gluon::nn {
namespace {

// GluonNLP fills masked scores with -1e18 (-1e4 only for float16, which hgc's layers do not use).
constexpr double kMaskedScore = -1e18;

DenseOptions projection(int64_t units, bool use_bias, const std::shared_ptr<Initializer>& w,
                        const std::shared_ptr<Initializer>& b) {
  DenseOptions o(units);
  o.use_bias(use_bias).flatten(false);
  o.weight_initializer_ = w;
  o.bias_initializer_ = b;
  return o;
}

// GluonNLP's L2Normalization block: x / (||x||_2 over the last axis + eps).
NDArray l2_normalize(const NDArray& x) {
  NDArray norm = nd::sqrt(nd::sum(nd::square(x), {-1}, true));
  return x / (norm + 1e-6);
}

}  // namespace

std::shared_ptr<HybridBlock> make_activation(const std::string& name) {
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "leakyrelu") return std::make_shared<LeakyReLU>(0.1);
  if (lower == "gelu") return std::make_shared<GELU>();
  return std::make_shared<Activation>(name);
}

NDArray masked_softmax(const NDArray& scores, const NDArray& mask) {
  if (!mask.defined()) return nd::softmax(scores, -1);
  if (mask.shape() != scores.shape())
    fail("gluon", "attention: mask has shape ", nd_detail::shape_str(mask.shape()), " but the attention scores have shape ",
         nd_detail::shape_str(scores.shape()), " (batch, query_length, memory_length)");
  NDArray m = mask.dtype() == scores.dtype() ? mask : mask.astype(scores.dtype());
  NDArray filled = nd::where(m, scores, nd::op("ones_like", {}, {scores}) * kMaskedScore);
  return nd::softmax(filled, -1) * m;
}

// ---- AttentionCell ----
std::pair<NDArray, NDArray> AttentionCell::operator()(const NDArray& query, const NDArray& key, const NDArray& value,
                                                      const NDArray& mask) {
  std::vector<NDArray> in{query, key, value.defined() ? value : key};
  if (mask.defined()) in.push_back(mask);
  std::vector<NDArray> out = Block::operator()(in);
  return {out[0], out[1]};
}

std::vector<NDArray> AttentionCell::hybrid_forward_multi(const std::vector<NDArray>& xs) {
  if (xs.size() < 2 || xs.size() > 4)
    fail("gluon", type_name(), " '", name(), "': takes (query, key[, value[, mask]]), got ", xs.size(), " inputs");
  const NDArray& value = xs.size() > 2 ? xs[2] : xs[1];
  NDArray mask = xs.size() > 3 ? xs[3] : NDArray();
  NDArray weights = compute_weight(xs[0], xs[1], mask);
  return {read_by_weight(weights, value), weights};
}

NDArray AttentionCell::read_by_weight(const NDArray& weights, const NDArray& value) {
  return nd::batch_dot(weights, value);
}

// ---- DotProductAttentionCell ----
DotProductAttentionCell::DotProductAttentionCell(DotProductAttentionOptions opts, BlockArgs args)
    : AttentionCell("dotproductattentioncell", std::move(args)), opts_(std::move(opts)) {
  if (opts_.luong_style_ && !opts_.units_)
    fail("gluon", "DotProductAttentionCell: Luong style attention is not available without explicitly setting the units");
  if (opts_.units_ && *opts_.units_ <= 0) fail("gluon", "DotProductAttentionCell: units must be positive, got ", *opts_.units_);
  auto scope = name_scope();
  dropout_ = register_child(std::make_shared<Dropout>(opts_.dropout_), "dropout_layer");
  if (!opts_.activation_.empty()) act_ = register_child(make_activation(opts_.activation_), "act");
  if (opts_.units_) {
    proj_query = register_child(
        std::make_shared<Dense>(projection(*opts_.units_, opts_.use_bias_, opts_.weight_initializer_, opts_.bias_initializer_),
                                BlockArgs().prefix("query_")),
        "proj_query");
    if (!opts_.luong_style_)
      proj_key = register_child(
          std::make_shared<Dense>(projection(*opts_.units_, opts_.use_bias_, opts_.weight_initializer_, opts_.bias_initializer_),
                                  BlockArgs().prefix("key_")),
          "proj_key");
  }
}

NDArray DotProductAttentionCell::compute_weight(const NDArray& query_in, const NDArray& key_in, const NDArray& mask) {
  NDArray query = query_in, key = key_in;
  if (proj_query) {
    query = (*proj_query)(query);
    if (act_) query = (*act_)(query);
    if (proj_key) {
      key = (*proj_key)(key);
      if (act_) key = (*act_)(key);
    }
  }
  if (query.shape().back() != key.shape().back())
    fail("gluon", "DotProductAttentionCell '", name(), "': query and key need the same last dim, got query ",
         nd_detail::shape_str(query.shape()), " and key ", nd_detail::shape_str(key.shape()));
  if (opts_.normalized_) {
    query = l2_normalize(query);
    key = l2_normalize(key);
  }
  // contrib.div_sqrt_dim: the query over sqrt of its last dim.
  if (opts_.scaled_) query = query * (1.0 / std::sqrt(static_cast<double>(query.shape().back())));
  NDArray scores = nd::batch_dot(query, key, false, true);
  return (*dropout_)(masked_softmax(scores, mask));
}

// ---- MultiHeadAttentionCell ----
MultiHeadAttentionCell::MultiHeadAttentionCell(MultiHeadAttentionOptions opts, BlockArgs args)
    : AttentionCell("multiheadattentioncell", std::move(args)), opts_(std::move(opts)) {
  if (opts_.num_heads_ <= 0) fail("gluon", "MultiHeadAttentionCell: num_heads must be positive, got ", opts_.num_heads_);
  for (auto [what, u] : {std::pair{"query", opts_.query_units_}, std::pair{"key", opts_.key_units_},
                         std::pair{"value", opts_.value_units_}})
    if (u <= 0 || u % opts_.num_heads_)
      fail("gluon", "In MultiHeadAttetion, the ", what, "_units should be divided exactly by the number of heads. ",
           "Received ", what, "_units=", u, ", num_heads=", opts_.num_heads_);
  auto scope = name_scope();
  base_cell = opts_.base_cell_ ? opts_.base_cell_
                               : std::make_shared<DotProductAttentionCell>(
                                     DotProductAttentionOptions().scaled(opts_.scaled_).dropout(opts_.dropout_));
  register_child(base_cell, "base_cell");
  auto proj = [&](int64_t units, const char* what) {
    return register_child(
        std::make_shared<Dense>(projection(units, opts_.use_bias_, opts_.weight_initializer_, opts_.bias_initializer_),
                                BlockArgs().prefix(std::string(what) + "_")),
        std::string("proj_") + what);
  };
  proj_query = proj(opts_.query_units_, "query");
  proj_key = proj(opts_.key_units_, "key");
  proj_value = proj(opts_.value_units_, "value");
}

NDArray MultiHeadAttentionCell::project(Dense& proj, const NDArray& x) {
  if (x.ndim() != 3)
    fail("gluon", "MultiHeadAttentionCell '", name(), "': inputs are (batch, length, dim), got ", nd_detail::shape_str(x.shape()));
  NDArray y = proj(x).reshape({0, 0, opts_.num_heads_, -1});
  return nd::transpose(y, {0, 2, 1, 3}).reshape({-1, 0, 0}, true);
}

NDArray MultiHeadAttentionCell::compute_weight(const NDArray& query, const NDArray& key, const NDArray& mask) {
  NDArray q = project(*proj_query, query), k = project(*proj_key, key);
  NDArray m = mask;
  if (m.defined()) {
    const auto& s = m.shape();
    if (s.size() != 3)
      fail("gluon", "MultiHeadAttentionCell '", name(), "': mask is (batch, query_length, memory_length), got ",
           nd_detail::shape_str(s));
    m = nd::broadcast_to(m.expand_dims(1), {s[0], opts_.num_heads_, s[1], s[2]}).reshape({-1, 0, 0}, true);
  }
  NDArray w = base_cell->compute_weight(q, k, m);
  return w.reshape({-1, opts_.num_heads_, 0, 0}, true);
}

NDArray MultiHeadAttentionCell::read_by_weight(const NDArray& weights, const NDArray& value) {
  NDArray w = weights.reshape({-1, 0, 0}, true);
  NDArray v = project(*proj_value, value);
  NDArray ctx = base_cell->read_by_weight(w, v).reshape({-1, opts_.num_heads_, 0, 0}, true);
  return nd::transpose(ctx, {0, 2, 1, 3}).reshape({0, 0, -1});
}

// ---- PositionwiseFFN ----
PositionwiseFFN::PositionwiseFFN(PositionwiseFFNOptions opts, BlockArgs args)
    : HybridBlock("positionwiseffn", std::move(args)), opts_(std::move(opts)) {
  if (opts_.units_ <= 0 || opts_.hidden_size_ <= 0)
    fail("gluon", "PositionwiseFFN: units and hidden_size must be positive, got ", opts_.units_, " and ", opts_.hidden_size_);
  auto scope = name_scope();
  ffn_1 = register_child(std::make_shared<Dense>(projection(opts_.hidden_size_, true, opts_.weight_initializer_,
                                                            opts_.bias_initializer_),
                                                 BlockArgs().prefix("ffn_1_")),
                         "ffn_1");
  if (!opts_.activation_.empty()) activation = register_child(make_activation(opts_.activation_), "activation");
  ffn_2 = register_child(std::make_shared<Dense>(projection(opts_.units_, true, opts_.weight_initializer_,
                                                            opts_.bias_initializer_),
                                                 BlockArgs().prefix("ffn_2_")),
                         "ffn_2");
  if (opts_.dropout_ > 0) dropout_layer = register_child(std::make_shared<Dropout>(opts_.dropout_), "dropout_layer");
  layer_norm = register_child(
      std::make_shared<LayerNorm>(NormOptions().in_channels(opts_.units_).epsilon(opts_.layer_norm_eps_)), "layer_norm");
}

NDArray PositionwiseFFN::hybrid_forward(const NDArray& x) {
  NDArray y = (*ffn_1)(x);
  if (activation) y = (*activation)(y);
  if (dropout_layer && opts_.ffn1_dropout_) y = (*dropout_layer)(y);
  y = (*ffn_2)(y);
  if (activation && opts_.ffn2_activation_) y = (*activation)(y);
  if (dropout_layer) y = (*dropout_layer)(y);
  if (opts_.use_residual_) {
    if (x.shape().back() != opts_.units_)
      fail("gluon", "PositionwiseFFN '", name(), "': use_residual needs inputs of units=", opts_.units_,
           " features, got ", nd_detail::shape_str(x.shape()));
    y = y + x;
  }
  return (*layer_norm)(y);
}

}  // namespace hgc::gluon::nn
