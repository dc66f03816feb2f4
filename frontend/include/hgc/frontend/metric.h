// Evaluation metrics (mx.metric): accumulate over batches, then get() the running value.
//
//   using namespace hgc::gluon;
//   metric::Accuracy acc;
//   for (auto& b : test_loader) acc.update(b[1], net(b[0]));   // labels, predictions (N, C)
//   auto [name, value] = acc.get();                            // {"accuracy", 0.87}
//   acc.reset();
#pragma once
#include <string>
#include <utility>

#include "hgc/frontend/ndarray.h"

namespace hgc::gluon::metric {

class EvalMetric {
 public:
  explicit EvalMetric(std::string name) : name_(std::move(name)) {}
  virtual ~EvalMetric() = default;
  virtual void update(const NDArray& labels, const NDArray& preds) = 0;
  void reset() { sum_ = 0, count_ = 0; }
  // {name, value}; the value is NaN before any update.
  std::pair<std::string, double> get() const;

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

}  // namespace hgc::gluon::metric
