// Every real MXNet file in ../shared/models/mxnet loads, round-trips, infers shapes for the
// inputs its README lists, and passes the verifier.
#include <doctest/doctest.h>

#include "hgc/base/error.h"
#include "hgc/ir/infer.h"
#include "hgc/ir/json_io.h"
#include "hgc/ir/verify.h"
#include "support/paths.h"

using namespace hgc;

namespace {
struct Case {
  const char* file;
  std::map<std::string, Shape> inputs;
  std::vector<Shape> heads;
};

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      {"djl_mlp-symbol.json", {{"data", {1, 784}}}, {{1, 10}}},
      {"djl_resnet18_v1-symbol.json", {{"data", {1, 3, 224, 224}}}, {{1, 1000}}},
      {"mms_squeezenet_v1.1-symbol.json", {{"data", {1, 3, 224, 224}}}, {{1, 1000}}},
      {"djl_static_bert_qa-symbol.json",
       {{"data0", {1, 384}}, {"data1", {1, 384}}, {"data2", {1}}},
       {{1, 384, 2}}},
      // The label reaches SoftmaxOutput through Reshape(-1,), which cannot infer backwards
      // from an unknown rank, so it is given as MXNet's data iterator would.
      {"mms_lstm_ptb-symbol.json", {{"data", {35, 20}}, {"softmax_label", {35, 20}}}, {{700, 10000}}},
      {"mxnet_save_000800.json", {{"data", {4, 10}}}, {{4, 10}}},
      {"go_test-symbol.json", {{"data", {3}}, {"softmax_label", {3}}}, {{3, 10}}},
      {"sm_dummy_model-symbol.json", {{"data", {5, 2}}}, {{5, 1}}},
  };
  return c;
}
}  // namespace

TEST_CASE("shared MXNet models load, round-trip, infer and verify") {
  for (const Case& c : cases()) {
    CAPTURE(c.file);
    auto path = test::shared_model(c.file);
    if (!path) continue;
    Graph g = load_json_file(*path);
    std::string canon = save_json(g);
    Graph g2 = load_json(canon, "roundtrip");
    CHECK(save_json(g2) == canon);
    CHECK(g2.nodes.size() == g.nodes.size());
    InferOptions o;
    o.shapes = c.inputs;
    infer(g, o);
    verify(g);
    REQUIRE(g.heads.size() == c.heads.size());
    for (size_t i = 0; i < c.heads.size(); ++i) CHECK(g.shape(g.heads[i]) == c.heads[i]);
    for (const Node& n : g.nodes)
      for (DType t : n.out_dtypes) CHECK(t != DType::unknown);
  }
}

TEST_CASE("ResNet-18: BatchNorm aux states, parameter roles and a few inferred shapes") {
  auto path = test::shared_model("djl_resnet18_v1-symbol.json");
  if (!path) return;
  Graph g = load_json_file(*path);
  infer(g, {{{"data", {1, 3, 224, 224}}}, {}, true});
  CHECK(g.names_with_role(VarRole::Input) == std::vector<std::string>{"data"});
  CHECK(g.names_with_role(VarRole::AuxState).size() == 40);  // 20 BatchNorms x 2
  int conv0 = g.find("resnetv10_conv0_fwd");
  REQUIRE(conv0 >= 0);
  CHECK(g.nodes[conv0].out_shapes[0] == Shape{1, 64, 112, 112});
  CHECK(g.shape({g.find("resnetv10_conv0_weight"), 0}) == Shape{64, 3, 7, 7});
  CHECK(g.shape({g.find("resnetv10_dense0_weight"), 0}) == Shape{1000, 512});
}

TEST_CASE("the seed book's HybridSequential MLP infers its deferred weights") {
  Graph g = load_json_file(test::source_path("models/mlp/straight_dope_mlp-symbol.json"));
  infer(g, {{{"data", {1, 512}}}, {}, true});
  CHECK(g.shape({g.find("hybridsequential0_dense0_weight"), 0}) == Shape{256, 512});
  CHECK(g.shape({g.find("hybridsequential0_dense1_weight"), 0}) == Shape{128, 256});
  CHECK(g.shape({g.find("hybridsequential0_dense2_weight"), 0}) == Shape{2, 128});
  CHECK(g.shape(g.heads[0]) == Shape{1, 2});
}
