// One training loop for the Fashion-MNIST models (the MLP and LeNet): epochs of
// record/backward/step over shuffled batches, test accuracy after each epoch, timing.
//
//   models::FashionTrainOptions o;  o.epochs = 10;  o.image_shape = true;   // NCHW for CNNs
//   auto curve = models::train_fashion(*net, *data, o);
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "mlp/fashion_mlp.h"

namespace hgc::models {

struct FashionTrainOptions {
  int epochs = 10;
  int64_t batch = 64;
  std::string optimizer = "adam";
  double learning_rate = 1e-3, momentum = 0.9;  // momentum: sgd only
  bool cosine = true;          // cosine decay of the rate to 5% of it over all the epochs
  bool image_shape = false;    // feed (N, 1, 28, 28) instead of (N, 784)
  int64_t max_train = 0;       // > 0: only the first max_train training images (tests)
  uint64_t shuffle_seed = 3;
  bool progress = true;        // a progress bar per epoch
  // "dist_sync": data-parallel over hgc::dist::world() — each rank trains on its shard of
  // every epoch (batch = this rank's batch; the global batch is batch * ranks), gradients
  // averaged over the global batch; only rank 0 measures test accuracy (the model is the same
  // on every rank). "device": this process alone.
  std::string kvstore = "device";
};

struct EpochStats {
  int epoch = 0;
  // dist_sync: train_loss / train_accuracy are over all ranks' sampled batches,
  // images_per_second counts every rank's images, test_accuracy is -1 except on rank 0.
  double train_loss = 0, train_accuracy = 0, test_accuracy = 0, seconds = 0, images_per_second = 0;
  int rank = 0, num_workers = 1;
  double exposed_comm_seconds = 0;  // dist_sync: the steps' wait for gradient allreduce
};

// Trains `net` (initialized) in place; `on_epoch` sees each epoch's figures as they come.
std::vector<EpochStats> train_fashion(gluon::HybridBlock& net, const FashionMnist& data, const FashionTrainOptions& o,
                                      const std::function<void(const EpochStats&)>& on_epoch = {});

// Accuracy of `net` on (x, y) in predict mode, in batches of 1000.
double fashion_accuracy(gluon::Block& net, const NDArray& x, const NDArray& y, bool image_shape);

}  // namespace hgc::models
