// Smoke checks of the benchmark suite's programs (bench/): the workload timer runs a quick
// workload and prints well-formed JSON with the rows scripts/bench.sh's table needs (no
// timing assertions: the machine is shared), rejects bad arguments, and the parity check
// against PyTorch (bench/parity) passes (torch is installed by scripts/setup.sh; without it
// the parity test fails).
#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>

#include "support/paths.h"
#include "support/shell.h"

using namespace hgc::test;

namespace {

// The interpreter that imports torch (Debian's lives in /usr/bin/python3's dist-packages,
// which a pyenv python3 does not see), or "" after FAILing the test: torch is an oracle the
// project installs itself (scripts/setup.sh), so its absence is a broken set-up, not a skip.
std::string python_with_torch() {
  for (const char* py : {"python3", "/usr/bin/python3"})
    if (sh(std::string(py) + " -c 'import torch, numpy'").code == 0) return py;
  FAIL_CHECK("python3 -c \"import torch, numpy\" fails: run scripts/setup.sh (python3-torch python3-numpy)");
  return "";
}

}  // namespace

TEST_CASE("bench: hgc_bench_workloads --quick prints the JSON the report reads") {
  std::string out = temp_dir() + "/bench_w2.json";
  Shell r = sh(std::string(HGC_BENCH_WORKLOADS) + " --quick --runs 1 --only W2 2>/dev/null >" + out + "; cat " + out);
  REQUIRE(r.code == 0);
  nlohmann::json j = nlohmann::json::parse(r.out);  // throws (fails the test) when malformed
  CHECK(j.at("side") == "hgc");
  CHECK(j.at("quick") == true);
  CHECK(j.at("machine").at("nproc").get<int>() >= 1);
  CHECK(j.at("skipped").empty());
  std::set<std::string> modes;
  for (const auto& row : j.at("rows")) {
    CHECK(row.at("workload") == "W2");
    CHECK(row.at("metric") == "s/step");
    CHECK(row.at("n") == 1);
    REQUIRE(row.at("values").size() == 1);
    CHECK(row.at("values")[0].get<double>() > 0);
    CHECK(row.at("median") == row.at("values")[0]);
    modes.insert(row.at("mode").get<std::string>());
  }
  CHECK(modes == std::set<std::string>{"imperative", "hybrid"});
}

TEST_CASE("bench: the compile and memory figures come from fresh child processes") {
  std::string out = temp_dir() + "/bench_fresh.json";
  Shell r = sh(std::string(HGC_BENCH_WORKLOADS) + " --quick --only compile,memory 2>/dev/null >" + out + "; cat " + out);
  REQUIRE(r.code == 0);
  nlohmann::json j = nlohmann::json::parse(r.out);
  CHECK(j.at("skipped").empty());
  std::map<std::string, int> seen;
  for (const auto& row : j.at("rows")) {
    std::string w = row.at("workload");
    ++seen[w];
    CAPTURE(w);
    for (const auto& v : row.at("values")) {
      if (w == "memory") {  // a whole process: more than the MLP's own 1 MB of weights; its
        CHECK(row.at("metric") == "bytes");  // growth over the post-start baseline: more than those
        const bool growth = row.at("name").get<std::string>().find("growth") != std::string::npos;
        CHECK(v.get<double>() > (growth ? 1.0 : 8.0) * (1 << 20));
      } else {  // seconds of one call, under the child's whole lifetime
        CHECK(row.at("metric") == "s/call");
        CHECK(v.get<double>() > 0);
        CHECK(v.get<double>() < 60);
      }
    }
  }
  CHECK(seen == std::map<std::string, int>{{"compile", 1}, {"compile-warm", 1}, {"memory", 4}});
}

TEST_CASE("bench: hgc_bench_workloads rejects unknown workloads and bad counts") {
  Shell r = sh(std::string(HGC_BENCH_WORKLOADS) + " --only W9");
  CHECK(r.code == 1);
  CHECK(r.out.find("unknown workload 'W9'") != std::string::npos);
  r = sh(std::string(HGC_BENCH_WORKLOADS) + " --runs 0");
  CHECK(r.code == 1);
  CHECK(r.out.find("--runs takes a count") != std::string::npos);
}

TEST_CASE("bench: forwards match PyTorch with the same weights (parity.py, issue 7)") {
  std::string py = python_with_torch();
  if (py.empty()) return;
  std::string dir = temp_dir() + "/parity";
  Shell d = sh(std::string(HGC_PARITY_DUMP) + " " + dir);
  REQUIRE_MESSAGE(d.code == 0, d.out);
  Shell p = sh(py + " " + source_path("bench/parity/parity.py") + " " + dir);
  INFO(p.out);
  CHECK(p.code == 0);
  for (const char* model : {"straight_dope_mlp", "fashion_mlp", "lenet", "multivae", "bst_block"})
    for (const char* mode : {"imperative", "hybrid"}) {
      CAPTURE(model);
      CAPTURE(mode);
      CHECK(std::regex_search(p.out, std::regex(std::string("(^|\\n)ok +") + model + " +" + mode + " ")));
    }
  std::filesystem::remove_all(dir);
}
