// Issue 19's rows: what a new batch size costs a hybridized block whose batch axis is
// symbolic (the default) against one compiled per shape (HybridizeOptions().static_shapes()),
// and the steady-state time of both at one size. Each block starts with an empty kernel cache
// (a fresh cache folder, no in-memory reuse), so "first call" includes the MLIR/LLVM compile.
//
//   build/bench/hgc_bench_dynamic [--runs N] [--resnet PATH-symbol.json]
// Prints a markdown table (ms; dynamic / static ratio for the steady state).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <unistd.h>

#include "hgc/hgc.h"
#include "workloads.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

CompileOptions empty_cache(const std::string& tag) {
  auto dir = std::filesystem::temp_directory_path() / ("hgc-bench-dyn-" + tag + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  CompileOptions o;
  o.cache_dir = dir.string();
  o.memory_cache = false;
  return o;
}

double median_ms(const std::function<void()>& f, int runs) {
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    auto t0 = Clock::now();
    f();
    t.push_back(ms_since(t0));
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// `make(static)` builds an initialized, hybridized block; `input(n)` the inputs at batch n.
void row(const std::string& name, const std::function<std::shared_ptr<Block>(bool, const CompileOptions&)>& make,
         const std::function<std::vector<NDArray>(int64_t)>& input, int64_t b0, int64_t b1, int runs,
         bool no_static = false) {
  double first[2], next[2], steady[2];
  for (int s = 0; s < 2; ++s) {
    auto net = make(s == 1, empty_cache(name + std::to_string(s)));
    auto x0 = input(b0), x1 = input(b1);
    auto t0 = Clock::now();
    (*net)(x0);
    first[s] = ms_since(t0);
    if (s == 1 && no_static) net = make(true, empty_cache(name + "2"));  // a full compile at the new size
    t0 = Clock::now();
    (*net)(x1);
    next[s] = ms_since(t0);
    (*net)(x0);
    steady[s] = median_ms([&] { (*net)(x0); }, runs);
  }
  if (no_static)
    std::printf("| %s | %.1f | %.2f | %.1f (fresh block) | %.3f | n/a | n/a |\n", name.c_str(), first[0], next[0], next[1],
                steady[0]);
  else
    std::printf("| %s | %.1f | %.2f | %.1f | %.3f | %.3f | %.2f |\n", name.c_str(), first[0], next[0], next[1], steady[0],
                steady[1], steady[0] / steady[1]);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 50;
  std::string resnet = "../shared/models/mxnet/djl_resnet18_v1-symbol.json";
  for (int i = 1; i + 1 < argc; ++i) {
    if (!std::strcmp(argv[i], "--runs")) runs = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--resnet")) resnet = argv[++i];
  }
  std::printf("| block | first call (ms) | new batch, dynamic (ms) | new batch, static (ms) | steady dynamic (ms) | "
              "steady static (ms) | dynamic/static |\n|---|---|---|---|---|---|---|\n");
  auto hyb = [](std::shared_ptr<Block> b, bool fixed, const CompileOptions& o) {
    b->hybridize(true, HybridizeOptions().compile_options(o).static_shapes(fixed));
    return b;
  };
  row("MLP 512-256-128-2 (64 -> 40)",
      [&](bool fixed, const CompileOptions& o) {
        nd::random::seed(1);
        auto net = bench::straight_dope_mlp();
        net->initialize(init::Xavier());
        return hyb(net, fixed, o);
      },
      [](int64_t n) { return std::vector<NDArray>{nd::random::uniform(0, 1, {n, 512})}; }, 64, 40, runs);
  row("BST forward (64 -> 40)",
      [&](bool fixed, const CompileOptions& o) {
        nd::random::seed(2);
        auto net = std::make_shared<bench::BSTBlock>();
        net->initialize(init::Xavier());
        net->set_positions();
        autograd::Scope predict(false, false);
        (*net)(std::vector<NDArray>{nd::zeros({2, 32}), nd::zeros({2, 32})});  // deferred shapes
        return hyb(net, fixed, o);
      },
      [](int64_t n) {
        return std::vector<NDArray>{nd::floor(nd::random::uniform(0, 32, {n, 32})),
                                    nd::floor(nd::random::uniform(0, 32, {n, 32}))};
      },
      64, 40, runs);
  if (std::filesystem::exists(resnet)) {
    row("ResNet-18 (8 -> 3)",
        [&](bool fixed, const CompileOptions& o) -> std::shared_ptr<Block> {
          nd::random::seed(3);
          auto net = SymbolBlock::imports(resnet, {"data"});
          net->initialize(init::Xavier());
          (void)fixed;  // a SymbolBlock's batch axis is symbolic on cpu; "static" times a fresh block
          (void)o;
          return net;
        },
        [](int64_t n) { return std::vector<NDArray>{nd::random::uniform(0, 1, {n, 3, 224, 224})}; }, 8, 3,
        std::max(3, runs / 10), true);
  } else {
    std::printf("| ResNet-18 | skipped: %s is absent | | | | | |\n", resnet.c_str());
  }
  return 0;
}
