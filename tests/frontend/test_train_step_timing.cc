// Timing of the 784-256-128-10 MLP train step at batch 64 (imperative), split into
// forward+backward and trainer.step, for SGD, SGD with momentum and Adam, with the fused
// update (one compiled graph per parameter shape) and op by op. Reported, not asserted (the
// machine is shared).
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>

#include "hgc/hgc.h"

using namespace hgc;
using namespace hgc::gluon;

TEST_CASE("timing: MLP 784-256-128-10 b=64 train step, forward+backward vs trainer.step") {
  for (auto [label, opt, params] : std::vector<std::tuple<std::string, std::string, std::map<std::string, double>>>{
           {"sgd", "sgd", {{"learning_rate", 0.1}}},
           {"sgd+momentum", "sgd", {{"learning_rate", 0.1}, {"momentum", 0.9}, {"wd", 1e-4}}},
           {"adam", "adam", {{"learning_rate", 1e-3}}}})
  for (int fused : {1, 0}) {
    // Op by op, Adam's bias-corrected rate is a new scalar attribute each step, so each step
    // compiles new kernels (~0.2 s, or ~9 ms/step once the disk cache holds them): not timed.
    if (!fused && opt == "adam") continue;
    params["use_fused_step"] = fused;
    nd::random::seed(1);
    auto net = std::make_shared<nn::HybridSequential>();
    net->add(std::make_shared<nn::Dense>(nn::DenseOptions(256).activation("relu")));
    net->add(std::make_shared<nn::Dense>(nn::DenseOptions(128).activation("relu")));
    net->add(std::make_shared<nn::Dense>(nn::DenseOptions(10)));
    net->initialize(init::Xavier());
    NDArray x = nd::random::uniform(0, 1, {64, 784});
    NDArray y = nd::floor(nd::random::uniform(0, 10, {64}));
    loss::SoftmaxCrossEntropyLoss ce;
    Trainer tr(net->collect_params(), opt, params);
    using clock = std::chrono::steady_clock;
    double fb = 0, st = 0;
    const int warm = 5, steps = 30;
    for (int i = 0; i < warm + steps; ++i) {
      auto t0 = clock::now();
      NDArray l;
      {
        auto r = autograd::record();
        l = ce((*net)(x), y);
      }
      l.backward();
      auto t1 = clock::now();
      tr.step(64);
      auto t2 = clock::now();
      if (i >= warm) {
        fb += std::chrono::duration<double, std::milli>(t1 - t0).count();
        st += std::chrono::duration<double, std::milli>(t2 - t1).count();
      }
    }
    std::string what = label + (fused ? " fused" : " op-by-op");
    MESSAGE(what, ": forward+backward ", fb / steps,
            " ms, trainer.step ", st / steps, " ms, total ", (fb + st) / steps, " ms/step");
    CHECK(std::isfinite(nd::sum(net->collect_params().values()[0]->data()).asscalar()));
  }
}
