// Learning-rate schedules (mx.lr_scheduler, MXNet 1.9): the rate as a function of num_update,
// the largest number of updates any one parameter has had (1 during the first step).
//
//   using namespace hgc::gluon;
//   auto sched = std::make_shared<lr_scheduler::CosineScheduler>(
//       1000, lr_scheduler::CosineOptions().base_lr(0.1).warmup_steps(100));
//   Trainer trainer(net->collect_params(), "sgd", {{"momentum", 0.9}}, sched);
//   trainer.learning_rate();   // sched(num_update)
//
// MXNet's schedulers mutate themselves as num_update grows; these compute the same values as
// pure functions of num_update (they agree whenever num_update never decreases, the only way
// an optimizer calls them), so saving num_update saves the schedule. Bad arguments throw
// hgc::Error where MXNet raises ValueError.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hgc::gluon::lr_scheduler {

// The warmup every scheduler shares: before warmup_steps updates the rate rises linearly from
// warmup_begin_lr to base_lr (mode "linear") or stays at warmup_begin_lr ("constant").
struct WarmupOptions {
  double base_lr = 0.01;
  int64_t warmup_steps = 0;
  double warmup_begin_lr = 0;
  std::string warmup_mode = "linear";
};

class LRScheduler {
 public:
  explicit LRScheduler(WarmupOptions w);
  virtual ~LRScheduler() = default;
  // The rate for this update count.
  double operator()(int64_t num_update) const;
  double base_lr() const { return w_.base_lr; }
  // An optimizer given an explicit learning_rate overwrites the scheduler's (as MXNet does).
  // Unlike MXNet 1.9, whose warmup keeps ending at the constructor's base_lr, the warmup
  // then ends at the new rate.
  void set_base_lr(double lr) { w_.base_lr = lr; }
  const WarmupOptions& warmup() const { return w_; }
  virtual std::string name() const = 0;

 protected:
  // The rate after warmup.
  virtual double after_warmup(int64_t num_update) const = 0;
  WarmupOptions w_;
};

// Options with the shared warmup setters; each scheduler adds its own.
template <class Self>
struct SchedulerOptions {
  WarmupOptions warmup;
  Self& base_lr(double v) { warmup.base_lr = v; return self(); }
  Self& warmup_steps(int64_t v) { warmup.warmup_steps = v; return self(); }
  Self& warmup_begin_lr(double v) { warmup.warmup_begin_lr = v; return self(); }
  Self& warmup_mode(std::string v) { warmup.warmup_mode = std::move(v); return self(); }

 private:
  Self& self() { return static_cast<Self&>(*this); }
};

struct FactorOptions : SchedulerOptions<FactorOptions> {
  double factor_ = 1, stop_factor_lr_ = 1e-8;
  FactorOptions& factor(double v) { factor_ = v; return *this; }
  FactorOptions& stop_factor_lr(double v) { stop_factor_lr_ = v; return *this; }
};

// base_lr * factor^k after k = ceil(num_update / step) - 1 whole steps, never below
// stop_factor_lr once decayed.
class FactorScheduler : public LRScheduler {
 public:
  explicit FactorScheduler(int64_t step, FactorOptions o = {});
  std::string name() const override { return "FactorScheduler"; }

 private:
  double after_warmup(int64_t n) const override;
  int64_t step_;
  FactorOptions o_;
};

struct MultiFactorOptions : SchedulerOptions<MultiFactorOptions> {
  double factor_ = 1;
  MultiFactorOptions& factor(double v) { factor_ = v; return *this; }
};

// base_lr * factor^k where k counts the steps s with num_update > s (steps strictly increasing).
class MultiFactorScheduler : public LRScheduler {
 public:
  MultiFactorScheduler(std::vector<int64_t> steps, MultiFactorOptions o = {});
  std::string name() const override { return "MultiFactorScheduler"; }

 private:
  double after_warmup(int64_t n) const override;
  std::vector<int64_t> steps_;
  double factor_;
};

struct PolyOptions : SchedulerOptions<PolyOptions> {
  double pwr_ = 2, final_lr_ = 0;
  PolyOptions& pwr(double v) { pwr_ = v; return *this; }
  PolyOptions& final_lr(double v) { final_lr_ = v; return *this; }
};

// final_lr + (base_lr - final_lr) * (1 - (n - warmup_steps) / (max_update - warmup_steps))^pwr,
// final_lr once n passes max_update.
class PolyScheduler : public LRScheduler {
 public:
  explicit PolyScheduler(int64_t max_update, PolyOptions o = {});
  std::string name() const override { return "PolyScheduler"; }

 private:
  double after_warmup(int64_t n) const override;
  int64_t max_update_;
  PolyOptions o_;
};

struct CosineOptions : SchedulerOptions<CosineOptions> {
  double final_lr_ = 0;
  CosineOptions& final_lr(double v) { final_lr_ = v; return *this; }
};

// final_lr + (base_lr - final_lr) * (1 + cos(pi * (n - warmup_steps) / (max_update -
// warmup_steps))) / 2, final_lr once n passes max_update.
class CosineScheduler : public LRScheduler {
 public:
  explicit CosineScheduler(int64_t max_update, CosineOptions o = {});
  std::string name() const override { return "CosineScheduler"; }

 private:
  double after_warmup(int64_t n) const override;
  int64_t max_update_;
  double final_lr_;
};

}  // namespace hgc::gluon::lr_scheduler
