// AMP's cached bfloat16 weights (frontend/src/amp/weights.h): a hybridized AMP block casts each
// float32 master weight once, not on every call; the copy is refreshed when the weight changes
// (Trainer step, set_data, in-place writes), so outputs equal those of a block that casts afresh.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <sstream>

#include "hgc/frontend/amp/amp.h"
#include "hgc/hgc.h"
#include "hgc/runtime/profile.h"
#include "support/profile_steps.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {

std::shared_ptr<nn::HybridSequential> mlp() {
  auto net = std::make_shared<nn::HybridSequential>();
  net->add(std::make_shared<nn::Dense>(nn::DenseOptions(32).activation("relu")));
  net->add(std::make_shared<nn::Dense>(nn::DenseOptions(8)));
  return net;
}

// An AMP copy of `net` built from scratch with `net`'s current values: it casts its weights on
// its first call, so its outputs are what an uncached block computes.
NDArray fresh_amp_output(const std::shared_ptr<nn::HybridSequential>& net, const NDArray& x) {
  auto ref = mlp();
  ref->initialize();
  (*ref)(x);
  auto src = net->collect_params().values(), dst = ref->collect_params().values();
  REQUIRE(src.size() == dst.size());
  for (size_t i = 0; i < src.size(); ++i) dst[i]->set_data(src[i]->data());
  ref->hybridize();
  amp::convert_hybrid_block(ref, "bfloat16");
  return (*ref)(x);
}

bool same(const NDArray& a, const NDArray& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  const float *p = static_cast<const float*>(a.data_ptr()), *q = static_cast<const float*>(b.data_ptr());
  for (int64_t i = 0; i < a.size(); ++i)
    if (p[i] != q[i]) return false;
  return true;
}

// The profiler's table of one call of `fn` (labels of every compiled step that ran).
int64_t weight_casts(const std::shared_ptr<nn::HybridSequential>& net) {
  int64_t n = 0;
  for (const auto& p : net->collect_params().values()) n += p->casts_made();
  return n;
}

}  // namespace

TEST_CASE("amp weights: a predict call casts no weight once its bfloat16 copy is cached") {
  nd::random::seed(11);
  auto net = mlp();
  net->initialize(init::Xavier());
  net->hybridize();
  amp::convert_hybrid_block(net, "bfloat16");
  NDArray x = nd::random::normal(0, 1, {4, 20});
  NDArray y1 = (*net)(x);
  CHECK(weight_casts(net) == 4);  // two weights, two biases: cast once each
  std::string steps = test::steps_of([&] { (*net)(x); });
  CHECK_MESSAGE(steps.find("weight_amp_cast") == std::string::npos, steps);
  CHECK_MESSAGE(steps.find("bias_amp_cast") == std::string::npos, steps);
  CHECK_MESSAGE(steps.find("data_amp_cast") != std::string::npos, steps);  // the input is still cast per call
  CHECK(weight_casts(net) == 4);
  NDArray y2 = (*net)(x);
  CHECK(same(y1, y2));
  CHECK(y2.dtype() == DType::f32);

  // Against float32: bfloat16 error only.
  auto f32 = mlp();
  f32->initialize();
  (*f32)(x);
  auto a = net->collect_params().values(), b = f32->collect_params().values();
  for (size_t i = 0; i < a.size(); ++i) b[i]->set_data(a[i]->data());
  NDArray want = (*f32)(x);
  double worst = 0, scale = 0;
  for (int64_t i = 0; i < want.size(); ++i) {
    worst = std::max(worst, std::fabs(double(static_cast<float*>(y2.data_ptr())[i]) - static_cast<float*>(want.data_ptr())[i]));
    scale = std::max(scale, std::fabs(double(static_cast<float*>(want.data_ptr())[i])));
  }
  CHECK(worst > 0);
  CHECK(worst <= 0.03 * (scale + 1));
  // Bit for bit what a block that casts afresh computes.
  CHECK(same(y2, fresh_amp_output(net, x)));
}

TEST_CASE("amp weights: set_data, in-place writes and mark_dirty refresh the cached copy") {
  nd::random::seed(12);
  auto net = mlp();
  net->initialize(init::Xavier());
  net->hybridize();
  amp::convert_hybrid_block(net, "bfloat16");
  NDArray x = nd::random::normal(0, 1, {4, 20});
  NDArray y0 = (*net)(x);
  auto w = net->collect_params().values().front();
  REQUIRE(w->name().find("weight") != std::string::npos);

  w->set_data(w->data() * 2.0);
  NDArray y1 = (*net)(x);
  CHECK_FALSE(same(y0, y1));
  CHECK(same(y1, fresh_amp_output(net, x)));

  NDArray d = w->data();
  d += 0.5;  // in place through the NDArray API
  NDArray y2 = (*net)(x);
  CHECK_FALSE(same(y1, y2));
  CHECK(same(y2, fresh_amp_output(net, x)));

  // By hand through data_ptr(): stale until mark_dirty().
  static_cast<float*>(w->data().data_ptr())[0] += 100.0f;
  w->mark_dirty();
  NDArray y3 = (*net)(x);
  CHECK_FALSE(same(y2, y3));
  CHECK(same(y3, fresh_amp_output(net, x)));
}

TEST_CASE("amp weights: a training step casts each weight once, shared by forward and gradient graphs") {
  nd::random::seed(13);
  auto net = mlp();
  net->initialize(init::Xavier());
  net->hybridize();
  amp::convert_hybrid_block(net, "bfloat16");
  NDArray x = nd::random::normal(0, 1, {16, 20});
  NDArray y = nd::array(std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7}, {16});
  auto ce = std::make_shared<loss::SoftmaxCrossEntropyLoss>();
  Trainer tr(net->collect_params(), "sgd", {{"learning_rate", 0.5}});
  auto step = [&] {
    NDArray l;
    {
      auto r = autograd::record();
      l = (*ce)((*net)(x), y);
    }
    l.backward();
    tr.step(16);
  };
  step();
  int64_t c0 = weight_casts(net);
  CHECK(c0 == 4);
  std::string steps = test::steps_of(step);
  CHECK_MESSAGE(steps.find("weight_amp_cast") == std::string::npos, steps);
  // The update changed them and wrote their new copies in its own kernel (Trainer +
  // Parameter::cast_buffer): no cast at all, where a recast each (not two) was the rule before.
  CHECK(weight_casts(net) == c0);
  for (const auto& p : net->collect_params().values()) {  // float32 masters and gradients
    CHECK(p->data().dtype() == DType::f32);
    CHECK(p->grad().dtype() == DType::f32);
  }
  // After the step the block sees the updated weights.
  CHECK(same((*net)(x), fresh_amp_output(net, x)));
  CHECK(net->cache_stats().backward_compiles == 1);
}

TEST_CASE("amp weights: the optimizer's update writes the bfloat16 copies, bit for bit a fresh cast of the new weights") {
  // Adam and SGD with momentum run as compiled updates and write the copies; use_fused_step 0
  // and Adamax (op by op) leave them stale, so the next call recasts. Either way the block
  // computes with the cast of the current float32 weights. Dense(1001, in_units 301): the
  // weight's update runs as blocks across the pool with a shorter last one.
  for (const auto& [opt, fills] : std::vector<std::pair<std::string, bool>>{
           {"adam", true}, {"sgd", true}, {"sgd_eager", false}, {"adamax", false}}) {
    CAPTURE(opt);
    nd::random::seed(14);
    auto net = std::make_shared<nn::HybridSequential>();
    net->add(std::make_shared<nn::Dense>(nn::DenseOptions(1001).in_units(301)));
    net->initialize(init::Xavier());
    net->hybridize();
    amp::convert_hybrid_block(net, "bfloat16");
    NDArray x = nd::random::normal(0, 1, {8, 301});
    std::map<std::string, double> o{{"learning_rate", 0.01}};
    if (opt == "sgd") o["momentum"] = 0.9;
    if (opt == "sgd_eager") o["use_fused_step"] = 0;
    Trainer tr(net->collect_params(), opt == "sgd_eager" ? "sgd" : opt, o);
    auto step = [&] {
      NDArray l;
      {
        auto r = autograd::record();
        l = nd::sum(nd::square((*net)(x)));
      }
      l.backward();
      tr.step(8);
    };
    step();
    int64_t c0 = 0;
    for (const auto& p : net->collect_params().values()) c0 += p->casts_made();
    CHECK(c0 == 2);  // weight and bias, cast by the first forward
    step();
    step();
    int64_t c1 = 0;
    for (const auto& p : net->collect_params().values()) c1 += p->casts_made();
    CHECK(c1 == (fills ? c0 : c0 + 4));
    for (const auto& p : net->collect_params().values()) {
      CAPTURE(p->name());
      NDArray kept = p->data_as(DType::bf16);
      REQUIRE(kept.dtype() == DType::bf16);
      NDArray want = p->data().astype(DType::bf16);
      const auto *a = static_cast<const uint16_t*>(kept.data_ptr()), *b = static_cast<const uint16_t*>(want.data_ptr());
      int64_t diff = 0;
      for (int64_t i = 0; i < want.size(); ++i) diff += a[i] != b[i];
      CHECK(diff == 0);
    }
    // The refreshed copy is the one the block computes with: its output is the same bits as a
    // forced recast's.
    NDArray y = (*net)(x);
    for (const auto& p : net->collect_params().values()) p->mark_dirty();
    NDArray y_recast = (*net)(x);
    CHECK(same(y, y_recast));
  }
}

TEST_CASE("amp weights: data_as rounds as the Cast op does (ties to even, infinities, NaN, large arrays)") {
  std::vector<float> v{0.0f, -0.0f, 1.0f, 1.00390625f /* tie, rounds to even */, 1.01171875f /* tie, rounds up */,
                       3.14159265f, -2.5e-39f /* subnormal */, 3.4e38f, -INFINITY, INFINITY, NAN, 65504.0f};
  std::mt19937 rng(3);
  std::normal_distribution<float> n(0, 10);
  while (v.size() < 300000) v.push_back(n(rng));  // several parts across the pool
  auto p = std::make_shared<Parameter>("w", ParamOptions().shape({static_cast<int64_t>(v.size())}));
  p->initialize();
  p->set_data(nd::array(v, {static_cast<int64_t>(v.size())}));
  NDArray got = p->data_as(DType::bf16), want = p->data().astype(DType::bf16);
  REQUIRE(got.dtype() == DType::bf16);
  const auto *g = static_cast<const uint16_t*>(got.data_ptr()), *w = static_cast<const uint16_t*>(want.data_ptr());
  int64_t diff = 0;
  for (size_t i = 0; i < v.size(); ++i) diff += g[i] != w[i] && !(std::isnan(v[i]) && (g[i] & 0x7FC0) == 0x7FC0);
  CHECK(diff == 0);
  CHECK(p->casts_made() == 1);
  p->data_as(DType::bf16);
  CHECK(p->casts_made() == 1);
  CHECK(p->data_as(DType::f32).shares_storage(p->data()));  // its own dtype: no copy
}
