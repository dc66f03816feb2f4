// SDMLLoss from registered ops (broadcast arithmetic, reductions, one_hot, log_softmax), so
// the tape and hybridize differentiate and compile it like any loss.
#include "hgc/frontend/gluon/loss_sdml.h"

#include "hgc/base/error.h"
#include "hgc/frontend/nd/legacy_ops.h"
#include "nd/detail.h"

namespace hgc::gluon::loss {

NDArray SDMLLoss::compute(const NDArray& x1, const NDArray& x2) {
  if (x1.ndim() != 2 || x1.shape() != x2.shape())
    fail("gluon", "SDMLLoss '", name(), "': inputs must be two (batch, dim) arrays of one shape, got ",
         nd_detail::shape_str(x1.shape()), " and ", nd_detail::shape_str(x2.shape()));
  int64_t b = x1.shape()[0];
  if (b < 2) fail("gluon", "SDMLLoss '", name(), "': needs a batch of at least 2, got ", b);
  NDArray diff = nd::broadcast_sub(x1.expand_dims(1), x2.expand_dims(0));  // (B, B, D)
  NDArray d = nd::sum(nd::square(diff), {2});
  NDArray logp = nd::log_softmax(-d, 1);
  NDArray gold = nd::one_hot(nd::arange(0, double(b)), b, 1, 0, x1.dtype());
  NDArray labels = gold * (1 - smoothing_) + (1 - gold) * (smoothing_ / double(b - 1));
  return labels * (nd::log(labels + 1e-12) - logp);
}

}  // namespace hgc::gluon::loss
