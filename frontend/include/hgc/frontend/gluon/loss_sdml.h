// gluon.loss.SDMLLoss: smoothed deep metric learning loss (Bonadiman et al.) for two aligned
// batches of embeddings, (batch, dim) each: row i of x1 should be nearest to row i of x2.
//
//   loss::SDMLLoss sdml;                       // smoothing_parameter 0.3
//   NDArray l = sdml(q_embeddings, a_embeddings);   // (batch,)
#pragma once
#include "hgc/frontend/gluon/loss.h"

namespace hgc::gluon::loss {

// d[i][j] = |x1_i - x2_j|^2; p = log_softmax(-d, axis 1); labels: 1 - s on the diagonal and
// s / (B - 1) elsewhere; loss_i = mean_j labels (log(labels + 1e-12) - p) (KLDivLoss with
// from_logits), times weight and sample_weight when given.
class SDMLLoss : public Loss {
 public:
  explicit SDMLLoss(double smoothing_parameter = 0.3, LossOptions opts = {}, BlockArgs args = {})
      : Loss("sdmlloss", std::move(opts), std::move(args)), smoothing_(smoothing_parameter) {}
  std::string repr() const override { return "SDMLLoss()"; }

 protected:
  NDArray compute(const NDArray& x1, const NDArray& x2) override;

 private:
  double smoothing_;
};

}  // namespace hgc::gluon::loss
