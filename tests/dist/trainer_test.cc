// gluon::Trainer with kvstore "dist_sync" on 2 ranks of this binary, gloo and mpi:
// 2 ranks x batch B == 1 rank x batch 2B over the same samples (SGD with momentum and Adam,
// imperative and hybridized, 20 steps, 1e-5; also with each rank's batch split over two
// contexts and step() as allreduce_grads() + update()), rank 0's values everywhere after a
// deferred initialization, a named error for models that differ, metrics summed over the ranks.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>

#include "dist/dist_util.h"
#include "hgc/base/error.h"
#include "hgc/dist/communicator.h"
#include "hgc/hgc.h"

using namespace hgc;
using namespace hgc::gluon;
using namespace hgc::test;

namespace {

constexpr int64_t kB = 8, kSteps = 20, kFeatures = 12, kClasses = 4;

// Dense(16, relu) -> Dense(kClasses), input width deferred to the first forward.
std::shared_ptr<nn::HybridSequential> small_mlp(uint64_t seed, int64_t hidden = 16) {
  nd::random::seed(seed);
  auto net = std::make_shared<nn::HybridSequential>();
  net->emplace<nn::Dense>(nn::DenseOptions(hidden).activation("relu"));
  net->emplace<nn::Dense>(nn::DenseOptions(kClasses));
  net->initialize(init::Xavier());
  return net;
}

// A fixed synthetic classification set, identical on every rank.
std::shared_ptr<data::ArrayDataset> samples() {
  int64_t n = 2 * kB * kSteps;
  std::vector<float> x(n * kFeatures), y(n);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < kFeatures; ++j) x[i * kFeatures + j] = std::sin(0.37f * i + 1.3f * j) + 0.1f * (j % 3);
    y[i] = static_cast<float>((i * 7 + i / 3) % kClasses);
  }
  return std::make_shared<data::ArrayDataset>(
      std::vector<NDArray>{nd::array(x, {n, kFeatures}), nd::array(y, {n})});
}

// Trains `net` for kSteps on `loader`; returns the parameters' values afterwards.
std::vector<std::vector<float>> train(nn::HybridSequential& net, data::DataLoader& loader, Trainer& trainer,
                                      int64_t batch) {
  loss::SoftmaxCrossEntropyLoss ce;
  int64_t steps = 0;
  for (const auto& b : loader) {
    NDArray l;
    {
      auto r = autograd::record();
      l = ce(net(b[0]), b[1]);
    }
    l.backward();
    trainer.step(static_cast<double>(batch));
    if (++steps == kSteps) break;
  }
  REQUIRE(steps == kSteps);
  std::vector<std::vector<float>> out;
  for (auto& p : net.collect_params().values()) out.push_back(p->data().to_vector<float>());
  return out;
}

double max_diff(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    REQUIRE(a[i].size() == b[i].size());
    for (size_t k = 0; k < a[i].size(); ++k) worst = std::max(worst, double(std::abs(a[i][k] - b[i][k])));
  }
  return worst;
}

}  // namespace

TEST_CASE("dist worker: trainer equivalence" * doctest::skip()) {
  auto comm = dist::world();
  REQUIRE(comm->size() == 2);
  auto ds = samples();
  struct Case {
    std::string opt;
    std::map<std::string, double> hp;
    bool hybrid;
  };
  std::vector<Case> cases = {{"sgd", {{"learning_rate", 0.1}, {"momentum", 0.9}}, false},
                             {"sgd", {{"learning_rate", 0.1}, {"momentum", 0.9}}, true},
                             {"adam", {{"learning_rate", 0.01}}, false},
                             {"adam", {{"learning_rate", 0.01}}, true}};
  for (const auto& c : cases) {
    INFO(c.opt, c.hybrid ? " hybridized" : " imperative", " on rank ", comm->rank());
    auto net = small_mlp(7);
    if (c.hybrid) net->hybridize();
    Trainer trainer(net->collect_params(), c.opt, c.hp, nullptr, "dist_sync");
    CHECK(trainer.num_workers() == 2);
    // Small buckets: several allreduces per step, overlapped with the updates.
    trainer.set_kvstore_options(KVStoreOptions().bucket_bytes(256));
    data::DataLoader shard(ds, data::DataLoaderOptions(kB).shuffle(true).seed(11).shard(2, comm->rank()));
    auto got = train(*net, shard, trainer, kB);
    CHECK(trainer.comm_stats().buckets > 1);
    // From the second step on, buckets left during backward (imperative: per parameter;
    // hybridized: when the compiled gradient graph has written them).
    CHECK(trainer.comm_stats().started_in_backward >= (kSteps - 1) * int64_t(trainer.comm_stats().buckets));

    auto ref_net = small_mlp(7);
    if (c.hybrid) ref_net->hybridize();
    Trainer ref_trainer(ref_net->collect_params(), c.opt, c.hp);
    data::DataLoader whole(ds, data::DataLoaderOptions(2 * kB).shuffle(true).seed(11));
    auto want = train(*ref_net, whole, ref_trainer, 2 * kB);
    double d = max_diff(got, want);
    CHECK_MESSAGE(d <= 1e-5, "2 ranks x ", kB, " vs 1 rank x ", 2 * kB, ": max |diff| ", d);
    std::printf("rank %d: %s %s: max |2x%lld - 1x%lld| = %.3g\n", comm->rank(), c.opt.c_str(),
                c.hybrid ? "hybridized" : "imperative", static_cast<long long>(kB), static_cast<long long>(2 * kB), d);
  }
}

// Buckets start during backward, so a gradient changed before step() would be lost: it is an
// error naming the parameter; allreduce_grads() + change + update() and start_in_backward(false)
// are the ways to modify gradients (both equal one process with the same change).
TEST_CASE("dist worker: gradients changed after backward" * doctest::skip()) {
  auto comm = dist::world();
  auto ds = samples();
  loss::SoftmaxCrossEntropyLoss ce;
  auto one_step = [&](nn::HybridSequential& net, Trainer& t, int mode) {
    data::DataLoader shard(ds, data::DataLoaderOptions(kB).shard(2, comm->rank()));
    for (const auto& b : shard) {
      NDArray l;
      {
        auto r = autograd::record();
        l = ce(net(b[0]), b[1]);
      }
      l.backward();
      if (mode == 1) t.allreduce_grads();
      for (auto& p : net.collect_params().values()) p->grad() *= 0.5;  // "clipping"
      if (mode == 1) t.update(kB);
      else t.step(kB);
    }
  };
  auto net = small_mlp(7);
  Trainer t(net->collect_params(), "sgd", {{"learning_rate", 0.1}}, nullptr, "dist_sync");
  // The first step lays the buckets out (nothing started in backward yet): no error.
  data::DataLoader shard(ds, data::DataLoaderOptions(kB).shard(2, comm->rank()));
  NDArray l;
  {
    auto r = autograd::record();
    l = ce((*net)((*shard.begin())[0]), (*shard.begin())[1]);
  }
  l.backward();
  t.step(kB);
  CHECK_THROWS_WITH_AS(one_step(*net, t, 0), doctest::Contains("changed between backward and step()"), Error);
  std::printf("rank %d: a gradient changed after backward is named\n", comm->rank());

  // Each net right after its seed: the deferred weights are drawn at its first forward.
  auto a = small_mlp(7);
  Trainer ta(a->collect_params(), "sgd", {{"learning_rate", 0.1}}, nullptr, "dist_sync", false);
  one_step(*a, ta, 1);
  auto b = small_mlp(7);
  Trainer tb(b->collect_params(), "sgd", {{"learning_rate", 0.1}}, nullptr, "dist_sync");
  tb.set_kvstore_options(KVStoreOptions().start_in_backward(false));
  one_step(*b, tb, 0);
  std::vector<std::vector<float>> va, vb;
  for (auto& p : a->collect_params().values()) va.push_back(p->data().to_vector<float>());
  for (auto& p : b->collect_params().values()) vb.push_back(p->data().to_vector<float>());
  CHECK(max_diff(va, vb) <= 1e-6);
  CHECK(tb.comm_stats().started_in_backward == 0);
  std::printf("rank %d: allreduce_grads + change + update == start_in_backward(false)\n", comm->rank());
}

TEST_CASE("dist worker: broadcast after deferred init" * doctest::skip()) {
  auto comm = dist::world();
  auto net = small_mlp(100 + comm->rank());  // each rank draws its own values
  Trainer trainer(net->collect_params(), "sgd", {{"learning_rate", 0.0}}, nullptr, "dist_sync");
  auto params = net->collect_params().values();
  int deferred = 0;
  for (auto& p : params) deferred += p->deferred();
  CHECK(deferred == 2);  // both weights wait for the first forward to know their shapes
  auto ds = samples();
  data::DataLoader loader(ds, data::DataLoaderOptions(kB).shard(2, comm->rank()));
  auto b = *loader.begin();
  loss::SoftmaxCrossEntropyLoss ce;
  NDArray l;
  {
    auto r = autograd::record();
    l = ce((*net)(b[0]), b[1]);
  }
  l.backward();
  std::vector<std::vector<float>> before;
  for (auto& p : params) before.push_back(p->data().to_vector<float>());
  trainer.step(kB);  // lr 0: the values stay rank 0's draw
  double mine = 0;
  for (auto& p : params)
    for (float v : p->data().to_vector<float>()) mine = mine * 1.000001 + v;
  std::vector<double> all(comm->size());
  comm->allgather(&mine, all.data(), sizeof mine);
  CHECK(all[0] == all[1]);
  double first = 0;
  for (auto& v : before)
    for (float x : v) first = first * 1.000001 + x;
  std::vector<double> firsts(comm->size());
  comm->allgather(&first, firsts.data(), sizeof first);
  CHECK(firsts[0] != firsts[1]);  // the ranks did start apart
  if (comm->rank() == 0) CHECK(mine == first);
  std::printf("rank %d: parameters equal to rank 0's after the first step\n", comm->rank());
}

// Each rank's batch split over two contexts (split_and_load), and step() in its two halves:
// allreduce_grads() sums over the contexts and the ranks, update() applies SGD with momentum;
// equals one process with one context and the whole global batch.
TEST_CASE("dist worker: contexts and the two halves" * doctest::skip()) {
  auto comm = dist::world();
  std::vector<Context> two{cpu(0), cpu(1)};
  auto ds = samples();
  NDArray probe = ds->get(0)[0].reshape({1, kFeatures});
  auto ref_net = small_mlp(7);
  (*ref_net)(probe);  // deferred shapes: drawn from seed 7 on every rank
  auto two_context_mlp = [&](uint64_t seed) {
    nd::random::seed(seed);
    auto n = std::make_shared<nn::HybridSequential>();
    n->emplace<nn::Dense>(nn::DenseOptions(16).activation("relu"));
    n->emplace<nn::Dense>(nn::DenseOptions(kClasses));
    n->initialize(init::Xavier(), two);
    (*n)(probe);  // deferred shapes: drawn on this rank
    return n;
  };
  auto net = two_context_mlp(200 + comm->rank());  // then the reference's values
  auto params = net->collect_params().values(), ref_params = ref_net->collect_params().values();
  for (size_t i = 0; i < params.size(); ++i) params[i]->set_data(ref_params[i]->data());
  std::map<std::string, double> hp{{"learning_rate", 0.1}, {"momentum", 0.9}};
  Trainer trainer(net->collect_params(), "sgd", hp, nullptr, "dist_sync");
  trainer.set_kvstore_options(KVStoreOptions().bucket_bytes(256));
  CHECK_THROWS_WITH_AS(trainer.update(kB), doctest::Contains("call allreduce_grads() first"), Error);
  loss::SoftmaxCrossEntropyLoss ce;
  data::DataLoader shard(ds, data::DataLoaderOptions(kB).shuffle(true).seed(11).shard(2, comm->rank()));
  int64_t steps = 0;
  for (const auto& b : shard) {
    auto xs = utils::split_and_load(b[0], two), ys = utils::split_and_load(b[1], two);
    std::vector<NDArray> ls;
    {
      auto r = autograd::record();
      for (size_t k = 0; k < two.size(); ++k) ls.push_back(ce((*net)(xs[k]), ys[k]));
    }
    for (auto& l : ls) l.backward();
    trainer.allreduce_grads();
    for (const auto& p : params) {  // every copy holds the global sum
      auto g = p->list_grad();
      CHECK(nd::max(nd::abs(g[1].copyto(cpu(0)) - g[0])).asscalar<float>() == 0);
    }
    trainer.update(kB);
    if (++steps == kSteps) break;
  }
  REQUIRE(steps == kSteps);
  std::vector<std::vector<float>> got, copies;
  for (const auto& p : params) {
    got.push_back(p->list_data()[0].to_vector<float>());
    copies.push_back(p->list_data()[1].to_vector<float>());
  }
  CHECK(max_diff(got, copies) == 0);
  Trainer ref_trainer(ref_net->collect_params(), "sgd", hp);
  data::DataLoader whole(ds, data::DataLoaderOptions(2 * kB).shuffle(true).seed(11));
  auto want = train(*ref_net, whole, ref_trainer, 2 * kB);
  double d = max_diff(got, want);
  CHECK_MESSAGE(d <= 1e-5, "2 ranks x 2 contexts x ", kB / 2, " vs 1 rank x ", 2 * kB, ": max |diff| ", d);
  // MXNet's rule: with update_on_kvstore the kvstore owns the update, the halves are refused.
  Trainer on_kv(net->collect_params(), "sgd", hp, nullptr, "dist_sync", true);
  CHECK_THROWS_WITH_AS(on_kv.allreduce_grads(), doctest::Contains("updated on kvstore 'dist_sync'"), Error);
  CHECK_THROWS_WITH_AS(on_kv.update(kB), doctest::Contains("updated on kvstore 'dist_sync'"), Error);
  // Rank 0's values reach every context's copy at the first step (lr 0: they stay).
  auto own = two_context_mlp(300 + comm->rank());
  Trainer still(own->collect_params(), "sgd", {{"learning_rate", 0.0}}, nullptr, "dist_sync");
  auto b = *shard.begin();
  auto xs = utils::split_and_load(b[0], two), ys = utils::split_and_load(b[1], two);
  for (size_t k = 0; k < two.size(); ++k) {
    NDArray l;
    {
      auto r = autograd::record();
      l = ce((*own)(xs[k]), ys[k]);
    }
    l.backward();
  }
  still.step(kB);
  double sums[2] = {0, 0};
  for (const auto& p : own->collect_params().values())
    for (int k = 0; k < 2; ++k)
      for (float v : p->list_data()[k].to_vector<float>()) sums[k] = sums[k] * 1.000001 + v;
  CHECK(sums[0] == sums[1]);
  std::vector<double> all(comm->size());
  comm->allgather(&sums[1], all.data(), sizeof(double));
  CHECK(all[0] == all[1]);
  std::printf("rank %d: 2 contexts x 2 ranks, allreduce_grads + update: max |diff| = %.3g\n", comm->rank(), d);
}

TEST_CASE("dist worker: mismatched models" * doctest::skip()) {
  auto comm = dist::world();
  auto net = small_mlp(3, comm->rank() == 1 ? 17 : 16);
  Trainer trainer(net->collect_params(), "sgd", {{"learning_rate", 0.1}}, nullptr, "dist_sync");
  auto ds = samples();
  data::DataLoader loader(ds, data::DataLoaderOptions(kB).shard(2, comm->rank()));
  auto b = *loader.begin();
  loss::SoftmaxCrossEntropyLoss ce;
  NDArray l;
  {
    auto r = autograd::record();
    l = ce((*net)(b[0]), b[1]);
  }
  l.backward();
  std::string msg;
  try {
    trainer.step(kB);
  } catch (const Error& e) {
    msg = e.what();
  }
  std::printf("rank %d: %s\n", comm->rank(), msg.c_str());
  CHECK(msg.find("[trainer] kvstore dist_sync: the ranks' models differ: parameter 0 is") != std::string::npos);
  CHECK(msg.find("_weight' shape (16, 12) float32 on rank 0 but") != std::string::npos);
  CHECK(msg.find("_weight' shape (17, 12) float32 on rank 1") != std::string::npos);
}

TEST_CASE("dist worker: metrics over ranks" * doctest::skip()) {
  auto comm = dist::world();
  metric::Accuracy acc;
  // Rank 0: 2 of 2 right; rank 1: 1 of 3 right -> 3 of 5 overall.
  if (comm->rank() == 0) acc.update(nd::array({0, 1}, {2}), nd::array({1, 0, 0, 1}, {2, 2}));
  else acc.update(nd::array({0, 0, 0}, {3}), nd::array({1, 0, 0, 1, 0, 1}, {3, 2}));
  metric::allreduce(acc, *comm);
  CHECK(acc.get().second == doctest::Approx(0.6));
  metric::F1 f1("micro");
  f1.update(nd::array({1, 0}, {2}), nd::array({0, 1, 1, 0}, {2, 2}));
  metric::allreduce(f1, *comm);
  CHECK(f1.num_inst() == 4);
  std::printf("rank %d: global accuracy %.2f\n", comm->rank(), acc.get().second);
}

TEST_CASE("dist: kvstore names and the shard sampler" * doctest::test_suite("dist_sample")) {
  auto net = small_mlp(1);
  CHECK(Trainer(net->collect_params(), "sgd", {}, nullptr, "local").kvstore() == "local");
  CHECK(Trainer(net->collect_params(), "sgd", {}, nullptr, "horovod").kvstore() == "dist_sync");
  CHECK_FALSE(Trainer(net->collect_params(), "sgd").distributed());
  CHECK_THROWS_WITH_AS(Trainer(net->collect_params(), "sgd", {}, nullptr, "dist_async"),
                       doctest::Contains("not supported"), Error);
  CHECK_THROWS_WITH_AS(Trainer(net->collect_params(), "sgd", {}, nullptr, "nccl"),
                       doctest::Contains("unknown kvstore 'nccl'"), Error);
  // dist_sync in a process of its own: a world of one, where it trains as "device" does.
  Trainer solo(net->collect_params(), "sgd", {}, nullptr, "dist_sync");
  CHECK(solo.num_workers() == 1);

  // Two shards of one epoch: disjoint, together batch k of the unsharded loader with 2x the batch.
  auto ds = samples();
  data::DataLoader a(ds, data::DataLoaderOptions(4).shuffle(true).seed(9).shard(2, 0));
  data::DataLoader b(ds, data::DataLoaderOptions(4).shuffle(true).seed(9).shard(2, 1));
  data::DataLoader whole(ds, data::DataLoaderOptions(8).shuffle(true).seed(9));
  CHECK(a.num_batches() == whole.num_batches());
  auto ia = a.begin(), ib = b.begin();
  for (const auto& w : whole) {
    std::vector<float> both = (*ia)[1].to_vector<float>(), lb = (*ib)[1].to_vector<float>();
    both.insert(both.end(), lb.begin(), lb.end());
    std::vector<float> want = w[1].to_vector<float>();
    std::sort(both.begin(), both.end());
    std::sort(want.begin(), want.end());
    CHECK(both == want);
    ++ia, ++ib;
  }
  CHECK_THROWS_WITH_AS(data::DataLoader(ds, data::DataLoaderOptions(4).shard(2, 2)), doctest::Contains("part_index 2"),
                       Error);
}

TEST_CASE("dist: Trainer dist_sync on 2 ranks (gloo) equals 1 rank with twice the batch" *
          doctest::test_suite("dist_sample")) {
  Shell r = launch_workers(2, "gloo", "dist worker: trainer equivalence,dist worker: broadcast after deferred init,"
                                      "dist worker: mismatched models,dist worker: metrics over ranks,"
                                      "dist worker: contexts and the two halves,"
                                      "dist worker: gradients changed after backward");
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK(r.out.find("[rank 1] rank 1: adam hybridized") != std::string::npos);
  CHECK(r.out.find("[rank 0] rank 0: parameters equal to rank 0's") != std::string::npos);
  CHECK(r.out.find("[rank 1] rank 1: [trainer] kvstore dist_sync: the ranks' models differ") != std::string::npos);
  CHECK(r.out.find("[rank 1] rank 1: global accuracy 0.60") != std::string::npos);
  CHECK(r.out.find("[rank 1] rank 1: 2 contexts x 2 ranks, allreduce_grads + update") != std::string::npos);
  CHECK(r.out.find("[rank 0] rank 0: a gradient changed after backward is named") != std::string::npos);
  CHECK(r.out.find("[rank 1] rank 1: allreduce_grads + change + update == start_in_backward(false)") !=
        std::string::npos);
}

TEST_CASE("dist: Trainer dist_sync on 2 ranks (mpi) equals 1 rank with twice the batch") {
  if (sanitized_build()) {
    MESSAGE("SKIP under the sanitizers: Open MPI leaks at initialization (the release pass runs this)");
    return;
  }
  Shell r = launch_workers(2, "mpi", "dist worker: trainer equivalence,dist worker: mismatched models");
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK(r.out.find("[rank 1] rank 1: adam hybridized") != std::string::npos);
  CHECK(r.out.find("[rank 0] rank 0: [trainer] kvstore dist_sync: the ranks' models differ") != std::string::npos);
}
