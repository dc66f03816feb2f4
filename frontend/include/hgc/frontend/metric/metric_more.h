// More of mx.metric: label-shape checks, a composite of metrics, Matthews / Pearson
// correlation, multiclass PCC, negative log-likelihood and metrics from a plain function.
//
//   using namespace hgc::gluon;
//   metric::CompositeEvalMetric all;
//   all.add(std::make_shared<metric::Accuracy>());
//   all.add(std::make_shared<metric::MCC>());
//   all.update(labels, preds);
//   for (auto& [name, value] : all.get_name_value()) std::cout << name << " " << value << "\n";
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hgc/frontend/metric/metric.h"

namespace hgc::gluon::metric {

// MXNet's check_label_shapes: throws unless labels and preds have the same length (first
// dim), or with `shape` the same shape.
void check_label_shapes(const NDArray& labels, const NDArray& preds, bool shape = false);
// The list form: as many label arrays as prediction arrays.
void check_label_shapes(const std::vector<NDArray>& labels, const std::vector<NDArray>& preds);

// Several metrics updated together; get_name_value() lists each {name, value}.
class CompositeEvalMetric : public EvalMetric {
 public:
  explicit CompositeEvalMetric(std::vector<std::shared_ptr<EvalMetric>> metrics = {},
                               std::string name = "composite")
      : EvalMetric(std::move(name)), metrics_(std::move(metrics)) {}
  void add(std::shared_ptr<EvalMetric> m);
  // Throws for an index out of range.
  std::shared_ptr<EvalMetric> get_metric(size_t index) const;
  size_t size() const { return metrics_.size(); }
  void update(const NDArray& labels, const NDArray& preds) override;
  void reset() override;
  // MXNet returns (names, values) here; one name "a,b" and the first value would hide the
  // others, so this throws and points at get_name_value().
  std::pair<std::string, double> get() const override;
  std::vector<std::pair<std::string, double>> get_name_value() const;
  std::vector<double> state() const override;
  void set_state(const std::vector<double>& s) override;

 private:
  std::vector<std::shared_ptr<EvalMetric>> metrics_;
};

// Matthews correlation coefficient of argmax(preds (N, 2), axis 1) against labels in {0, 1}:
// (tp tn - fp fn) / sqrt of the product of the non-zero terms (tp+fp)(tp+fn)(tn+fp)(tn+fn),
// as MXNet. "macro": the mean of each update's MCC; "micro": of the counts summed.
class MCC : public EvalMetric {
 public:
  explicit MCC(std::string average = "macro");
  void update(const NDArray& labels, const NDArray& preds) override;
  void reset() override;
  std::vector<double> state() const override { return {sum_, count_, tp_, fp_, fn_, tn_}; }
  void set_state(const std::vector<double>& s) override;

 private:
  std::string average_;
  double tp_ = 0, fp_ = 0, fn_ = 0, tn_ = 0;
};

// Sum of -log(p[label] + eps) over samples / samples, named "nll-loss" (preds (N, C)).
class NegativeLogLikelihood : public CrossEntropy {
 public:
  explicit NegativeLogLikelihood(double eps = 1e-12) : CrossEntropy(eps) { name_ = "nll-loss"; }
};

// Pearson's r of the flattened preds against labels. "macro": the mean of each update's r;
// "micro": r of everything seen so far.
class PearsonCorrelation : public EvalMetric {
 public:
  explicit PearsonCorrelation(std::string average = "macro");
  void update(const NDArray& labels, const NDArray& preds) override;
  void reset() override;
  std::pair<std::string, double> get() const override;
  std::vector<double> state() const override;
  void set_state(const std::vector<double>& s) override;

 private:
  std::string average_;
  double n_ = 0, sx_ = 0, sy_ = 0, sxx_ = 0, syy_ = 0, sxy_ = 0;  // micro sums
};

// Gorodkin's multiclass MCC of argmax(preds (N, K), axis 1) from the K x K confusion matrix
// summed over updates (NaN while one side has a single class).
class PCC : public EvalMetric {
 public:
  PCC() : EvalMetric("pcc") {}
  void update(const NDArray& labels, const NDArray& preds) override;
  void reset() override;
  std::pair<std::string, double> get() const override;
  std::vector<double> state() const override;  // k, then the matrix row-major
  void set_state(const std::vector<double>& s) override;

 private:
  int64_t k_ = 0;
  std::vector<double> cmat_;  // [label][pred]
};

// A metric from a function of (labels, preds) returning the batch's value (averaged over
// updates), or with `returns_sum_and_count` set through feval_sum: {sum, count}.
class CustomMetric : public EvalMetric {
 public:
  using Feval = std::function<double(const NDArray& labels, const NDArray& preds)>;
  using FevalSum = std::function<std::pair<double, double>(const NDArray& labels, const NDArray& preds)>;
  explicit CustomMetric(Feval feval, std::string name = "custom");
  explicit CustomMetric(FevalSum feval, std::string name = "custom");
  void update(const NDArray& labels, const NDArray& preds) override;

 private:
  Feval feval_;
  FevalSum feval_sum_;
};

}  // namespace hgc::gluon::metric
