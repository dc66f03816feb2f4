// `hgc run --device cuda`: on a GPU it equals `hgc run` on the CPU; without one it compiles
// the PTX and then stops with the driver's reason (exit 1), never a crash.
#include <doctest/doctest.h>

#include <regex>

#include "hgc/runtime/cuda.h"
#include "support/paths.h"
#include "support/shell.h"

using namespace hgc;

namespace {

// The "sum=" checksum of output 0 in hgc run's report.
double checksum(const std::string& out) {
  std::smatch m;
  REQUIRE(std::regex_search(out, m, std::regex("output 0: .* sum=(-?[0-9.eE+-]+)")));
  return std::stod(m[1]);
}

}  // namespace

TEST_CASE("hgc run --device cuda: equals the CPU on a GPU, a clear error without one") {
  std::string model = test::source_path("models/mlp/straight_dope_mlp-symbol.json");
  std::string args = "run " + model + " --input data=8x784:random --seed 5";
  test::Shell bad = test::hgc_tool(args + " --device tpu");
  CHECK(bad.code == 1);
  CHECK(bad.out.find("--device is cpu or cuda") != std::string::npos);
  test::Shell gpu = test::hgc_tool(args + " --device cuda");
  if (!cuda::available()) {
    MESSAGE("SKIP GPU run: " << cuda::unavailable_reason());
    CHECK(gpu.code == 1);
    CHECK(gpu.out.find("[cuda]") != std::string::npos);
    CHECK(gpu.out.find(cuda::unavailable_reason()) != std::string::npos);
    return;
  }
  test::Shell cpu = test::hgc_tool(args);
  REQUIRE_MESSAGE(gpu.code == 0, gpu.out);
  REQUIRE(cpu.code == 0);
  CHECK(gpu.out.find("steps for sm_") != std::string::npos);
  CHECK(checksum(gpu.out) == doctest::Approx(checksum(cpu.out)).epsilon(1e-4));
}
