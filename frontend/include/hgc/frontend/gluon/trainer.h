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
// communication thread while the optimizer updates the buckets already back; from the
// second step on a bucket starts during backward, as soon as backward has written all of its
// gradients, as with DDP and Horovod) and scales
// them by 1 / (batch_size * num_workers): the update is the mean over the global batch, as
// with Horovod's DistributedTrainer, PyTorch's DDP and MXNet's kvstore "horovod". (MXNet's
// parameter-server dist_sync summed without the 1 / num_workers, an N-times larger step for
// the same learning rate.) So N ranks x batch B train as one process with batch N * B.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
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
  // With overlap: a bucket starts during backward once all its gradients are written (single-
  // context parameters with grad_req write). The bucket carries the values backward wrote:
  // to change gradients before reducing (clipping local gradients), turn this off, or call
  // allreduce_grads(), clip the reduced gradients, then update() (MXNet's recipe). A gradient
  // changed between backward and step() is an error naming it, not a silent loss.
  bool start_in_backward_ = true;
  std::shared_ptr<dist::Communicator> comm_;  // null: hgc::dist::world()
  KVStoreOptions& bucket_bytes(size_t b) { bucket_bytes_ = b; return *this; }
  KVStoreOptions& overlap(bool on) { overlap_ = on; return *this; }
  KVStoreOptions& start_in_backward(bool on) { start_in_backward_ = on; return *this; }
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
  int64_t started_in_backward = 0;  // buckets whose allreduce began during backward
};

// gluon.Trainer: applies an optimizer to a set of parameters after backward.
class Trainer {
 public:
  // kvstore: MXNet's names. "device", "local" (or "" / "none"): this process alone;
  // "dist_sync" (also "dist_device_sync", "dist_sync_device", "horovod"): all ranks of
  // hgc::dist::world() (see above). "dist_async" is not supported (an error says so).
  Trainer(const ParameterDict& params, const std::string& optimizer,
          const std::map<std::string, double>& optimizer_params = {},
          std::shared_ptr<lr_scheduler::LRScheduler> lr_scheduler = nullptr, const std::string& kvstore = "device",
          std::optional<bool> update_on_kvstore = std::nullopt);
  Trainer(const ParameterDict& params, std::unique_ptr<optim::Optimizer> optimizer,
          const std::string& kvstore = "device", std::optional<bool> update_on_kvstore = std::nullopt);
  ~Trainer();
  Trainer(Trainer&&) noexcept;
  // One update of every parameter with a gradient: allreduce_grads() then update(batch_size),
  // gradients scaled by 1 / batch_size (batch_size: this process's batch over all its
  // contexts; dist_sync: summed over ranks too, scaled by 1 / (batch_size * num_workers)).
  // With dist_sync the optimizer updates each bucket's parameters while later buckets are
  // still on the wire.
  void step(double batch_size);
  // Gluon's allreduce_grads: sums each parameter's gradients over its contexts (cpu(0),
  // cpu(1), ...) and, with dist_sync, over the ranks, and writes the sum into every copy.
  // For gradient clipping or inspection before update(). Throws when update_on_kvstore.
  void allreduce_grads();
  // Gluon's update: the optimizer step alone, on gradients already reduced. The first
  // context's copy is updated and the other contexts receive its new values. Throws when
  // update_on_kvstore, or with dist_sync before the first allreduce_grads().
  void update(double batch_size);
  // "device", "dist_sync", ... as given (normalized: "dist_sync" for its aliases).
  const std::string& kvstore() const { return kvstore_; }
  bool distributed() const { return dist_ != nullptr; }
  // MXNet's update_on_kvstore. Unset means false: hgc's kvstores have no server-side
  // updater, like MXNet's "horovod" kvstore (not optimizer-capable, so MXNet 1.9 picks false
  // there; for "device" with several contexts and for dist_sync it would pick true and then
  // reject allreduce_grads()/update()). Set true: step() is the same update (the summed
  // gradients applied once, the values copied out), and, as in MXNet, allreduce_grads() and
  // update() throw while a kvstore is in use (several contexts, or dist_sync).
  bool update_on_kvstore() const { return update_on_kvstore_; }
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
  void check_not_on_kvstore(const char* what) const;
  void reduce_contexts();
  void start_dist();
  void update_one(size_t i);
  std::vector<std::shared_ptr<Parameter>> params_;
  std::unique_ptr<optim::Optimizer> opt_;
  double scale_;  // the optimizer's own rescale_grad, before 1 / batch_size
  std::string kvstore_;
  bool update_on_kvstore_ = false;
  std::unique_ptr<DistSync> dist_;
  // Compiles the optimizer's update kernels (Optimizer::prepare) while the first forward and
  // backward are traced and compiled, instead of after them in the first step (on a cold
  // kernel cache the update's module is ~25 ms on the critical path otherwise). Last member:
  // joined before the optimizer it uses is destroyed.
  std::jthread prepare_;
};

}  // namespace hgc::gluon
