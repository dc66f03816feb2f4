// gluon.contrib.nn.SyncBatchNorm: BatchNorm whose training-mode batch statistics are taken
// over the whole data-parallel batch — every rank of the communicator — instead of each
// rank's part (MXNet's contrib SyncBatchNorm, Horovod's SyncBatchNorm). On 2 ranks with
// batch B each it computes what BatchNorm computes on one rank with the 2B samples,
// gradients included; parameters and running statistics are those of BatchNorm.
//
//   auto bn = std::make_shared<contrib::nn::SyncBatchNorm>();   // hgc::dist::world()
//   net->add(conv, bn, act);   // under `hgc launch -n 2` / mpirun, with kvstore "dist_sync"
//
// Per training call it runs three small allreduces (sample count, per-channel sum, sum of
// squared deviations) and two more in backward; every rank must call it alike, as any
// collective. Predict mode, use_global_stats and a world of one rank are BatchNorm exactly.
// A compiled graph cannot hold a collective: a hybridized block containing a SyncBatchNorm
// runs that mode imperatively, its hybridized children compiled on their own
// (HGC_LOG=compile says so); export and symbols record MXNet's BatchNorm op.
//
// num_devices (MXNet's argument: devices in one process) is accepted; when positive it must
// equal the communicator's number of ranks, one device per rank as with Horovod.
#pragma once
#include <memory>

#include "hgc/frontend/gluon/nn/norm_layers.h"

namespace hgc::dist {
class Communicator;
}

namespace hgc::gluon::contrib::nn {

class SyncBatchNorm : public gluon::nn::BatchNorm {
 public:
  explicit SyncBatchNorm(gluon::nn::NormOptions opts = gluon::nn::BatchNormOptions(), int num_devices = 0,
                         BlockArgs args = {});
  NDArray hybrid_forward(const NDArray& x) override;
  std::string repr() const override;
  // The ranks to reduce over (default: hgc::dist::world(), taken at the first training call).
  void set_communicator(std::shared_ptr<dist::Communicator> comm) { comm_ = std::move(comm); }
  std::shared_ptr<dist::Communicator> communicator();

 private:
  NDArray sync_forward(const NDArray& x, dist::Communicator& comm);
  int num_devices_;
  std::shared_ptr<dist::Communicator> comm_;
};

}  // namespace hgc::gluon::contrib::nn
