// Mult-VAE and Mult-DAE (Liang et al. 2018) as in the MXNet seed: an encoder with dropout on
// the L2-normalized input and tanh between Dense layers, mu/logvar heads (the last layer is
// twice as wide and split), a decoder of the same shape reversed; the loss is the
// multinomial log-likelihood of log_softmax(logits) plus an annealed KL term.
//
//   models::MultiVAE vae({200, 600, n_items});        // p_dims; q_dims default to the reverse
//   vae.initialize(gluon::init::Xavier());
//   vae.hybridize();                                   // encoder and decoder compile
//   { auto r = autograd::record();
//     auto [logits, mu, logvar] = vae.run3(x);
//     loss = models::vae_loss(x, logits, mu, logvar, anneal); }
//
// The seed's MultiVAE is one HybridBlock that draws eps with F.random.normal_like inside
// hybrid_forward. A compiled graph here never draws random numbers (tracing a draw is an
// error), so MultiVAE is a Block: its encoder and decoder are HybridBlocks that compile, and
// eps is drawn between them with the global generator — the same numbers in both modes.
#pragma once
#include <memory>
#include <tuple>
#include <vector>

#include "hgc/hgc.h"

namespace hgc::models {

// L2Normalization, then Dropout/Dense pairs with tanh between; the last Dense is split into
// (mu, logvar) along axis 1.
class VAEEncoder : public gluon::HybridBlock {
 public:
  VAEEncoder(std::vector<int64_t> q_dims, std::vector<double> dropout);
  std::vector<NDArray> hybrid_forward_multi(const std::vector<NDArray>& xs) override;
  std::shared_ptr<gluon::nn::HybridSequential> q_layers;

 private:
  int64_t latent_;
};

// Dropout/Dense pairs with tanh between; `l2_normalize` (Mult-DAE's decoder input is the raw
// interactions) normalizes first.
class VAEDecoder : public gluon::HybridBlock {
 public:
  VAEDecoder(std::vector<int64_t> p_dims, std::vector<double> dropout, bool l2_normalize = false, const std::string& hint = "decoder");
  NDArray hybrid_forward(const NDArray& x) override;
  std::shared_ptr<gluon::nn::HybridSequential> p_layers;

 private:
  bool l2_;
};

class MultiVAE : public gluon::Block {
 public:
  // p_dims = {latent, hidden..., n_items}; q_dims empty: p_dims reversed.
  explicit MultiVAE(std::vector<int64_t> p_dims, std::vector<int64_t> q_dims = {},
                    std::vector<double> dropout_enc = {0.5, 0.0}, std::vector<double> dropout_dec = {0.0, 0.0});
  // {logits, mu, logvar}; in training mode z = mu + eps * exp(logvar / 2), else z = mu.
  std::vector<NDArray> forward_multi(const std::vector<NDArray>& xs) override;
  std::tuple<NDArray, NDArray, NDArray> run3(const NDArray& x);
  std::shared_ptr<VAEEncoder> encode;
  std::shared_ptr<VAEDecoder> decode;
};

// Mult-DAE: dropout on the normalized input, then the same MLP up to item logits.
class MultiDAE : public gluon::HybridBlock {
 public:
  explicit MultiDAE(std::vector<int64_t> p_dims, std::vector<int64_t> q_dims = {}, double dropout = 0.5);
  NDArray hybrid_forward(const NDArray& x) override;
  std::shared_ptr<VAEDecoder> net;
};

// -mean_b(sum_i log_softmax(logits) * x)
NDArray multinomial_nll(const NDArray& x, const NDArray& logits);
// The seed's vae_loss_fn: nll + anneal * KL(q(z|x) || N(0, I)), both batch means.
NDArray vae_loss(const NDArray& x, const NDArray& logits, const NDArray& mu, const NDArray& logvar, double anneal);

// vae_loss as a HybridBlock, so a hybridized training loop compiles the loss as well (as
// Gluon's losses are HybridBlocks). The annealing weight is a 0-d input, not a
// baked constant: the seed changes it every step, which must not recompile.
class VAELoss : public gluon::HybridBlock {
 public:
  VAELoss() : HybridBlock("vaeloss") {}
  using Block::operator();
  NDArray operator()(const NDArray& x, const NDArray& logits, const NDArray& mu, const NDArray& logvar, double anneal);
  // xs: x, logits, mu, logvar, anneal (a 0-d array); returns the loss, shape (1,).
  std::vector<NDArray> hybrid_forward_multi(const std::vector<NDArray>& xs) override;
};

// The seed's schedule: anneal = min(anneal_cap, update_count / total_anneal_steps).
struct KLAnnealer {
  double anneal_cap = 0.2;
  double total_anneal_steps = 200000;
  int64_t update_count = 0;
  double next() { return std::min(anneal_cap, static_cast<double>(update_count++) / total_anneal_steps); }
};

}  // namespace hgc::models
