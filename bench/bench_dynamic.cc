// Issue 19's rows: what a new batch size costs a hybridized block whose batch axis is
// symbolic (the default) against one compiled per shape (HybridizeOptions().static_shapes()),
// and the steady-state time of both at one size. Each block starts with an empty kernel cache
// (a fresh cache folder, no in-memory reuse), so "first call" includes the MLIR/LLVM compile.
//
//   build/bench/hgc_bench_dynamic [--runs N] [--resnet PATH-symbol.json]
//   build/bench/hgc_bench_dynamic --w6 [--epochs N]     (a fresh process: its own empty cache)
//   build/bench/hgc_bench_dynamic --w6 --no-prebuilt    (the imperative kernels JIT-compiled,
//                                                        not taken from the library: the before)
// Prints a markdown table (ms; dynamic / static ratio for the steady state). "its steady" is
// the steady time at the new batch size, so "new batch" minus it is what the size change cost
// (shape inference, the passes, the step/memory plan, a convolution's first call per layer).
// --w6: W6's Fashion MLP epochs (SGD, batch 64, the short last batch, evaluation at 1000)
// with an empty disk cache and fresh in-memory caches: the first epoch vs the later ones.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <unistd.h>

#include "hgc/hgc.h"
#include "hgc/compiler/imperative.h"
#include "hgc/compiler/kernel_cache.h"
#include "fashion/train.h"
#include "mlp/fashion_mlp.h"
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

// At least `runs` calls and, for calls far below a millisecond, at least `min_ms` of them.
double median_ms(const std::function<void()>& f, int runs, double min_ms = 0) {
  std::vector<double> t;
  auto start = Clock::now();
  for (int i = 0; i < runs || ms_since(start) < min_ms; ++i) {
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
  double first[2], next[2], steady[2], steady_next = 0;
  std::shared_ptr<Block> nets[2];
  std::vector<NDArray> x0 = input(b0), x1 = input(b1);
  for (int s = 0; s < 2; ++s) {
    auto net = make(s == 1, empty_cache(name + std::to_string(s)));
    auto t0 = Clock::now();
    (*net)(x0);
    first[s] = ms_since(t0);
    if (s == 1 && no_static) net = make(true, empty_cache(name + "2"));  // a full compile at the new size
    t0 = Clock::now();
    (*net)(x1);
    next[s] = ms_since(t0);
    if (s == 0) steady_next = median_ms([&] { (*net)(x1); }, runs);
    (*net)(x0);
    nets[s] = net;
  }
  // Steady dynamic vs static at b0, interleaved in short rounds: a step of ~0.1 ms is at the
  // mercy of the machine's drift, which a dynamic-then-static sequence would charge to one side.
  const int rounds = 9, per = std::max(5, runs / rounds);
  std::vector<double> r[2];
  for (int i = 0; i < rounds; ++i)
    for (int s = 0; s < (no_static ? 1 : 2); ++s) r[s].push_back(median_ms([&] { (*nets[s])(x0); }, per, 20.0));
  for (int s = 0; s < (no_static ? 1 : 2); ++s) {
    std::sort(r[s].begin(), r[s].end());
    steady[s] = r[s][r[s].size() / 2];
  }
  if (no_static)
    std::printf("| %s | %.1f | %.2f | %.2f | %.1f (fresh block) | %.3f | n/a | n/a |\n", name.c_str(), first[0], next[0],
                steady_next, next[1], steady[0]);
  else
    std::printf("| %s | %.1f | %.2f | %.2f | %.1f | %.3f | %.3f | %.2f |\n", name.c_str(), first[0], next[0], steady_next,
                next[1], steady[0], steady[1], steady[0] / steady[1]);
  std::fflush(stdout);
}

}  // namespace

// W6 in this fresh process: the caches are empty (HGC_CACHE_DIR points at a new folder).
int w6(int epochs) {
  auto dir = std::filesystem::temp_directory_path() / ("hgc-bench-w6-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  ::setenv("HGC_CACHE_DIR", dir.c_str(), 1);
  auto data = models::load_fashion_mnist();
  if (!data) {
    std::printf("| W6 | skipped: Fashion-MNIST is not installed (%s) | | |\n", models::kFashionMnistDir.c_str());
    return 0;
  }
  nd::random::seed(0);
  auto net = models::fashion_mlp();
  net->initialize(init::Xavier());
  net->hybridize();
  models::FashionTrainOptions t;
  t.epochs = epochs;
  t.optimizer = "sgd";
  t.learning_rate = 0.1;
  t.momentum = 0;
  t.cosine = false;
  t.progress = false;
  // What the first epoch compiled: the block's graphs (compile_count) and the imperative ops'
  // kernels (the loss, its gradient, the optimizer update, the metric).
  KernelCacheStats first_epoch;
  int64_t block_compiles = 0, prebuilt_modules = 0, modules0 = prebuilt_modules_used();
  auto curve = models::train_fashion(*net, *data, t, [&](const models::EpochStats& e) {
    if (e.epoch != 1) return;
    first_epoch = kernel_cache_stats();
    block_compiles = net->compile_count();
    prebuilt_modules = prebuilt_modules_used() - modules0;
  });
  std::vector<double> later;
  for (size_t i = 1; i < curve.size(); ++i) later.push_back(curve[i].seconds);
  std::sort(later.begin(), later.end());
  double steady = later.empty() ? curve[0].seconds : later[later.size() / 2];
  std::printf("| W6 Fashion MLP epoch (60k, batch 64), empty disk cache%s | %.3f | %.3f | %.2f (target <= 1.15) | %lld "
              "block, %lld imperative (%.0f ms), %lld prebuilt, %lld prebuilt graph modules |\n",
              prebuilt_kernels_enabled() ? "" : ", prebuilt kernels off",
              curve[0].seconds, steady, curve[0].seconds / steady, static_cast<long long>(block_compiles),
              static_cast<long long>(first_epoch.misses), first_epoch.compile_ms,
              static_cast<long long>(first_epoch.prebuilt), static_cast<long long>(prebuilt_modules));
  std::filesystem::remove_all(dir);
  return 0;
}

int main(int argc, char** argv) {
  int runs = 50, epochs = 3;
  bool only_w6 = false;
  std::string resnet = "../shared/models/mxnet/djl_resnet18_v1-symbol.json";
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--w6")) only_w6 = true;
    else if (!std::strcmp(argv[i], "--no-prebuilt")) set_prebuilt_kernels_enabled(false);
    else if (i + 1 < argc && !std::strcmp(argv[i], "--epochs")) epochs = std::max(2, std::atoi(argv[++i]));
    else if (i + 1 < argc && !std::strcmp(argv[i], "--runs")) runs = std::atoi(argv[++i]);
    else if (i + 1 < argc && !std::strcmp(argv[i], "--resnet")) resnet = argv[++i];
  }
  if (only_w6) {
    std::printf("| workload | first epoch (s) | steady epoch (s) | first/steady | compiles in the first epoch |\n|---|---|---|---|---|\n");
    return w6(epochs);
  }
  std::printf("| block | first call (ms) | new batch, dynamic (ms) | its steady (ms) | new batch, static (ms) | "
              "steady dynamic (ms) | steady static (ms) | dynamic/static |\n|---|---|---|---|---|---|---|---|\n");
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
    std::printf("| ResNet-18 | skipped: %s is absent | | | | | | |\n", resnet.c_str());
  }
  return 0;
}
