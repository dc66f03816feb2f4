// autograd::Function (user-written forward and backward, one tape node) and contrib
// SyncBatchNorm in a world of one rank, where it is BatchNorm (the multi-rank equivalence is
// in tests/dist/sync_batchnorm_test.cc).
#include <doctest/doctest.h>

#include <cmath>

#include "hgc/base/error.h"
#include "hgc/hgc.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {

// MXNet's documentation example: a numerically stable sigmoid.
struct Sigmoid : autograd::Function {
  int backward_calls = 0;
  std::vector<NDArray> forward(const std::vector<NDArray>& in) override {
    CHECK_FALSE(autograd::is_recording());  // forward's own ops are not taped
    NDArray y = 1.0 / (1.0 + nd::exp(-in[0]));
    save_for_backward({y});
    return {y};
  }
  std::vector<NDArray> backward(const std::vector<NDArray>& dy) override {
    ++backward_calls;
    NDArray y = saved_tensors()[0];
    return {dy[0] * y * (1.0 - y)};
  }
};

// Two inputs, two outputs: (a * b, a + b); gradient rules written out by hand.
struct MulAdd : autograd::Function {
  std::vector<NDArray> forward(const std::vector<NDArray>& in) override {
    save_for_backward(in);
    return {in[0] * in[1], in[0] + in[1]};
  }
  std::vector<NDArray> backward(const std::vector<NDArray>& dy) override {
    const auto& s = saved_tensors();
    return {dy[0] * s[1] + dy[1], dy[0] * s[0] + dy[1]};
  }
};

struct WrongCount : autograd::Function {
  std::vector<NDArray> forward(const std::vector<NDArray>& in) override { return {in[0] * 2.0}; }
  std::vector<NDArray> backward(const std::vector<NDArray>& dy) override { return {dy[0], dy[0]}; }
};

struct WrongShape : autograd::Function {
  std::vector<NDArray> forward(const std::vector<NDArray>& in) override { return {in[0] * 2.0}; }
  std::vector<NDArray> backward(const std::vector<NDArray>&) override { return {nd::ones({7})}; }
};

}  // namespace

TEST_CASE("autograd::Function: forward values, backward by the user's rule, checked by finite differences") {
  NDArray x = nd::array({-3.0f, -0.5f, 0.0f, 0.7f, 4.0f});
  x.attach_grad();
  auto f = std::make_shared<Sigmoid>();
  NDArray y, head, w = nd::array({1.0f, 2.0f, 3.0f, 4.0f, 5.0f});
  {
    auto r = autograd::record();
    y = (*f)(x);
    head = y * w;
  }
  std::vector<float> xv = x.to_vector<float>(), yv = y.to_vector<float>();
  for (size_t i = 0; i < xv.size(); ++i) CHECK(yv[i] == doctest::Approx(1 / (1 + std::exp(-xv[i]))).epsilon(1e-6));
  head.backward();
  CHECK(f->backward_calls == 1);
  std::vector<float> g = x.grad().to_vector<float>(), wv = w.to_vector<float>();
  for (size_t i = 0; i < xv.size(); ++i) {
    double h = 1e-3;
    auto s = [](double v) { return 1 / (1 + std::exp(-v)); };
    double fd = wv[i] * (s(xv[i] + h) - s(xv[i] - h)) / (2 * h);
    CHECK(g[i] == doctest::Approx(fd).epsilon(1e-3));
  }
}

TEST_CASE("autograd::Function: several inputs and outputs, an unused output gets zeros, the tape keeps it alive") {
  NDArray a = nd::array({1.0f, 2.0f}), b = nd::array({3.0f, -1.0f});
  a.attach_grad();
  b.attach_grad();
  NDArray prod;
  {
    auto r = autograd::record();
    auto outs = (*std::make_shared<MulAdd>())(std::vector<NDArray>{a, b});  // the Function lives only on the tape
    prod = outs[0] * 2.0;                               // outs[1] is not used: its gradient is zero
  }
  prod.backward();
  CHECK(a.grad().to_vector<float>() == std::vector<float>{6.0f, -2.0f});
  CHECK(b.grad().to_vector<float>() == std::vector<float>{2.0f, 4.0f});
  // Composed with ordinary ops on both sides, and through autograd::grad.
  NDArray s;
  {
    auto r = autograd::record();
    auto outs = (*std::make_shared<MulAdd>())(std::vector<NDArray>{nd::square(a), b});
    s = nd::sum(outs[0] + outs[1]);
  }
  auto gs = autograd::grad({s}, {a, b});
  // d/da sum(a^2 b + a^2 + b) = 2a(b + 1); d/db = a^2 + 1
  CHECK(gs[0].to_vector<float>() == std::vector<float>{8.0f, 0.0f});
  CHECK(gs[1].to_vector<float>() == std::vector<float>{2.0f, 5.0f});
}

TEST_CASE("autograd::Function: outside record() nothing is taped; bad backward results are named errors") {
  NDArray x = nd::array({1.0f, 2.0f});
  x.attach_grad();
  NDArray y = (*std::make_shared<Sigmoid>())(x);
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("was not computed under autograd::record()"), Error);
  NDArray z;
  {
    auto r = autograd::record();
    z = (*std::make_shared<WrongCount>())(x);
  }
  CHECK_THROWS_WITH_AS(z.backward(), doctest::Contains("backward returned 2 gradients for 1 inputs"), Error);
  {
    auto r = autograd::record();
    z = (*std::make_shared<WrongShape>())(x);
  }
  CHECK_THROWS_WITH_AS(z.backward(), doctest::Contains("a gradient of shape (7,) for an input of shape (2,)"), Error);
  CHECK_THROWS_WITH_AS((*std::make_shared<Sigmoid>())(NDArray()), doctest::Contains("input 0 is an empty NDArray"), Error);
}

TEST_CASE("contrib SyncBatchNorm on one rank is BatchNorm: training, running stats, predict, hybridized") {
  std::vector<float> xv(4 * 3 * 2 * 2);
  for (size_t i = 0; i < xv.size(); ++i) xv[i] = std::sin(0.9f * i) * (1 + i % 4);
  NDArray x = nd::array(xv, {4, 3, 2, 2});
  for (bool hybrid : {false, true}) {
    auto sbn = std::make_shared<contrib::nn::SyncBatchNorm>();
    auto bn = std::make_shared<nn::BatchNorm>();
    CHECK(sbn->name().rfind("syncbatchnorm", 0) == 0);
    for (auto* b : {static_cast<nn::BatchNorm*>(sbn.get()), bn.get()}) {
      b->initialize();
      if (hybrid) b->hybridize();
    }
    NDArray xs = x.copy(), xr = x.copy();
    xs.attach_grad();
    xr.attach_grad();
    NDArray ys, yr, ls, lr;
    {
      auto r = autograd::record();
      ys = (*sbn)(xs);
      yr = (*bn)(xr);
      ls = ys * ys;
      lr = yr * yr;
    }
    ls.backward();
    lr.backward();
    CHECK(ys.to_vector<float>() == yr.to_vector<float>());
    CHECK(xs.grad().to_vector<float>() == xr.grad().to_vector<float>());
    CHECK(sbn->running_var->data().to_vector<float>() == bn->running_var->data().to_vector<float>());
    CHECK((*sbn)(x).to_vector<float>() == (*bn)(x).to_vector<float>());
    if (hybrid) CHECK(sbn->compile_count() > 0);  // one rank: compiled as BatchNorm is
  }
  auto sbn = std::make_shared<contrib::nn::SyncBatchNorm>(nn::BatchNormOptions().in_channels(3), 2);
  CHECK(sbn->repr() == "SyncBatchNorm(axis=1, eps=1e-05, momentum=0.9, fix_gamma=False, use_global_stats=False, "
                       "in_channels=3, num_devices=2)");
  sbn->initialize();
  gluon::TrainMode t;
  CHECK_THROWS_WITH_AS((*sbn)(x), doctest::Contains("num_devices=2 but the communicator (local) has 1 ranks"), Error);
}
