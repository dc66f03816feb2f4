// Chapter "Distributed training with multiple machines": the kvstore's push/pull (every
// worker pushes its value, a pull gets the sum), then Gluon training with kvstore
// "dist_sync", each worker on its part of the data (MXNet's SplitSampler; here
// DataLoaderOptions::shard). Run as the ranks of one job:
//   hgc launch -n 2 -- hgc_book_distributed --quick
// (the book started workers with tools/launch.py; hgc launch starts local ranks, mpirun or a
// scheduler many machines). Started alone it is a world of one rank and the claims still hold.
// The points checked: the pull is the sum over the workers; after training every worker holds
// the same parameters; N workers with batch B step as one process with batch N * B.
#include "book.h"
#include "hgc/dist/communicator.h"

namespace {
using namespace hgc;
using namespace hgc::gluon;

std::shared_ptr<nn::HybridSequential> mlp(uint64_t seed) {
  nd::random::seed(seed);
  auto net = std::make_shared<nn::HybridSequential>();
  net->add(std::make_shared<nn::Dense>(nn::DenseOptions(128).activation("relu")));
  net->add(std::make_shared<nn::Dense>(nn::DenseOptions(10)));
  net->initialize(init::Xavier());
  (*net)(nd::zeros({1, 784}));  // completes the deferred shapes: the same draw on every rank
  return net;
}

// A number that differs when any parameter value does (compared across the ranks).
double fingerprint(nn::HybridSequential& net) {
  double h = 0;
  for (auto& p : net.collect_params().values())
    for (float v : p->data().to_vector<float>()) h = h * 1.000001 + v;
  return h;
}
}  // namespace

int main(int argc, char** argv) {
  book::Chapter ch(argc, argv, "Distributed training with multiple machines (kvstore dist_sync)",
                   "the book: MNIST on several machines; here: Fashion-MNIST (dataset-fashion-mnist) on the ranks "
                   "of `hgc launch -n N` (alone: one rank)");
  if (ch.help) return 0;
  auto comm = dist::world();
  int rank = comm->rank(), n = comm->size();
  std::printf("  rank %d of %d (%s)\n", rank, n, comm->backend().c_str());

  // ---- kvstore push / pull: each worker pushes (rank + 1) * ones, the pull is the sum ----
  std::vector<float> pushed(6, static_cast<float>(rank + 1));
  comm->allreduce(pushed.data(), pushed.size(), DType::f32);
  float want = static_cast<float>(n * (n + 1) / 2);
  ch.claim(std::all_of(pushed.begin(), pushed.end(), [&](float v) { return v == want; }),
           "push (rank + 1) from each of ", n, " workers, pull: ", pushed[0], " everywhere (the sum)");

  if (!book::have_fashion()) return book::skip("Fashion-MNIST is not installed (dataset-fashion-mnist)");
  auto tr = book::fashion(true, ch.quick ? 4000 : 0), te = book::fashion(false, ch.quick ? 1000 : 0);
  auto ds = std::make_shared<data::ArrayDataset>(std::vector<NDArray>{tr.x, tr.y});
  const int64_t batch = 32;  // per worker
  std::map<std::string, double> hp{{"learning_rate", 0.1}, {"momentum", 0.9}};
  loss::SoftmaxCrossEntropyLoss ce;

  // ---- N workers x batch B == one process x batch N * B (10 steps, same start) ----
  auto run_steps = [&](nn::HybridSequential& net, Trainer& trainer, data::DataLoader& loader, int64_t b, int steps) {
    for (const auto& bt : loader) {
      if (steps-- == 0) break;
      NDArray l;
      {
        auto rec = autograd::record();
        l = ce(net(bt[0]), bt[1]);
      }
      l.backward();
      trainer.step(static_cast<double>(b));
    }
  };
  auto dist_net = mlp(ch.seed), one_net = mlp(ch.seed);
  Trainer dist_trainer(dist_net->collect_params(), "sgd", hp, nullptr, "dist_sync");
  Trainer one_trainer(one_net->collect_params(), "sgd", hp);
  data::DataLoader part(ds, data::DataLoaderOptions(batch).shuffle(true).seed(ch.seed).shard(n, rank));
  data::DataLoader whole(ds, data::DataLoaderOptions(batch * n).shuffle(true).seed(ch.seed));
  run_steps(*dist_net, dist_trainer, part, batch, 10);
  run_steps(*one_net, one_trainer, whole, batch * n, 10);
  double diff = 0;
  auto dp = dist_net->collect_params().values(), op = one_net->collect_params().values();
  for (size_t i = 0; i < dp.size(); ++i) diff = std::max(diff, nd::max(nd::abs(dp[i]->data() - op[i]->data())).asscalar<double>());
  ch.claim(diff < 1e-4, "10 steps of ", n, " workers x batch ", batch, " give the weights of one process x batch ",
           batch * n, " (max difference ", diff, ")");

  // ---- training: each worker its shard of every epoch, gradients summed by dist_sync ----
  auto net = mlp(ch.seed + 1);
  Trainer trainer(net->collect_params(), "sgd", hp, nullptr, "dist_sync");
  data::DataLoader loader(ds, data::DataLoaderOptions(batch).shuffle(true).seed(ch.seed).last_batch("discard").shard(n, rank));
  auto losses = book::fit(*net, loader, ce, trainer, ch.budget(3, 5));
  ch.claim(losses.back() < 0.7 * losses.front(), "the loss falls: ", losses.front(), " -> ", losses.back());
  double mine = fingerprint(*net);
  std::vector<double> all(n);
  comm->allgather(&mine, all.data(), sizeof mine);
  ch.claim(std::all_of(all.begin(), all.end(), [&](double v) { return v == all[0]; }),
           "after training all ", n, " workers hold the same parameters");
  double acc = book::accuracy(*net, te.x, te.y);
  ch.claim(acc > 0.7, "test accuracy ", acc, " (bar 0.7)");
  return ch.finish();
}
