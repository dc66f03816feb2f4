// Metrics: the per-batch statistic is computed with ops (argmax, comparisons, reductions);
// only the resulting scalar is read back to accumulate.
#include "hgc/frontend/metric/metric.h"

#include <cmath>
#include <limits>

#include "hgc/base/error.h"
#include "nd/detail.h"

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

namespace {

// preds (N, C) and N labels, each an integer class in [0, C) (pick would clamp the others).
NDArray class_labels(const NDArray& labels, const NDArray& preds, const std::string& who) {
  if (preds.ndim() != 2)
    fail("metric", who, ": predictions must be (batch, classes), got ", nd_detail::shape_str(preds.shape()));
  int64_t n = preds.shape()[0], c = preds.shape()[1];
  if (labels.size() != n) fail("metric", who, ": ", labels.size(), " labels for ", n, " predictions");
  NDArray l = labels.reshape({n});
  if (l.dtype() != preds.dtype()) l = l.astype(preds.dtype());
  double lo = nd::min(l).asscalar<double>(), hi = nd::max(l).asscalar<double>();
  if (lo < 0 || hi >= static_cast<double>(c) || nd::sum(l != nd::floor(l)).asscalar<double>() > 0)
    fail("metric", who, ": labels must be integer classes in [0, ", c, "), got values in [", lo, ", ", hi, "]");
  return l;
}

// MXNet's pick along the last axis (index has data's other dims), as one_hot and a sum:
// whole-array ops that have lowerings.
NDArray pick_last(const NDArray& data, const NDArray& index, bool keepdims) {
  int64_t last = data.ndim() - 1;
  NDArray oh = nd::one_hot(index, data.shape()[last], 1, 0, data.dtype());
  return nd::sum(data * oh, {last}, keepdims);
}

double f1_score(double tp, double fp, double fn) {
  double p = tp + fp > 0 ? tp / (tp + fp) : 0, r = tp + fn > 0 ? tp / (tp + fn) : 0;
  return p + r > 0 ? 2 * p * r / (p + r) : 0;
}

}  // namespace

TopKAccuracy::TopKAccuracy(int top_k) : EvalMetric("top_k_accuracy_" + std::to_string(top_k)), top_k_(top_k) {
  if (top_k <= 1) fail("metric", "TopKAccuracy: top_k must be > 1 (use Accuracy for 1), got ", top_k);
}

void TopKAccuracy::update(const NDArray& labels, const NDArray& preds) {
  NDArray l = class_labels(labels, preds, name_);
  // The label's rank is the number of classes scoring strictly higher than it.
  NDArray score = pick_last(preds, l, true);
  NDArray higher = nd::sum(preds > score, {1});
  sum_ += nd::sum(higher < static_cast<double>(top_k_)).asscalar<double>();
  count_ += static_cast<double>(preds.shape()[0]);
}

void CrossEntropy::update(const NDArray& labels, const NDArray& preds) {
  NDArray l = class_labels(labels, preds, name_);
  NDArray prob = pick_last(preds, l, false);
  sum_ -= nd::sum(nd::log(prob + eps_)).asscalar<double>();
  count_ += static_cast<double>(preds.shape()[0]);
}

void Perplexity::update(const NDArray& labels, const NDArray& preds) {
  int ax = nd_detail::normalize_axis(axis_, preds.ndim(), "Perplexity axis");
  std::vector<int64_t> rest = preds.shape();
  rest.erase(rest.begin() + ax);
  if (rest.empty()) rest = {1};
  int64_t n = 1;
  for (int64_t d : rest) n *= d;
  if (labels.size() != n)
    fail("metric", "perplexity: ", labels.size(), " labels for predictions ", nd_detail::shape_str(preds.shape()),
         " (class axis ", ax, ")");
  NDArray l = labels.reshape(rest);
  if (l.dtype() != preds.dtype()) l = l.astype(preds.dtype());
  NDArray data = preds;
  if (ax != preds.ndim() - 1) {  // the class axis last, the others in order (labels' layout)
    std::vector<int64_t> perm;
    for (int64_t d = 0; d < preds.ndim(); ++d)
      if (d != ax) perm.push_back(d);
    perm.push_back(ax);
    data = nd::transpose(preds, perm);
  }
  NDArray p = pick_last(data, l, false);
  double num = static_cast<double>(n);
  if (ignore_label_) {
    NDArray ignore = l == *ignore_label_;
    num -= nd::sum(ignore).asscalar<double>();
    p = p * (1 - ignore) + ignore;  // log(1) = 0: ignored labels add nothing
  }
  sum_ -= nd::sum(nd::log(nd::maximum(p, 1e-10))).asscalar<double>();
  count_ += num;
}

std::pair<std::string, double> Perplexity::get() const {
  return {name_, count_ == 0 ? std::numeric_limits<double>::quiet_NaN() : std::exp(sum_ / count_)};
}

F1::F1(std::string average) : EvalMetric("f1"), average_(std::move(average)) {
  if (average_ != "macro" && average_ != "micro")
    fail("metric", "F1: average must be 'macro' or 'micro', got '", average_, "'");
}

void F1::reset() {
  EvalMetric::reset();
  tp_ = fp_ = fn_ = tn_ = 0;
}

void F1::update(const NDArray& labels, const NDArray& preds) {
  NDArray l = class_labels(labels, preds, "f1");
  if (nd::max(l).asscalar<double>() > 1) fail("metric", "f1: only binary labels (0 or 1) are supported");
  NDArray pred_true = nd::argmax(preds, 1) == 1.0, label_true = l == 1.0;
  double tp = nd::sum(pred_true * label_true).asscalar<double>();
  double pt = nd::sum(pred_true).asscalar<double>(), lt = nd::sum(label_true).asscalar<double>();
  double n = static_cast<double>(preds.shape()[0]);
  double fp = pt - tp, fn = lt - tp;
  if (average_ == "macro") {
    sum_ += f1_score(tp, fp, fn);
    count_ += 1;
    return;
  }
  tp_ += tp, fp_ += fp, fn_ += fn, tn_ += n - tp - fp - fn;
  count_ = tp_ + fp_ + fn_ + tn_;
  sum_ = f1_score(tp_, fp_, fn_) * count_;
}

void RMSE::update(const NDArray& labels, const NDArray& preds) {
  if (labels.size() != preds.size())
    fail("metric", "rmse: ", labels.size(), " labels for ", preds.size(), " predictions");
  NDArray d = labels.reshape(preds.shape()).astype(preds.dtype()) - preds;
  sum_ += std::sqrt(nd::mean(nd::square(d)).asscalar<double>());
  count_ += 1;
}

}  // namespace hgc::gluon::metric
