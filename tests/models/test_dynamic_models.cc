// Issue 19 on the seed models: the Fashion MLP trains an epoch with a short last batch and
// evaluates in batches of another size with one compile per direction and mode (an empty
// kernel cache); the BST click model's forward at several batch sizes compiles once and
// equals a static compile of each size.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <unistd.h>

#include "bst/bst_mxnet.h"
#include "bst/synthetic.h"
#include "fashion/train.h"
#include "hgc/hgc.h"
#include "support/paths.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {

CompileOptions empty_cache(const std::string& tag) {
  auto dir = std::filesystem::temp_directory_path() / ("hgc-dyn-" + tag + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  CompileOptions o;
  o.cache_dir = dir.string();
  o.memory_cache = false;
  return o;
}

double max_abs_diff(const NDArray& a, const NDArray& b) {
  REQUIRE(a.shape() == b.shape());
  auto x = a.to_vector<float>(), y = b.to_vector<float>();
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(double(x[i]) - y[i]));
  return worst;
}

}  // namespace

TEST_CASE("dynamic models: Fashion MLP epoch with a short last batch, eval at another size: one compile each") {
  auto data = models::load_fashion_mnist();
  if (!data) {
    MESSAGE("skipped: ", models::kFashionMnistDir, " is absent (install Debian's dataset-fashion-mnist)");
    return;
  }
  nd::random::seed(4);
  auto net = models::fashion_mlp();
  net->initialize(init::Xavier());
  net->hybridize(true, HybridizeOptions().compile_options(empty_cache("fashion")));
  models::FashionTrainOptions o;
  o.epochs = 1;
  o.batch = 64;
  o.max_train = 1000;  // 15 batches of 64 and a short one of 40; evaluation in batches of 1000
  o.progress = false;
  auto s = models::train_fashion(*net, *data, o).back();
  MESSAGE("Fashion MLP: test accuracy ", s.test_accuracy, " after 1000 images");
  CHECK(s.test_accuracy > 0.5);
  auto st = net->cache_stats();
  CHECK(st.forward_compiles <= 2);  // at most one per mode (training forward, predict forward)
  CHECK(st.backward_compiles == 1);
  CHECK(net->compile_count() == st.forward_compiles + st.backward_compiles);
}

TEST_CASE("dynamic models: BST click model forward at batch 8, 3, 16, 1 compiles once, equals static compiles") {
  models::ClickDataOptions co;
  co.n_train = 200;
  co.n_test = 100;
  co.n_items = 24;
  co.seq_len = 12;
  auto d = models::make_click_data(co);
  auto opts = models::BSTRecOptions().sequence_length(co.seq_len).items(d.n_items).other_values(d.n_other);
  nd::random::seed(100);
  models::BSTRec dyn(opts), fixed(opts);
  dyn.initialize(init::Xavier());
  fixed.initialize(init::Xavier());
  NDArray x0 = d.test.x.slice(0, 2), o0 = d.test.other.slice(0, 2);
  dyn(x0, o0);  // deferred shapes (imperative, predict mode)
  fixed(x0, o0);
  auto a = dyn.collect_params().values(), b = fixed.collect_params().values();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) b[i]->set_data(a[i]->data());
  dyn.hybridize(true, HybridizeOptions().compile_options(empty_cache("bst")));
  fixed.hybridize(true, HybridizeOptions().static_shapes());
  for (int64_t n : {8, 3, 16, 1}) {
    NDArray x = d.test.x.slice(0, n), other = d.test.other.slice(0, n);
    CHECK(max_abs_diff(dyn(x, other), fixed(x, other)) <= 1e-6);
  }
  CHECK(dyn.cache_stats().forward_compiles == 1);
  CHECK(fixed.cache_stats().forward_compiles == 4);
}

TEST_CASE("dynamic models: ResNet-18 (shared) as a SymbolBlock at batch 1, 3, 8: one compile, equals fresh compiles") {
  auto path = test::shared_model("djl_resnet18_v1-symbol.json");
  if (!path) return;
  nd::random::seed(5);
  auto net = SymbolBlock::imports(*path, {"data"});
  net->initialize(init::Xavier());
  std::vector<NDArray> outs;
  for (int64_t n : {8, 3, 1}) {
    nd::random::seed(50 + n);
    NDArray x = nd::random::uniform(0, 1, {n, 3, 224, 224});
    NDArray y = (*net)(x);
    // A fresh block with the same parameters compiles this size from scratch.
    auto fresh = SymbolBlock::imports(*path, {"data"});
    fresh->initialize(init::Xavier());
    auto a = net->collect_params().values(), b = fresh->collect_params().values();
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) b[i]->set_data(a[i]->data());
    CHECK(max_abs_diff(y, (*fresh)(x)) <= 1e-4);
  }
  CHECK(net->cache_stats().forward_compiles == 1);
}

TEST_CASE("dynamic models: pooled BST trains on lengths 8/16/24/32 with one compile per direction, equals static") {
  // The sequence axis of x is dynamic (dynamic_axes(0, {0, 1})): the positional rows are cut
  // to x's length inside the graph and the sequence is pooled, so no weight bakes a length.
  const int64_t max_len = 32, items = 40, other = 16;
  // Dropout 0.1: its masks are drawn in the graph over the actual (batch, length) shape.
  auto opts = models::BSTRecOptions().sequence_length(max_len).items(items).other_values(other).pooled().drop(0.1);
  nd::random::seed(101);
  models::BSTRec dyn(opts), fixed(opts);
  dyn.initialize(init::Xavier());
  fixed.initialize(init::Xavier());
  auto ids = [](int64_t b, int64_t l, int64_t n) { return nd::floor(nd::random::uniform(0, double(n), {b, l})); };
  NDArray x0 = ids(2, 8, items), o0 = ids(2, 4, other);
  dyn(x0, o0);  // deferred shapes (imperative, predict mode)
  fixed(x0, o0);
  auto a = dyn.collect_params().values(), b = fixed.collect_params().values();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) b[i]->set_data(a[i]->data());
  dyn.hybridize(true, HybridizeOptions().dynamic_axes(0, {0, 1}).compile_options(empty_cache("bst-seq")));
  fixed.hybridize(true, HybridizeOptions().static_shapes());
  // Predict mode: every length equals a static compile of that length.
  for (int64_t len : {8, 16, 24, 32}) {
    NDArray x = ids(6, len, items), o = ids(6, 4, other);
    CHECK(max_abs_diff(dyn(x, o), fixed(x, o)) <= 1e-6);
  }
  CHECK(dyn.cache_stats().forward_compiles == 1);
  CHECK(fixed.cache_stats().forward_compiles == 4);
  // Training on batches bucketed by length: one training forward and one backward compile.
  Trainer trainer(dyn.collect_params(), "adam", {{"learning_rate", 0.01}});
  loss::SigmoidBinaryCrossEntropyLoss bce;
  double first = 0, last = 0;
  for (int epoch = 0; epoch < 3; ++epoch)
    for (int64_t len : {8, 16, 24, 32, 16, 8}) {
      NDArray x = ids(16, len, items), o = ids(16, 4, other);
      NDArray y = nd::floor(nd::random::uniform(0, 2, {16, 1}));
      NDArray l;
      {
        auto r = autograd::record();
        l = nd::sum(bce(dyn(x, o), y));
      }
      l.backward();
      trainer.step(16);
      double v = l.asscalar<float>() / 16;
      if (epoch == 0 && len == 8 && first == 0) first = v;
      last = v;
    }
  auto st = dyn.cache_stats();
  MESSAGE("pooled BST: loss " << first << " -> " << last << "; forward compiles " << st.forward_compiles
                              << ", backward " << st.backward_compiles);
  CHECK(st.forward_compiles == 2);  // predict and training
  CHECK(st.backward_compiles == 1);
  CHECK(std::isfinite(last));
}
