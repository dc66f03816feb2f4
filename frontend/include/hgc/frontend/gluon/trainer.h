// gluon.Trainer: applies an optimizer (optim/optimizer.h) to a set of parameters after backward.
//
//   using namespace hgc::gluon;
//   Trainer trainer(net->collect_params(), "sgd", {{"learning_rate", 0.1}, {"momentum", 0.9}});
//   { auto rec = autograd::record();  l = loss(net(x), y); }
//   l.backward();
//   trainer.step(batch_size);            // gradients rescaled by 1 / batch_size
//   trainer.save_states("run.states");   // momentum / moments and update counts
//
// Data-parallel (kvstore "dist_sync", on hgc::dist's communicator: Open MPI or Gloo):
//   Trainer trainer(net->collect_params(), "sgd", hp, nullptr, "dist_sync");
//   ... each rank runs the same loop on its shard (DataLoaderOptions::shard) ...
//   trainer.step(batch_size);   // batch_size: this rank's batch
// At the first step every rank checks that all ranks hold the same parameter names, shapes
// and dtypes (an error names the first difference), then takes rank 0's values (broadcast;
// parameters whose shape was deferred to the first forward included). Every step sums the
// gradients over the ranks in buckets (~25 MiB, reverse registration order, reduced on a
// communication thread while the optimizer updates the buckets already back) and scales
// them by 1 / (batch_size * num_workers): the update is the mean over the global batch, as
// with Horovod's DistributedTrainer, PyTorch's DDP and MXNet's kvstore "horovod". (MXNet's
// parameter-server dist_sync summed without the 1 / num_workers, an N-times larger step for
// the same learning rate.) So N ranks x batch B train as one process with batch N * B.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hgc/frontend/gluon/parameter.h"
#include "hgc/frontend/optim/optimizer.h"

namespace hgc::dist {
class Communicator;
}

namespace hgc::gluon {

class DistSync;

// How kvstore "dist_sync" communicates (Trainer::set_kvstore_options, before the first step).
struct KVStoreOptions {
  size_t bucket_bytes_ = 25u << 20;   // gradients fused per allreduce (at least one parameter)
  bool overlap_ = true;               // allreduce on a communication thread
  std::shared_ptr<dist::Communicator> comm_;  // null: hgc::dist::world()
  KVStoreOptions& bucket_bytes(size_t b) { bucket_bytes_ = b; return *this; }
  KVStoreOptions& overlap(bool on) { overlap_ = on; return *this; }
  KVStoreOptions& communicator(std::shared_ptr<dist::Communicator> c) { comm_ = std::move(c); return *this; }
};

// Where a dist_sync step's time went (seconds, summed over steps).
struct CommStats {
  int64_t steps = 0;
  double step_seconds = 0;      // whole Trainer::step calls
  double comm_seconds = 0;      // inside allreduce calls (on the communication thread)
  double exposed_seconds = 0;   // the step waiting for communication
  size_t buckets = 0;           // per step
  size_t bytes = 0;             // reduced per step
};

// gluon.Trainer: applies an optimizer to a set of parameters after backward.
class Trainer {
 public:
  // kvstore: MXNet's names. "device", "local" (or "" / "none"): this process alone;
  // "dist_sync" (also "dist_device_sync", "dist_sync_device", "horovod"): all ranks of
  // hgc::dist::world() (see above). "dist_async" is not supported (an error says so).
  Trainer(const ParameterDict& params, const std::string& optimizer,
          const std::map<std::string, double>& optimizer_params = {},
          std::shared_ptr<lr_scheduler::LRScheduler> lr_scheduler = nullptr, const std::string& kvstore = "device");
  Trainer(const ParameterDict& params, std::unique_ptr<optim::Optimizer> optimizer,
          const std::string& kvstore = "device");
  ~Trainer();
  Trainer(Trainer&&) noexcept;
  // One update of every parameter with a gradient, gradients scaled by 1 / batch_size
  // (dist_sync: summed over ranks, scaled by 1 / (batch_size * num_workers)).
  void step(double batch_size);
  // step() in two halves (MXNet's allreduce_grads / update), e.g. to clip the summed gradients
  // in between: allreduce_grads sums the gradients over the ranks in place (local: nothing),
  // update applies the optimizer as step would.
  void allreduce_grads();
  void update(double batch_size);
  // "device", "dist_sync", ... as given (normalized: "dist_sync" for its aliases).
  const std::string& kvstore() const { return kvstore_; }
  bool distributed() const { return dist_ != nullptr; }
  // Ranks taking part (1 unless dist_sync) and this process's rank.
  int num_workers() const;
  int rank() const;
  void set_kvstore_options(const KVStoreOptions& o);
  CommStats comm_stats() const;
  // The rate of the next step's schedule position (see Optimizer::learning_rate).
  double learning_rate() const { return opt_->learning_rate(); }
  // Throws when an lr_scheduler owns the rate.
  void set_learning_rate(double lr) { opt_->set_learning_rate(lr); }
  optim::Optimizer& optimizer() { return *opt_; }
  // Zeroes every gradient (for grad_req "add").
  void zero_grad();
  // The optimizer's per-parameter state (momentum, moments...), update counts and num_update,
  // keyed by parameter name in an MXNet .params dict (so a file fits the same network built
  // again, whatever the order). load_states throws for another optimizer's file, a
  // parameter this trainer lacks, or a state of the wrong count, shape or dtype.
  void save_states(const std::string& path) const;
  void load_states(const std::string& path);

 private:
  void check_initialized() const;
  void update_one(size_t i);
  std::vector<std::shared_ptr<Parameter>> params_;
  std::unique_ptr<optim::Optimizer> opt_;
  double scale_;  // the optimizer's own rescale_grad, before 1 / batch_size
  std::string kvstore_;
  std::unique_ptr<DistSync> dist_;
};

}  // namespace hgc::gluon
