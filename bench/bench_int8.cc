// Issue 20's int8 rows: inference of a float32 model hybridized by hgc vs the same model
// quantized by quantization::quantize_net (naive calibration), on all cores: LeNet (b=64 and
// b=256) and a ResNet-style stage (4 x Conv 64@3x3 + BatchNorm + ReLU on 56x56, b=8). Prints a
// Markdown table with the int8 speed-up; run with DNNL_VERBOSE=1 to see the ISA of oneDNN's
// int8 convolutions (scripts/bench_int8.sh does both and names it).
//
//   ./build/bench/hgc_bench_int8 [--runs N] [--only lenet64,lenet256,resnet_stage]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <set>
#include <sstream>

#include "hgc/hgc.h"
#include "lenet/lenet.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {

using Clock = std::chrono::steady_clock;

double median_seconds(const std::function<void()>& fn, int inner, int runs) {
  for (int i = 0; i < 2; ++i) fn();
  std::vector<double> t;
  for (int r = 0; r < runs; ++r) {
    auto t0 = Clock::now();
    for (int i = 0; i < inner; ++i) fn();
    t.push_back(std::chrono::duration<double>(Clock::now() - t0).count() / inner);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

std::shared_ptr<nn::HybridSequential> resnet_stage() {
  auto net = std::make_shared<nn::HybridSequential>();
  for (int i = 0; i < 4; ++i) {
    net->add(std::make_shared<nn::Conv2D>(nn::Conv2DOptions(64, {3, 3}).padding({1, 1}).use_bias(false)));
    net->emplace<nn::BatchNorm>(nn::BatchNormOptions().axis(1));
    net->emplace<nn::Activation>("relu");
  }
  return net;
}

}  // namespace

int main(int argc, char** argv) try {
  std::set<std::string> only;
  int runs = 5;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--only" && i + 1 < argc) {
      std::stringstream s(argv[++i]);
      for (std::string w; std::getline(s, w, ',');) only.insert(w);
    } else if (a == "--runs" && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: hgc_bench_int8 [--runs N] [--only lenet64,lenet256,resnet_stage]\n");
      return 2;
    }
  }
  struct W {
    std::string name, what;
    std::function<std::shared_ptr<HybridBlock>()> make;
    std::vector<int64_t> shape;
    int inner;
  };
  std::vector<W> ws = {
      {"lenet64", "LeNet forward, b=64", [] { return models::lenet(false); }, {64, 1, 28, 28}, 20},
      {"lenet256", "LeNet forward, b=256", [] { return models::lenet(false); }, {256, 1, 28, 28}, 5},
      {"resnet_stage", "4 x (Conv 64@3x3 + BN + ReLU), 56x56, b=8", resnet_stage, {8, 64, 56, 56}, 2},
  };
  std::printf("| workload | hgc float32 (ms) | hgc int8 (ms) | int8 speed-up |\n|---|---|---|---|\n");
  for (const W& w : ws) {
    if (!only.empty() && !only.count(w.name)) continue;
    nd::random::seed(1);
    auto net = w.make();
    net->initialize(init::Xavier());
    net->hybridize();
    NDArray x = nd::random::uniform(0, 1, w.shape);
    (void)(*net)(x);
    std::vector<NDArray> calib{x};
    auto q = quantization::quantize_net(*net, calib);
    double f = median_seconds([&] { (void)(*net)(x); }, w.inner, runs);
    double i8 = median_seconds([&] { (void)(*q.block)(x); }, w.inner, runs);
    std::printf("| %s: %s | %.3f | %.3f | %.2fx |\n", w.name.c_str(), w.what.c_str(), f * 1e3, i8 * 1e3, f / i8);
    std::fflush(stdout);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
