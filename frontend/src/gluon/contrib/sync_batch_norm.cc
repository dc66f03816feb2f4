// contrib SyncBatchNorm. The statistics are reduced with a differentiable allreduce
// (AllreduceSum below: forward sums a value over the ranks, backward sums its gradient), so
// autograd derives the synchronized backward from the same ops BatchNorm's training forward
// uses: mean = allreduce(sum x) / n, var = allreduce(sum (x - mean)^2) / n (two passes, as
// accurate as BatchNorm's on the whole batch).
#include "hgc/frontend/gluon/contrib/sync_batch_norm.h"

#include "gluon/collective_order.h"
#include "gluon/trace_refusal.h"
#include "hgc/base/error.h"
#include "hgc/dist/communicator.h"
#include "hgc/frontend/autograd/autograd.h"
#include "hgc/frontend/autograd/function.h"
#include "hgc/frontend/nd/array_ops.h"
#include <utility>
#include "nd/detail.h"
#include "symbol/trace.h"

namespace hgc::gluon {

namespace detail {
namespace {
thread_local std::string t_refusal;
}
void refuse_trace(const std::string& block, const std::string& why) {
  t_refusal = block + ": " + why;
  fail("gluon", "block '", block, "' cannot be compiled in this mode: ", why);
}
std::string take_trace_refusal() { return std::exchange(t_refusal, std::string()); }
}  // namespace detail

namespace contrib::nn {
namespace {

// A sum over the ranks that autograd can pass through: every rank's output is the same
// sum, so each input's gradient is the sum of the output gradients of all ranks.
class AllreduceSum : public autograd::Function {
 public:
  explicit AllreduceSum(std::shared_ptr<dist::Communicator> comm) : comm_(std::move(comm)) {}
  std::vector<NDArray> forward(const std::vector<NDArray>& in) override { return {reduce(in[0])}; }
  std::vector<NDArray> backward(const std::vector<NDArray>& dy) override { return {reduce(dy[0])}; }
  std::string name() const override { return "SyncBatchNorm allreduce"; }

 private:
  NDArray reduce(const NDArray& x) {
    Context ctx = x.context();
    NDArray h = x.copyto(Context()).copy();  // a contiguous host buffer of its own
    detail::drain_comm_queues();  // after any gradient bucket already on its way (backward)
    comm_->allreduce(h.data_ptr(), static_cast<size_t>(h.size()), h.dtype());
    return ctx == Context() ? h : h.copyto(ctx);
  }
  std::shared_ptr<dist::Communicator> comm_;
};

NDArray allreduce_sum(const std::shared_ptr<dist::Communicator>& comm, const NDArray& x) {
  return (*std::make_shared<AllreduceSum>(comm))(x);
}

}  // namespace

SyncBatchNorm::SyncBatchNorm(gluon::nn::NormOptions opts, int num_devices, BlockArgs args)
    : BatchNorm("syncbatchnorm", opts, std::move(args)), num_devices_(num_devices) {
  if (num_devices < 0) fail("gluon", "SyncBatchNorm: num_devices must be positive (or 0: the communicator's ranks)");
}

std::shared_ptr<dist::Communicator> SyncBatchNorm::communicator() {
  if (!comm_) comm_ = dist::world();
  return comm_;
}

NDArray SyncBatchNorm::hybrid_forward(const NDArray& x) {
  const gluon::nn::NormOptions& o = options();
  if (!is_training() || o.use_global_stats_) return BatchNorm::hybrid_forward(x);
  std::shared_ptr<dist::Communicator> comm = communicator();
  if (num_devices_ > 0 && num_devices_ != comm->size())
    fail("gluon", "block '", name(), "': SyncBatchNorm num_devices=", num_devices_, " but the communicator (",
         comm->backend(), ") has ", comm->size(), " ranks; hgc synchronizes one device per rank");
  if (comm->size() == 1) return BatchNorm::hybrid_forward(x);
  if (x.is_symbolic()) {
    // Export, symbols and shape inference record MXNet's BatchNorm op; a compiled training
    // graph cannot hold the collectives.
    if (!x.symbolic_value()->graph->for_compile) return BatchNorm::hybrid_forward(x);
    detail::refuse_trace(name(), "SyncBatchNorm reduces its batch statistics over " + std::to_string(comm->size()) +
                                     " ranks in training mode (a collective)");
  }
  return sync_forward(x, *comm);
}

NDArray SyncBatchNorm::sync_forward(const NDArray& x, dist::Communicator& comm) {
  const gluon::nn::NormOptions& o = options();
  int ax = nd_detail::normalize_axis(o.axis_, x.ndim(), "SyncBatchNorm axis");
  std::vector<int64_t> red, bshape(x.ndim(), 1);
  for (int i = 0; i < x.ndim(); ++i)
    if (i != ax) red.push_back(i);
  int64_t channels = x.shape()[ax];
  bshape[ax] = channels;
  // Ranks may hold different batch sizes: the total count is reduced too.
  std::vector<int64_t> count{channels == 0 ? 0 : x.size() / channels};
  detail::drain_comm_queues();
  comm.allreduce(count);
  if (count[0] == 0) fail("gluon", "block '", name(), "': SyncBatchNorm on an empty batch on every rank");
  double n = static_cast<double>(count[0]);
  std::shared_ptr<dist::Communicator> c = communicator();
  NDArray mean = allreduce_sum(c, nd::sum(x, red, true)) / n;
  NDArray centered = x - mean;
  NDArray var = allreduce_sum(c, nd::sum(nd::square(centered), red, true)) / n;
  NDArray y = centered / nd::sqrt(var + o.epsilon_);
  if (o.scale_) y = y * gamma->data().reshape(bshape);
  y = y + beta->data().reshape(bshape);
  double m = o.momentum_;
  autograd::Scope paused(false, true);
  for (auto [p, batch] : {std::pair{running_mean, mean}, std::pair{running_var, var}})
    p->data().assign(p->data() * m + batch.detach().reshape({-1}) * (1 - m));
  return y;
}

std::string SyncBatchNorm::repr() const {
  std::string r = BatchNorm::repr();
  r.replace(0, std::string("BatchNorm").size(), "SyncBatchNorm");
  if (num_devices_ > 0) r.insert(r.size() - 1, ", num_devices=" + std::to_string(num_devices_));
  return r;
}

}  // namespace contrib::nn
}  // namespace hgc::gluon
