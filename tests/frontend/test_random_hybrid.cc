// Random ops inside hybridized forwards: nd::random draws become _random_* / _sample_* nodes
// fed a fresh seed from the global generator at every call, so a hybridized block draws new
// noise each run, nd::random::seed makes runs reproducible, the _like/_sample forms give the
// same numbers imperatively and hybridized, and the gradient graph replays the forward's
// noise (the reparameterization w = mu + softplus(rho) * eps trains the same either way).
#include <doctest/doctest.h>

#include <cmath>

#include "hgc/base/error.h"
#include "hgc/hgc.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {

// y = x . (mu + softplus(rho) * eps), eps ~ N(0, 1) drawn in the forward.
class NoisyLinear : public HybridBlock {
 public:
  NoisyLinear(int64_t in, int64_t out) : HybridBlock("noisylinear") {
    auto scope = name_scope();
    mu = params().get("mu", ParamOptions().shape({in, out}).init(init::Normal(0.5)));
    rho = params().get("rho", ParamOptions().shape({in, out}).init(init::Constant(-1.0)));
  }
  NDArray hybrid_forward(const NDArray& x) override {
    NDArray m = mu->data();
    NDArray w = m + nd::log1p(nd::exp(rho->data())) * nd::random::normal_like(m);
    return nd::dot(x, w);
  }
  std::shared_ptr<Parameter> mu, rho;
};

// x + noise from the scalar-parameter forms.
class AddNoise : public HybridBlock {
 public:
  AddNoise() : HybridBlock("addnoise") {}
  NDArray hybrid_forward(const NDArray& x) override {
    return x + nd::random::normal(0, 1, x.shape()) + nd::random::uniform(-1, 1, x.shape());
  }
};

std::vector<float> vec(const NDArray& x) { return x.to_vector<float>(); }

double max_diff(const NDArray& a, const NDArray& b) {
  auto u = vec(a), v = vec(b);
  REQUIRE(u.size() == v.size());
  double w = 0;
  for (size_t i = 0; i < u.size(); ++i) w = std::max(w, double(std::fabs(u[i] - v[i])));
  return w;
}

}  // namespace

TEST_CASE("random hybrid: a hybridized forward draws fresh noise at every call") {
  nd::random::seed(3);
  AddNoise b;
  b.hybridize();
  NDArray x = nd::zeros({200, 50});
  NDArray y1 = b(x), y2 = b(x);
  CHECK(max_diff(y1, y2) > 0.5);
  CHECK(b.cache_stats().traces == 1);  // one trace, one executable, new seeds per run
  // Statistics: N(0, 1) + U(-1, 1) has mean 0 and variance 1 + 1/3.
  auto v = vec(y1);
  double m = 0, s = 0;
  for (float f : v) m += f;
  m /= v.size();
  for (float f : v) s += (f - m) * (f - m);
  s /= v.size() - 1;
  CHECK(std::fabs(m) < 0.05);
  CHECK(std::fabs(s - 4.0 / 3.0) < 0.08);
  // The graph holds the ops (not constants).
  nd::random::seed(3);
  NDArray z1 = b(x);
  CHECK(max_diff(z1, y1) == 0);  // the same seed, the same numbers
}

TEST_CASE("random hybrid: the _like form draws the same numbers imperatively and hybridized") {
  NoisyLinear imp(6, 4), hyb(6, 4);
  imp.initialize();
  hyb.initialize();
  hyb.mu->set_data(imp.mu->data());
  hyb.rho->set_data(imp.rho->data());
  hyb.hybridize();
  NDArray x = nd::random::uniform(-1, 1, {5, 6});
  nd::random::seed(17);
  NDArray a = imp(x);
  nd::random::seed(17);
  NDArray b = hyb(x);
  CHECK(max_diff(a, b) < 1e-5);
  NDArray c = hyb(x);
  CHECK(max_diff(b, c) > 1e-3);  // the next call draws new weights
  // Arrays of parameters: _sample_normal, the same both ways too.
  NDArray loc = nd::array({0.f, 10.f}, {2}), scale = nd::array({1.f, 0.5f}, {2});
  nd::random::seed(5);
  NDArray s1 = nd::random::normal(loc, scale, {3});
  nd::random::seed(5);
  NDArray s2 = nd::random::normal(loc, scale, {3});
  CHECK(s1.shape() == std::vector<int64_t>{2, 3});
  CHECK(max_diff(s1, s2) == 0);
}

TEST_CASE("random hybrid: the gradient graph sees the forward's noise (reparameterization)") {
  NoisyLinear imp(6, 4), hyb(6, 4);
  imp.initialize();
  hyb.initialize();
  hyb.mu->set_data(imp.mu->data());
  hyb.rho->set_data(imp.rho->data());
  hyb.hybridize();
  NDArray x = nd::random::uniform(-1, 1, {5, 6});
  auto grads = [&](NoisyLinear& net) {
    NDArray l;
    {
      auto r = autograd::record();
      l = nd::sum(nd::square(net(x)));
    }
    l.backward();
    return std::pair{net.mu->grad().copy(), net.rho->grad().copy()};
  };
  nd::random::seed(23);
  auto [gm1, gr1] = grads(imp);
  nd::random::seed(23);
  auto [gm2, gr2] = grads(hyb);
  CHECK(max_diff(gm1, gm2) < 1e-4);
  CHECK(max_diff(gr1, gr2) < 1e-4);
  double norm = 0;
  for (float f : vec(gr2)) norm += std::fabs(f);
  CHECK(norm > 1e-3);  // rho gets a gradient through eps
  // A sample itself carries none (MXNet's rule), but the parameters around it do.
  NDArray loc = nd::array({1.f, 2.f}, {2});
  loc.attach_grad();
  {
    auto r = autograd::record();
    NDArray s = nd::sum(nd::random::normal(loc, nd::ones({2}), {4})) + nd::sum(loc);
    s.backward();
  }
  CHECK(vec(loc.grad()) == std::vector<float>{1.f, 1.f});
}
