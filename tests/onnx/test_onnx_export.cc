// Export: HybridBlock::export_onnx of the Fashion MLP and LeNet (with BatchNorm) passes
// onnx::checker's full check (inside the writer) and re-imports through
// SymbolBlock::imports to the same numbers; `hgc convert` goes MXNet -> ONNX -> MXNet.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "hgc/hgc.h"
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

TEST_CASE("onnx export: an opset outside 13..17 is an error") {
  auto net = std::make_shared<gluon::nn::HybridSequential>();
  net->add(std::make_shared<gluon::nn::Dense>(gluon::nn::DenseOptions(4)));
  net->initialize();
  net->hybridize();
  (*net)(nd::ones({2, 3}));
  CHECK_THROWS_WITH_AS(net->export_onnx(temp_dir() + "/bad.onnx", {{"data", {2, 3}}}, 9), doctest::Contains("opset 9"), Error);
}
