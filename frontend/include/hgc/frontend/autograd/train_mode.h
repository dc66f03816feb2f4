// Training vs predict mode, which layers such as Dropout and BatchNorm follow and which
// hybridized blocks key their compiled graphs by (MXNet's autograd.train_mode()).
//
//   {
//     gluon::TrainMode train;          // is_training() is true in this scope
//     y = net(x);                      // Dropout drops, BatchNorm uses batch statistics
//   }
//   gluon::is_training() == false;     // the default: predict mode
#pragma once

namespace hgc::gluon {

bool is_training();
// Sets the mode of this thread; returns the previous one.
bool set_training(bool on);

class TrainMode {
 public:
  explicit TrainMode(bool on = true) : prev_(set_training(on)) {}
  ~TrainMode() { set_training(prev_); }
  TrainMode(const TrainMode&) = delete;
  TrainMode& operator=(const TrainMode&) = delete;

 private:
  bool prev_;
};

class PredictMode : public TrainMode {
 public:
  PredictMode() : TrainMode(false) {}
};

}  // namespace hgc::gluon
