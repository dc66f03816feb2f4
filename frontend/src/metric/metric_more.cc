// The metrics of metric_more.h. They read the batch back once and count on the host, as
// MXNet's numpy code does: the statistics are sums over a few hundred values.
#include "hgc/frontend/metric/metric_more.h"

#include <cmath>
#include <limits>

#include "hgc/base/error.h"
#include "nd/detail.h"

namespace hgc::gluon::metric {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<double> host(const NDArray& x) { return x.astype(DType::f64).to_vector<double>(); }

// Row-wise argmax of (N, K) predictions, and N integer labels in [0, K).
std::pair<std::vector<int64_t>, std::vector<int64_t>> classes(const NDArray& labels, const NDArray& preds,
                                                              const std::string& who, int64_t k_want) {
  if (preds.ndim() != 2 || (k_want > 0 && preds.shape()[1] != k_want))
    fail("metric", who, ": predictions must be (batch, ", k_want > 0 ? std::to_string(k_want) : "classes",
         "), got ", nd_detail::shape_str(preds.shape()));
  check_label_shapes(labels, preds);
  int64_t n = preds.shape()[0], k = preds.shape()[1];
  if (labels.size() != n) fail("metric", who, ": ", labels.size(), " labels for ", n, " predictions");
  std::vector<double> p = host(preds), l = host(labels);
  std::vector<int64_t> pl(n), ll(n);
  for (int64_t i = 0; i < n; ++i) {
    int64_t best = 0;
    for (int64_t j = 1; j < k; ++j)
      if (p[i * k + j] > p[i * k + best]) best = j;
    pl[i] = best;
    if (l[i] < 0 || l[i] >= double(k) || l[i] != std::floor(l[i]))
      fail("metric", who, ": labels must be integer classes in [0, ", k, "), got ", l[i]);
    ll[i] = int64_t(l[i]);
  }
  return {ll, pl};
}

double matthews(double tp, double fp, double fn, double tn) {
  if (tp + fp + fn + tn == 0) return 0;
  double denom = 1;
  for (double t : {tp + fp, tp + fn, tn + fp, tn + fn})
    if (t != 0) denom *= t;
  return (tp * tn - fp * fn) / std::sqrt(denom);
}

void check_average(const std::string& who, const std::string& a) {
  if (a != "macro" && a != "micro") fail("metric", who, ": average must be \"macro\" or \"micro\", got \"", a, "\"");
}

}  // namespace

void check_label_shapes(const NDArray& labels, const NDArray& preds, bool shape) {
  if (shape) {
    if (labels.shape() != preds.shape())
      fail("metric", "check_label_shapes: shape of labels ", nd_detail::shape_str(labels.shape()),
           " does not match shape of predictions ", nd_detail::shape_str(preds.shape()));
    return;
  }
  int64_t a = labels.ndim() ? labels.shape()[0] : 1, b = preds.ndim() ? preds.shape()[0] : 1;
  if (a != b) fail("metric", "check_label_shapes: ", a, " labels for ", b, " predictions");
}

void check_label_shapes(const std::vector<NDArray>& labels, const std::vector<NDArray>& preds) {
  if (labels.size() != preds.size())
    fail("metric", "check_label_shapes: ", labels.size(), " label arrays for ", preds.size(), " prediction arrays");
}

// ---- CompositeEvalMetric ----

void CompositeEvalMetric::add(std::shared_ptr<EvalMetric> m) {
  if (!m) fail("metric", "composite: add() got a null metric");
  metrics_.push_back(std::move(m));
}
std::shared_ptr<EvalMetric> CompositeEvalMetric::get_metric(size_t index) const {
  if (index >= metrics_.size())
    fail("metric", "composite: metric index ", index, " out of range (", metrics_.size(), " metrics)");
  return metrics_[index];
}
void CompositeEvalMetric::update(const NDArray& labels, const NDArray& preds) {
  for (auto& m : metrics_) m->update(labels, preds);
}
void CompositeEvalMetric::reset() {
  for (auto& m : metrics_) m->reset();
}
std::pair<std::string, double> CompositeEvalMetric::get() const {
  fail("metric", "composite '", name_, "' holds ", metrics_.size(), " metrics: read them with get_name_value()");
}
std::vector<std::pair<std::string, double>> CompositeEvalMetric::get_name_value() const {
  std::vector<std::pair<std::string, double>> r;
  for (auto& m : metrics_) {
    if (auto* c = dynamic_cast<CompositeEvalMetric*>(m.get())) {
      auto inner = c->get_name_value();
      r.insert(r.end(), inner.begin(), inner.end());
    } else {
      r.push_back(m->get());
    }
  }
  return r;
}
std::vector<double> CompositeEvalMetric::state() const {
  std::vector<double> s;
  for (auto& m : metrics_) {
    auto ms = m->state();
    s.push_back(double(ms.size()));
    s.insert(s.end(), ms.begin(), ms.end());
  }
  return s;
}
void CompositeEvalMetric::set_state(const std::vector<double>& s) {
  size_t at = 0;
  for (auto& m : metrics_) {
    if (at >= s.size()) fail("metric", "composite: state too short");
    size_t n = size_t(s[at++]);
    if (at + n > s.size()) fail("metric", "composite: state too short");
    m->set_state(std::vector<double>(s.begin() + at, s.begin() + at + n));
    at += n;
  }
  if (at != s.size()) fail("metric", "composite: state has ", s.size() - at, " extra values");
}

// ---- MCC ----

MCC::MCC(std::string average) : EvalMetric("mcc"), average_(std::move(average)) { check_average("mcc", average_); }
void MCC::update(const NDArray& labels, const NDArray& preds) {
  auto [l, p] = classes(labels, preds, "mcc", 2);
  double tp = 0, fp = 0, fn = 0, tn = 0;
  for (size_t i = 0; i < l.size(); ++i) {
    if (p[i] == 1) (l[i] == 1 ? tp : fp) += 1;
    else (l[i] == 1 ? fn : tn) += 1;
  }
  if (average_ == "macro") {
    sum_ += matthews(tp, fp, fn, tn);
    count_ += 1;
    return;
  }
  tp_ += tp, fp_ += fp, fn_ += fn, tn_ += tn;
  count_ = tp_ + fp_ + fn_ + tn_;
  sum_ = matthews(tp_, fp_, fn_, tn_) * count_;
}
void MCC::reset() { EvalMetric::reset(), tp_ = fp_ = fn_ = tn_ = 0; }
void MCC::set_state(const std::vector<double>& s) {
  if (s.size() != 6) fail("metric", "mcc: state needs 6 values, got ", s.size());
  sum_ = s[0], count_ = s[1], tp_ = s[2], fp_ = s[3], fn_ = s[4], tn_ = s[5];
  if (average_ == "micro") sum_ = matthews(tp_, fp_, fn_, tn_) * count_;  // summed ranks: recompute
}

// ---- PearsonCorrelation ----

PearsonCorrelation::PearsonCorrelation(std::string average) : EvalMetric("pearsonr"), average_(std::move(average)) {
  check_average("pearsonr", average_);
}
void PearsonCorrelation::update(const NDArray& labels, const NDArray& preds) {
  if (labels.size() != preds.size())
    fail("metric", "pearsonr: ", labels.size(), " labels for ", preds.size(), " predictions");
  std::vector<double> y = host(labels), x = host(preds);
  double n = double(x.size()), sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  for (size_t i = 0; i < x.size(); ++i) sx += x[i], sy += y[i], sxx += x[i] * x[i], syy += y[i] * y[i], sxy += x[i] * y[i];
  if (average_ == "macro") {
    double cov = sxy - sx * sy / n, vx = sxx - sx * sx / n, vy = syy - sy * sy / n;
    sum_ += cov / std::sqrt(vx * vy);
    count_ += 1;
    return;
  }
  n_ += n, sx_ += sx, sy_ += sy, sxx_ += sxx, syy_ += syy, sxy_ += sxy;
  count_ += 1;
}
void PearsonCorrelation::reset() { EvalMetric::reset(), n_ = sx_ = sy_ = sxx_ = syy_ = sxy_ = 0; }
std::pair<std::string, double> PearsonCorrelation::get() const {
  if (average_ == "macro") return EvalMetric::get();
  if (n_ == 0) return {name_, kNaN};
  double cov = sxy_ - sx_ * sy_ / n_, vx = sxx_ - sx_ * sx_ / n_, vy = syy_ - sy_ * sy_ / n_;
  return {name_, cov / std::sqrt(vx * vy)};
}
std::vector<double> PearsonCorrelation::state() const { return {sum_, count_, n_, sx_, sy_, sxx_, syy_, sxy_}; }
void PearsonCorrelation::set_state(const std::vector<double>& s) {
  if (s.size() != 8) fail("metric", "pearsonr: state needs 8 values, got ", s.size());
  sum_ = s[0], count_ = s[1], n_ = s[2], sx_ = s[3], sy_ = s[4], sxx_ = s[5], syy_ = s[6], sxy_ = s[7];
}

// ---- PCC ----

void PCC::update(const NDArray& labels, const NDArray& preds) {
  auto [l, p] = classes(labels, preds, "pcc", 0);
  int64_t k = preds.shape()[1];
  if (k > k_) {  // grow the matrix, keeping the counts
    std::vector<double> m(size_t(k * k), 0.0);
    for (int64_t i = 0; i < k_; ++i)
      for (int64_t j = 0; j < k_; ++j) m[i * k + j] = cmat_[i * k_ + j];
    cmat_ = std::move(m), k_ = k;
  }
  for (size_t i = 0; i < l.size(); ++i) cmat_[l[i] * k_ + p[i]] += 1;
  count_ += double(l.size());
}
void PCC::reset() { EvalMetric::reset(), k_ = 0, cmat_.clear(); }
std::pair<std::string, double> PCC::get() const {
  double n = 0, cov_xx = 0, cov_yy = 0, cov_xy = 0;
  for (double v : cmat_) n += v;
  if (n == 0) return {name_, kNaN};
  for (int64_t i = 0; i < k_; ++i) {
    double x = 0, y = 0;
    for (int64_t j = 0; j < k_; ++j) x += cmat_[i * k_ + j], y += cmat_[j * k_ + i];
    cov_xx += x * (n - x), cov_yy += y * (n - y), cov_xy += cmat_[i * k_ + i] * n - x * y;
  }
  if (cov_xx == 0 || cov_yy == 0) return {name_, kNaN};
  return {name_, cov_xy / std::sqrt(cov_xx * cov_yy)};
}
std::vector<double> PCC::state() const {
  std::vector<double> s{double(k_)};
  s.insert(s.end(), cmat_.begin(), cmat_.end());
  return s;
}
void PCC::set_state(const std::vector<double>& s) {
  if (s.empty() || s.size() != 1 + size_t(s[0] * s[0])) fail("metric", "pcc: state must be k then k*k counts");
  k_ = int64_t(s[0]), cmat_.assign(s.begin() + 1, s.end());
  count_ = 0;
  for (double v : cmat_) count_ += v;
}

// ---- CustomMetric ----

CustomMetric::CustomMetric(Feval feval, std::string name) : EvalMetric(std::move(name)), feval_(std::move(feval)) {
  if (!feval_) fail("metric", "CustomMetric '", name_, "': feval is empty");
}
CustomMetric::CustomMetric(FevalSum feval, std::string name)
    : EvalMetric(std::move(name)), feval_sum_(std::move(feval)) {
  if (!feval_sum_) fail("metric", "CustomMetric '", name_, "': feval is empty");
}
void CustomMetric::update(const NDArray& labels, const NDArray& preds) {
  if (feval_sum_) {
    auto [s, n] = feval_sum_(labels, preds);
    sum_ += s, count_ += n;
  } else {
    sum_ += feval_(labels, preds), count_ += 1;
  }
}

}  // namespace hgc::gluon::metric
