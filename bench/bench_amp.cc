// Issue 20's bfloat16 rows: W1b (mlp512 b=64 forward x1000), W2 (mlp784 b=64 train step),
// W3 (LeNet b=64 train step), W5 (MultiVAE b=500 train step, sparse GEMM path off), each
// hybridized in float32 and with bfloat16 AMP, on all cores. Prints a Markdown table with
// the AMP speed-up; bench/peers/torch_amp.py times PyTorch's autocast(bfloat16) on the same
// workloads. Run with DNNL_VERBOSE=1 to see which ISA oneDNN's bfloat16 kernels used
// (scripts/bench_amp.sh does both and names the ISA).
//
//   ./build/bench/hgc_bench_amp [--only W1b,W2,W3,W5] [--runs N] [--profile]
//
// --profile: after each row, the step profiler's table (hgc/runtime/profile.h) of `runs` calls
// of each variant, float32 first, so the time per compiled step of both can be compared.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <set>
#include <sstream>

#include "hgc/hgc.h"
#include "hgc/runtime/library.h"
#include "hgc/runtime/profile.h"
#include "lenet/lenet.h"
#include "mlp/fashion_mlp.h"
#include "multivae/multivae.h"
#include "workloads.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {

using Clock = std::chrono::steady_clock;

// Median seconds of `runs` timings of `inner` calls, after `warmup` calls.
double median_seconds(const std::function<void()>& fn, int inner, int runs, int warmup) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> t;
  for (int r = 0; r < runs; ++r) {
    auto t0 = Clock::now();
    for (int i = 0; i < inner; ++i) fn();
    t.push_back(std::chrono::duration<double>(Clock::now() - t0).count() / inner);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

NDArray labels(int64_t n) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>(i % 10);
  return nd::array(v, {n});
}

}  // namespace

int main(int argc, char** argv) try {
  std::set<std::string> only;
  int runs = 5;
  bool prof = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--only" && i + 1 < argc) {
      std::stringstream s(argv[++i]);
      for (std::string w; std::getline(s, w, ',');) only.insert(w);
    } else if (a == "--runs" && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--profile") {
      prof = true;
    } else {
      std::fprintf(stderr, "usage: %s [--only W1b,W2,W3,W5] [--runs N] [--profile]\n", argv[0]);
      return 1;
    }
  }
  auto want = [&](const char* w) { return only.empty() || only.count(w); };
  lib::set_sparse_activations(false);
  std::printf("| workload | hgc float32 | hgc bfloat16 AMP | AMP speed-up |\n|---|---|---|---|\n");
  auto row = [&](const char* w, const char* what, const std::function<std::function<void()>(bool)>& make, int inner,
                 int warmup) {
    double t[2];
    std::function<void()> fn[2];
    for (int amp = 0; amp < 2; ++amp) t[amp] = median_seconds(fn[amp] = make(amp != 0), inner, runs, warmup);
    std::printf("| %s %s | %.3f ms | %.3f ms | %.2fx |\n", w, what, t[0] * 1e3, t[1] * 1e3, t[0] / t[1]);
    std::fflush(stdout);
    if (!prof) return;
    for (int amp = 0; amp < 2; ++amp) {
      const int n = runs * inner;
      profile::reset();
      profile::enable(true);
      auto t0 = Clock::now();
      for (int i = 0; i < n; ++i) fn[amp]();
      double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / n;
      profile::enable(false);
      std::cout << "\n### " << w << (amp ? " bfloat16 AMP" : " float32") << ": compiled steps per call (of " << n
                << "; wall " << ms << " ms per call)\n";
      profile::report(std::cout, n);
      std::cout << std::endl;
    }
  };
  if (want("W1b"))
    row("W1b", "mlp512 b=64 fwd", [](bool amp) {
      nd::random::seed(0);
      auto net = bench::straight_dope_mlp();
      net->initialize(init::Xavier());
      net->hybridize();
      if (amp) amp::convert_hybrid_block(net, "bfloat16");
      NDArray x = nd::random::normal(0, 1, {64, 512});
      return std::function<void()>([=] { (*net)(x); });
    }, 100, 10);
  if (want("W2"))
    row("W2", "mlp784 b=64 train step", [](bool amp) {
      return bench::classifier_sgd_step(models::fashion_mlp(), nd::random::uniform(0, 1, {64, 784}), labels(64), true, amp);
    }, 20, 5);
  if (want("W3"))
    row("W3", "lenet b=64 train step", [](bool amp) {
      return bench::classifier_sgd_step(models::lenet(), nd::random::uniform(0, 1, {64, 1, 28, 28}), labels(64), true, amp);
    }, 10, 3);
  if (want("W5"))
    row("W5", "multivae b=500 train step", [](bool amp) {
      const int64_t items = 20108, batch = 500;
      nd::random::seed(0);
      NDArray x = nd::random::uniform(0, 1, {batch, items}) < 0.01;
      return bench::multivae_adam_step(x, items, true, amp);
    }, 1, 1);
  return 0;
} catch (const hgc::Error& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
