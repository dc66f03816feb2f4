// Export: HybridBlock::export_onnx of the Fashion MLP and LeNet (with BatchNorm) passes
// onnx::checker's full check (inside the writer) and re-imports through
// SymbolBlock::imports to the same numbers; `hgc convert` goes MXNet -> ONNX -> MXNet.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "hgc/base/files.h"
#include "hgc/hgc.h"
#include "hgc/runtime/tensor_io.h"
#include "bst/bst_mxnet.h"
#include "lenet/lenet.h"
#include "mlp/fashion_mlp.h"
#include "support/paths.h"
#include "support/shell.h"

using namespace hgc;
using namespace hgc::test;

namespace {

void round_trip(std::shared_ptr<gluon::nn::HybridSequential> net, const std::string& name) {
  net->initialize(gluon::init::Xavier());
  net->hybridize();
  NDArray x = nd::random::uniform(0, 1, {2, 1, 28, 28});
  std::vector<float> want = (*net)(x).to_vector<float>();
  std::string dir = temp_dir() + "/export_" + name;
  std::filesystem::create_directories(dir);
  net->export_onnx(dir + "/m.onnx", {{"data", {2, 1, 28, 28}}});
  auto back = gluon::SymbolBlock::imports(dir + "/m.onnx", {});
  std::vector<float> got = (*back)(x).to_vector<float>();
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-5));
  // The same through the command line, and back to MXNet's format.
  net->export_model(dir + "/mx", 0);
  Shell c = hgc_tool("convert " + dir + "/mx-symbol.json --params " + dir + "/mx-0000.params --shape data=2x1x28x28 -o " + dir + "/c.onnx");
  REQUIRE_MESSAGE(c.code == 0, c.out);
  Shell b = hgc_tool("convert " + dir + "/c.onnx -o " + dir + "/back");
  REQUIRE_MESSAGE(b.code == 0, b.out);
  Shell d = hgc_tool("dump " + dir + "/back-symbol.json --params " + dir + "/back-0000.params --shape data=2x1x28x28");
  CHECK_MESSAGE(d.code == 0, d.out);
  std::filesystem::remove_all(dir);
}

}  // namespace

TEST_CASE("onnx export: the Fashion MLP re-imports equal") { round_trip(models::fashion_mlp(), "mlp"); }
TEST_CASE("onnx export: LeNet with BatchNorm re-imports equal") { round_trip(models::lenet(true), "lenet"); }

// Issue 18: the MXNet seed's BST click model (Embedding, positional parameter, GluonNLP
// multi-head attention: batch_dot, split/reshape/transpose, softmax; LayerNorm, LeakyReLU,
// Concat, Dense) passes the checker and re-imports to the same logits.
TEST_CASE("onnx export: the BST recommender re-imports equal") {
  auto opts = models::BSTRecOptions().sequence_length(12).items(20).other_values(10);
  nd::random::seed(7);
  models::BSTRec net(opts);
  net.initialize(gluon::init::Xavier());
  net.hybridize();
  NDArray x = nd::floor(nd::random::uniform(0, 20, {3, 12}));
  NDArray other = nd::floor(nd::random::uniform(0, 10, {3, 12}));
  std::vector<float> want = net(x, other).to_vector<float>();
  std::string dir = temp_dir() + "/export_bst";
  std::filesystem::create_directories(dir);
  for (int opset : {13, 17}) {
    CAPTURE(opset);
    std::string path = dir + "/bst" + std::to_string(opset) + ".onnx";
    net.export_onnx(path, {{"data0", {3, 12}}, {"data1", {3, 12}}}, opset);
    auto back = gluon::SymbolBlock::imports(path, {});
    std::vector<float> got = (*back)({x, other})[0].to_vector<float>();
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-5));
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("onnx export: an opset outside 13..17 is an error") {
  auto net = std::make_shared<gluon::nn::HybridSequential>();
  net->add(std::make_shared<gluon::nn::Dense>(gluon::nn::DenseOptions(4)));
  net->initialize();
  net->hybridize();
  (*net)(nd::ones({2, 3}));
  CHECK_THROWS_WITH_AS(net->export_onnx(temp_dir() + "/bad.onnx", {{"data", {2, 3}}}, 9), doctest::Contains("opset 9"), Error);
}

// The nn_resize ops export as ONNX Resize (nearest/asymmetric/floor; linear with
// align_corners or pytorch_half_pixel), ConvTranspose (bilinear UpSampling), Slice (Crop) and
// AveragePool (even adaptive windows): checker-clean, and re-imported (the reader maps those
// Resizes back to UpSampling / BilinearResize2D) to the same numbers.
TEST_CASE("onnx export: UpSampling, Crop, BilinearResize2D, AdaptiveAvgPooling2D re-import equal") {
  std::string json = R"J({"nodes": [
    {"op": "null", "name": "data", "inputs": []},
    {"op": "Pooling", "name": "c3", "attrs": {"kernel": "(2, 2)", "stride": "(2, 2)", "pool_type": "max"}, "inputs": [[0, 0, 0]]},
    {"op": "UpSampling", "name": "up", "attrs": {"scale": "2", "sample_type": "nearest", "num_args": "2"}, "inputs": [[1, 0, 0], [1, 0, 0]]},
    {"op": "Crop", "name": "crop", "attrs": {"num_args": "2", "center_crop": "True"}, "inputs": [[0, 0, 0], [2, 0, 0]]},
    {"op": "null", "name": "up_weight", "inputs": []},
    {"op": "UpSampling", "name": "bil", "attrs": {"scale": "2", "sample_type": "bilinear", "num_args": "2", "num_filter": "6"},
     "inputs": [[3, 0, 0], [4, 0, 0]]},
    {"op": "_contrib_BilinearResize2D", "name": "rs", "attrs": {"height": "6", "width": "10", "align_corners": "False"}, "inputs": [[5, 0, 0]]},
    {"op": "_contrib_BilinearResize2D", "name": "rs2", "attrs": {"height": "9", "width": "7"}, "inputs": [[6, 0, 0]]},
    {"op": "_contrib_AdaptiveAvgPooling2D", "name": "ap", "attrs": {"output_size": "(3, 7)"}, "inputs": [[7, 0, 0]]},
    {"op": "_contrib_AdaptiveAvgPooling2D", "name": "gp", "inputs": [[8, 0, 0]]},
    {"op": "broadcast_add", "name": "out", "inputs": [[8, 0, 0], [9, 0, 0]]}],
   "arg_nodes": [0, 4], "heads": [[10, 0, 0]], "attrs": {"mxnet_version": ["int", 10900]}})J";
  std::string dir = temp_dir() + "/export_resize";
  std::filesystem::create_directories(dir);
  write_file_atomic(dir + "/m-symbol.json", json, "test");
  nd::random::seed(3);
  HostTensor w = nd::random::uniform(-1, 1, {6, 1, 4, 4}).tensor();
  save_params(dir + "/m-0000.params", {{"arg:up_weight", w}});
  Shell c = hgc_tool("convert " + dir + "/m-symbol.json --params " + dir + "/m-0000.params --shape data=1x6x9x8 -o " + dir + "/m.onnx");
  REQUIRE_MESSAGE(c.code == 0, c.out);
  NDArray x = nd::random::uniform(-1, 1, {1, 6, 9, 8});
  auto mx = gluon::SymbolBlock::imports(dir + "/m-symbol.json", {"data"}, dir + "/m-0000.params");
  auto onnx = gluon::SymbolBlock::imports(dir + "/m.onnx", {});
  std::vector<float> want = (*mx)(x).to_vector<float>(), got = (*onnx)(x).to_vector<float>();
  REQUIRE(got.size() == want.size());
  CHECK(want.size() == 6 * 3 * 7);
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-5));
  // The reader turned the Resizes back into MXNet's ops.
  Shell d = hgc_tool("dump " + dir + "/m.onnx --shape data=1x6x9x8");
  CHECK(d.out.find("UpSampling") != std::string::npos);
  CHECK(d.out.find("_contrib_BilinearResize2D") != std::string::npos);
  // Uneven adaptive windows have no ONNX equivalent: a named error.
  std::string bad = json;
  bad.replace(bad.find("(3, 7)"), 6, "(4, 7)");
  write_file_atomic(dir + "/bad-symbol.json", bad, "test");
  Shell e = hgc_tool("convert " + dir + "/bad-symbol.json --params " + dir + "/m-0000.params --shape data=1x6x9x8 -o " + dir + "/b.onnx");
  CHECK(e.code == 1);
  CHECK(e.out.find("node 'ap' (_contrib_AdaptiveAvgPooling2D)") != std::string::npos);
  std::filesystem::remove_all(dir);
}

// take's wrap mode exports as Mod before Gather (negative and too-large ids wrap), clip
// mode as Clip: both re-import to MXNet's values.
TEST_CASE("onnx export: take in wrap and clip mode re-imports equal") {
  std::string json = R"J({"nodes": [
    {"op": "null", "name": "data", "inputs": []},
    {"op": "null", "name": "ids", "inputs": []},
    {"op": "take", "name": "tw", "attrs": {"axis": "1", "mode": "wrap"}, "inputs": [[0, 0, 0], [1, 0, 0]]},
    {"op": "take", "name": "tc", "attrs": {"axis": "1", "mode": "clip"}, "inputs": [[0, 0, 0], [1, 0, 0]]},
    {"op": "Concat", "name": "cat", "attrs": {"dim": "1", "num_args": "2"}, "inputs": [[2, 0, 0], [3, 0, 0]]}],
   "arg_nodes": [0, 1], "heads": [[4, 0, 0]], "attrs": {"mxnet_version": ["int", 10900]}})J";
  std::string dir = temp_dir() + "/export_take";
  std::filesystem::create_directories(dir);
  write_file_atomic(dir + "/m-symbol.json", json, "test");
  save_params(dir + "/m-0000.params", ParamList{});
  Shell c = hgc_tool("convert " + dir + "/m-symbol.json --params " + dir + "/m-0000.params --shape data=2x7 --shape ids=5 -o " +
                     dir + "/m.onnx");
  REQUIRE_MESSAGE(c.code == 0, c.out);
  NDArray x = nd::random::uniform(-1, 1, {2, 7});
  NDArray ids = nd::array(std::vector<float>{-4, 0, 2, 5, 9}, {5});
  auto mx = gluon::SymbolBlock::imports(dir + "/m-symbol.json", {"data", "ids"}, dir + "/m-0000.params");
  auto onnx = gluon::SymbolBlock::imports(dir + "/m.onnx", {});
  std::vector<float> want = (*mx)({x, ids})[0].to_vector<float>(), got = (*onnx)({x, ids})[0].to_vector<float>();
  REQUIRE(want.size() == 2 * 10);
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == want[i]);
  // MXNet's semantics on row 0: wrap takes -4, 0, 2, 5, 9 as 3, 0, 2, 5, 2; clip as 0, 0, 2, 5, 6.
  std::vector<float> xv = x.to_vector<float>();
  const int wrap[] = {3, 0, 2, 5, 2}, clip[] = {0, 0, 2, 5, 6};
  for (int k = 0; k < 5; ++k) {
    CHECK(want[k] == xv[wrap[k]]);
    CHECK(want[5 + k] == xv[clip[k]]);
  }
  std::filesystem::remove_all(dir);
}
