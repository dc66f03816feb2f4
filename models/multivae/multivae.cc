#include "multivae.h"

#include "hgc/frontend/nd/op.h"
#include "hgc/base/error.h"

namespace hgc::models {

using namespace gluon;

namespace {

// Dropout(p) + Dense(out) per consecutive pair of dims, Gluon's q_net/p_net layout.
std::shared_ptr<nn::HybridSequential> mlp(const std::vector<int64_t>& dims, const std::vector<double>& dropout,
                                          const std::string& what) {
  if (dims.size() < 2) fail("models", what, ": needs at least two dims");
  if (dropout.size() != dims.size() - 1)
    fail("models", what, ": ", dims.size() - 1, " layers but ", dropout.size(), " dropout rates");
  auto seq = std::make_shared<nn::HybridSequential>();
  for (size_t i = 0; i + 1 < dims.size(); ++i) {
    seq->emplace<nn::Dropout>(dropout[i]);
    seq->emplace<nn::Dense>(nn::DenseOptions(dims[i + 1]).in_units(dims[i]));
  }
  return seq;
}

// tanh after every Dense but the last.
NDArray run_mlp(nn::HybridSequential& seq, NDArray h) {
  for (size_t i = 0; i < seq.size(); ++i) {
    h = (*seq[i])(h);
    if (i % 2 == 1 && i + 1 != seq.size()) h = nd::tanh(h);
  }
  return h;
}

NDArray l2_normalize(const NDArray& x) { return nd::op("L2Normalization", {{"mode", std::string("instance")}}, {x}); }

std::vector<int64_t> reversed(std::vector<int64_t> v) { return {v.rbegin(), v.rend()}; }

}  // namespace

VAEEncoder::VAEEncoder(std::vector<int64_t> q_dims, std::vector<double> dropout) : HybridBlock("vaeencoder") {
  if (q_dims.empty()) fail("models", "VAEEncoder: empty q_dims");
  latent_ = q_dims.back();
  q_dims.back() *= 2;  // mu and logvar side by side
  auto scope = name_scope();
  q_layers = register_child(mlp(q_dims, dropout, "VAEEncoder"), "q_layers");
}

std::vector<NDArray> VAEEncoder::hybrid_forward_multi(const std::vector<NDArray>& xs) {
  NDArray h = run_mlp(*q_layers, l2_normalize(xs.at(0)));
  return {h.slice_axis(1, 0, latent_), h.slice_axis(1, latent_, 2 * latent_)};
}

VAEDecoder::VAEDecoder(std::vector<int64_t> p_dims, std::vector<double> dropout, bool l2_normalize, const std::string& hint)
    : HybridBlock(hint), l2_(l2_normalize) {
  auto scope = name_scope();
  p_layers = register_child(mlp(p_dims, dropout, "VAEDecoder"), "p_layers");
}

NDArray VAEDecoder::hybrid_forward(const NDArray& x) { return run_mlp(*p_layers, l2_ ? l2_normalize(x) : x); }

MultiVAE::MultiVAE(std::vector<int64_t> p_dims, std::vector<int64_t> q_dims, std::vector<double> dropout_enc,
                   std::vector<double> dropout_dec)
    : Block("multivae") {
  if (q_dims.empty()) q_dims = reversed(p_dims);
  if (q_dims.front() != p_dims.back() || q_dims.back() != p_dims.front())
    fail("models", "MultiVAE: q_dims must start with p_dims' last dim and end with its first");
  auto scope = name_scope();
  encode = register_child(std::make_shared<VAEEncoder>(q_dims, dropout_enc), "encode");
  decode = register_child(std::make_shared<VAEDecoder>(p_dims, dropout_dec), "decode");
}

std::vector<NDArray> MultiVAE::forward_multi(const std::vector<NDArray>& xs) {
  auto ml = (*encode)(std::vector<NDArray>{xs.at(0)});
  NDArray z = ml[0];
  if (autograd::is_training()) {
    NDArray eps = nd::random::normal(0, 1, z.shape());
    z = ml[0] + eps * nd::exp(ml[1] * 0.5);
  }
  return {(*decode)(z), ml[0], ml[1]};
}

std::tuple<NDArray, NDArray, NDArray> MultiVAE::run3(const NDArray& x) {
  auto r = (*this)(std::vector<NDArray>{x});
  return {r[0], r[1], r[2]};
}

MultiDAE::MultiDAE(std::vector<int64_t> p_dims, std::vector<int64_t> q_dims, double dropout) : HybridBlock("multidae") {
  if (q_dims.empty()) q_dims = reversed(p_dims);
  // The seed's DAE: q_dims then p_dims without the repeated latent, dropout on the input only.
  std::vector<int64_t> dims = q_dims;
  dims.insert(dims.end(), p_dims.begin() + 1, p_dims.end());
  std::vector<double> rates(dims.size() - 1, 0.0);
  rates[0] = dropout;
  auto scope = name_scope();
  net = register_child(std::make_shared<VAEDecoder>(dims, rates, true, "daenet"), "net");
}

NDArray MultiDAE::hybrid_forward(const NDArray& x) { return (*net)(x); }

NDArray multinomial_nll(const NDArray& x, const NDArray& logits) {
  return -nd::mean(nd::sum(nd::log_softmax(logits) * x, {-1}));
}

NDArray vae_loss(const NDArray& x, const NDArray& logits, const NDArray& mu, const NDArray& logvar, double anneal) {
  NDArray kld = -0.5 * nd::mean(nd::sum(1.0 + logvar - nd::square(mu) - nd::exp(logvar), {1}));
  return multinomial_nll(x, logits) + anneal * kld;
}

NDArray VAELoss::operator()(const NDArray& x, const NDArray& logits, const NDArray& mu, const NDArray& logvar,
                            double anneal) {
  // A 0-d input: no batch axis, so the batch axes of x, logits, mu and logvar alone are
  // dynamic (a (1,) anneal would be taken for a batch of one and fix every size).
  return Block::operator()({x, logits, mu, logvar, nd::full({}, anneal, x.dtype())})[0];
}

std::vector<NDArray> VAELoss::hybrid_forward_multi(const std::vector<NDArray>& xs) {
  if (xs.size() != 5) fail("models", "VAELoss takes x, logits, mu, logvar and anneal; got ", xs.size(), " inputs");
  const NDArray &x = xs[0], &logits = xs[1], &mu = xs[2], &logvar = xs[3], &anneal = xs[4];
  NDArray kld = -0.5 * nd::mean(nd::sum(1.0 + logvar - nd::square(mu) - nd::exp(logvar), {1}));
  return {multinomial_nll(x, logits) + anneal * kld};
}

}  // namespace hgc::models
