// Real exports: torchvision ResNet-18 and MobileNetV2 and a TransformerEncoderLayer exported
// by torch.onnx.export (seeded random weights), run by `hgc run` and compared with PyTorch's
// output (1e-4 relative to the output's largest magnitude). PyTorch is the oracle the project
// installs (python3-torch, python3-torchvision): a missing one fails.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "hgc/runtime/tensor_io.h"
#include "support/paths.h"
#include "support/shell.h"

using namespace hgc;
using namespace hgc::test;

namespace {

void check_export(const std::string& name) {
  std::string dir = temp_dir() + "/torch_" + name;
  std::filesystem::create_directories(dir);
  Shell e = sh("/usr/bin/python3 " + source_path("tests/onnx/torch_export.py") + " " + name + " " + dir);
  REQUIRE_MESSAGE(e.code == 0, "torch export failed (apt-get install python3-torch python3-torchvision): " << e.out);
  Shell r = hgc_tool("run " + dir + "/model.onnx --input input=" + dir + "/input.npy --output " + dir + "/hgc.npy");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  HostTensor got = load_npy(dir + "/hgc.npy"), want = load_npy(dir + "/expected.npy");
  REQUIRE(got.shape() == want.shape());
  double scale = 0, worst = 0;
  for (int64_t i = 0; i < want.numel(); ++i) scale = std::max(scale, std::fabs(double(want.data<float>()[i])));
  for (int64_t i = 0; i < want.numel(); ++i)
    worst = std::max(worst, std::fabs(double(got.data<float>()[i]) - want.data<float>()[i]));
  MESSAGE(name << ": max abs error " << worst << " of max |y| " << scale);
  CHECK(worst <= 1e-4 * std::max(scale, 1e-6));
  std::filesystem::remove_all(dir);
}

}  // namespace

TEST_CASE("onnx torch: ResNet-18 matches PyTorch") { check_export("resnet18"); }
TEST_CASE("onnx torch: MobileNetV2 matches PyTorch") { check_export("mobilenet_v2"); }
TEST_CASE("onnx torch: TransformerEncoderLayer matches PyTorch") { check_export("transformer"); }
