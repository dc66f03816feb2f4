// Metrics: the per-batch statistic is computed with ops (argmax, comparisons, reductions);
// only the resulting scalar is read back to accumulate.
#include "hgc/frontend/metric.h"

#include <limits>

#include "hgc/ir/error.h"

namespace hgc::gluon::metric {

std::pair<std::string, double> EvalMetric::get() const {
  return {name_, count_ == 0 ? std::numeric_limits<double>::quiet_NaN() : sum_ / count_};
}

void Accuracy::update(const NDArray& labels, const NDArray& preds) {
  NDArray p = preds.shape() == labels.shape() ? preds : nd::argmax(preds, axis_);
  if (p.size() != labels.size())
    fail("metric", "accuracy: ", labels.size(), " labels for ", p.size(), " predictions");
  NDArray l = labels.reshape(p.shape());
  if (l.dtype() != p.dtype()) l = l.astype(p.dtype());
  sum_ += nd::sum(p == l).asscalar<double>();
  count_ += static_cast<double>(p.size());
}

void MSE::update(const NDArray& labels, const NDArray& preds) {
  NDArray d = labels.reshape(preds.shape()).astype(preds.dtype()) - preds;
  sum_ += nd::sum(nd::square(d)).asscalar<double>();
  count_ += static_cast<double>(preds.size());
}

void MAE::update(const NDArray& labels, const NDArray& preds) {
  NDArray d = labels.reshape(preds.shape()).astype(preds.dtype()) - preds;
  sum_ += nd::sum(nd::abs(d)).asscalar<double>();
  count_ += static_cast<double>(preds.size());
}

}  // namespace hgc::gluon::metric
