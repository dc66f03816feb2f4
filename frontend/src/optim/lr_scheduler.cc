// The schedules of lr_scheduler.h as pure functions of num_update (MXNet 1.9's formulas and
// argument checks).
#include "hgc/frontend/optim/lr_scheduler.h"

#include <cmath>
#include <numbers>

#include "hgc/base/error.h"

namespace hgc::gluon::lr_scheduler {

LRScheduler::LRScheduler(WarmupOptions w) : w_(std::move(w)) {
  if (w_.warmup_steps < 0) fail("lr_scheduler", "warmup_steps must be >= 0, got ", w_.warmup_steps);
  if (w_.warmup_begin_lr > w_.base_lr)
    fail("lr_scheduler", "warmup_begin_lr (", w_.warmup_begin_lr, ") must not exceed base_lr (", w_.base_lr, ")");
  if (w_.warmup_mode != "linear" && w_.warmup_mode != "constant")
    fail("lr_scheduler", "warmup_mode '", w_.warmup_mode, "' is not linear or constant");
}

double LRScheduler::operator()(int64_t n) const {
  if (n < w_.warmup_steps) {
    if (w_.warmup_mode == "constant") return w_.warmup_begin_lr;
    return w_.warmup_begin_lr +
           (w_.base_lr - w_.warmup_begin_lr) * static_cast<double>(n) / static_cast<double>(w_.warmup_steps);
  }
  return after_warmup(n);
}

FactorScheduler::FactorScheduler(int64_t step, FactorOptions o) : LRScheduler(o.warmup), step_(step), o_(o) {
  if (step < 1) fail("lr_scheduler", "FactorScheduler: step must be >= 1, got ", step);
  if (o.factor_ > 1) fail("lr_scheduler", "FactorScheduler: factor must be <= 1 to reduce the rate, got ", o.factor_);
}

double FactorScheduler::after_warmup(int64_t n) const {
  // MXNet decays once each time n passes count + step; repeated products (not pow) so the
  // values match its floating-point steps. The loop ends early at the floor or factor 1.
  int64_t k = n > 0 ? (n - 1) / step_ : 0;
  double lr = w_.base_lr;
  for (int64_t i = 0; i < k; ++i) {
    double next = lr * o_.factor_;
    if (next < o_.stop_factor_lr_) return o_.stop_factor_lr_;
    if (next == lr) break;
    lr = next;
  }
  return lr;
}

MultiFactorScheduler::MultiFactorScheduler(std::vector<int64_t> steps, MultiFactorOptions o)
    : LRScheduler(o.warmup), steps_(std::move(steps)), factor_(o.factor_) {
  if (steps_.empty()) fail("lr_scheduler", "MultiFactorScheduler needs at least one step");
  for (size_t i = 0; i < steps_.size(); ++i) {
    if (steps_[i] < 1) fail("lr_scheduler", "MultiFactorScheduler: step ", steps_[i], " must be >= 1");
    if (i > 0 && steps_[i] <= steps_[i - 1])
      fail("lr_scheduler", "MultiFactorScheduler: steps must increase, got ", steps_[i - 1], " then ", steps_[i]);
  }
  if (factor_ > 1) fail("lr_scheduler", "MultiFactorScheduler: factor must be <= 1 to reduce the rate, got ", factor_);
}

double MultiFactorScheduler::after_warmup(int64_t n) const {
  double lr = w_.base_lr;
  for (int64_t s : steps_)
    if (n > s) lr *= factor_;
  return lr;
}

namespace {
void check_max_update(const char* who, int64_t max_update, int64_t warmup_steps) {
  if (max_update < 1) fail("lr_scheduler", who, ": max_update must be >= 1, got ", max_update);
  // MXNet divides by max_update - warmup_steps.
  if (max_update <= warmup_steps)
    fail("lr_scheduler", who, ": max_update (", max_update, ") must exceed warmup_steps (", warmup_steps, ")");
}
}  // namespace

PolyScheduler::PolyScheduler(int64_t max_update, PolyOptions o) : LRScheduler(o.warmup), max_update_(max_update), o_(o) {
  check_max_update("PolyScheduler", max_update, o.warmup.warmup_steps);
}

double PolyScheduler::after_warmup(int64_t n) const {
  if (n > max_update_) return o_.final_lr_;
  double frac = static_cast<double>(n - w_.warmup_steps) / static_cast<double>(max_update_ - w_.warmup_steps);
  return o_.final_lr_ + (w_.base_lr - o_.final_lr_) * std::pow(1 - frac, o_.pwr_);
}

CosineScheduler::CosineScheduler(int64_t max_update, CosineOptions o)
    : LRScheduler(o.warmup), max_update_(max_update), final_lr_(o.final_lr_) {
  check_max_update("CosineScheduler", max_update, o.warmup.warmup_steps);
}

double CosineScheduler::after_warmup(int64_t n) const {
  if (n > max_update_) return final_lr_;
  double frac = static_cast<double>(n - w_.warmup_steps) / static_cast<double>(max_update_ - w_.warmup_steps);
  return final_lr_ + (w_.base_lr - final_lr_) * (1 + std::cos(std::numbers::pi * frac)) / 2;
}

}  // namespace hgc::gluon::lr_scheduler
