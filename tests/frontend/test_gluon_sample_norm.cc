// gluon.nn InstanceNorm and GroupNorm: values against a plain-loop reference (and MXNet 1.9's
// docstring examples), deferred in_channels, NHWC via axis, hybridized == imperative for
// outputs and gradients, gradients of the block (data, gamma, beta) against finite
// differences, MXNet's defaults and reprs, clear errors.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "hgc/hgc.h"
#include "support/nd_close.h"

using namespace hgc;
using namespace hgc::gluon;
using hgc::test::check_close;

namespace {

NDArray rand_f32(std::vector<int64_t> shape, uint32_t seed, double lo = -2, double hi = 2) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(static_cast<float>(lo), static_cast<float>(hi));
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<float> v(n);
  for (float& f : v) f = u(g);
  return nd::array(v, shape);
}

// x (N, C, S) seen as (N, G, C/G * S): each (n, g) row normalized, then gamma/beta indexed by
// `per_group` ? g : c.
std::vector<float> ref_norm(const NDArray& x, int64_t groups, const std::vector<float>& gamma,
                            const std::vector<float>& beta, double eps, bool per_group) {
  auto s = x.shape();
  int64_t n = s[0], c = s[1], sp = x.size() / (n * c), cg = c / groups;
  auto v = x.to_vector<float>();
  std::vector<float> out(v.size());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t g = 0; g < groups; ++g) {
      int64_t base = (i * c + g * cg) * sp, cnt = cg * sp;
      double m = 0, q = 0;
      for (int64_t k = 0; k < cnt; ++k) m += v[base + k];
      m /= cnt;
      for (int64_t k = 0; k < cnt; ++k) q += (v[base + k] - m) * (v[base + k] - m);
      double rstd = 1 / std::sqrt(q / cnt + eps);
      for (int64_t k = 0; k < cnt; ++k) {
        int64_t ch = g * cg + k / sp, p = per_group ? g : ch;
        out[base + k] = static_cast<float>((v[base + k] - m) * rstd * gamma[p] + beta[p]);
      }
    }
  return out;
}

// Output and input/parameter gradients of `b` on x, with head gradient w.
struct Run {
  NDArray y, dx, dgamma, dbeta;
};
template <class B>
Run run(B& b, const NDArray& x0, const NDArray& w) {
  NDArray x = x0.copy();
  x.attach_grad();
  NDArray y;
  {
    auto rec = autograd::record();
    y = (*b)(x);
  }
  y.backward(w);
  Run r{y, x.grad().copy(), NDArray(), NDArray()};
  if (b->gamma->has_grad()) r.dgamma = b->gamma->grad().copy();
  if (b->beta->has_grad()) r.dbeta = b->beta->grad().copy();
  return r;
}

// d sum(b(x) * w) / d (x, gamma, beta) by central differences in float32 (step 1e-2).
template <class B>
void check_fd(B& b, const NDArray& x, const NDArray& w, const Run& r) {
  auto objective = [&](const NDArray& xx) {
    auto y = (*b)(xx).template to_vector<float>();
    auto wv = w.to_vector<float>();
    double s = 0;
    for (size_t i = 0; i < y.size(); ++i) s += double(y[i]) * wv[i];
    return s;
  };
  const double h = 1e-2;
  auto fd = [&](NDArray target, const NDArray& analytic, const NDArray& xin, const char* what) {
    float* p = static_cast<float*>(target.data_ptr());
    auto a = analytic.to_vector<float>();
    for (int64_t k = 0; k < target.size(); ++k) {
      float v = p[k];
      p[k] = static_cast<float>(v + h);
      double up = objective(xin);
      p[k] = static_cast<float>(v - h);
      double down = objective(xin);
      p[k] = v;
      double num = (up - down) / (2 * h);
      INFO(what, " element ", k, ": analytic ", a[k], " numeric ", num);
      CHECK(std::abs(a[k] - num) <= 2e-2 * (1 + std::abs(num)));
    }
  };
  NDArray xc = x.copy();
  fd(xc, r.dx, xc, "d data");
  if (r.dgamma.defined()) fd(b->gamma->data(), r.dgamma, x, "d gamma");
  if (r.dbeta.defined()) fd(b->beta->data(), r.dbeta, x, "d beta");
}

}  // namespace

TEST_CASE("gluon InstanceNorm: MXNet's example, reference values, deferred in_channels, NHWC") {
  NameManager names;
  // MXNet 1.9's docstring: (2, 1, 2) input, default layer.
  auto doc = std::make_shared<nn::InstanceNorm>();
  doc->initialize();
  NDArray y = (*doc)(nd::array({1.1f, 2.2f, 3.3f, 4.4f}, {2, 1, 2}));
  check_close(y, nd::array({-0.99998355f, 0.99998331f, -0.99998319f, 0.99998361f}, {2, 1, 2}), 1e-5);
  CHECK(doc->gamma->grad_req() == "null");  // scale=False by default, as MXNet's
  CHECK(doc->beta->grad_req() == "write");
  CHECK(doc->repr() == "InstanceNorm(eps=1e-05, axis=1, center=True, scale=False, in_channels=1)");

  auto in = std::make_shared<nn::InstanceNorm>(nn::InstanceNormOptions().scale(true).epsilon(1e-3));
  in->initialize();
  NDArray x = rand_f32({2, 3, 4, 5}, 1);
  (*in)(x);
  CHECK(in->gamma->shape() == std::vector<int64_t>{3});  // deferred from the input
  std::vector<float> g{0.5f, 1.5f, -1}, bt{0.1f, -0.2f, 0.3f};
  in->gamma->set_data(nd::array(g, {3}));
  in->beta->set_data(nd::array(bt, {3}));
  NDArray imperative = (*in)(x);
  check_close(imperative.to_vector<float>(), ref_norm(x, 3, g, bt, 1e-3, false), 1e-5);
  in->hybridize();
  check_close((*in)(x), imperative);

  // axis=3 (NHWC): the same numbers on the transposed data.
  auto nhwc = std::make_shared<nn::InstanceNorm>(nn::InstanceNormOptions().axis(3).scale(true).epsilon(1e-3).in_channels(3));
  nhwc->initialize();
  nhwc->gamma->set_data(nd::array(g, {3}));
  nhwc->beta->set_data(nd::array(bt, {3}));
  NDArray yt = (*nhwc)(nd::transpose(x, {0, 2, 3, 1}));
  check_close(nd::transpose(yt, {0, 3, 1, 2}), imperative);
  nhwc->hybridize();
  check_close(nd::transpose((*nhwc)(nd::transpose(x, {0, 2, 3, 1})), {0, 3, 1, 2}), imperative);
}

TEST_CASE("gluon GroupNorm: MXNet's example, reference values, per-group gamma/beta") {
  NameManager names;
  // MXNet 1.9's docstring: arange(24) as (2, 3, 4), one group: +-1.5932543 at each sample's ends.
  auto doc = std::make_shared<nn::GroupNorm>();
  doc->initialize();
  NDArray y = (*doc)(nd::arange(24).reshape({2, 3, 4}));
  auto yv = y.to_vector<float>();
  CHECK(yv[0] == doctest::Approx(-1.5932543).epsilon(1e-5));
  CHECK(yv[11] == doctest::Approx(1.5932543).epsilon(1e-5));
  CHECK(yv[23] == doctest::Approx(1.5932543).epsilon(1e-5));
  CHECK(doc->gamma->shape() == std::vector<int64_t>{1});
  CHECK(doc->repr() == "GroupNorm(eps=1e-05, num_groups=1, center=True, scale=True)");

  auto gn = std::make_shared<nn::GroupNorm>(nn::GroupNormOptions(2).epsilon(1e-4));
  gn->initialize();
  CHECK(gn->gamma->shape() == std::vector<int64_t>{2});  // MXNet 1.x: one entry per group
  std::vector<float> g{0.7f, -1.3f}, bt{0.25f, -0.5f};
  gn->gamma->set_data(nd::array(g, {2}));
  gn->beta->set_data(nd::array(bt, {2}));
  NDArray x = rand_f32({3, 4, 2, 3}, 2);
  NDArray imperative = (*gn)(x);
  check_close(imperative.to_vector<float>(), ref_norm(x, 2, g, bt, 1e-4, true), 1e-5);
  gn->hybridize();
  check_close((*gn)(x), imperative);
}

TEST_CASE("gluon InstanceNorm/GroupNorm: gradients vs finite differences; hybridized == imperative") {
  NameManager names;
  NDArray x = rand_f32({2, 4, 3}, 3), w = rand_f32({2, 4, 3}, 4, -1, 1);
  auto in = std::make_shared<nn::InstanceNorm>(nn::InstanceNormOptions().scale(true).in_channels(4));
  in->initialize();
  in->gamma->set_data(rand_f32({4}, 5, 0.5, 1.5));
  Run ri = run(in, x, w);
  REQUIRE(ri.dgamma.defined());
  check_fd(in, x, w, ri);
  in->hybridize();
  Run rh = run(in, x, w);
  check_close(rh.y, ri.y);
  check_close(rh.dx, ri.dx, 1e-4);
  check_close(rh.dgamma, ri.dgamma, 1e-4);
  check_close(rh.dbeta, ri.dbeta, 1e-4);

  auto gn = std::make_shared<nn::GroupNorm>(nn::GroupNormOptions(2));
  gn->initialize();
  gn->gamma->set_data(nd::array({0.8f, 1.4f}, {2}));
  Run rg = run(gn, x, w);
  check_fd(gn, x, w, rg);
  gn->hybridize();
  Run rgh = run(gn, x, w);
  check_close(rgh.dx, rg.dx, 1e-4);
  check_close(rgh.dgamma, rg.dgamma, 1e-4);

  // center=False / scale=False: those parameters get no gradient buffer.
  auto fixed = std::make_shared<nn::GroupNorm>(nn::GroupNormOptions(1).center(false).scale(false));
  fixed->initialize();
  CHECK_FALSE(fixed->gamma->has_grad());
  CHECK_FALSE(fixed->beta->has_grad());
}

TEST_CASE("gluon InstanceNorm/GroupNorm: clear errors") {
  NameManager names;
  CHECK_THROWS_WITH_AS(nn::GroupNorm(nn::GroupNormOptions(0)), doctest::Contains("num_groups"), Error);
  auto gn = std::make_shared<nn::GroupNorm>(nn::GroupNormOptions(3));
  gn->initialize();
  CHECK_THROWS_WITH_AS((*gn)(nd::ones({2, 4, 5})), doctest::Contains("num_groups"), Error);
  auto in = std::make_shared<nn::InstanceNorm>(nn::InstanceNormOptions().axis(0));
  in->initialize();
  CHECK_THROWS_WITH_AS((*in)(nd::ones({2, 3, 4})), doctest::Contains("axis"), Error);
  auto in3 = std::make_shared<nn::InstanceNorm>(nn::InstanceNormOptions().in_channels(3));
  in3->initialize();
  CHECK_THROWS_AS((*in3)(nd::ones({2, 4, 5})), Error);  // 4 channels, gamma has 3
}
