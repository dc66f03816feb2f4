#include "fashion/train.h"

#include <chrono>
#include <optional>

#include "hgc/base/log.h"
#include "hgc/dist/communicator.h"

namespace hgc::models {

using namespace gluon;

namespace {
NDArray as_input(const NDArray& x, bool image_shape) { return image_shape ? x.reshape({-1, 1, 28, 28}) : x; }
}  // namespace

double fashion_accuracy(Block& net, const NDArray& x, const NDArray& y, bool image_shape) {
  metric::Accuracy acc;
  data::DataLoader loader(std::make_shared<data::ArrayDataset>(std::vector<NDArray>{x, y}), data::DataLoaderOptions(1000));
  for (const auto& b : loader) acc.update(b[1], net(as_input(b[0], image_shape)));
  return acc.get().second;
}

std::vector<EpochStats> train_fashion(HybridBlock& net, const FashionMnist& data, const FashionTrainOptions& o,
                                      const std::function<void(const EpochStats&)>& on_epoch) {
  NDArray x = data.train_x, y = data.train_y;
  if (o.max_train > 0 && o.max_train < x.shape()[0]) {
    x = x.slice(0, o.max_train);
    y = y.slice(0, o.max_train);
  }
  loss::SoftmaxCrossEntropyLoss ce;
  // A hybridized net gets a hybridized loss too (Gluon's idiom; the PyTorch peer's jit mode
  // traces net and loss together): one compiled graph instead of ~10 imperative ops a step.
  if (net.hybridized()) ce.hybridize();
  std::map<std::string, double> hp{{"learning_rate", o.learning_rate}};
  if (o.optimizer == "sgd" || o.optimizer == "nag") hp["momentum"] = o.momentum;
  // dist_sync: this rank's shard of every epoch.
  int rank = 0, workers = 1;
  if (o.kvstore != "device" && o.kvstore != "local") {
    auto comm = dist::world();
    rank = comm->rank();
    workers = comm->size();
  }
  data::DataLoader loader(std::make_shared<data::ArrayDataset>(std::vector<NDArray>{x, y}),
                          data::DataLoaderOptions(o.batch).shuffle(true).seed(o.shuffle_seed).last_batch("discard").shard(
                              workers, rank));
  std::shared_ptr<lr_scheduler::LRScheduler> schedule;
  if (o.cosine)
    schedule = std::make_shared<lr_scheduler::CosineScheduler>(
        static_cast<int64_t>(loader.num_batches()) * o.epochs,
        lr_scheduler::CosineOptions().final_lr(0.05 * o.learning_rate).base_lr(o.learning_rate));
  Trainer trainer(net.collect_params(), o.optimizer, hp, schedule, o.kvstore);
  std::vector<EpochStats> curve;
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    auto t0 = std::chrono::steady_clock::now();
    if (log_enabled("time")) log_line("epoch " + std::to_string(epoch) + " starts");
    metric::Accuracy train_acc;
    double loss_sum = 0;
    int64_t steps = 0;
    std::optional<utils::ProgressBar> bar;
    double exposed0 = trainer.comm_stats().exposed_seconds;
    if (o.progress && workers == 1)
      bar.emplace(static_cast<int64_t>(loader.num_batches()),
                  utils::ProgressOptions().desc("epoch " + std::to_string(epoch) + "/" + std::to_string(o.epochs)).lines(4));
    for (const auto& b : loader) {
      NDArray out, l;
      {
        auto r = autograd::record();
        out = net(as_input(b[0], o.image_shape));
        l = ce(out, b[1]);
      }
      l.backward();
      trainer.step(o.batch);
      if (steps < 2 && log_enabled("time")) log_line("step " + std::to_string(steps) + " done");
      // Reading values waits for nothing extra here (execution is synchronous) but costs a
      // reduction per step, so the running figures sample every 20th batch.
      if (steps++ % 20 == 0) {
        loss_sum += nd::mean(l).asscalar();
        train_acc.update(b[1], out);
        if (bar) bar->set_postfix({{"loss", loss_sum / static_cast<double>((steps + 19) / 20)}, {"acc", train_acc.get().second}});
      }
      if (bar) bar->update(1, o.batch);
    }
    if (bar) bar->close();
    EpochStats s;
    s.epoch = epoch;
    s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    s.images_per_second = static_cast<double>(steps * o.batch * workers) / s.seconds;
    s.rank = rank;
    s.num_workers = workers;
    s.exposed_comm_seconds = trainer.comm_stats().exposed_seconds - exposed0;
    double samples = static_cast<double>((steps + 19) / 20);
    if (workers > 1) {
      // Global figures: every rank's sampled loss and accuracy, summed.
      std::vector<double> sums = {loss_sum, samples};
      auto comm = dist::world();
      comm->allreduce(sums);
      loss_sum = sums[0];
      samples = sums[1];
      metric::allreduce(train_acc, *comm);
      s.train_accuracy = train_acc.get().second;
    } else {
      s.train_accuracy = train_acc.get().second;
    }
    s.train_loss = loss_sum / samples;
    s.test_accuracy = rank == 0 ? fashion_accuracy(net, data.test_x, data.test_y, o.image_shape) : -1;
    curve.push_back(s);
    if (on_epoch) on_epoch(s);
  }
  return curve;
}

}  // namespace hgc::models
