// optimizer_extra.h: three updates of each optimizer against the formula evaluated on the
// host in double precision, the Updater, and errors on bad options.
#include <doctest/doctest.h>

#include <cmath>

#include "hgc/frontend/optim/optimizer_extra.h"
#include "support/nd_close.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {
using D = std::vector<double>;
const D kW0{0.5, -1.0, 2.0, 0.1};
const D kGrads[3] = {{0.1, -0.2, 0.3, 0.0}, {-0.4, 0.5, 0.2, 0.1}, {0.3, 0.3, -0.1, -0.2}};
NDArray arr(const D& v) { return nd::array(std::vector<float>(v.begin(), v.end()), {2, 2}); }

// Runs three updates (index 0) and checks the weight after each against `ref`, which advances
// its own host copy of the weight given the step's gradient and t.
template <typename Ref>
void check_steps(optim::Optimizer& opt, Ref ref, double tol = 2e-5) {
  NDArray w = arr(kW0);
  D host = kW0;
  for (int t = 1; t <= 3; ++t) {
    opt.update(0, w, arr(kGrads[t - 1]));
    ref(host, kGrads[t - 1], t);
    INFO(opt.name(), " step ", t);
    test::check_close(w.to_vector<float>(), std::vector<float>(host.begin(), host.end()), tol);
  }
}
}  // namespace

TEST_CASE("optimizer: DCASGD with momentum") {
  optim::DCASGD opt(optim::OptimizerOptions().lr(0.1).weight_decay(0.01), 0.9, 0.04);
  D mom(4, 0), prev = kW0;
  check_steps(opt, [&](D& w, const D& g, int) {
    for (int i = 0; i < 4; ++i) {
      mom[i] = 0.9 * mom[i] - 0.1 * (g[i] + 0.01 * w[i] + 0.04 * g[i] * g[i] * (w[i] - prev[i]));
      prev[i] = w[i];
      w[i] += mom[i];
    }
  });
}

TEST_CASE("optimizer: FTML") {
  optim::FTML opt(optim::OptimizerOptions().lr(0.0025).weight_decay(0.01));
  D d(4, 0), v(4, 0), z(4, 0);
  check_steps(opt, [&](D& w, const D& g0, int t) {
    for (int i = 0; i < 4; ++i) {
      double g = g0[i] + 0.01 * w[i];
      v[i] = 0.999 * v[i] + 0.001 * g * g;
      double dt = (1 - std::pow(0.6, t)) / 0.0025 * (std::sqrt(v[i] / (1 - std::pow(0.999, t))) + 1e-8);
      z[i] = 0.6 * z[i] + 0.4 * g - (dt - 0.6 * d[i]) * w[i];
      d[i] = dt;
      w[i] = -z[i] / dt;
    }
  }, 1e-4);
}

TEST_CASE("optimizer: LARS scales the rate by the norm ratio") {
  optim::LARS opt(optim::OptimizerOptions().lr(0.5).weight_decay(0.001), 0.9, 0.01);
  D mom(4, 0);
  check_steps(opt, [&](D& w, const D& g, int) {
    double wn = 0, gn = 0;
    for (int i = 0; i < 4; ++i) wn += w[i] * w[i], gn += g[i] * g[i];
    wn = std::sqrt(wn), gn = std::sqrt(gn);
    double lr = 0.5 * (0.01 * wn / (gn + 0.001 * wn));
    for (int i = 0; i < 4; ++i) mom[i] = 0.9 * mom[i] - lr * (g[i] + 0.001 * w[i]), w[i] += mom[i];
  });
}

TEST_CASE("optimizer: LBSGD accumulates batch_scale gradients, warms up linearly") {
  optim::LBSGD opt(optim::OptimizerOptions().lr(0.1), optim::LBSGDOptions().scale(2).warmup(1, 4));
  CHECK(opt.lbmult(0) == doctest::Approx(1));
  CHECK(opt.lbmult(2) == doctest::Approx(1.5));
  CHECK(opt.lbmult(4) == doctest::Approx(2));
  D cum(4, 0);
  check_steps(opt, [&](D& w, const D& g, int t) {
    for (int i = 0; i < 4; ++i) cum[i] += g[i];
    if (t % 2 != 0) return;
    double lr = 0.1 * (1 + 1.0 * t / 4);
    for (int i = 0; i < 4; ++i) w[i] -= lr * cum[i] / 2, cum[i] = 0;
  });
  CHECK_THROWS_AS(optim::LBSGD(optim::OptimizerOptions(), optim::LBSGDOptions().strategy("cosine")), Error);
}

TEST_CASE("optimizer: SGLD is the half-step plus N(0, sqrt(lr)) noise") {
  optim::SGLD opt(optim::OptimizerOptions().lr(0.04).weight_decay(0.1));
  NDArray w = arr(kW0);
  nd::random::seed(11);
  opt.update(0, w, arr(kGrads[0]));
  nd::random::seed(11);
  NDArray noise = nd::random::normal(0, 0.2, {2, 2});
  NDArray want = arr(kW0) - 0.02 * (arr(kGrads[0]) + 0.1 * arr(kW0)) + noise;
  test::check_close(w, want, 1e-6);
}

TEST_CASE("optimizer: ccSGD is SGD, Updater and get_updater, create_extra") {
  optim::ccSGD cc(optim::OptimizerOptions().lr(0.1));
  CHECK(cc.name() == "sgd");
  auto opt = std::shared_ptr<optim::Optimizer>(optim::create_extra("ftml", {{"learning_rate", 0.01}}));
  CHECK(opt->name() == "ftml");
  optim::Updater upd = optim::get_updater(opt);
  NDArray w = arr(kW0), w2 = arr(kW0);
  upd(3, arr(kGrads[0]), w);
  CHECK(opt->update_count(3) == 1);
  CHECK(opt->state(3) != nullptr);
  optim::FTML same(optim::OptimizerOptions().lr(0.01));
  same.update(0, w2, arr(kGrads[0]));
  test::check_close(w, w2, 1e-6);
  CHECK_THROWS_AS(upd({1, 2}, {arr(kGrads[0])}, {w, w2}), Error);
  CHECK_THROWS_AS(optim::Updater(nullptr), Error);
  CHECK(optim::create_extra("ccsgd", {{"momentum", 0.9}})->name() == "sgd");
  CHECK(optim::create_extra("lars", {{"eta", 0.01}})->name() == "lars");
  CHECK(optim::create_extra("adam")->name() == "adam");
  CHECK_THROWS_AS(optim::create_extra("sgld", {{"momentum", 0.9}}), Error);
}
