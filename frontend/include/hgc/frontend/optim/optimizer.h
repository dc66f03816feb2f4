// Optimizers (mx.optimizer); gluon.Trainer is in gluon/trainer.h. Every update is one compiled graph
// over whole arrays per parameter shape (or, with use_fused_step off, a handful of NDArray
// ops), written back into the parameter's own buffer, never a scalar loop.
//
//   using namespace hgc::gluon;
//   Trainer trainer(net->collect_params(), "sgd", {{"learning_rate", 0.1}, {"momentum", 0.9}});
//   for (auto& batch : loader) {
//     NDArray l;
//     { auto rec = autograd::record();  l = loss(net(batch[0]), batch[1]); }
//     l.backward();
//     trainer.step(batch_size);          // gradients rescaled by 1 / batch_size
//   }
//   auto opt = optim::create("adam", {{"learning_rate", 1e-3}});   // or optim::Adam(...)
//   trainer.save_states("run.states");   // momentum / moments and update counts
//
// Optimizers: sgd, nag, adam, adamw, rmsprop, adagrad with MXNet 1.9's update rules and
// defaults (each class names its formula). The learning rate is lr_scheduler(num_update) when
// a scheduler is set (lr_scheduler.h), where num_update is the most updates any parameter has
// had, this step included (1 during the first step).
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hgc/frontend/optim/lr_scheduler.h"
#include "hgc/frontend/nd/ndarray.h"
#include "hgc/frontend/gluon/parameter.h"

namespace hgc::gluon {
namespace optim {

// Hyper-parameters shared by every optimizer, with MXNet's names and defaults.
struct OptimizerOptions {
  double learning_rate = 0.01;
  double wd = 0;
  double rescale_grad = 1;
  std::optional<double> clip_gradient;  // None: no clipping
  // Set: the rate is lr_scheduler(num_update) and learning_rate is unused (the scheduler's
  // base_lr is the starting rate; create() and Trainer overwrite it with an explicit
  // learning_rate, as MXNet does).
  std::shared_ptr<lr_scheduler::LRScheduler> lr_scheduler;
  // f32/f64 weights: the whole update as one compiled graph per weight shape, the per-step
  // numbers (rate, decay...) as its inputs (MXNet 2's use_fused_step); false: one imperative
  // op per term (each scalar value its own kernel: slow when the rate changes every step).
  bool use_fused_step = true;

  // Chained setters, as the design's options structs have.
  OptimizerOptions& lr(double v) { learning_rate = v; return *this; }
  OptimizerOptions& weight_decay(double v) { wd = v; return *this; }
  OptimizerOptions& rescale(double v) { rescale_grad = v; return *this; }
  OptimizerOptions& clip(double v) { clip_gradient = v; return *this; }
  OptimizerOptions& fused(bool on) { use_fused_step = on; return *this; }
  OptimizerOptions& scheduler(std::shared_ptr<lr_scheduler::LRScheduler> s) { lr_scheduler = std::move(s); return *this; }
};

class Optimizer {
 public:
  explicit Optimizer(OptimizerOptions o) : opts_(std::move(o)) {}
  virtual ~Optimizer() = default;
  // Updates `weight` in place from `grad`: counts the update (MXNet's _update_count), creates
  // this parameter's state on its first update, then applies the rule with the current rate.
  // `index` keys the state; lr_mult and wd_mult scale the rate and weight decay.
  // `copy` (optional; AMP's low-precision weights, Parameter::cast_buffer): a bfloat16 or
  // float16 array of the weight's shape that the update fills with the new weight rounded to
  // its dtype, in the same pass over the arrays, where the rule runs as one compiled update
  // (float32 weights); returns whether it did (else `copy` is untouched and the caller casts).
  bool update(size_t index, NDArray weight, const NDArray& grad, double lr_mult = 1, double wd_mult = 1,
              const NDArray& copy = {});
  // lr_scheduler(num_update()) with a scheduler, else the fixed rate.
  double learning_rate() const;
  // Throws when a scheduler owns the rate (MXNet raises there too).
  void set_learning_rate(double lr);
  double rescale_grad() const { return opts_.rescale_grad; }
  void set_rescale_grad(double r) { opts_.rescale_grad = r; }
  const OptimizerOptions& options() const { return opts_; }
  virtual std::string name() const = 0;
  // update()'s `copy` while a rule runs, and whether the rule wrote it.
  struct LowCopy {
    NDArray dst;
    bool written = false;
  };

  // Compiles ahead of the first update what updating a weight of this shape and dtype will
  // need (the fused rule's kernels), so that the first step finds them ready. Reads only the
  // options fixed at construction, so it may run on another thread while this optimizer is in
  // use (Trainer runs it in the background). Default: nothing to prepare.
  virtual void prepare(const NDArray& weight) const { (void)weight; }

  // ---- state (what Trainer::save_states writes) ----
  // The arrays this optimizer keeps per parameter, zero-initialized (momentum, moments...).
  virtual std::vector<NDArray> create_state(const NDArray& weight) const = 0;
  // The most updates any parameter has had.
  int64_t num_update() const { return num_update_; }
  // Updates of one parameter so far (0: none, and then it has no state yet).
  int64_t update_count(size_t index) const;
  // This parameter's state; nullptr before its first update.
  const std::vector<NDArray>* state(size_t index) const;
  // Throws (naming `what`) unless `state` has create_state's count of arrays, each of the
  // weight's shape and dtype, and count >= 1.
  void check_state(const NDArray& weight, const std::vector<NDArray>& state, int64_t count,
                   const std::string& what) const;
  // Replaces one parameter's state and update count (checked as above).
  void set_state(size_t index, const NDArray& weight, std::vector<NDArray> state, int64_t count,
                 const std::string& what);
  void set_num_update(int64_t n) { num_update_ = n; }
  // Forgets every state and count.
  void reset_states();

 protected:
  // One update of `weight`; lr and wd already carry the multipliers (and the schedule), t is
  // this parameter's update count including this one.
  virtual void apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& state, double lr, double wd,
                     int64_t t) = 0;
  OptimizerOptions opts_;
  LowCopy low_;  // the current update's `copy` (undefined: none)

 private:
  std::map<size_t, std::vector<NDArray>> state_;
  std::map<size_t, int64_t> counts_;
  int64_t num_update_ = 0;
};

// g = clip(rescale_grad * grad) + wd * weight; weight -= lr * g, or with momentum:
// mom = momentum * mom - lr * g; weight += mom.
class SGD : public Optimizer {
 public:
  explicit SGD(OptimizerOptions o = {}, double momentum = 0) : Optimizer(std::move(o)), momentum_(momentum) {}
  std::string name() const override { return "sgd"; }
  std::vector<NDArray> create_state(const NDArray& weight) const override;
  void prepare(const NDArray& weight) const override;
  double momentum() const { return momentum_; }

 protected:
  void apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& state, double lr, double wd,
             int64_t t) override;

 private:
  double momentum_;
};

// Nesterov momentum (MXNet's nag_mom_update): g = clip(rescale_grad * grad) + wd * weight;
// mom = momentum * mom + g; weight -= lr * (g + momentum * mom). momentum 0: plain SGD.
class NAG : public Optimizer {
 public:
  explicit NAG(OptimizerOptions o = {}, double momentum = 0) : Optimizer(std::move(o)), momentum_(momentum) {}
  std::string name() const override { return "nag"; }
  std::vector<NDArray> create_state(const NDArray& weight) const override;
  void prepare(const NDArray& weight) const override;

 protected:
  void apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& state, double lr, double wd,
             int64_t t) override;

 private:
  double momentum_;
};

// Kingma & Ba as MXNet's adam_update: g = clip(rescale_grad * grad + wd * weight);
// m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g^2;
// weight -= lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + epsilon).
class Adam : public Optimizer {
 public:
  explicit Adam(OptimizerOptions o = OptimizerOptions().lr(0.001), double beta1 = 0.9, double beta2 = 0.999,
                double epsilon = 1e-8)
      : Optimizer(std::move(o)), beta1_(beta1), beta2_(beta2), epsilon_(epsilon) {}
  std::string name() const override { return "adam"; }
  std::vector<NDArray> create_state(const NDArray& weight) const override;

 protected:
  void apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& state, double lr, double wd,
             int64_t t) override;

 private:
  double beta1_, beta2_, epsilon_;
};

// Decoupled weight decay (Loshchilov & Hutter) with MXNet's semantics: the fused
// contrib.adamw_update that mx.optimizer.AdamW (MXNet 2) calls with eta = the bias-corrected
// rate. g = clip(rescale_grad * grad) (no wd in it); m, v as in Adam;
// weight -= eta * (m / (sqrt(v) + epsilon) + wd * weight), eta = lr * sqrt(1 - beta2^t) /
// (1 - beta1^t) (just lr with correct_bias false). Not PyTorch's AdamW, which decays by the
// uncorrected lr * wd * weight and adds epsilon to sqrt(v / (1 - beta2^t)).
class AdamW : public Optimizer {
 public:
  explicit AdamW(OptimizerOptions o = OptimizerOptions().lr(0.001), double beta1 = 0.9, double beta2 = 0.999,
                 double epsilon = 1e-6, bool correct_bias = true)
      : Optimizer(std::move(o)), beta1_(beta1), beta2_(beta2), epsilon_(epsilon), correct_bias_(correct_bias) {}
  std::string name() const override { return "adamw"; }
  std::vector<NDArray> create_state(const NDArray& weight) const override;

 protected:
  void apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& state, double lr, double wd,
             int64_t t) override;

 private:
  double beta1_, beta2_, epsilon_;
  bool correct_bias_;
};

struct RMSPropOptions {
  double gamma1 = 0.9, gamma2 = 0.9, epsilon = 1e-8;
  bool centered = false;
  std::optional<double> clip_weights;
};

// MXNet's rmsprop_update (Tieleman & Hinton) and, centered, rmspropalex_update (Graves):
// g = clip(rescale_grad * grad + wd * weight); n = (1 - gamma1) g^2 + gamma1 n;
// plain: weight -= lr * g / sqrt(n + epsilon);
// centered: gm = (1 - gamma1) g + gamma1 gm; delta = gamma2 delta - lr * g / sqrt(n - gm^2 +
// epsilon); weight += delta. Then weight is clipped to +-clip_weights when set.
class RMSProp : public Optimizer {
 public:
  explicit RMSProp(OptimizerOptions o = OptimizerOptions().lr(0.001), RMSPropOptions r = {})
      : Optimizer(std::move(o)), r_(r) {}
  std::string name() const override { return "rmsprop"; }
  std::vector<NDArray> create_state(const NDArray& weight) const override;  // n, or n, gm, delta

 protected:
  void apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& state, double lr, double wd,
             int64_t t) override;

 private:
  RMSPropOptions r_;
};

// MXNet 1.9's dense AdaGrad: g = clip(rescale_grad * grad); history += g^2;
// weight -= lr * (g / sqrt(history + eps) + wd * weight).
class AdaGrad : public Optimizer {
 public:
  explicit AdaGrad(OptimizerOptions o = {}, double eps = 1e-7) : Optimizer(std::move(o)), eps_(eps) {}
  std::string name() const override { return "adagrad"; }
  std::vector<NDArray> create_state(const NDArray& weight) const override;

 protected:
  void apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& state, double lr, double wd,
             int64_t t) override;

 private:
  double eps_;
};

// ---- MXNet 1.9's other optimizers (optimizer_more.cc), op by op on NDArrays (no fused
// graph); rescale_grad and clip_gradient as in each MXNet update ----

// AdaDelta (Zeiler; MXNet: no learning rate): g = clip(rescale * grad); acc_g = rho acc_g +
// (1 - rho) g^2; delta = sqrt(acc_delta + eps) / sqrt(acc_g + eps) * g; acc_delta = rho
// acc_delta + (1 - rho) delta^2; weight -= delta + wd * weight.
class AdaDelta : public Optimizer {
 public:
  explicit AdaDelta(OptimizerOptions o = {}, double rho = 0.9, double epsilon = 1e-5)
      : Optimizer(std::move(o)), rho_(rho), eps_(epsilon) {}
  std::string name() const override { return "adadelta"; }
  std::vector<NDArray> create_state(const NDArray& weight) const override;

 protected:
  void apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& state, double lr, double wd, int64_t t) override;

 private:
  double rho_, eps_;
};

// Adamax (Kingma & Ba, infinity norm): g = clip(rescale * grad + wd * weight); m = beta1 m +
// (1 - beta1) g; u = max(beta2 u, |g|); weight -= lr / (1 - beta1^t) * m / u.
class Adamax : public Optimizer {
 public:
  explicit Adamax(OptimizerOptions o = OptimizerOptions().lr(0.002), double beta1 = 0.9, double beta2 = 0.999)
      : Optimizer(std::move(o)), beta1_(beta1), beta2_(beta2) {}
  std::string name() const override { return "adamax"; }
  std::vector<NDArray> create_state(const NDArray& weight) const override;

 protected:
  void apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& state, double lr, double wd, int64_t t) override;

 private:
  double beta1_, beta2_;
};

// Nadam (Dozat): Adam with Nesterov momentum and MXNet's momentum schedule mu_t = beta1 (1 -
// 0.5 * 0.96^(t * schedule_decay)); m_schedule is one product over every update call, as in
// MXNet. g = clip(rescale * grad + wd * weight); m, v as Adam; weight -= lr * ((1 - mu_t) g /
// (1 - m_schedule) + mu_{t+1} m / (1 - m_schedule mu_{t+1})) / (sqrt(v / (1 - beta2^t)) + eps).
class Nadam : public Optimizer {
 public:
  explicit Nadam(OptimizerOptions o = OptimizerOptions().lr(0.001), double beta1 = 0.9, double beta2 = 0.999,
                 double epsilon = 1e-8, double schedule_decay = 0.004)
      : Optimizer(std::move(o)), beta1_(beta1), beta2_(beta2), eps_(epsilon), decay_(schedule_decay) {}
  std::string name() const override { return "nadam"; }
  std::vector<NDArray> create_state(const NDArray& weight) const override;

 protected:
  void apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& state, double lr, double wd, int64_t t) override;

 private:
  double beta1_, beta2_, eps_, decay_, m_schedule_ = 1;
};

// Signum (Bernstein et al.): with momentum, mom = momentum mom - (1 - momentum) (wd weight +
// clip(rescale * grad)); weight = (1 - lr wd_lh) weight + lr sign(mom). momentum 0 (signSGD):
// weight = (1 - lr wd) weight - lr sign(clip(rescale * grad)).
class Signum : public Optimizer {
 public:
  explicit Signum(OptimizerOptions o = {}, double momentum = 0.9, double wd_lh = 0)
      : Optimizer(std::move(o)), momentum_(momentum), wd_lh_(wd_lh) {}
  std::string name() const override { return "signum"; }
  std::vector<NDArray> create_state(const NDArray& weight) const override;

 protected:
  void apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& state, double lr, double wd, int64_t t) override;

 private:
  double momentum_, wd_lh_;
};

// Ftrl-Proximal (McMahan et al.): g = clip(rescale * grad); z += g - (sqrt(n + g^2) - sqrt(n))
// weight / lr; n += g^2; weight = (sign(z) lamda1 - z) / ((beta + sqrt(n)) / lr + wd) where
// |z| > lamda1, else 0.
class Ftrl : public Optimizer {
 public:
  explicit Ftrl(OptimizerOptions o = OptimizerOptions().lr(0.1), double lamda1 = 0.01, double beta = 1)
      : Optimizer(std::move(o)), lamda1_(lamda1), beta_(beta) {}
  std::string name() const override { return "ftrl"; }
  std::vector<NDArray> create_state(const NDArray& weight) const override;  // z, n

 protected:
  void apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& state, double lr, double wd, int64_t t) override;

 private:
  double lamda1_, beta_;
};

// LAMB (You et al.), MXNet's lamb_update_phase1/2: g = clip(rescale * grad); m, v as Adam;
// with bias_correction m / (1 - beta1^t), v / (1 - beta2^t); u = m / (sqrt(v) + eps) + wd
// weight; r1 = |weight| (clipped to [lower_bound, upper_bound] when set), r2 = |u|; weight -=
// lr * (r1 > 0 and r2 > 0 ? r1 / r2 : 1) * u.
class LAMB : public Optimizer {
 public:
  explicit LAMB(OptimizerOptions o = OptimizerOptions().lr(0.001), double beta1 = 0.9, double beta2 = 0.999,
                double epsilon = 1e-6, std::optional<double> lower_bound = std::nullopt,
                std::optional<double> upper_bound = std::nullopt, bool bias_correction = true)
      : Optimizer(std::move(o)), beta1_(beta1), beta2_(beta2), eps_(epsilon), lower_(lower_bound), upper_(upper_bound),
        bias_correction_(bias_correction) {}
  std::string name() const override { return "lamb"; }
  std::vector<NDArray> create_state(const NDArray& weight) const override;

 protected:
  void apply(NDArray& weight, const NDArray& grad, std::vector<NDArray>& state, double lr, double wd, int64_t t) override;

 private:
  double beta1_, beta2_, eps_;
  std::optional<double> lower_, upper_;
  bool bias_correction_;
};

// By MXNet name, case-insensitive ("sgd", "nag", "adam", "adamw", "rmsprop", "adagrad",
// "adadelta", "adamax", "nadam", "signum", "ftrl", "lamb"). Extra keys: rho, epsilon
// (adadelta); beta1, beta2 (adamax); beta1, beta2, epsilon, schedule_decay (nadam); momentum,
// wd_lh (signum); lamda1, beta (ftrl); beta1, beta2, epsilon, lower_bound, upper_bound,
// bias_correction (lamb).
// Keys: learning_rate (or lr), wd, rescale_grad, clip_gradient, use_fused_step (0/1); momentum (sgd, nag); beta1,
// beta2, epsilon (adam, adamw), correct_bias (adamw, 0/1); gamma1, gamma2, epsilon, centered
// (0/1), clip_weights (rmsprop); eps (adagrad). Unknown names or keys throw. With
// `lr_scheduler`, an explicit learning_rate overwrites the scheduler's base_lr.
std::unique_ptr<Optimizer> create(const std::string& name, const std::map<std::string, double>& params = {},
                                  std::shared_ptr<lr_scheduler::LRScheduler> lr_scheduler = nullptr);

}  // namespace optim

}  // namespace hgc::gluon
