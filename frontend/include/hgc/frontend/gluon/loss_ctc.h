// gluon.loss.CTCLoss: connectionist temporal classification (Graves et al. 2006), the
// negative log-likelihood of each label sequence summed over all its alignments.
//
//   loss::CTCLoss ctc;                          // pred (N, T, C) activations, label (N, L) padded with -1
//   NDArray l = ctc(pred, label);               // (N,)
//   NDArray l2 = ctc(pred, label, pred_lengths, label_lengths);
#pragma once
#include "hgc/frontend/gluon/loss.h"

namespace hgc::gluon::loss {

// pred: unnormalized activations, layout "NTC" (default) or "TNC"; the softmax is taken over
// C, whose last class is the blank (MXNet's blank_label "last"). label: class ids in
// [0, C - 1), layout "NT" or "TN", padded with -1. Lengths: without label_lengths, the number
// of labels that are not -1; without pred_lengths, T. The forward (alpha) recursion runs in
// log space with registered ops (one_hot/batch_dot gathers, max + log-sum-exp), so autograd
// differentiates it exactly and a hybridized loss compiles it.
class CTCLoss : public Loss {
 public:
  explicit CTCLoss(std::string layout = "NTC", std::string label_layout = "NT", LossOptions opts = {},
                   BlockArgs args = {});
  using Loss::operator();
  NDArray operator()(const NDArray& pred, const NDArray& label, const NDArray& pred_lengths,
                     const NDArray& label_lengths, const NDArray& sample_weight = {});
  // Inputs {pred, label}, {pred, label, sample_weight}, {pred, label, pred_lengths,
  // label_lengths} or those and sample_weight.
  std::vector<NDArray> hybrid_forward_multi(const std::vector<NDArray>& xs) override;
  std::string repr() const override { return "CTCLoss()"; }

 protected:
  NDArray compute(const NDArray& pred, const NDArray& label) override;

 private:
  NDArray ctc(const NDArray& pred, const NDArray& label, const NDArray& pred_lengths, const NDArray& label_lengths);
  std::string layout_, label_layout_;
};

}  // namespace hgc::gluon::loss
