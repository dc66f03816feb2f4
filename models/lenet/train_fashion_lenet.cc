// The seed book's LeNet (optionally with BatchNorm) trained hybridized on the real
// Fashion-MNIST, then exported as MXNet files.
//
//   ./build/models/hgc_train_fashion_lenet [epochs] [plain|bn] [export-prefix] [--dist]
//
// --dist: data-parallel over the ranks of `hgc launch -n N` or `mpirun -np N` (kvstore
// dist_sync, batch 64 per rank); rank 0 reports test accuracy and exports. BatchNorm keeps
// per-rank batch statistics (as MXNet and Horovod); the running statistics stay rank 0's.
#include <cstdio>
#include <cstring>
#include <iostream>

#include "hgc/dist/communicator.h"

#include "common/cli.h"
#include "fashion/train.h"
#include "lenet/lenet.h"

using namespace hgc;
using namespace hgc::gluon;

int main(int argc, char** argv) try {
  if (models::wants_help(argc, argv, "[epochs] [plain|bn] [export-prefix] [--dist]")) return 0;
  std::vector<std::string> args;
  bool distributed = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--dist")) distributed = true;
    else args.push_back(argv[i]);
  }
  if (args.size() > 3) fail("cli", "unexpected argument '", args[3], "'");
  int epochs = args.size() > 0 ? models::positive_int_arg(args[0], "epochs") : 5;
  std::string variant = args.size() > 1 ? args[1] : "plain";
  std::string prefix = args.size() > 2 ? args[2] : "";
  int rank = 0;
  if (distributed) {
    auto comm = dist::world();
    rank = comm->rank();
    std::printf("rank %d of %d (%s backend): data-parallel, batch 64 per rank\n", rank, comm->size(),
                comm->backend().c_str());
  }
  if (variant != "plain" && variant != "bn") throw Error("train_fashion_lenet", "variant must be plain or bn, not '" + variant + "'");
  auto data = models::load_fashion_mnist();
  if (!data) {
    std::cerr << "Fashion-MNIST is not installed (" << models::kFashionMnistDir << "); scripts/setup.sh installs it\n";
    return 1;
  }
  nd::random::seed(1);
  auto net = models::lenet(variant == "bn");
  net->initialize(init::Xavier());
  net->hybridize();
  if (rank == 0) std::cout << *net << "\n";
  models::FashionTrainOptions o;
  o.epochs = epochs;
  o.image_shape = true;
  if (distributed) o.kvstore = "dist_sync";
  models::train_fashion(*net, *data, o, [&](const models::EpochStats& s) {
    if (rank == 0)
      std::printf("epoch %d: loss %.4f, train accuracy %.4f, test accuracy %.4f, %.1f s (%.0f images/s)\n", s.epoch,
                  s.train_loss, s.train_accuracy, s.test_accuracy, s.seconds, s.images_per_second);
    else
      std::printf("epoch %d: loss %.4f, train accuracy %.4f, %.1f s (%.0f images/s)\n", s.epoch, s.train_loss,
                  s.train_accuracy, s.seconds, s.images_per_second);
    if (distributed)
      std::printf("  rank %d: waited %.3f s for gradient allreduce (%.1f%% of the epoch)\n", rank,
                  s.exposed_comm_seconds, 100 * s.exposed_comm_seconds / s.seconds);
    std::fflush(stdout);
  });
  if (!prefix.empty() && rank == 0) {
    net->export_model(prefix, epochs);
    std::printf("exported %s-symbol.json and %s-%04d.params (MXNet format)\n", prefix.c_str(), prefix.c_str(), epochs);
  }
  return 0;
} catch (const hgc::Error& e) {
  std::cerr << "error: " << e.what() << "\n";
  return 1;
}
