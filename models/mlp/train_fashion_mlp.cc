// The demo: the seed book's MLP shape (784 -> 256 -> 128 -> 10, relu) trained on the real
// Fashion-MNIST (Debian's dataset-fashion-mnist) with hgc's Gluon-style API. One epoch runs
// imperatively (every op through the tape) to measure that speed, then a fresh network with
// the same seed trains hybridized (one compiled forward and one compiled gradient graph per
// step). Prints test accuracy per epoch, images/s of both modes, the compiled graphs' memory
// with and without planning, writes the curve as a table (scripts/demo.sh plots it with
// gnuplot) and exports the model as MXNet files.
//
//   ./build/models/hgc_train_fashion_mlp [epochs] [output-dir] [--dist]
//
// --dist: data-parallel over the ranks of `hgc launch -n N` or `mpirun -np N` (kvstore
// dist_sync): each rank trains on its shard with batch 64 (global batch 64 N); rank 0
// measures test accuracy and writes the files.
#include <sys/resource.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "common/cli.h"
#include "fashion/train.h"
#include "hgc/dist/communicator.h"
#include "hgc/frontend/symbol/symbol.h"
#include "hgc/ir/infer.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {

std::shared_ptr<nn::HybridSequential> fresh_net() {
  nd::random::seed(1);
  auto net = models::fashion_mlp();
  net->initialize(init::Xavier());
  return net;
}

double kib(int64_t b) { return static_cast<double>(b) / 1024.0; }

}  // namespace

int main(int argc, char** argv) try {
  if (models::wants_help(argc, argv, "[epochs] [output-dir] [--dist]")) return 0;
  std::vector<std::string> args;
  bool distributed = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--dist")) distributed = true;
    else args.push_back(argv[i]);
  }
  if (args.size() > 2) fail("cli", "unexpected argument '", args[2], "'");
  int epochs = args.size() > 0 ? models::positive_int_arg(args[0], "epochs") : 10;
  std::string out = args.size() > 1 ? args[1] : "fashion_mlp_out";
  int rank = 0, workers = 1;
  if (distributed) {
    auto comm = dist::world();
    rank = comm->rank();
    workers = comm->size();
    std::printf("rank %d of %d (%s backend): data-parallel, batch 64 per rank, global batch %d\n", rank, workers,
                comm->backend().c_str(), 64 * workers);
  }
  const bool lead = rank == 0;
  auto data = models::load_fashion_mnist();
  if (!data) {
    std::cerr << "Fashion-MNIST is not installed (" << models::kFashionMnistDir << "); scripts/setup.sh installs it\n";
    return 1;
  }
  if (lead) std::filesystem::create_directories(out);
  std::printf("Fashion-MNIST (%s): %lld training and %lld test images\n", models::kFashionMnistDir.c_str(),
              static_cast<long long>(data->train_x.shape()[0]), static_cast<long long>(data->test_x.shape()[0]));

  models::FashionTrainOptions o;
  o.epochs = 1;
  if (distributed) o.kvstore = "dist_sync";
  auto imperative_net = fresh_net();
  std::cout << "\n-- one epoch imperatively (every op taped and run one by one)\n";
  if (lead) std::cout << *imperative_net << "\n";
  auto imp = models::train_fashion(*imperative_net, *data, o).back();
  if (lead) std::printf("imperative: test accuracy %.4f, %.0f images/s\n", imp.test_accuracy, imp.images_per_second);
  else std::printf("imperative: %.0f images/s (all ranks)\n", imp.images_per_second);

  std::printf("\n-- %d epochs hybridized (Adam, lr %g, batch %lld)\n", epochs, o.learning_rate, static_cast<long long>(o.batch));
  auto net = fresh_net();
  net->hybridize();
  o.epochs = epochs;
  std::ofstream curve;
  if (lead) curve.open(out + "/curve.tsv");
  curve << "# epoch\ttrain_loss\ttrain_accuracy\ttest_accuracy\tseconds\timages_per_second\n";
  auto stats = models::train_fashion(*net, *data, o, [&](const models::EpochStats& s) {
    if (lead)
      std::printf("epoch %2d/%d: loss %.4f, train accuracy %.4f, test accuracy %.4f, %.2f s (%.0f images/s)\n", s.epoch,
                  epochs, s.train_loss, s.train_accuracy, s.test_accuracy, s.seconds, s.images_per_second);
    else
      std::printf("epoch %2d/%d: loss %.4f, train accuracy %.4f, %.2f s (%.0f images/s)\n", s.epoch, epochs,
                  s.train_loss, s.train_accuracy, s.seconds, s.images_per_second);
    if (distributed)
      std::printf("  rank %d: waited %.3f s for gradient allreduce (%.1f%% of the epoch)\n", rank,
                  s.exposed_comm_seconds, 100 * s.exposed_comm_seconds / s.seconds);
    std::fflush(stdout);
    curve << s.epoch << "\t" << s.train_loss << "\t" << s.train_accuracy << "\t" << s.test_accuracy << "\t" << s.seconds
          << "\t" << s.images_per_second << "\n";
  });
  curve.close();
  double best_hybrid = 0;
  for (const auto& s : stats) best_hybrid = std::max(best_hybrid, s.images_per_second);
  if (!lead) {
    std::printf("\nrank %d done (rank 0 reports the test accuracy and writes the files)\n", rank);
    return 0;
  }
  std::printf("\ntest accuracy after %d epochs: %.4f\n", epochs, stats.back().test_accuracy);
  std::printf("training speed: imperative %.0f images/s, hybridized %.0f images/s (%.2fx)\n", imp.images_per_second,
              best_hybrid, best_hybrid / imp.images_per_second);

  // The compiled forward at the training batch, as `hgc dump --explain` reports it.
  Graph g = (*net)(sym::var("data")).graph();
  InferOptions io;
  io.shapes["data"] = Shape{o.batch, 784};
  infer(g, io);
  auto e = explain(g);
  std::printf("memory of the compiled forward (batch %lld): %.1f KiB unfused and unplanned, %.1f KiB fused, %.1f KiB "
              "planned (arena reuse)\n",
              static_cast<long long>(o.batch), kib(e.unfused_naive_arena_bytes), kib(e.naive_arena_bytes),
              kib(e.planned_arena_bytes));
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("peak resident memory of this process: %.1f MiB (the dataset is 215 MiB as float32)\n", ru.ru_maxrss / 1024.0);

  net->export_model(out + "/fashion_mlp", epochs);
  std::printf("\nexported %s/fashion_mlp-symbol.json and %s/fashion_mlp-%04d.params (MXNet format)\n", out.c_str(),
              out.c_str(), epochs);
  std::printf("curve table: %s/curve.tsv\n", out.c_str());
  return 0;
} catch (const hgc::Error& e) {
  std::cerr << "error: " << e.what() << "\n";
  return 1;
}
