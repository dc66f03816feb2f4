#include "bst_mxnet.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "bst_common.h"
#include "hgc/frontend/nd/op.h"
#include "hgc/base/error.h"

namespace hgc::models {

using namespace gluon;

std::vector<float> bst_position_table(int64_t max_length, int64_t dim) {
  std::vector<float> t(static_cast<size_t>(max_length * dim));
  for (int64_t p = 0; p < max_length; ++p)
    for (int64_t i = 0; i < dim; ++i)
      t[p * dim + i] = static_cast<float>(static_cast<double>(p) / std::pow(10000.0, 2.0 / dim * i));
  return t;
}

std::vector<float> sinusoid_position_table(int64_t max_length, int64_t dim) {
  std::vector<float> t(static_cast<size_t>(max_length * dim));
  for (int64_t p = 0; p < max_length; ++p)
    for (int64_t i = 0; i < dim; ++i) {
      double a = static_cast<double>(p) / std::pow(10000.0, 2.0 / dim * i);
      t[p * dim + i] = static_cast<float>(i % 2 == 0 ? std::sin(a) : std::cos(a));
    }
  return t;
}

BSTRec::BSTRec(BSTRecOptions o) : HybridBlock("rec"), opts_(std::move(o)) {
  if (opts_.seq_len < 1 || opts_.n_items < 1 || opts_.n_other < 1)
    fail("models", "BSTRec: seq_len, n_items and n_other must be positive");
  if (opts_.emb_dim != opts_.units)
    fail("models", "BSTRec: emb_dim (", opts_.emb_dim, ") must equal units (", opts_.units,
         "): the positional table and the residual add have `units` columns");
  if (opts_.units % opts_.num_heads != 0)
    fail("models", "BSTRec: units (", opts_.units, ") must be a multiple of num_heads (", opts_.num_heads, ")");
  std::vector<float> table;
  if (opts_.positional == "BST") table = bst_position_table(opts_.seq_len, opts_.units);
  else if (opts_.positional == "sinusoidal") table = sinusoid_position_table(opts_.seq_len, opts_.units);
  else fail("models", "BSTRec: positional must be 'BST' or 'sinusoidal', not '", opts_.positional, "'");
  auto scope = name_scope();
  otherfeatures = register_child(std::make_shared<nn::Embedding>(opts_.n_other, opts_.emb_dim), "otherfeatures");
  features = register_child(std::make_shared<nn::Embedding>(opts_.n_items, opts_.emb_dim), "features");
  position_weight = params().get("position_weight", ParamOptions()
                                                        .shape({opts_.seq_len, opts_.units})
                                                        .init(TableInit(table, opts_.positional + "_position"))
                                                        .grad_req("null"));
  // _get_attention_cell('multi_head', ...): the base cell is DotProductAttentionCell(scaled,
  // dropout) without units, so its activation is never applied.
  cell = register_child(std::make_shared<nn::MultiHeadAttentionCell>(
                            nn::MultiHeadAttentionOptions(opts_.units, opts_.num_heads).use_bias(false).dropout(opts_.dropout)),
                        "cell");
  proj = register_child(std::make_shared<nn::Dense>(nn::DenseOptions(opts_.units).use_bias(false).flatten(false)), "proj");
  drop_out_layer = register_child(std::make_shared<nn::Dropout>(opts_.dropout), "drop_out_layer");
  ffn = register_child(std::make_shared<nn::PositionwiseFFN>(nn::PositionwiseFFNOptions(opts_.units, opts_.units)
                                                                 .dropout(opts_.dropout)
                                                                 .activation("leakyrelu")
                                                                 .ffn2_activation(true)),
                       "ffn");
  layer_norm = register_child(std::make_shared<nn::LayerNorm>(nn::NormOptions().in_channels(opts_.units)), "layer_norm");
  output = register_child(std::make_shared<nn::HybridSequential>(), "output");
  {
    auto s = output->name_scope();
    for (int64_t u : opts_.mlp) {
      output->emplace<nn::Dense>(nn::DenseOptions(u));
      output->emplace<nn::LeakyReLU>(0.1);
    }
    output->emplace<nn::Dense>(nn::DenseOptions(1));
  }
}

NDArray BSTRec::operator()(const NDArray& x, const NDArray& x_other, const NDArray& mask) {
  std::vector<NDArray> in{x, x_other};
  if (mask.defined()) in.push_back(mask);
  return Block::operator()(in).at(0);
}

std::vector<NDArray> BSTRec::run(const std::vector<NDArray>& xs) {
  if (xs.size() != 2 && xs.size() != 3)
    fail("models", "BSTRec: takes (x, x_other[, mask]), got ", xs.size(), " inputs");
  const NDArray &x = xs[0], &other = xs[1];
  if (opts_.pool_sequence && (x.ndim() != 2 || x.shape()[1] < 1 || x.shape()[1] > opts_.seq_len))
    fail("models", "BSTRec: x must be (batch, length <= ", opts_.seq_len, ") item ids, got ", shape_text(x.shape()));
  if (!opts_.pool_sequence && (x.ndim() != 2 || x.shape()[1] != opts_.seq_len))
    fail("models", "BSTRec: x must be (batch, ", opts_.seq_len, ") item ids, got ", shape_text(x.shape()));
  const int64_t len = x.shape()[1];
  if (other.ndim() != 2 || other.shape()[0] != x.shape()[0])
    fail("models", "BSTRec: x_other must be (batch = ", x.shape()[0], ", other_len) ids, got ", shape_text(other.shape()));
  if (xs.size() == 3 && xs[2].shape() != std::vector<int64_t>{x.shape()[0], len, len})
    fail("models", "BSTRec: mask must be (batch, ", len, ", ", len, "), got ", shape_text(xs[2].shape()));
  check_ids(x, opts_.n_items, "BSTRec", "x (item ids)");
  check_ids(other, opts_.n_other, "BSTRec", "x_other (other-feature ids)");
  return HybridBlock::run(xs);
}

std::vector<NDArray> BSTRec::hybrid_forward_multi(const std::vector<NDArray>& xs) {
  NDArray mask = xs.size() > 2 ? xs[2] : NDArray();
  // The manually engineered features.
  NDArray x1 = (*otherfeatures)(xs[1]);
  // The transformer encoder: steps = arange(seq_len), so Embedding(steps, table) is the table.
  NDArray x = (*features)(xs[0]);
  if (opts_.pool_sequence) {
    // The table's first L rows, L read off x (not a number in the trace): the length may vary.
    // BlockGrad on both: the table is fixed (grad_req null) and x lends only its length, so
    // the slice is not taped and no gradient graph pads a gradient back to the table's rows.
    NDArray table = nd::op("BlockGrad", {}, {position_weight->data()}).expand_dims(0);
    x = x + nd::op("slice_like", {{"axes", std::vector<int64_t>{1}}}, {table, nd::op("BlockGrad", {}, {x})});
  } else {
    NDArray pos = position_weight->data().slice_axis(0, 0, x.shape()[1]);
    x = x + pos.expand_dims(0);
  }
  auto [out_x, attn_w] = (*cell)(x, x, x, mask);
  out_x = (*proj)(out_x);
  out_x = (*drop_out_layer)(out_x);
  // Add and norm.
  out_x = (*layer_norm)(x + out_x);
  out_x = (*ffn)(out_x);
  // Concat the engineered features with the transformer representation (dim=1, the seed's).
  if (opts_.pool_sequence) {
    // (B, units) from the sequence, (B, O * units) from the features: no length-sized dim left.
    out_x = nd::sum(out_x, {1}) * (1.0 / static_cast<double>(opts_.seq_len));
    out_x = nd::concat({out_x, x1.reshape({0, -1})}, 1);
  } else {
    out_x = nd::concat({out_x, x1}, 1);
  }
  return {(*output)(out_x)};
}

double auc(const std::vector<float>& scores, const std::vector<float>& labels) {
  if (scores.size() != labels.size())
    fail("models", "auc: ", scores.size(), " scores but ", labels.size(), " labels");
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Sum of the positives' ranks (1-based, ties share their mean rank).
  double rank_sum = 0, n_pos = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
    double mean_rank = (i + 1 + j) / 2.0;
    for (size_t k = i; k < j; ++k)
      if (labels[order[k]] > 0.5f) rank_sum += mean_rank, n_pos += 1;
    i = j;
  }
  double n_neg = static_cast<double>(scores.size()) - n_pos;
  if (n_pos == 0 || n_neg == 0) fail("models", "auc: needs both positive and negative labels");
  return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg);
}

}  // namespace hgc::models
