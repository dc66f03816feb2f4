// Evaluation metrics (mx.metric): accumulate over batches, then get() the running value.
//
//   using namespace hgc::gluon;
//   metric::Accuracy acc;
//   for (auto& b : test_loader) acc.update(b[1], net(b[0]));   // labels, predictions (N, C)
//   auto [name, value] = acc.get();                            // {"accuracy", 0.87}
//   acc.reset();
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hgc/frontend/nd/ndarray.h"

namespace hgc::dist {
class Communicator;
}

namespace hgc::gluon::metric {

class EvalMetric {
 public:
  explicit EvalMetric(std::string name) : name_(std::move(name)) {}
  virtual ~EvalMetric() = default;
  virtual void update(const NDArray& labels, const NDArray& preds) = 0;
  virtual void reset() { sum_ = 0, count_ = 0; }
  // {name, value}; the value is NaN before any update.
  virtual std::pair<std::string, double> get() const;
  // The running sums get() derives its value from (MXNet's sum_metric and num_inst, plus a
  // metric's own counts), so ranks can add theirs up: metric::allreduce below.
  virtual std::vector<double> state() const { return {sum_, count_}; }
  virtual void set_state(const std::vector<double>& s);
  double sum_metric() const { return sum_; }
  double num_inst() const { return count_; }

 protected:
  std::string name_;
  double sum_ = 0;
  double count_ = 0;
};

// Fraction of rows whose argmax over `axis` equals the label (or, for predictions shaped
// like the labels, whose value equals it).
class Accuracy : public EvalMetric {
 public:
  explicit Accuracy(int axis = 1) : EvalMetric("accuracy"), axis_(axis) {}
  void update(const NDArray& labels, const NDArray& preds) override;

 private:
  int axis_;
};

// Mean squared / absolute error over all elements.
class MSE : public EvalMetric {
 public:
  MSE() : EvalMetric("mse") {}
  void update(const NDArray& labels, const NDArray& preds) override;
};
class MAE : public EvalMetric {
 public:
  MAE() : EvalMetric("mae") {}
  void update(const NDArray& labels, const NDArray& preds) override;
};

// Fraction of samples whose label is among the top_k highest-scoring classes of preds (N, C);
// named "top_k_accuracy_<k>". A label scoring equal to others counts as inside (MXNet's
// argpartition breaks such ties arbitrarily). top_k must be > 1, as in MXNet (use Accuracy).
class TopKAccuracy : public EvalMetric {
 public:
  explicit TopKAccuracy(int top_k = 1);
  void update(const NDArray& labels, const NDArray& preds) override;

 private:
  int top_k_;
};

// Mean of -log(p[label] + eps) over samples; preds are probabilities (N, C).
class CrossEntropy : public EvalMetric {
 public:
  explicit CrossEntropy(double eps = 1e-12) : EvalMetric("cross-entropy"), eps_(eps) {}
  void update(const NDArray& labels, const NDArray& preds) override;

 private:
  double eps_;
};

// exp(mean of -log(max(1e-10, p[label]))) over the labels that are not ignore_label; the class
// axis of preds is `axis` and labels have preds' other dims.
class Perplexity : public EvalMetric {
 public:
  explicit Perplexity(std::optional<double> ignore_label = std::nullopt, int axis = -1)
      : EvalMetric("perplexity"), ignore_label_(ignore_label), axis_(axis) {}
  void update(const NDArray& labels, const NDArray& preds) override;
  std::pair<std::string, double> get() const override;

 private:
  std::optional<double> ignore_label_;
  int axis_;
};

// Binary F1 of argmax(preds (N, 2), axis 1) against labels in {0, 1}, 1 being positive
// (precision or recall 0 when undefined). MXNet's `average`: "macro" is the mean of each
// update's (batch's) F1, "micro" the F1 of the counts summed over all updates.
class F1 : public EvalMetric {
 public:
  explicit F1(std::string average = "macro");
  void update(const NDArray& labels, const NDArray& preds) override;
  void reset() override;
  std::vector<double> state() const override { return {sum_, count_, tp_, fp_, fn_, tn_}; }
  void set_state(const std::vector<double>& s) override;

 private:
  std::string average_;
  double tp_ = 0, fp_ = 0, fn_ = 0, tn_ = 0;  // "micro": summed over updates
};

// sqrt(mean squared error) of each update, averaged over updates (MXNet 1.x).
class RMSE : public EvalMetric {
 public:
  RMSE() : EvalMetric("rmse") {}
  void update(const NDArray& labels, const NDArray& preds) override;
};

// Data-parallel evaluation: sums every rank's state() over `comm` (a collective: every rank
// calls it) and leaves the global figure in each rank's get() — e.g. the accuracy over all
// ranks' shards of the test set.
void allreduce(EvalMetric& m, dist::Communicator& comm);

}  // namespace hgc::gluon::metric
