#include "workloads.h"

#include "multivae/multivae.h"

#include <cmath>
#include <vector>

namespace hgc::bench {

using namespace gluon;

std::shared_ptr<nn::HybridSequential> straight_dope_mlp() {
  auto net = std::make_shared<nn::HybridSequential>();
  auto scope = net->name_scope();
  net->emplace<nn::Dense>(nn::DenseOptions(256).activation("relu"));
  net->emplace<nn::Dense>(nn::DenseOptions(128).activation("relu"));
  net->emplace<nn::Dense>(nn::DenseOptions(2));
  return net;
}

BSTBlock::BSTBlock() : HybridBlock("bst") {
  auto scope = name_scope();
  emb = register_child(std::make_shared<nn::Embedding>(kVocab, kDim), "emb");
  other = register_child(std::make_shared<nn::Embedding>(kVocab, kDim), "other");
  pos = params().get("pos", ParamOptions().shape({kSeq, kDim}).grad_req("null").init("zeros"));
  attn = register_child(std::make_shared<nn::MultiHeadAttentionCell>(
                            nn::MultiHeadAttentionOptions(kDim, kHeads).use_bias(false).dropout(0.2)),
                        "attn");
  proj = register_child(std::make_shared<nn::Dense>(nn::DenseOptions(kDim).use_bias(false).flatten(false)), "proj");
  drop = register_child(std::make_shared<nn::Dropout>(0.2), "drop");
  ln1 = register_child(std::make_shared<nn::LayerNorm>(nn::NormOptions().in_channels(kDim)), "ln1");
  ffn = register_child(std::make_shared<nn::PositionwiseFFN>(
                           nn::PositionwiseFFNOptions(kDim, 32).dropout(0.2).activation("leakyrelu").ffn2_activation(true)),
                       "ffn");
  head = register_child(std::make_shared<nn::HybridSequential>(), "head");
  {
    auto hs = head->name_scope();
    for (int64_t u : {8, 4, 2}) {
      head->emplace<nn::Dense>(nn::DenseOptions(u));
      head->emplace<nn::LeakyReLU>(0.1);
    }
    head->emplace<nn::Dense>(nn::DenseOptions(1));
  }
}

void BSTBlock::set_positions() {
  // The peer's table: pos[t][d] = t / 10000^(2 d / D), computed in double as there.
  std::vector<float> v(static_cast<size_t>(kSeq * kDim));
  for (int64_t t = 0; t < kSeq; ++t)
    for (int64_t d = 0; d < kDim; ++d)
      v[static_cast<size_t>(t * kDim + d)] =
          static_cast<float>(static_cast<double>(t) / std::pow(10000.0, 2.0 / kDim * static_cast<double>(d)));
  pos->set_data(nd::array(v, {kSeq, kDim}));
}

std::vector<NDArray> BSTBlock::hybrid_forward_multi(const std::vector<NDArray>& xs) {
  if (xs.size() != 2) fail("bench", "BSTBlock takes (ids, other_ids), got ", xs.size(), " inputs");
  NDArray x = (*emb)(xs[0]) + nd::expand_dims(pos->data(), 0);
  NDArray a = (*attn)(std::vector<NDArray>{x, x, x})[0];
  NDArray out = (*ln1)(x + (*drop)((*proj)(a)));
  out = (*ffn)(out);
  out = nd::concat({out, (*other)(xs[1])}, 1);
  return {(*head)(out)};
}

std::function<void()> classifier_sgd_step(std::shared_ptr<gluon::nn::HybridSequential> net, NDArray x, NDArray y,
                                          bool hybrid, bool amp) {
  nd::random::seed(0);
  net->initialize(init::Xavier());
  if (hybrid) net->hybridize();
  if (amp) amp::convert_hybrid_block(net, "bfloat16");
  auto ce = std::make_shared<loss::SoftmaxCrossEntropyLoss>();
  // Gluon's losses are HybridBlocks: a hybridized training loop hybridizes its loss too (as
  // the torch peer's jit mode traces net + loss), so the loss runs as two compiled graphs
  // instead of a dozen imperative ops.
  if (hybrid) ce->hybridize();
  auto tr = std::make_shared<Trainer>(net->collect_params(), "sgd", std::map<std::string, double>{{"learning_rate", 0.1}});
  const int64_t batch = x.shape()[0];
  return [=] {
    NDArray l;
    {
      auto r = autograd::record();
      l = (*ce)((*net)(x), y);
    }
    l.backward();
    tr->step(batch);
  };
}

std::function<void()> multivae_adam_step(NDArray x, int64_t items, bool hybrid, bool amp) {
  nd::random::seed(0);
  auto vae = std::make_shared<models::MultiVAE>(std::vector<int64_t>{200, 600, items});
  vae->initialize(init::Xavier());
  if (hybrid) vae->hybridize();
  if (amp) amp::convert_hybrid_block(vae, "bfloat16");
  auto tr = std::make_shared<Trainer>(vae->collect_params(), "adam", std::map<std::string, double>{{"learning_rate", 1e-3}});
  // Hybridized, the loss is a compiled block too, as classifier_sgd_step's.
  auto loss = std::make_shared<models::VAELoss>();
  if (hybrid) loss->hybridize();
  return [=] {
    NDArray l;
    {
      auto r = autograd::record();
      auto [logits, mu, logvar] = vae->run3(x);
      l = hybrid ? (*loss)(x, logits, mu, logvar, 0.2) : models::vae_loss(x, logits, mu, logvar, 0.2);
    }
    l.backward();
    tr->step(1);  // the loss is already a batch mean, as the peer's
  };
}

}  // namespace hgc::bench
