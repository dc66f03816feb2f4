// The command-line road for a model's export: `hgc dump` infers it with the given inputs'
// shapes, and `hgc run` on those inputs (as .npy files) reproduces the model's output.
#pragma once
#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

#include "hgc/frontend/nd/ndarray.h"
#include "support/nd_close.h"
#include "support/shell.h"

namespace hgc::test {

inline void check_hgc_cli(const std::string& prefix, int epoch, const std::vector<std::pair<std::string, NDArray>>& inputs,
                          const NDArray& want, double tol = 1e-5) {
  char params[16];
  std::snprintf(params, sizeof params, "-%04d.params", epoch);
  std::string json = prefix + "-symbol.json", p = prefix + params, shapes, feeds;
  for (const auto& [name, x] : inputs) {
    std::string dims;
    for (int64_t d : x.shape()) dims += (dims.empty() ? "" : "x") + std::to_string(d);
    nd::save_npy(prefix + "-" + name + ".npy", x);
    shapes += " --shape " + name + "=" + dims;
    feeds += " --input " + name + "=" + prefix + "-" + name + ".npy";
  }
  Shell dump = hgc_tool("dump " + json + " --params " + p + shapes);
  INFO(dump.out);
  CHECK(dump.code == 0);
  Shell run = hgc_tool("run " + json + " --params " + p + feeds + " --output " + prefix + "-out.npy");
  INFO(run.out);
  REQUIRE(run.code == 0);
  check_close(nd::load_npy(prefix + "-out.npy"), want, tol);
}

}  // namespace hgc::test
