// Autograd API semantics: record/pause scopes and modes, grad_req write/add/null, summed
// contributions, retain_graph, autograd::grad (incl. create_graph), parameters' gradient
// buffers, and the losses' values and gradients against closed forms.
#include <doctest/doctest.h>

#include <cmath>

#include "hgc/hgc.h"
#include "hgc/base/error.h"
#include "support/nd_close.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {
std::vector<float> vals(const NDArray& x) { return x.to_vector<float>(); }
using test::check_close;
}  // namespace

TEST_CASE("autograd: record and pause scopes set recording and training modes") {
  CHECK_FALSE(autograd::is_recording());
  CHECK_FALSE(autograd::is_training());
  {
    auto r = autograd::record();
    CHECK(autograd::is_recording());
    CHECK(autograd::is_training());
    {
      auto p = autograd::pause();
      CHECK_FALSE(autograd::is_recording());
      CHECK_FALSE(autograd::is_training());
      auto t = autograd::train_mode();
      CHECK(autograd::is_training());
    }
    CHECK(autograd::is_recording());
    auto pm = autograd::predict_mode();
    CHECK_FALSE(autograd::is_training());
    CHECK(autograd::is_recording());
  }
  CHECK_FALSE(autograd::is_recording());
  { auto r = autograd::record(false); CHECK_FALSE(gluon::is_training()); }
}

TEST_CASE("autograd: the book's first example, d(2 x^T x)/dx = 4x") {
  NDArray x = nd::array({0, 1, 2, 3}, {4, 1});
  x.attach_grad();
  NDArray y;
  {
    auto r = autograd::record();
    y = 2 * nd::dot(x.T(), x);
  }
  y.backward();
  check_close(vals(x.grad()), {0, 4, 8, 12});
}

TEST_CASE("autograd: contributions are summed; grad_req add accumulates; null computes none") {
  NDArray x = nd::array({1, 2, 3});
  NDArray z = nd::array({1, 1, 1});
  x.attach_grad();
  z.attach_grad(GradReq::null_req);
  auto run = [&] {
    NDArray y;
    {
      auto r = autograd::record();
      y = nd::sum(x * x + 3 * x + x * z);  // x used three times
    }
    y.backward();
  };
  run();
  check_close(vals(x.grad()), {6, 8, 10});
  run();  // write: overwritten, not accumulated
  check_close(vals(x.grad()), {6, 8, 10});
  CHECK(vals(z.grad()) == std::vector<float>{0, 0, 0});
  x.attach_grad(GradReq::add);
  run();
  run();
  check_close(vals(x.grad()), {12, 16, 20});
}

TEST_CASE("autograd: head gradients, retain_graph, and errors for people") {
  NDArray x = nd::array({1, 2});
  x.attach_grad();
  NDArray y;
  {
    auto r = autograd::record();
    y = nd::exp(x);
  }
  y.backward(nd::array({1, 10}), true);
  check_close(vals(x.grad()), {std::exp(1.f), 10 * std::exp(2.f)});
  y.backward();  // the graph was retained
  check_close(vals(x.grad()), {std::exp(1.f), std::exp(2.f)});
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("retain_graph"), hgc::Error);
  NDArray plain = nd::array({1});
  CHECK_THROWS_WITH_AS(plain.backward(), doctest::Contains("autograd::record"), hgc::Error);
  CHECK_THROWS_WITH_AS(plain.grad(), doctest::Contains("attach_grad"), hgc::Error);
  // Not recorded outside record().
  NDArray w = nd::exp(x);
  CHECK(w.ag_entry() == nullptr);
}

TEST_CASE("autograd: ops without a rule fail at backward, naming the op") {
  // Pooling's backward op has no gradient of its own (no second derivatives of pooling).
  AttrMap a{{"kernel", std::vector<int64_t>{2, 2}}, {"pool_type", std::string("max")}};
  NDArray x = nd::array({1, 2, 3, 4}, {1, 1, 2, 2});
  NDArray p = nd::op("Pooling", a, {x});
  x.attach_grad();
  NDArray y;
  {
    auto r = autograd::record();
    y = nd::op("_backward_Pooling", a, {nd::ones_like(p), x, p});
  }
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("_backward_Pooling"), hgc::Error);
}

TEST_CASE("autograd::grad returns gradients, and create_graph gives second derivatives") {
  NDArray x = nd::array({0.5f, 1, 2});
  x.attach_grad();
  NDArray y, dy;
  {
    auto r = autograd::record();
    y = x * x * x;
    dy = autograd::grad({y}, {x}, {}, true)[0];  // 3 x^2, itself taped
  }
  check_close(vals(dy), {0.75f, 3, 12});
  CHECK(vals(x.grad()) == std::vector<float>{0, 0, 0});  // grad() does not write the buffer
  dy.backward();
  check_close(vals(x.grad()), {3, 6, 12});  // 6 x
}

TEST_CASE("autograd: parameters get gradient buffers through a Dense layer") {
  auto fc = std::make_shared<nn::Dense>(nn::DenseOptions(2).in_units(3));
  fc->initialize(init::Constant(0.5));
  NDArray x = nd::array({1, 2, 3, 4, 5, 6}, {2, 3});
  NDArray y;
  {
    auto r = autograd::record();
    y = nd::sum((*fc)(x));
  }
  y.backward();
  check_close(vals(fc->weight->grad()), {5, 7, 9, 5, 7, 9});
  check_close(vals(fc->bias->grad()), {2, 2});
  fc->collect_params().zero_grad();
  CHECK(vals(fc->weight->grad()) == std::vector<float>(6, 0));
  fc->weight->set_grad_req("null");
  CHECK_THROWS_WITH_AS(fc->weight->grad(), doctest::Contains("null"), hgc::Error);
}

TEST_CASE("autograd: a hybridized block trains imperatively under record") {
  auto net = std::make_shared<nn::HybridSequential>();
  net->emplace<nn::Dense>(nn::DenseOptions(4).activation("relu"));
  net->emplace<nn::Dense>(nn::DenseOptions(1));
  net->initialize(init::Xavier());
  net->hybridize();
  NDArray x = nd::random::normal(0, 1, {3, 5});
  NDArray ref = (*net)(x);  // compiled
  NDArray y, s;
  {
    auto r = autograd::record();
    y = (*net)(x);
    s = nd::sum(y);
  }
  check_close(vals(y), vals(ref), 1e-4);
  s.backward();
  auto first = std::dynamic_pointer_cast<nn::Dense>(net->children()[0].second);
  CHECK(nd::sum(nd::abs(first->weight->grad())).asscalar() > 0);
  // A head computed outside record() has no graph.
  CHECK_THROWS_WITH_AS(nd::sum(y).backward(), doctest::Contains("record"), hgc::Error);
}
