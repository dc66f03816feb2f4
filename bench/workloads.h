// The networks of the peer workloads (issue 10) that the models/ library does not provide,
// shared by the timing program (bench_workloads.cc) and the parity dumper (parity_dump.cc).
#pragma once
#include <functional>
#include <memory>

#include "hgc/hgc.h"
#include "hgc/frontend/gluon/nn/attention.h"

namespace hgc::bench {

// The Straight Dope book's hybridize-chapter MLP: 512 -> Dense(256, relu) -> Dense(128, relu)
// -> Dense(2) (models/mlp/straight_dope_mlp-symbol.json is its exported graph).
std::shared_ptr<gluon::nn::HybridSequential> straight_dope_mlp();

// One BST transformer block with its recommender head, as the peer's bst.py builds it:
// item ids (B, 32) -> Embedding(32, 32) + a constant positional table -> 8-head
// self-attention (q/k/v without bias, scaled) -> proj Dense(32, no bias) -> dropout ->
// residual -> LayerNorm -> PositionwiseFFN (LeakyReLU(0.1) after both Dense layers, residual,
// LayerNorm) -> concatenated with Embedding(32, 32) of the other ids along the sequence ->
// flatten -> Dense(8) LReLU Dense(4) LReLU Dense(2) LReLU Dense(1). Inputs {ids, other_ids}
// (float indices, as MXNet's Embedding takes them), output (B, 1) logits.
class BSTBlock : public gluon::HybridBlock {
 public:
  static constexpr int64_t kSeq = 32, kDim = 32, kHeads = 8, kVocab = 32;
  BSTBlock();
  std::vector<NDArray> hybrid_forward_multi(const std::vector<NDArray>& xs) override;
  // Fills the positional table (call after initialize(); it has grad_req null).
  void set_positions();

  std::shared_ptr<gluon::nn::Embedding> emb, other;
  std::shared_ptr<gluon::Parameter> pos;
  std::shared_ptr<gluon::nn::MultiHeadAttentionCell> attn;
  std::shared_ptr<gluon::nn::Dense> proj;
  std::shared_ptr<gluon::nn::Dropout> drop;
  std::shared_ptr<gluon::nn::LayerNorm> ln1;
  std::shared_ptr<gluon::nn::PositionwiseFFN> ffn;
  std::shared_ptr<gluon::nn::HybridSequential> head;
};

// One training step of a classifier on the batch (x, y): softmax cross-entropy, SGD with
// learning rate 0.1, the net Xavier-initialized from seed 0, hybridized when asked and
// converted to bfloat16 AMP when asked.
std::function<void()> classifier_sgd_step(std::shared_ptr<gluon::nn::HybridSequential> net, NDArray x, NDArray y,
                                          bool hybrid, bool amp = false);

// One Mult-VAE training step (Adam 1e-3, beta 0.2) on the clicks x (batch, items), the net
// 200-600-items Xavier-initialized from seed 0, hybridized and converted to bfloat16 AMP
// when asked.
std::function<void()> multivae_adam_step(NDArray x, int64_t items, bool hybrid, bool amp = false);

}  // namespace hgc::bench
