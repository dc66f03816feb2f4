// Gluon 1.9's remaining losses against per-element formulas worked out here, and their
// gradients against finite differences; MXNet 1.9's AdaDelta, Adamax, Nadam, Signum, Ftrl and
// LAMB against scalar re-computations of their update rules over three steps.
#include <doctest/doctest.h>

#include <cmath>
#include <array>
#include <functional>

#include "hgc/base/error.h"
#include "hgc/hgc.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {
void close(const NDArray& a, const std::vector<double>& want, double tol = 1e-5) {
  auto v = a.to_vector<float>();
  REQUIRE(v.size() == want.size());
  for (size_t i = 0; i < v.size(); ++i) CHECK(v[i] == doctest::Approx(want[i]).epsilon(tol).scale(1));
}
}  // namespace

TEST_CASE("losses: Hinge, SquaredHinge, Logistic, PoissonNLL, Triplet, CosineEmbedding") {
  NDArray pred = nd::array({0.5f, -2, 3, 0.2f}, {2, 2}), label = nd::array({1, -1, -1, 1}, {2, 2});
  // hinge: max(0, 1 - p y) = (0.5, 0, 4, 0.8) -> row means (0.25, 2.4)
  close(loss::HingeLoss()(pred, label), {0.25, 2.4});
  close(loss::SquaredHingeLoss()(pred, label), {0.125, (16 + 0.64) / 2});
  auto logistic = [](double x) { return std::log1p(std::exp(-x)); };
  close(loss::LogisticLoss()(pred, label), {(logistic(0.5) + logistic(2)) / 2, (logistic(-3) + logistic(0.2)) / 2});
  NDArray binary = (label + 1.0) / 2.0;
  close(loss::LogisticLoss(loss::LossOptions().label_format("binary"))(pred, binary),
        {(logistic(0.5) + logistic(2)) / 2, (logistic(-3) + logistic(0.2)) / 2});
  CHECK_THROWS_AS(loss::LogisticLoss(loss::LossOptions().label_format("probability")), Error);
  NDArray target = nd::array({1, 0, 2, 3}, {2, 2});
  double pn = 0;
  auto pv = pred.to_vector<float>(), tv = target.to_vector<float>();
  for (int i = 0; i < 4; ++i) pn += std::exp(pv[i]) - tv[i] * pv[i];
  close(loss::PoissonNLLLoss()(pred, target), {pn / 4});
  NDArray a = nd::array({0, 0, 1, 1}, {2, 2}), p = nd::array({1, 0, 1, 2}, {2, 2}), n = nd::array({0, 2, 1, 1.5f}, {2, 2});
  // row 0: |a-p|^2 = 1, |a-n|^2 = 4 -> max(0, 1 - 4 + 1) = 0; row 1: 1 - 0.25 + 1 = 1.75
  close(loss::TripletLoss()(a, p, n), {0, 1.75});
  NDArray x1 = nd::array({1, 0, 1, 1}, {2, 2}), x2 = nd::array({1, 0, -1, 1}, {2, 2}), y = nd::array({1, -1});
  // row 0: cos 1, label 1 -> 0; row 1: cos 0, label -1 -> max(0, 0 - 0) = 0; with margin -0.5: 0.5
  close(loss::CosineEmbeddingLoss()(x1, x2, y), {0, 0});
  close(loss::CosineEmbeddingLoss(loss::LossOptions().margin(-0.5))(x1, x2, y), {0, 0.5});
  CHECK_THROWS_AS(loss::TripletLoss()(a, p, nd::ones({3})), Error);

  // Gradients by finite differences (a point away from the kinks).
  NDArray q = nd::array({0.3f, -0.7f, 1.4f, 0.1f}, {2, 2});
  std::vector<std::pair<std::string, std::function<NDArray(const NDArray&)>>> fs = {
      {"hinge", [&](const NDArray& v) { return loss::HingeLoss()(v, label); }},
      {"logistic", [&](const NDArray& v) { return loss::LogisticLoss()(v, label); }},
      {"poisson", [&](const NDArray& v) { return loss::PoissonNLLLoss()(v, target); }},
      {"triplet", [&](const NDArray& v) { return loss::TripletLoss()(v, p, n); }}};
  for (auto& [name, f] : fs) {
    NDArray v = q.copy();
    v.attach_grad();
    NDArray l;
    {
      auto rec = autograd::record();
      l = nd::sum(f(v));
    }
    l.backward();
    auto g = v.grad().to_vector<float>();
    for (int i = 0; i < 4; ++i) {
      auto e = std::vector<float>(4, 0.f);
      e[i] = 1e-2f;
      NDArray d = nd::array(e, {2, 2});
      double fd = (nd::sum(f(q + d)).asscalar<double>() - nd::sum(f(q - d)).asscalar<double>()) / 2e-2;
      CAPTURE(name);
      CHECK(g[i] == doctest::Approx(fd).epsilon(2e-3).scale(1));
    }
  }
}

namespace {
// Runs `opt` three steps on w0 with the fixed gradients gs; returns the weights after each.
std::vector<std::vector<double>> run3(optim::Optimizer& opt, std::vector<double> w0, const std::vector<std::vector<double>>& gs) {
  NDArray w = nd::array(std::vector<float>(w0.begin(), w0.end()), {static_cast<int64_t>(w0.size())});
  std::vector<std::vector<double>> out;
  for (const auto& g : gs) {
    opt.update(0, w, nd::array(std::vector<float>(g.begin(), g.end()), {static_cast<int64_t>(g.size())}));
    auto v = w.to_vector<float>();
    out.emplace_back(v.begin(), v.end());
  }
  return out;
}
void same(const std::vector<std::vector<double>>& got, const std::vector<std::vector<double>>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t s = 0; s < got.size(); ++s)
    for (size_t i = 0; i < got[s].size(); ++i) {
      CAPTURE(s);
      CAPTURE(i);
      CHECK(got[s][i] == doctest::Approx(want[s][i]).epsilon(1e-5).scale(1e-3));
    }
}
const std::vector<double> W0 = {0.5, -1.0, 2.0};
const std::vector<std::vector<double>> G = {{0.1, -0.2, 0.3}, {-0.4, 0.1, 0.2}, {0.05, 0.3, -0.1}};
}  // namespace

TEST_CASE("optimizers: AdaDelta, Adamax, Nadam, Signum, Ftrl, LAMB follow MXNet's formulas") {
  double wd = 0.01, lr = 0.1, resc = 0.5;
  auto opts = [&] { return optim::OptimizerOptions().lr(lr).weight_decay(wd).rescale(resc); };
  auto scalar_run = [&](auto step) {  // step(w, g, t, state) -> new w per element
    std::vector<std::vector<double>> out;
    std::vector<double> w = W0;
    std::vector<std::array<double, 4>> st(w.size(), {0, 0, 0, 0});
    for (size_t t = 1; t <= G.size(); ++t) {
      for (size_t i = 0; i < w.size(); ++i) w[i] = step(w[i], G[t - 1][i], double(t), st[i]);
      out.push_back(w);
    }
    return out;
  };
  {
    optim::AdaDelta o(opts(), 0.9, 1e-5);
    same(run3(o, W0, G), scalar_run([&](double w, double g, double, std::array<double, 4>& s) {
      g *= resc;
      s[0] = 0.9 * s[0] + 0.1 * g * g;
      double d = std::sqrt(s[1] + 1e-5) / std::sqrt(s[0] + 1e-5) * g;
      s[1] = 0.9 * s[1] + 0.1 * d * d;
      return w - (d + wd * w);
    }));
  }
  {
    optim::Adamax o(opts());
    same(run3(o, W0, G), scalar_run([&](double w, double g, double t, std::array<double, 4>& s) {
      g = g * resc + wd * w;
      s[0] = 0.9 * s[0] + 0.1 * g;
      s[1] = std::max(0.999 * s[1], std::abs(g));
      return w - lr / (1 - std::pow(0.9, t)) * s[0] / s[1];
    }));
  }
  {
    optim::Nadam o(opts());
    double msched = 1;
    std::vector<std::vector<double>> want;
    std::vector<double> w = W0, m(3, 0), v(3, 0);
    for (int t = 1; t <= 3; ++t) {
      double mt = 0.9 * (1 - 0.5 * std::pow(0.96, t * 0.004)), mt1 = 0.9 * (1 - 0.5 * std::pow(0.96, (t + 1) * 0.004));
      msched *= mt;  // one parameter: one update per step
      for (int i = 0; i < 3; ++i) {
        double g = G[t - 1][i] * resc + wd * w[i];
        m[i] = 0.9 * m[i] + 0.1 * g;
        v[i] = 0.999 * v[i] + 0.001 * g * g;
        double mbar = (1 - mt) * g / (1 - msched) + mt1 * m[i] / (1 - msched * mt1);
        w[i] -= lr * mbar / (std::sqrt(v[i] / (1 - std::pow(0.999, t))) + 1e-8);
      }
      want.push_back(w);
    }
    same(run3(o, W0, G), want);
  }
  {
    optim::Signum o(opts(), 0.9, 0.001);
    same(run3(o, W0, G), scalar_run([&](double w, double g, double, std::array<double, 4>& s) {
      s[0] = 0.9 * s[0] - 0.1 * (wd * w + g * resc);
      return (1 - lr * 0.001) * w + lr * ((s[0] > 0) - (s[0] < 0));
    }));
    optim::Signum sgd(opts(), 0);
    same(run3(sgd, W0, G), scalar_run([&](double w, double g, double, std::array<double, 4>&) {
      return (1 - lr * wd) * w - lr * ((g > 0) - (g < 0));
    }));
  }
  {
    optim::Ftrl o(opts(), 0.01, 1);
    same(run3(o, W0, G), scalar_run([&](double w, double g, double, std::array<double, 4>& s) {
      g *= resc;
      s[0] += g - (std::sqrt(s[1] + g * g) - std::sqrt(s[1])) * w / lr;
      s[1] += g * g;
      double z = s[0];
      return std::abs(z) > 0.01 ? (((z > 0) - (z < 0)) * 0.01 - z) / ((1 + std::sqrt(s[1])) / lr + wd) : 0.0;
    }));
  }
  {
    optim::LAMB o(opts());
    std::vector<std::vector<double>> want;
    std::vector<double> w = W0, m(3, 0), v(3, 0);
    for (int t = 1; t <= 3; ++t) {
      std::vector<double> u(3);
      double r1 = 0, r2 = 0;
      for (int i = 0; i < 3; ++i) {
        double g = G[t - 1][i] * resc;
        m[i] = 0.9 * m[i] + 0.1 * g;
        v[i] = 0.999 * v[i] + 0.001 * g * g;
        u[i] = (m[i] / (1 - std::pow(0.9, t))) / (std::sqrt(v[i] / (1 - std::pow(0.999, t))) + 1e-6) + wd * w[i];
        r1 += w[i] * w[i], r2 += u[i] * u[i];
      }
      double ratio = std::sqrt(r1) / std::sqrt(r2);
      for (int i = 0; i < 3; ++i) w[i] -= lr * ratio * u[i];
      want.push_back(w);
    }
    same(run3(o, W0, G), want);
  }
  for (const char* n : {"adadelta", "adamax", "nadam", "signum", "ftrl", "lamb"}) CHECK(optim::create(n)->name() == n);
  CHECK(optim::create("adamax")->learning_rate() == doctest::Approx(0.002));
  CHECK_THROWS_AS(optim::create("ftrl", {{"lambda1", 0.1}}), Error);
}
