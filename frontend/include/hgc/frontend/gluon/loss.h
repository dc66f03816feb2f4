// Losses with Gluon's semantics (gluon.loss): blocks built from NDArray ops, so the tape
// differentiates them; each returns one value per sample (the mean over every axis but
// batch_axis), scaled by `weight` and by an optional per-sample `sample_weight`.
//
//   using namespace hgc::gluon;
//   loss::SoftmaxCrossEntropyLoss ce;                  // sparse labels, logits in
//   NDArray l = ce(net(x), y);                         // shape (batch,)
//   loss::L2Loss l2;  l2(pred, label);                 // 0.5 * (pred - label)^2
//   loss::SigmoidBinaryCrossEntropyLoss bce(LossOptions().from_sigmoid(true));
#pragma once
#include <optional>
#include <string>

#include "hgc/frontend/gluon/block.h"

namespace hgc::gluon::loss {

struct LossOptions {
  std::optional<double> weight_;  // None: 1 (L2Loss: 1, applied as weight / 2)
  int batch_axis_ = 0;
  int axis_ = -1;               // SoftmaxCrossEntropyLoss, KLDivLoss
  bool sparse_label_ = true;    // SoftmaxCrossEntropyLoss
  std::optional<bool> from_logits_;  // pred holds log-probabilities; default false (KLDivLoss: true)
  bool from_sigmoid_ = false;   // SigmoidBinaryCrossEntropyLoss
  double rho_ = 1;              // HuberLoss
  double margin_ = 1;           // Hinge, SquaredHinge, Triplet (1); CosineEmbedding: set it (Gluon: 0)
  std::string label_format_ = "signed";  // LogisticLoss: labels in {-1, 1} or "binary" {0, 1}
  bool compute_full_ = false;   // PoissonNLLLoss: add Stirling's term for target > 1
  LossOptions& weight(double w) { weight_ = w; return *this; }
  LossOptions& batch_axis(int a) { batch_axis_ = a; return *this; }
  LossOptions& axis(int a) { axis_ = a; return *this; }
  LossOptions& sparse_label(bool b) { sparse_label_ = b; return *this; }
  LossOptions& from_logits(bool b) { from_logits_ = b; return *this; }
  LossOptions& from_sigmoid(bool b) { from_sigmoid_ = b; return *this; }
  LossOptions& rho(double r) { rho_ = r; return *this; }
  LossOptions& margin(double m) { margin_ = m; return *this; }
  LossOptions& label_format(std::string f) { label_format_ = std::move(f); return *this; }
  LossOptions& compute_full(bool c) { compute_full_ = c; return *this; }
};

// The base: inputs {pred, label} or {pred, label, sample_weight}.
class Loss : public HybridBlock {
 public:
  Loss(const std::string& hint, LossOptions opts, BlockArgs args = {})
      : HybridBlock(hint, std::move(args)), opts_(std::move(opts)) {}
  using Block::operator();
  NDArray operator()(const NDArray& pred, const NDArray& label, const NDArray& sample_weight = {});
  std::vector<NDArray> hybrid_forward_multi(const std::vector<NDArray>& xs) override;
  const LossOptions& options() const { return opts_; }

 protected:
  // The elementwise (or per-row) loss before weighting and the batch mean.
  virtual NDArray compute(const NDArray& pred, const NDArray& label) = 0;
  // Gluon's _apply_weighting: times sample_weight, times weight (when given or `dflt`).
  NDArray apply_weighting(NDArray loss, const NDArray& sample_weight, std::optional<double> dflt) const;
  virtual std::optional<double> default_weight() const { return std::nullopt; }
  LossOptions opts_;
};

#define HGC_LOSS(Name, hint)                                                        \
  class Name : public Loss {                                                        \
   public:                                                                          \
    explicit Name(LossOptions opts = {}, BlockArgs args = {}) : Loss(hint, init(std::move(opts)), std::move(args)) {} \
    std::string repr() const override { return #Name "()"; }                       \
                                                                                    \
   protected:                                                                       \
    NDArray compute(const NDArray& pred, const NDArray& label) override;           \
    static LossOptions init(LossOptions o);                                         \
  };
// 0.5 * weight * (pred - label)^2.
HGC_LOSS(L2Loss, "l2loss")
// weight * |pred - label|.
HGC_LOSS(L1Loss, "l1loss")
// -sum(label * log_softmax(pred)) along `axis`; sparse labels are class indices.
HGC_LOSS(SoftmaxCrossEntropyLoss, "softmaxcrossentropyloss")
// Binary cross entropy of sigmoid(pred) (or of pred itself, from_sigmoid), stable form.
HGC_LOSS(SigmoidBinaryCrossEntropyLoss, "sigmoidbinarycrossentropyloss")
// label * (log(label) - pred), pred log-probabilities (from_logits defaults to true here).
HGC_LOSS(KLDivLoss, "kldivloss")
// Smooth L1: 0.5/rho * err^2 where |err| <= rho, else |err| - 0.5 rho.
HGC_LOSS(HuberLoss, "huberloss")
// max(0, margin - pred * label), labels in {-1, 1}.
HGC_LOSS(HingeLoss, "hingeloss")
// max(0, margin - pred * label)^2.
HGC_LOSS(SquaredHingeLoss, "squaredhingeloss")
// log(1 + exp(-pred * label)) (stable form); label_format "binary" maps {0, 1} to {-1, 1}.
HGC_LOSS(LogisticLoss, "logisticloss")
// Poisson negative log-likelihood of target `label` under rate exp(pred) (from_logits,
// Gluon's default: exp(pred) - label * pred) or pred (pred - label * log(pred + 1e-8));
// compute_full adds Stirling's label log(label) - label + 0.5 log(2 pi label) where label > 1.
// Gluon averages this one over every element (a scalar loss).
HGC_LOSS(PoissonNLLLoss, "poissonnllloss")
#undef HGC_LOSS

// Three-input losses: (anchor/input1, positive/input2, negative/label[, sample_weight]).
class Loss3 : public Loss {
 public:
  using Loss::Loss;
  using Block::operator();
  NDArray operator()(const NDArray& a, const NDArray& b, const NDArray& c, const NDArray& sample_weight = {});
  std::vector<NDArray> hybrid_forward_multi(const std::vector<NDArray>& xs) override;

 protected:
  NDArray compute(const NDArray&, const NDArray&) override;  // unused: throws
  virtual NDArray compute3(const NDArray& a, const NDArray& b, const NDArray& c) = 0;
};

// max(0, |pred - positive|^2 - |pred - negative|^2 + margin), squared distances summed over
// every axis but the batch axis.
class TripletLoss : public Loss3 {
 public:
  explicit TripletLoss(LossOptions opts = {}, BlockArgs args = {}) : Loss3("tripletloss", std::move(opts), std::move(args)) {}
  std::string repr() const override { return "TripletLoss()"; }

 protected:
  NDArray compute3(const NDArray& pred, const NDArray& positive, const NDArray& negative) override;
};

// label 1: 1 - cos(input1, input2); label -1: max(0, cos - margin) (cosine along the last
// axis). Gluon's default margin is 0: construct with LossOptions().margin(0) for it (the
// options default margin is the hinge losses' 1).
class CosineEmbeddingLoss : public Loss3 {
 public:
  explicit CosineEmbeddingLoss(LossOptions opts = LossOptions().margin(0), BlockArgs args = {})
      : Loss3("cosineembeddingloss", std::move(opts), std::move(args)) {}
  std::string repr() const override { return "CosineEmbeddingLoss()"; }

 protected:
  NDArray compute3(const NDArray& input1, const NDArray& input2, const NDArray& label) override;
};

using SoftmaxCELoss = SoftmaxCrossEntropyLoss;
using SigmoidBCELoss = SigmoidBinaryCrossEntropyLoss;

}  // namespace hgc::gluon::loss
