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
  LossOptions& weight(double w) { weight_ = w; return *this; }
  LossOptions& batch_axis(int a) { batch_axis_ = a; return *this; }
  LossOptions& axis(int a) { axis_ = a; return *this; }
  LossOptions& sparse_label(bool b) { sparse_label_ = b; return *this; }
  LossOptions& from_logits(bool b) { from_logits_ = b; return *this; }
  LossOptions& from_sigmoid(bool b) { from_sigmoid_ = b; return *this; }
  LossOptions& rho(double r) { rho_ = r; return *this; }
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
#undef HGC_LOSS

using SoftmaxCELoss = SoftmaxCrossEntropyLoss;

}  // namespace hgc::gluon::loss
