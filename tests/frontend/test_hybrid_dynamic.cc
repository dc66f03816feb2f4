// Issue 19: one compile for every batch size. A hybridized block's batch axis is symbolic by
// default: a new batch size re-plans (shape inference, memory plan) and reuses the compiled
// kernels; forward and gradient graphs each compile once; results equal a static compile.
#include <doctest/doctest.h>

#include <filesystem>

#include "support/dynamic_util.h"
#include "hgc/hgc.h"
#include "hgc/base/error.h"
#include "hgc/compiler/kernel_cache.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {

std::shared_ptr<nn::HybridSequential> mlp(int64_t in, uint64_t seed) {
  nd::random::seed(seed);
  auto net = std::make_shared<nn::HybridSequential>();
  net->emplace<nn::Dense>(nn::DenseOptions(64).in_units(in).activation("relu"));
  net->emplace<nn::Dense>(nn::DenseOptions(10).in_units(64));
  net->initialize(init::Xavier());
  return net;
}

NDArray batch_of(int64_t n, int64_t d, uint64_t seed) {
  nd::random::seed(seed);
  return nd::random::uniform(-1, 1, {n, d});
}

using test::fresh_cache;
using test::max_diff;

}  // namespace

TEST_CASE("dynamic batch: forward at many batch sizes compiles once and equals a static compile") {
  auto dyn = mlp(20, 1), fixed = mlp(20, 1);
  dyn->hybridize(true, HybridizeOptions().compile_options(fresh_cache("fwd")));
  fixed->hybridize(true, HybridizeOptions().static_shapes());
  for (int64_t n : {8, 3, 1, 17, 8, 64}) {
    NDArray x = batch_of(n, 20, 10 + n);
    NDArray a = (*dyn)(x), b = (*fixed)(x);
    CHECK(max_diff(a, b) < 1e-6);
  }
  auto s = dyn->cache_stats();
  CHECK(s.forward_compiles == 1);
  CHECK(dyn->compile_count() == 1);
  CHECK(s.entries == 1);
  CHECK(fixed->cache_stats().forward_compiles == 5);  // one per distinct shape
}

TEST_CASE("dynamic batch: training with a short last batch and eval at other sizes compiles once per direction") {
  auto dyn = mlp(30, 2), ref = mlp(30, 2);
  dyn->hybridize(true, HybridizeOptions().compile_options(fresh_cache("train")));
  ref->hybridize(true, HybridizeOptions().static_shapes());
  Trainer t1(dyn->collect_params(), "sgd", {{"learning_rate", 0.1}});
  Trainer t2(ref->collect_params(), "sgd", {{"learning_rate", 0.1}});
  loss::SoftmaxCrossEntropyLoss ce;
  for (int64_t n : {32, 32, 32, 20}) {  // an epoch of 116 samples: the last batch is short
    NDArray x = batch_of(n, 30, 100 + n), y = nd::array(std::vector<float>(n, 3.0f), {n});
    NDArray l1, l2;
    {
      auto rec = autograd::record();
      l1 = ce((*dyn)(x), y);
    }
    l1.backward();
    t1.step(n);
    {
      auto rec = autograd::record();
      l2 = ce((*ref)(x), y);
    }
    l2.backward();
    t2.step(n);
    CHECK(max_diff(l1, l2) < 1e-5);
  }
  for (int64_t n : {50, 7}) CHECK(max_diff((*dyn)(batch_of(n, 30, n)), (*ref)(batch_of(n, 30, n))) < 1e-5);
  auto s = dyn->cache_stats();
  CHECK(s.forward_compiles <= 2);  // the training forward and the predict forward
  CHECK(s.backward_compiles == 1);
}

TEST_CASE("dynamic batch: a graph baking the batch size is re-specialized, never wrong") {
  struct Baked : HybridBlock {
    Baked() : HybridBlock("baked") {}
    NDArray hybrid_forward(const NDArray& x) override {
      // reshape to (batch, -1) with the batch read at trace time: a different graph per size
      return nd::relu(nd::reshape(x, {x.shape()[0] * 2, -1}));
    }
  };
  auto b = std::make_shared<Baked>();
  b->hybridize();
  for (int64_t n : {4, 6, 4}) {
    NDArray x = batch_of(n, 8, n);
    NDArray y = (*b)(x);
    CHECK(y.shape() == std::vector<int64_t>{n * 2, 4});
  }
  CHECK(b->cache_stats().forward_compiles == 2);  // 4 and 6; 4 again hits
}

TEST_CASE("dynamic batch: hybrid_forward runs twice at the first call (the call and a probe size), never for new sizes") {
  struct Counting : HybridBlock {
    Counting() : HybridBlock("counting") {}
    NDArray hybrid_forward(const NDArray& x) override {
      ++calls;
      seen = x.shape();
      return nd::relu(x) * 2;
    }
    int calls = 0;
    std::vector<int64_t> seen;
  };
  auto b = std::make_shared<Counting>();
  b->hybridize();
  (*b)(nd::ones({5, 3}));
  CHECK(b->calls == 2);
  CHECK(b->seen == std::vector<int64_t>{5, 3});  // the call's trace runs last
  for (int64_t n : {1, 9, 5}) CHECK((*b)(nd::ones({n, 3})).shape() == std::vector<int64_t>{n, 3});
  CHECK(b->calls == 2);
  CHECK((*b)(nd::ones({5, 4})).shape() == std::vector<int64_t>{5, 4});  // a static axis: a new entry
  CHECK(b->calls == 4);
  CHECK(b->compile_count() == 2);
}

TEST_CASE("dynamic batch: Dropout in training draws its mask per call over the actual shape, one compile per direction") {
  // A Dropout-only block on ones: the output is the mask itself (0 or 1 / (1 - p)).
  const double p = 0.3;
  auto drop = std::make_shared<nn::HybridSequential>();
  drop->emplace<nn::Dropout>(p);
  drop->initialize();
  drop->hybridize(true, HybridizeOptions().compile_options(fresh_cache("dropout")));
  std::vector<std::vector<float>> masks;
  for (int64_t n : {32, 20, 32, 7}) {
    NDArray x = nd::ones({n, 1000});
    x.attach_grad();
    NDArray y;
    {
      auto rec = autograd::record();
      y = (*drop)(x);
    }
    y.backward();
    REQUIRE(y.shape() == std::vector<int64_t>{n, 1000});
    std::vector<float> v = y.to_vector<float>(), g = x.grad().to_vector<float>();
    double zeros = 0, sum = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i] == 0) ++zeros;
      else CHECK(std::abs(v[i] - 1 / (1 - p)) < 1e-6);
      sum += v[i];
      if (g[i] != v[i]) FAIL_CHECK("the gradient graph used another mask at element " << i);
    }
    INFO("batch ", n);
    CHECK(std::abs(zeros / v.size() - p) < 0.02);  // 7000..32000 draws: ~5 standard deviations
    CHECK(std::abs(sum / v.size() - 1) < 0.03);
    v.resize(7000);
    masks.push_back(v);
  }
  CHECK(masks[0] != masks[2]);  // the same size twice: fresh masks
  CHECK(masks[0] != masks[1]);
  auto s = drop->cache_stats();
  CHECK(s.forward_compiles == 1);
  CHECK(s.backward_compiles == 1);
}

TEST_CASE("dynamic batch: training an MLP with Dropout at two batch sizes equals static compiles, one compile each") {
  auto make = [](uint64_t seed) {
    nd::random::seed(seed);
    auto net = std::make_shared<nn::HybridSequential>();
    net->emplace<nn::Dense>(nn::DenseOptions(48).in_units(16).activation("relu"));
    net->emplace<nn::Dropout>(0.5);
    net->emplace<nn::Dense>(nn::DenseOptions(24).in_units(48).activation("tanh"));
    net->emplace<nn::Dropout>(0.25, std::vector<int64_t>{1});  // one draw per row, broadcast
    net->emplace<nn::Dense>(nn::DenseOptions(5).in_units(24));
    net->initialize(init::Xavier());
    return net;
  };
  auto dyn = make(7), ref = make(7);
  dyn->hybridize(true, HybridizeOptions().compile_options(fresh_cache("drop-mlp")));
  ref->hybridize(true, HybridizeOptions().static_shapes());
  Trainer t1(dyn->collect_params(), "sgd", {{"learning_rate", 0.1}});
  Trainer t2(ref->collect_params(), "sgd", {{"learning_rate", 0.1}});
  loss::SoftmaxCrossEntropyLoss ce;
  int step = 0;
  for (int64_t n : {24, 24, 11, 24, 11}) {
    NDArray x = batch_of(n, 16, 200 + step), y = nd::floor(nd::random::uniform(0, 5, {n}));
    NDArray l1, l2;
    nd::random::seed(1000 + step);  // the same seeds: the same masks in both
    {
      auto rec = autograd::record();
      l1 = ce((*dyn)(x), y);
    }
    l1.backward();
    t1.step(n);
    nd::random::seed(1000 + step);
    {
      auto rec = autograd::record();
      l2 = ce((*ref)(x), y);
    }
    l2.backward();
    t2.step(n);
    CHECK(max_diff(l1, l2) < 1e-6);
    ++step;
  }
  auto a = dyn->collect_params().values(), b = ref->collect_params().values();
  for (size_t i = 0; i < a.size(); ++i) CHECK(max_diff(a[i]->data(), b[i]->data()) < 1e-6);
  CHECK(dyn->cache_stats().forward_compiles == 1);
  CHECK(dyn->cache_stats().backward_compiles == 1);
  CHECK(ref->cache_stats().backward_compiles == 2);  // 24 and 11
}

TEST_CASE("optimizer updates: one compiled module per rule serves every weight shape, equal to op-by-op updates") {
  // Weights of several shapes and sizes (two large enough to be cut into blocks across the
  // pool, one of odd length); Adam with clipping: a rule with states and several scalars.
  auto make = [] {
    nd::random::seed(31);
    auto net = std::make_shared<nn::HybridSequential>();
    net->emplace<nn::Dense>(nn::DenseOptions(301).in_units(257).activation("relu"));
    net->emplace<nn::Dense>(nn::DenseOptions(7).in_units(301));
    net->emplace<nn::Dense>(nn::DenseOptions(3).in_units(7));
    net->initialize(init::Xavier());
    return net;
  };
  auto fused = make(), eager = make();
  std::map<std::string, double> hp{{"learning_rate", 0.01}, {"clip_gradient", 0.5}, {"wd", 1e-3}};
  Trainer t1(fused->collect_params(), "adam", hp);
  hp["use_fused_step"] = 0;
  Trainer t2(eager->collect_params(), "adam", hp);
  auto dir = std::filesystem::temp_directory_path() / ("hgc-dyn-optim-" + std::to_string(::getpid()));
  std::string old_dir = DiskCache::global().dir();
  DiskCache::global().set_dir(dir.string());
  int64_t lookups = 0;  // disk-cache lookups of the fused updates' modules (t1.step only)
  for (int step = 0; step < 3; ++step) {
    NDArray x = batch_of(9, 257, 40 + step);
    for (auto* p : {&fused, &eager}) {
      NDArray l;
      {
        auto rec = autograd::record();
        l = nd::sum(nd::square((**p)(x)));
      }
      l.backward();
    }
    auto before = DiskCache::global().stats();
    t1.step(9);
    auto after = DiskCache::global().stats();
    lookups += after.hits + after.misses - before.hits - before.misses;
    t2.step(9);
  }
  DiskCache::global().set_dir(old_dir);
  std::filesystem::remove_all(dir);
  auto a = fused->collect_params().values(), b = eager->collect_params().values();
  for (size_t i = 0; i < a.size(); ++i) {
    INFO("parameter ", a[i]->name());
    CHECK(max_diff(a[i]->data(), b[i]->data()) < 1e-6);
  }
  // Six weight shapes, blocks and tails: at most one module compiled (none when an earlier
  // test of this process compiled the same rule already).
  CHECK(lookups <= 1);
}
