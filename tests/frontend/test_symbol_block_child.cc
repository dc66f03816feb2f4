// A SymbolBlock (an imported export) as a child of a hybridized block: the parent's trace
// inlines the imported graph, so the composition compiles as one graph, exports as one
// graph that imports again, and trains (the imported parameters get gradients).
#include <doctest/doctest.h>

#include <filesystem>

#include "hgc/hgc.h"
#include "hgc/base/error.h"
#include "hgc/ir/json_io.h"
#include "hgc/runtime/tensor_io.h"
#include "support/paths.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {

double max_diff(const NDArray& a, const NDArray& b) {
  std::vector<float> u = a.to_vector<float>(), v = b.to_vector<float>();
  REQUIRE(u.size() == v.size());
  double worst = 0;
  for (size_t i = 0; i < u.size(); ++i) worst = std::max(worst, double(std::abs(u[i] - v[i])));
  return worst;
}

// Exports `net` (hybridized, run on x) to `path` and imports it back.
std::shared_ptr<SymbolBlock> round_trip(HybridBlock& net, const NDArray& x, const std::string& path) {
  net.hybridize();
  net(x);
  net.export_model(path, 0);
  return SymbolBlock::imports(path + "-symbol.json", {"data"}, path + "-0000.params");
}

}  // namespace

TEST_CASE("symbol block child: a hybridized parent inlines an imported graph (BatchNorm aux states included)") {
  NameManager names;
  std::string dir = test::temp_dir();
  nd::random::seed(31);
  auto base = std::make_shared<nn::HybridSequential>();
  {
    auto scope = base->name_scope();
    base->emplace<nn::Dense>(nn::DenseOptions(16).in_units(6));
    base->emplace<nn::BatchNorm>(nn::BatchNormOptions().in_channels(16));
    base->emplace<nn::Activation>("relu");
    base->emplace<nn::Dense>(nn::DenseOptions(8).in_units(16));
  }
  base->initialize(init::Xavier());
  NDArray x = nd::random::normal(0, 1, {5, 6});
  {
    TrainMode t;  // running statistics away from (0, 1)
    (*base)(x * 3.0 + 1.0);
  }
  auto imported = round_trip(*base, x, dir + "/base");

  auto parent = std::make_shared<nn::HybridSequential>();
  {
    auto scope = parent->name_scope();
    parent->add(imported);
    parent->emplace<nn::Dense>(nn::DenseOptions(3).in_units(8));
  }
  parent->initialize(init::Xavier());  // the imported parameters keep their loaded values
  NDArray want = (*parent)(x);         // not hybridized: the SymbolBlock compiled alone, then Dense
  CHECK(max_diff(want, (*parent->children()[1].second)((*base)(x))) <= 1e-6);
  parent->hybridize();
  NDArray got = (*parent)(x);
  CHECK(max_diff(got, want) <= 1e-5);
  CHECK(parent->cache_stats().traces == 1);  // one graph for the whole composition
  CHECK((*parent)(x).shape() == std::vector<int64_t>{5, 3});
  CHECK(parent->cache_stats().hits == 1);

  // Export of the parent: the imported nodes keep their names, the aux states their role.
  parent->export_model(dir + "/parent", 2);
  Graph g = load_json_file(dir + "/parent-symbol.json");
  CHECK(g.find("hybridsequential0_dense0_fwd") >= 0);
  CHECK(g.find("hybridsequential0_batchnorm0_fwd") >= 0);
  CHECK(g.nodes.back().name == "hybridsequential1_dense0_fwd");
  ParamList saved = load_params(dir + "/parent-0002.params");
  int aux = 0;
  for (const auto& [n, t] : saved) aux += n.rfind("aux:", 0) == 0;
  CHECK(aux == 2);  // running_mean, running_var
  CHECK(saved.size() == 4 + 4 + 2);
  auto again = SymbolBlock::imports(dir + "/parent-symbol.json", {"data"}, dir + "/parent-0002.params");
  CHECK(max_diff((*again)(x), want) <= 1e-5);
  // The re-imported composition can itself be a child again.
  auto outer = std::make_shared<nn::HybridSequential>();
  outer->add(again);
  outer->hybridize();
  CHECK(max_diff((*outer)(x), want) <= 1e-5);
  std::filesystem::remove_all(dir);
}

TEST_CASE("symbol block child: imported parameters train inside the hybridized parent as in the original net") {
  NameManager names;
  std::string dir = test::temp_dir();
  nd::random::seed(32);
  auto base = std::make_shared<nn::HybridSequential>();
  base->emplace<nn::Dense>(nn::DenseOptions(12).activation("tanh").in_units(6));
  base->emplace<nn::Dense>(nn::DenseOptions(8).in_units(12));
  base->initialize(init::Xavier());
  NDArray x = nd::random::normal(0, 1, {4, 6});
  NDArray y = nd::array({0, 2, 1, 2});
  auto imported = round_trip(*base, x, dir + "/base");
  base->hybridize(false);

  auto head = std::make_shared<nn::Dense>(nn::DenseOptions(3).in_units(8));
  head->initialize(init::Xavier());
  auto parent = std::make_shared<nn::HybridSequential>();
  parent->add(imported);
  auto head2 = parent->emplace<nn::Dense>(nn::DenseOptions(3).in_units(8));
  parent->initialize();
  head2->weight->set_data(head->weight->data());
  head2->bias->set_data(head->bias->data());

  loss::SoftmaxCrossEntropyLoss ce;
  auto step = [&](auto&& fwd) {
    NDArray l;
    {
      auto r = autograd::record();
      l = ce(fwd(x), y);
    }
    l.backward();
    return nd::mean(l).asscalar();
  };
  double l_ref = step([&](const NDArray& in) { return (*head)((*base)(in)); });  // the original net, imperative
  const char* modes[] = {"imperative parent (the imported ops taped)", "hybridized parent (inlined)",
                         "imperative parent, the SymbolBlock hybridized alone (one tape node)"};
  for (int mode = 0; mode < 3; ++mode) {
    INFO(modes[mode]);
    parent->hybridize(mode == 1);
    if (mode == 2) imported->hybridize();
    parent->collect_params().zero_grad();
    CHECK(std::abs(step([&](const NDArray& in) { return (*parent)(in); }) - l_ref) <= 1e-5);
    for (const auto& p : base->collect_params().values()) {
      INFO("parameter ", p->name());
      CHECK(max_diff(imported->collect_params()[p->name()]->grad(), p->grad()) <= 1e-5);
    }
    CHECK(max_diff(head2->weight->grad(), head->weight->grad()) <= 1e-5);
  }
  CHECK(parent->cache_stats().backward_compiles == 1);
  CHECK(imported->cache_stats().backward_compiles == 1);
  std::filesystem::remove_all(dir);
}

TEST_CASE("symbol block child: an op the replay cannot express is an error naming the block") {
  NameManager names;
  // A graph whose head is a hidden output (BatchNorm's batch mean without output_mean_var):
  // nd::op returns only the visible output, so the graph cannot be inlined.
  Graph g = load_json(R"({"nodes": [
    {"op": "null", "name": "data", "inputs": []},
    {"op": "null", "name": "g", "inputs": []}, {"op": "null", "name": "b", "inputs": []},
    {"op": "null", "name": "m", "inputs": []}, {"op": "null", "name": "v", "inputs": []},
    {"op": "BatchNorm", "name": "bn",
     "inputs": [[0, 0, 0], [1, 0, 0], [2, 0, 0], [3, 0, 1], [4, 0, 1]]}],
    "arg_nodes": [0, 1, 2, 3, 4], "heads": [[5, 1, 0]]})");
  auto sb = std::make_shared<SymbolBlock>(g, std::vector<std::string>{"data"});
  sb->initialize(init::One());
  auto parent = std::make_shared<nn::HybridSequential>();
  parent->add(sb);
  parent->hybridize();
  CHECK_THROWS_WITH_AS((*parent)(nd::ones({2, 3})), doctest::Contains("hidden"), Error);
}

TEST_CASE("symbol block child: imported Dropout and BatchNorm train as the layers do (fixed seed)") {
  NameManager names;
  std::string dir = test::temp_dir();
  nd::random::seed(33);
  auto base = std::make_shared<nn::HybridSequential>();
  {
    auto scope = base->name_scope();
    base->emplace<nn::Dense>(nn::DenseOptions(16).in_units(6));
    base->emplace<nn::BatchNorm>(nn::BatchNormOptions().in_channels(16));
    base->emplace<nn::Activation>("relu");
    base->emplace<nn::Dropout>(0.4);
    base->emplace<nn::Dense>(nn::DenseOptions(8).in_units(16));
  }
  base->initialize(init::Xavier());
  NDArray x = nd::random::normal(0, 1, {6, 6});
  NDArray y = nd::array({0, 2, 1, 2, 0, 1});
  auto imported = round_trip(*base, x, dir + "/base");
  base->hybridize(false);

  // Alone, not hybridized, training mode without recording: the same masks and statistics.
  {
    TrainMode t;
    nd::random::seed(5);
    NDArray a = (*base)(x);
    nd::random::seed(5);
    CHECK(max_diff((*imported)(x), a) <= 1e-5);
  }
  for (const auto& p : base->collect_params().values()) {
    INFO("parameter ", p->name());
    CHECK(max_diff(imported->collect_params()[p->name()]->data(), p->data()) <= 1e-6);
  }

  // In a hybridized parent: SGD steps as the original net (imperative) with the same seeds.
  auto ref = std::make_shared<nn::HybridSequential>();
  ref->add(base);
  auto head = ref->emplace<nn::Dense>(nn::DenseOptions(3).in_units(8));
  ref->initialize(init::Xavier());
  auto parent = std::make_shared<nn::HybridSequential>();
  parent->add(imported);
  auto head2 = parent->emplace<nn::Dense>(nn::DenseOptions(3).in_units(8));
  parent->initialize();
  head2->weight->set_data(head->weight->data());
  head2->bias->set_data(head->bias->data());
  parent->hybridize();
  Trainer tr(ref->collect_params(), "sgd", {{"learning_rate", 0.1}});
  Trainer tp(parent->collect_params(), "sgd", {{"learning_rate", 0.1}});
  loss::SoftmaxCrossEntropyLoss ce;
  for (int step = 0; step < 4; ++step) {
    double l[2];
    for (int k = 0; k < 2; ++k) {
      nd::random::seed(90 + step);
      NDArray loss;
      {
        auto r = autograd::record();
        loss = ce(k ? (*parent)(x) : (*ref)(x), y);
      }
      loss.backward();
      (k ? tp : tr).step(6);
      l[k] = nd::mean(loss).asscalar();
    }
    INFO("step ", step, ": original ", l[0], ", imported in a hybridized parent ", l[1]);
    CHECK(std::abs(l[0] - l[1]) <= 1e-5);
  }
  for (const auto& p : base->collect_params().values()) {
    INFO("parameter ", p->name());
    CHECK(max_diff(imported->collect_params()[p->name()]->data(), p->data()) <= 1e-5);
  }
  CHECK(max_diff(head2->weight->data(), head->weight->data()) <= 1e-5);
  CHECK(parent->cache_stats().backward_compiles == 1);
  CHECK(parent->cache_stats().traces == 1);
  std::filesystem::remove_all(dir);
}
