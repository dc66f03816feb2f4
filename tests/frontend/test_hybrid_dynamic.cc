// Issue 19: one compile for every batch size. A hybridized block's batch axis is symbolic by
// default: a new batch size re-plans (shape inference, memory plan) and reuses the compiled
// kernels; forward and gradient graphs each compile once; results equal a static compile.
#include <doctest/doctest.h>

#include <filesystem>

#include "hgc/hgc.h"
#include "hgc/base/error.h"

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

CompileOptions fresh_cache(const std::string& tag) {
  std::string dir = (std::filesystem::temp_directory_path() / ("hgc-dyn-" + tag + "-" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  CompileOptions o;
  o.cache_dir = dir;
  o.memory_cache = false;
  return o;
}

double max_diff(const NDArray& a, const NDArray& b) {
  REQUIRE(a.shape() == b.shape());
  std::vector<float> u = a.to_vector<float>(), v = b.to_vector<float>();
  double worst = 0;
  for (size_t i = 0; i < u.size(); ++i) worst = std::max(worst, double(std::abs(u[i] - v[i])));
  return worst;
}

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
