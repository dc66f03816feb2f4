// Gluon's losses (gluon/loss.py) as compositions of NDArray ops: differentiable by the tape
// and traceable by hybridize(), with no gradient code of their own.
#include "hgc/frontend/gluon/loss.h"

#include <numeric>

#include "hgc/frontend/nd/op.h"
#include "hgc/base/error.h"
#include "nd/detail.h"

namespace hgc::gluon::loss {

using nd_detail::normalize_axis;

NDArray Loss::operator()(const NDArray& pred, const NDArray& label, const NDArray& sample_weight) {
  std::vector<NDArray> xs{pred, label};
  if (sample_weight.defined()) xs.push_back(sample_weight);
  return Block::operator()(xs).at(0);
}

std::vector<NDArray> Loss::hybrid_forward_multi(const std::vector<NDArray>& xs) {
  if (xs.size() != 2 && xs.size() != 3)
    fail("gluon", "loss '", name(), "' takes (pred, label) or (pred, label, sample_weight), got ", xs.size(), " inputs");
  NDArray l = compute(xs[0], xs[1]);
  l = apply_weighting(l, xs.size() == 3 ? xs[2] : NDArray(), default_weight());
  int ax = normalize_axis(opts_.batch_axis_, l.ndim(), "loss batch_axis");
  // mean over every axis but the batch axis (nothing to average for a 1-D loss)
  if (l.ndim() == 1) return {l};
  if (l.is_symbolic()) {
    // Traced: a sum over the non-batch axes over their (fixed) count; the mean kernel would be
    // specialized to each batch size when the batch axis is symbolic.
    double n = 1;
    for (int64_t d = 0; d < l.ndim(); ++d)
      if (d != ax) n *= static_cast<double>(l.shape()[d]);
    NDArray s = nd::sum(l, {ax}, false, true);
    return {n == 1 ? s : s / n};
  }
  return {nd::mean(l, {ax}, false, true)};
}

NDArray Loss::apply_weighting(NDArray loss, const NDArray& sample_weight, std::optional<double> dflt) const {
  if (sample_weight.defined()) loss = loss * sample_weight;
  std::optional<double> w = opts_.weight_ ? opts_.weight_ : dflt;
  if (w && *w != 1) loss = loss * *w;
  return loss;
}

namespace {
// label with pred's shape (Gluon's reshape_like), for element-wise losses.
NDArray like(const NDArray& label, const NDArray& pred) {
  if (label.shape() == pred.shape()) return label;
  // Traced: reshape_like bakes no size into the graph (a Reshape would fix the batch).
  if (label.is_symbolic() && pred.is_symbolic()) return nd::op("reshape_like", {}, {label, pred});
  return label.reshape(pred.shape());
}

// `label` reshaped to `rows`; traced, with 0 (copy) codes for the leading dims it shares with
// rows and -1 for the last, so the batch is not baked in.
NDArray label_rows(const NDArray& label, const std::vector<int64_t>& rows) {
  if (label.shape() == rows) return label;
  if (!label.is_symbolic() || rows.empty()) return label.reshape(rows);
  std::vector<int64_t> codes;
  for (size_t i = 0; i + 1 < rows.size(); ++i)
    codes.push_back(static_cast<int64_t>(i) < label.ndim() && label.shape()[i] == rows[i] ? 0 : rows[i]);
  codes.push_back(-1);
  return label.reshape(codes);
}
}  // namespace

LossOptions L2Loss::init(LossOptions o) {
  o.weight_ = 0.5 * o.weight_.value_or(1.0);  // Gluon: weight / 2
  return o;
}
NDArray L2Loss::compute(const NDArray& pred, const NDArray& label) { return nd::square(like(label, pred) - pred); }

LossOptions L1Loss::init(LossOptions o) { return o; }
NDArray L1Loss::compute(const NDArray& pred, const NDArray& label) { return nd::abs(like(label, pred) - pred); }

LossOptions SoftmaxCrossEntropyLoss::init(LossOptions o) { return o; }
NDArray SoftmaxCrossEntropyLoss::compute(const NDArray& pred, const NDArray& label) {
  int ax = normalize_axis(opts_.axis_, pred.ndim(), "SoftmaxCrossEntropyLoss axis");
  NDArray logp = opts_.from_logits_.value_or(false) ? pred : nd::log_softmax(pred, ax);
  if (!opts_.sparse_label_) return -nd::sum(logp * like(label, logp), {ax}, true);
  // pick(logp, label, axis): the class axis moved last, one_hot(label) selects along it
  // (the pick op has no lowering; one_hot and a product do).
  NDArray moved = logp;
  if (ax != logp.ndim() - 1) {
    std::vector<int64_t> perm;
    for (int i = 0; i < logp.ndim(); ++i)
      if (i != ax) perm.push_back(i);
    perm.push_back(ax);
    moved = logp.transpose(perm);
  }
  std::vector<int64_t> rows(moved.shape().begin(), moved.shape().end() - 1);
  int64_t classes = moved.shape().back();
  if (label.size() != std::accumulate(rows.begin(), rows.end(), int64_t(1), std::multiplies<>()))
    fail("gluon", "SoftmaxCrossEntropyLoss: ", label.size(), " labels for predictions of shape ",
         nd_detail::shape_str(pred.shape()), " (sparse labels: one class index per row)");
  NDArray oh = nd::one_hot(label_rows(label, rows), classes, 1, 0, moved.dtype());
  // Gluon's pick(keepdims): a 1 at the class axis (expand_dims: no size baked in when traced).
  if (ax == logp.ndim() - 1) return -nd::sum(moved * oh, {-1}, true);
  return -nd::sum(moved * oh, {-1}).expand_dims(ax);
}

LossOptions SigmoidBinaryCrossEntropyLoss::init(LossOptions o) { return o; }
NDArray SigmoidBinaryCrossEntropyLoss::compute(const NDArray& pred, const NDArray& label) {
  NDArray y = like(label, pred);
  if (!opts_.from_sigmoid_)  // max(x, 0) - x y + log(1 + exp(-|x|)): no overflow for large |x|
    return nd::relu(pred) - pred * y + nd::op("Activation", {{"act_type", std::string("softrelu")}}, {-nd::abs(pred)});
  const double eps = 1e-12;
  return -(nd::log(pred + eps) * y + nd::log(1.0 - pred + eps) * (1.0 - y));
}

LossOptions KLDivLoss::init(LossOptions o) { return o; }
NDArray KLDivLoss::compute(const NDArray& pred, const NDArray& label) {
  int ax = normalize_axis(opts_.axis_, pred.ndim(), "KLDivLoss axis");
  NDArray logp = opts_.from_logits_.value_or(true) ? pred : nd::log_softmax(pred, ax);
  NDArray y = like(label, logp);
  return y * (nd::log(y + 1e-12) - logp);
}

LossOptions HuberLoss::init(LossOptions o) { return o; }
NDArray HuberLoss::compute(const NDArray& pred, const NDArray& label) {
  double rho = opts_.rho_;
  NDArray err = nd::abs(like(label, pred) - pred);
  return nd::where(err > rho, err - 0.5 * rho, nd::square(err) * (0.5 / rho));
}

}  // namespace hgc::gluon::loss
