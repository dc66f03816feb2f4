// export_model -> SymbolBlock::imports round trips, and SymbolBlock on real MXNet exports.
#include <doctest/doctest.h>

#include <filesystem>

#include "hgc/hgc.h"
#include "hgc/ir/json_io.h"
#include "hgc/runtime/tensor_io.h"
#include "support/paths.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {

std::shared_ptr<nn::HybridSequential> mlp(std::vector<int64_t> units) {
  auto net = std::make_shared<nn::HybridSequential>();
  auto scope = net->name_scope();
  for (size_t i = 0; i < units.size(); ++i)
    net->emplace<nn::Dense>(i + 1 < units.size() ? nn::DenseOptions(units[i]).activation("relu") : nn::DenseOptions(units[i]));
  return net;
}

}  // namespace

TEST_CASE("gluon export: export -> imports gives identical outputs") {
  NameManager names;
  std::string dir = test::temp_dir();
  nd::random::seed(4);
  auto net = mlp({64, 32, 10});
  net->initialize(init::Xavier());
  NDArray x = nd::random::normal(0, 1, {3, 20});
  CHECK_THROWS_WITH_AS(net->export_model(dir + "/mlp"), doctest::Contains("hybridize"), Error);
  net->hybridize();
  NDArray y = (*net)(x);
  net->export_model(dir + "/mlp", 7);
  REQUIRE(std::filesystem::exists(dir + "/mlp-symbol.json"));
  REQUIRE(std::filesystem::exists(dir + "/mlp-0007.params"));
  ParamList saved = load_params(dir + "/mlp-0007.params");
  REQUIRE(saved.size() == 6);
  CHECK(saved[0].first == "arg:hybridsequential0_dense0_weight");
  CHECK(saved[1].first == "arg:hybridsequential0_dense0_bias");
  Graph g = load_json_file(dir + "/mlp-symbol.json");
  CHECK(g.nodes[0].name == "data");
  CHECK(g.nodes.back().name == "hybridsequential0_dense2_fwd");

  auto back = SymbolBlock::imports(dir + "/mlp-symbol.json", {"data"}, dir + "/mlp-0007.params");
  CHECK(back->collect_params().size() == 6);
  NDArray z = (*back)(x);
  CHECK(z.to_vector<float>() == y.to_vector<float>());
  // Another batch size compiles again.
  CHECK((*back)(nd::ones({5, 20})).shape() == std::vector<int64_t>{5, 10});
  // A params file that does not fit: shape mismatch on load.
  {
    NameManager again;  // the same names, other in_units
    auto wrong = mlp({64, 32, 10});
    wrong->initialize();
    wrong->hybridize();
    (*wrong)(nd::ones({1, 21}));
    wrong->export_model(dir + "/wrong");
  }
  // The exported `__shape__` keeps Gluon's deferred "(64, 0)", so the load fits and the
  // first forward finds the mismatch.
  auto bad = SymbolBlock::imports(dir + "/mlp-symbol.json", {"data"}, dir + "/wrong-0000.params");
  CHECK_THROWS_WITH_AS((*bad)(x), doctest::Contains("shape"), Error);
  std::filesystem::remove_all(dir);
}

TEST_CASE("gluon export: a Symbol becomes a SymbolBlock sharing nothing but the graph") {
  NameManager names;
  auto net = mlp({8, 2});
  net->initialize();
  NDArray x = nd::ones({1, 5});
  NDArray y = (*net)(x);
  Symbol s = (*net)(sym::var("data"));
  CHECK(s.list_arguments() == std::vector<std::string>{"data", "hybridsequential0_dense0_weight",
                                                       "hybridsequential0_dense0_bias",
                                                       "hybridsequential0_dense1_weight",
                                                       "hybridsequential0_dense1_bias"});
  auto sb = std::make_shared<SymbolBlock>(s, std::vector<std::string>{"data"});
  for (const auto& p : net->collect_params().values()) sb->collect_params()[p->name()]->set_data(p->data());
  CHECK((*sb)(x).to_vector<float>() == y.to_vector<float>());
}

TEST_CASE("gluon export: SymbolBlock runs real MXNet exports") {
  NameManager names;
  if (auto sym = test::shared_model("djl_mlp-symbol.json")) {
    // DJL's Gluon MLP (784 -> 128 -> 64 -> 10) with deferred shapes; ours has the same names.
    auto sb = SymbolBlock::imports(*sym, {"data"});
    sb->collect_params().initialize(init::Xavier());
    NDArray x = nd::random::uniform(0, 1, {2, 784});
    NDArray y = (*sb)(x);
    CHECK(y.shape() == std::vector<int64_t>{2, 10});
    CHECK(sb->collect_params()["hybridsequential0_dense0_weight"]->shape() == std::vector<int64_t>{128, 784});
    auto ours = mlp({128, 64, 10});
    ours->initialize();
    for (const auto& p : sb->collect_params().values()) ours->collect_params()[p->name()]->set_data(p->data());
    auto a = (*ours)(x).to_vector<float>(), b = y.to_vector<float>();
    for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(1e-5));
  }
  if (auto sym = test::shared_model("sm_dummy_model-symbol.json")) {
    // FullyConnected + LinearRegressionOutput; the label is unbound (fed zeros).
    auto sb = SymbolBlock::imports(*sym, {"data"}, *test::shared_model("sm_dummy_model-0000.params"));
    auto w = sb->collect_params()["fc1_weight"]->data();
    auto b = sb->collect_params()["fc1_bias"]->data();
    NDArray x = nd::random::uniform(0, 1, {3, w.shape()[1]});
    NDArray y = (*sb)(x);
    NDArray want = nd::dot(x, w, false, true) + b;
    auto got = y.to_vector<float>(), ref = want.to_vector<float>();
    REQUIRE(got.size() == ref.size());
    for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(ref[i]).epsilon(1e-5));
  }
}
