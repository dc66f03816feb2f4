// The seed book's LeNet (Conv 20@5x5 relu, maxpool 2, Conv 50@5x5 relu, maxpool 2, Dense
// 500 relu, Dense 10), hybridized, batch 64 on random 1x28x28 images: one training step
// (forward under record, softmax cross-entropy, backward, SGD step) and one forward. The
// peer (PyTorch 1.13 eager, /work/shared/bench/peers/lenet.py) is measured by its own script;
// run both back to back, the shared machine's load moves every figure. Nov 2026, one thread,
// minutes apart: PyTorch 12.0 ms per step, hgc 12.5 ms (20.7 ms before the convolution-gradient
// and pooling-backward work). OpenBLAS honours $OPENBLAS_CORETYPE (Haswell here: AVX2
// kernels on an AVX-512 CPU; without it the step takes ~16 ms where it took 20 ms).
// Convolutions on oneDNN where faster (library.h ConvImpl), same loaded machine, builds
// alternating: process CPU per step 9.84 / 9.92 ms before, 8.84 / 9.08 ms after;
// HGC_CONV_LOG=1 prints which path each convolution took.
//
//   ./build/bench/hgc_bench_lenet --benchmark_min_time=2
//   ./build/bench/hgc_bench_lenet --profile     # time per compiled step, summed by op
#include <benchmark/benchmark.h>

#include <chrono>
#include <ctime>
#include <cstring>
#include <iostream>

#include "hgc/compiler/imperative.h"
#include "hgc/hgc.h"
#include "hgc/runtime/profile.h"
#include "lenet/lenet.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {

struct LeNetStep {
  std::shared_ptr<nn::HybridSequential> net = models::lenet(false);
  loss::SoftmaxCrossEntropyLoss ce;
  std::unique_ptr<Trainer> trainer;
  NDArray x, y;

  LeNetStep() {
    nd::random::seed(1);
    net->initialize(init::Xavier());
    net->hybridize();
    trainer = std::make_unique<Trainer>(net->collect_params(), "sgd",
                                        std::map<std::string, double>{{"learning_rate", 0.1}, {"momentum", 0.9}});
    x = nd::random::uniform(0, 1, {64, 1, 28, 28});
    y = nd::floor(nd::random::uniform(0, 9.99, {64}));
    for (int i = 0; i < 3; ++i) train();  // compile and warm every cache
    (*net)(x);
  }
  void train() {
    NDArray l;
    {
      auto r = autograd::record();
      l = ce((*net)(x), y);
    }
    l.backward();
    trainer->step(64);
  }
};

LeNetStep& lenet() {
  static LeNetStep s;
  return s;
}

void BM_LeNetTrainStep(benchmark::State& st) {
  LeNetStep& s = lenet();
  for (auto _ : st) s.train();
  st.SetItemsProcessed(st.iterations() * 64);
}
BENCHMARK(BM_LeNetTrainStep)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_LeNetForward(benchmark::State& st) {
  LeNetStep& s = lenet();
  for (auto _ : st) benchmark::DoNotOptimize((*s.net)(s.x));
  st.SetItemsProcessed(st.iterations() * 64);
}
BENCHMARK(BM_LeNetForward)->Unit(benchmark::kMillisecond)->UseRealTime();

// --profile: 20 train steps with the step profiler on, then its table.
int run_profile() {
  LeNetStep& s = lenet();
  KernelCacheStats k0 = kernel_cache_stats();
  profile::enable(true);
  auto t0 = std::chrono::steady_clock::now();
  std::clock_t c0 = std::clock();
  for (int i = 0; i < 20; ++i) s.train();
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / 20;
  double cpu_ms = 1000.0 * static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC / 20;
  profile::enable(false);
  profile::report(std::cout, 20);
  KernelCacheStats k1 = kernel_cache_stats();
  std::cout << "wall " << ms << " ms, process CPU " << cpu_ms << " ms per train step; imperative kernel compiles during the 20 steps: "
            << k1.misses - k0.misses << " (" << k1.compile_ms - k0.compile_ms << " ms)\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--profile") == 0) return run_profile();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
