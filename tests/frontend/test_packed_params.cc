// Parameters as stable buffers (hgc/runtime/stable_buffers.h): a Dense layer's weight is kept
// packed by the runtime's fully connected calls (runtime/src/gemm_packed.cc) from the second
// call on. Every way a weight changes between calls — set_data, a Trainer step, an in-place
// NDArray write, a raw write followed by mark_dirty — must show in the next call's output,
// checked against a double-precision evaluation of the current values; two layers with
// weights of one shape must each get their own packed copy.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <optional>

#include "hgc/hgc.h"
#include "hgc/runtime/library.h"
#include "hgc/runtime/thread_pool.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {

// Parameters announce their values only while packed parameters are on (off by default).
struct PackedOn {
  bool was = lib::packed_parameters();
  PackedOn() { lib::set_packed_parameters(true); }
  ~PackedOn() { lib::set_packed_parameters(was); }
};

// Dense(32, relu) -> Dense(32, relu) -> Dense(8): the first two weights share a shape.
std::shared_ptr<nn::HybridSequential> mlp() {
  auto net = std::make_shared<nn::HybridSequential>();
  net->add(std::make_shared<nn::Dense>(nn::DenseOptions(32).activation("relu").in_units(32)));
  net->add(std::make_shared<nn::Dense>(nn::DenseOptions(32).activation("relu")));
  net->add(std::make_shared<nn::Dense>(nn::DenseOptions(8)));
  return net;
}

// The forward in double from the parameters' current values.
std::vector<double> reference(nn::HybridSequential& net, const NDArray& x) {
  std::vector<double> h(static_cast<const float*>(x.data_ptr()), static_cast<const float*>(x.data_ptr()) + x.size());
  int64_t rows = x.shape()[0], in = x.shape()[1];
  const size_t layers = net.size();
  for (size_t l = 0; l < layers; ++l) {
    auto& d = dynamic_cast<nn::Dense&>(*net[l]);
    NDArray w = d.weight->data(), b = d.bias->data();
    const int64_t out = w.shape()[0];
    const float *wp = static_cast<const float*>(w.data_ptr()), *bp = static_cast<const float*>(b.data_ptr());
    std::vector<double> y(rows * out);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < out; ++j) {
        double s = bp[j];
        for (int64_t k = 0; k < in; ++k) s += h[i * in + k] * wp[j * in + k];
        y[i * out + j] = l + 1 < layers ? std::max(s, 0.0) : s;
      }
    h = std::move(y);
    in = out;
  }
  return h;
}

// Largest |got - want| relative to the largest |want| (float sums of 32 terms: ~1e-6).
double rel_err(const NDArray& got, const std::vector<double>& want) {
  REQUIRE(static_cast<size_t>(got.size()) == want.size());
  const float* p = static_cast<const float*>(got.data_ptr());
  double e = 0, m = 1e-30;
  for (size_t i = 0; i < want.size(); ++i) {
    e = std::max(e, std::abs(p[i] - want[i]));
    m = std::max(m, std::abs(want[i]));
  }
  return e / m;
}

// Three calls (the first takes the sgemm path, the next ones the packed weights), each
// checked against the current values.
void check_calls(nn::HybridSequential& net, const NDArray& x, const char* when) {
  CAPTURE(when);
  const std::vector<double> want = reference(net, x);
  for (int call = 0; call < 3; ++call) CHECK(rel_err(net(x), want) < 1e-5);
}

}  // namespace

TEST_CASE("packed params: every kind of weight change shows in the next hybridized call") {
  PackedOn on;
  for (bool serial : {true, false}) {
    CAPTURE(serial);
    std::optional<ThreadPool::Serial> one;
    if (serial) one.emplace();
    nd::random::seed(21);
    auto net = mlp();
    net->initialize(init::Xavier());
    net->hybridize();
    NDArray x = nd::random::normal(0, 1, {64, 32});
    (*net)(x);  // the deferred shapes
    check_calls(*net, x, "initial");
    auto w0 = dynamic_cast<nn::Dense&>(*(*net)[0]).weight;
    auto w1 = dynamic_cast<nn::Dense&>(*(*net)[1]).weight;

    w0->set_data(w0->data() * -1.5);
    check_calls(*net, x, "set_data");

    NDArray d = w1->data();
    d += 0.25;  // in place through the NDArray API
    check_calls(*net, x, "in-place write");

    static_cast<float*>(w1->data().data_ptr())[3] += 10.f;  // by hand, then announced
    w1->mark_dirty();
    check_calls(*net, x, "raw write + mark_dirty");

    NDArray labels = nd::array(std::vector<float>(64, 1.f), {64});
    auto ce = std::make_shared<loss::SoftmaxCrossEntropyLoss>();
    Trainer tr(net->collect_params(), "sgd", {{"learning_rate", 0.5}});
    for (int step = 0; step < 2; ++step) {
      NDArray l;
      {
        auto r = autograd::record();
        l = (*ce)((*net)(x), labels);
      }
      l.backward();
      tr.step(64);
      check_calls(*net, x, "trainer step");
    }
  }
}

TEST_CASE("packed params: imperative calls see weight changes too") {
  PackedOn on;
  nd::random::seed(22);
  auto net = mlp();
  net->initialize(init::Xavier());
  NDArray x = nd::random::normal(0, 1, {48, 32});
  (*net)(x);  // the deferred shapes
  check_calls(*net, x, "initial");
  auto w0 = dynamic_cast<nn::Dense&>(*(*net)[0]).weight;
  w0->set_data(w0->data() * 0.5);
  check_calls(*net, x, "set_data");
}
