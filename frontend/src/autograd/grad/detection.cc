// Gradient rules of the detection family, as MXNet 1.9 defines them: MultiBoxPrior,
// MultiBoxTarget, MultiBoxDetection and box_iou pass no gradient (their Backward writes
// zeros: anchors depend on the input's shape alone, targets and detections are treated as
// constants of the loss); box_nms copies each output row's gradient back to the input row it
// came from (its hidden record output), suppressed and dropped rows get zero.
#include "autograd/grad_rules.h"
#include "hgc/frontend/nd/op.h"

namespace hgc::grad {

void register_detection_rules(RuleTable& t) {
  t.zero("_contrib_MultiBoxPrior");
  t.zero("_contrib_MultiBoxTarget");
  t.zero("_contrib_MultiBoxDetection");
  t.zero("_contrib_box_iou");
  // in_grad[b, record[b, r]] += og[b, r] for every output row r with a record >= 0: a
  // one_hot of the record (rows of -1 are all zero) contracted with og, per batch.
  t.add("_contrib_box_nms", [](const GradCtx& c) -> Grads {
    const NDArray &x = c.in[0], &g = c.og[0], &rec = c.out[1];
    const std::vector<int64_t>& s = x.shape();
    int64_t n = s[s.size() - 2], w = s.back();
    NDArray oh = nd::one_hot(rec.reshape({-1, n}), n, 1, 0, g.dtype());  // (B, out row, in row)
    NDArray dx = nd::batch_dot(oh, g.reshape({-1, n, w}), true, false);    // (B, in row, W)
    return {dx.reshape(s)};
  });
}

}  // namespace hgc::grad
