// Issue 19: a predict-mode call whose traced graph is the training forward's (no Dropout, no
// BatchNorm) runs that compiled forward: no second compile, the same results as a block
// compiled for prediction only; a block whose modes trace differently compiles its own.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "support/dynamic_util.h"
#include "hgc/hgc.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {

// 64 -> hidden -> hidden / 2 -> 5. The training forward also writes the hidden activations
// for the gradient (2 x (hidden + hidden / 2) per row): predict reuses it while that stays
// within twice the 64 + 5 the call reads and writes.
std::shared_ptr<nn::HybridSequential> mlp(uint64_t seed, double dropout = 0, int64_t hidden = 16) {
  nd::random::seed(seed);
  auto net = std::make_shared<nn::HybridSequential>();
  net->emplace<nn::Dense>(nn::DenseOptions(hidden).in_units(64).activation("relu"));
  if (dropout > 0) net->emplace<nn::Dropout>(dropout);
  net->emplace<nn::Dense>(nn::DenseOptions(hidden / 2).in_units(hidden).activation("relu"));
  net->emplace<nn::Dense>(nn::DenseOptions(5).in_units(hidden / 2));
  net->initialize(init::Xavier());
  return net;
}

NDArray batch_of(int64_t n, uint64_t seed) {
  nd::random::seed(seed);
  return nd::random::uniform(-1, 1, {n, 64});
}

// A few SGD steps at batch 16 (and a short batch of 9), recorded through the block.
void train(HybridBlock& net) {
  Trainer t(net.collect_params(), "sgd", {{"learning_rate", 0.1}});
  loss::SoftmaxCrossEntropyLoss ce;
  for (int64_t n : {16, 16, 9}) {
    NDArray x = batch_of(n, 40 + n), y = nd::array(std::vector<float>(n, 2.0f), {n});
    NDArray l;
    {
      auto rec = autograd::record();
      l = ce(net(x), y);
    }
    l.backward();
    t.step(n);
  }
}

// `net`'s parameters copied into `to` (same structure).
void copy_params(HybridBlock& from, HybridBlock& to) {
  auto a = from.collect_params().values(), b = to.collect_params().values();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) b[i]->set_data(a[i]->data().copy());
}

}  // namespace

TEST_CASE("predict reuse: evaluation after training runs the training forward, no extra compile, same outputs") {
  auto net = mlp(1);
  net->hybridize(true, HybridizeOptions().compile_options(test::fresh_cache("reuse")));
  train(*net);
  int64_t trained = net->compile_count();
  CHECK(trained == 2);  // the training forward and its gradient graph
  // A block with the trained weights that only ever predicts: its own predict compile.
  auto ref = mlp(2);
  ref->hybridize(true, HybridizeOptions().compile_options(test::fresh_cache("reuse-ref")));
  copy_params(*net, *ref);
  for (int64_t n : {100, 7, 16}) {
    NDArray x = batch_of(n, n);
    NDArray a = (*net)(x), b = (*ref)(x);
    REQUIRE(a.shape() == std::vector<int64_t>{n, 5});
    CHECK(test::max_diff(a, b) < 1e-6);
  }
  auto s = net->cache_stats();
  CHECK(net->compile_count() == trained);  // prediction compiled nothing
  CHECK(s.forward_compiles == 1);  // the training forward only
  CHECK(s.entries == 2);           // training and predict entries
  CHECK(ref->cache_stats().forward_compiles == 1);

  // Training again after predicting: the training entry still serves (and predicts follow the
  // new weights, read at each call).
  train(*net);
  copy_params(*net, *ref);
  NDArray x = batch_of(33, 5);
  CHECK(test::max_diff((*net)(x), (*ref)(x)) < 1e-6);
  CHECK(net->compile_count() == trained);

  // Export writes the predict graph: one output, not the values the gradient reads.
  std::string prefix = (std::filesystem::temp_directory_path() / ("hgc-reuse-export-" + std::to_string(::getpid()))).string();
  net->export_model(prefix);
  auto imported = SymbolBlock::imports(prefix + "-symbol.json", {"data"}, prefix + "-0000.params");
  std::vector<NDArray> outs = (*imported)(std::vector<NDArray>{x});
  REQUIRE(outs.size() == 1);
  CHECK(test::max_diff(outs[0], (*ref)(x)) < 1e-5);
  std::filesystem::remove(prefix + "-symbol.json");
  std::filesystem::remove(prefix + "-0000.params");
}

TEST_CASE("predict reuse: a block with Dropout compiles its own predict forward (the modes trace differently)") {
  auto net = mlp(3, 0.5);
  net->hybridize(true, HybridizeOptions().compile_options(test::fresh_cache("reuse-drop")));
  train(*net);
  auto ref = mlp(4, 0.5);
  ref->hybridize(true, HybridizeOptions().compile_options(test::fresh_cache("reuse-drop-ref")));
  copy_params(*net, *ref);
  NDArray x = batch_of(20, 9);
  NDArray a = (*net)(x), b = (*ref)(x);
  CHECK(test::max_diff(a, b) < 1e-6);  // predict mode: no dropout, deterministic
  CHECK(test::max_diff(a, (*net)(x)) == 0);
  auto s = net->cache_stats();
  CHECK(s.forward_compiles == 2);  // the training forward and the predict forward
}

TEST_CASE("predict reuse: a forward whose saved activations outweigh the call's data compiles its own predict forward") {
  auto net = mlp(5, 0, 128);  // 2 x (128 + 64) = 384 saved values per row > 2 x 69
  net->hybridize(true, HybridizeOptions().compile_options(test::fresh_cache("reuse-big")));
  train(*net);
  auto ref = mlp(6, 0, 128);
  ref->hybridize(true, HybridizeOptions().compile_options(test::fresh_cache("reuse-big-ref")));
  copy_params(*net, *ref);
  NDArray x = batch_of(12, 3);
  CHECK(test::max_diff((*net)(x), (*ref)(x)) < 1e-6);
  CHECK(net->cache_stats().forward_compiles == 2);
}
