// kvstore "dist_sync" behind gluon::Trainer: the first-step checks and broadcast, and the
// bucketed gradient allreduce on a communication thread.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <string>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "hgc/dist/communicator.h"
#include "hgc/frontend/gluon/trainer.h"

namespace hgc::gluon {

class DistSync {
 public:
  explicit DistSync(KVStoreOptions o);
  ~DistSync();
  dist::Communicator& comm() { return *comm_; }
  void set_options(const KVStoreOptions& o);
  bool started() const { return started_; }
  // Checks that every rank has the same parameters (names, shapes, dtypes: an error names
  // the first difference on every rank alike), takes rank 0's values, lays out the buckets.
  void start(const std::vector<std::shared_ptr<Parameter>>& params);
  // Sums every gradient over the ranks in place; `ready(i)` runs for parameter i as soon as
  // its bucket is back (the optimizer's update), while later buckets are still reduced.
  void reduce(const std::vector<std::shared_ptr<Parameter>>& params, const std::function<void(size_t)>& ready);
  CommStats& stats() { return stats_; }
  // Waits until the communication thread is idle: a collective the training thread issues
  // meanwhile (SyncBatchNorm's) then has the same place in every rank's sequence.
  void drain();

 private:
  struct Bucket {
    DType dtype = DType::f32;
    std::vector<size_t> params;   // indices into the trainer's parameters, reverse order
    std::vector<size_t> offsets;  // byte offset of each in data
    std::vector<char> data;
    std::vector<uint64_t> sums;   // fingerprints of the packed gradients (started in backward)
    bool done = false;
    std::exception_ptr error;
  };
  void comm_loop();
  void submit(size_t b);
  void wait(size_t b);
  // Buckets started during backward: the ready hook, the packing, the step's check.
  void on_grad_ready(const NDArray& grad);
  void pack(size_t b);
  void map_gradients();
  void check_unchanged(size_t b);

  KVStoreOptions opts_;
  std::shared_ptr<dist::Communicator> comm_;
  bool started_ = false;
  std::vector<Bucket> buckets_;
  CommStats stats_;
  // Started during backward: parameter index by gradient buffer, which have been written
  // this step, and how many buckets (in order) have been submitted.
  const std::vector<std::shared_ptr<Parameter>>* params_ = nullptr;
  std::map<const void*, size_t> by_grad_;
  std::vector<char> written_;
  std::vector<char> early_ok_;  // per bucket: every parameter single-context, grad_req write
  size_t next_early_ = 0;
  std::string changed_;         // a gradient written twice before step() (named in the error)
  int hook_ = -1;
  int drain_id_ = -1;
  // The communication thread and its queue of bucket indices.
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<size_t> queue_;
  bool stop_ = false;
};

}  // namespace hgc::gluon
