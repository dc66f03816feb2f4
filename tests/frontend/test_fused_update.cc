// FusedUpdate (frontend/src/optim/fused_update.h), the compiled optimizer update: one module
// per rule and dtype over a flat symbolic length, outputs written straight over the arrays
// they replace (no scratch copy), values as the rule computed in doubles.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "../../frontend/src/optim/fused_update.h"
#include "hgc/hgc.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {

// Adam as optimizer_rules.cc writes it (no clipping); with `low_copy`, also the new weight
// rounded to bfloat16 as the output "weight_low" (AMP's copy).
void adam_rule_with(FusedUpdate::Builder& b, bool low_copy) {
  auto w = b.array("weight");
  auto g = b.array("grad") * b.scalar("rescale") + w * b.scalar("wd");
  auto m = b.array("mean") * b.scalar("beta1") + g * b.scalar("one_minus_beta1");
  auto v = b.array("var") * b.scalar("beta2") + square(g) * b.scalar("one_minus_beta2");
  b.output(m, "mean");
  b.output(v, "var");
  auto w2 = w - m * b.scalar("lr") / (sqrt(v) + b.scalar("epsilon"));
  b.output(w2, "weight");
  if (low_copy) b.output(b.cast(w2, DType::bf16), "weight_low");
}
void adam_rule(FusedUpdate::Builder& b) { adam_rule_with(b, false); }

NDArray random_array(int64_t n, unsigned seed, bool positive = false) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(positive ? 0.f : -1.f, 1.f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = u(rng);
  return nd::array(v, {n});
}

}  // namespace

TEST_CASE("fused update: Adam over weights of several lengths runs in place from one module, values as in doubles (1e-6)") {
  const std::map<std::string, double> s{{"rescale", 0.5}, {"wd", 0.01},       {"beta1", 0.9},  {"one_minus_beta1", 0.1},
                                        {"beta2", 0.999}, {"one_minus_beta2", 0.001}, {"lr", 0.003}, {"epsilon", 1e-8}};
  // 1: one element (arrays and scalars alike); 70001: blocks across the pool when it has
  // several threads, with a shorter last one.
  for (int64_t n : {int64_t(1), int64_t(37), int64_t(4096), int64_t(70001)}) {
    CAPTURE(n);
    NDArray w = random_array(n, 1), g = random_array(n, 2), m = random_array(n, 3), v = random_array(n, 4, true);
    auto w0 = w.to_vector<float>(), g0 = g.to_vector<float>(), m0 = m.to_vector<float>(), v0 = v.to_vector<float>();
    const FusedUpdate& u = FusedUpdate::get("test_adam", w, adam_rule);
    CHECK(u.in_place());     // no scratch arrays copied back
    CHECK(u.modules() == 1);  // every length shares the rule's module
    CHECK(u.steps() == 1);    // one kernel writes mean, var and weight (multi-output fusion)
    void* wp = w.data_ptr();
    void* mp = m.data_ptr();
    void* vp = v.data_ptr();
    u.run({{"weight", w}, {"grad", g}, {"mean", m}, {"var", v}}, s);
    CHECK(w.data_ptr() == wp);
    CHECK(m.data_ptr() == mp);
    CHECK(v.data_ptr() == vp);
    auto w1 = w.to_vector<float>(), m1 = m.to_vector<float>(), v1 = v.to_vector<float>();
    int bad = 0;
    for (int64_t i = 0; i < n; ++i) {
      double gi = double(g0[i]) * s.at("rescale") + double(w0[i]) * s.at("wd");
      double mi = double(m0[i]) * s.at("beta1") + gi * s.at("one_minus_beta1");
      double vi = double(v0[i]) * s.at("beta2") + gi * gi * s.at("one_minus_beta2");
      double wi = double(w0[i]) - mi * s.at("lr") / (std::sqrt(vi) + s.at("epsilon"));
      bad += !(m1[i] == doctest::Approx(mi).epsilon(1e-6).scale(1));
      bad += !(v1[i] == doctest::Approx(vi).epsilon(1e-6).scale(1));
      bad += !(w1[i] == doctest::Approx(wi).epsilon(1e-6).scale(1));
    }
    CHECK(bad == 0);
  }
}

TEST_CASE("fused update: a bfloat16 cast of the new weight is a further output of the one kernel, the Cast op's bits") {
  // AMP's Trainer path (optimizer_rules.cc): the update also writes the new weight rounded to
  // bfloat16, from registers, so no separate pass reads the weights again to recast them.
  const std::map<std::string, double> s{{"rescale", 0.5}, {"wd", 0.01},       {"beta1", 0.9},  {"one_minus_beta1", 0.1},
                                        {"beta2", 0.999}, {"one_minus_beta2", 0.001}, {"lr", 0.003}, {"epsilon", 1e-8}};
  auto with_copy = [](FusedUpdate::Builder& b) { adam_rule_with(b, true); };
  for (int64_t n : {int64_t(37), int64_t(70001)}) {  // 70001: pool blocks, a shorter last one
    CAPTURE(n);
    NDArray w = random_array(n, 1), g = random_array(n, 2), m = random_array(n, 3), v = random_array(n, 4, true);
    NDArray w_ref = w.copy(), g_ref = g.copy(), m_ref = m.copy(), v_ref = v.copy();
    NDArray low = nd::zeros({n}, DType::bf16);
    const FusedUpdate& u = FusedUpdate::get("test_adam_to_bf16", w, with_copy);
    CHECK(u.in_place());
    CHECK(u.steps() == 1);  // mean, var, weight and its bfloat16 copy from one kernel
    u.run({{"weight", w}, {"grad", g}, {"mean", m}, {"var", v}, {"weight_low", low}}, s);
    // The float32 outputs are those of the rule without the copy, bit for bit.
    FusedUpdate::get("test_adam", w_ref, adam_rule).run({{"weight", w_ref}, {"grad", g_ref}, {"mean", m_ref}, {"var", v_ref}}, s);
    CHECK(w.to_vector<float>() == w_ref.to_vector<float>());
    CHECK(m.to_vector<float>() == m_ref.to_vector<float>());
    // The copy is the Cast op's rounding of the new weight.
    NDArray want = w.astype(DType::bf16);
    const auto *p = static_cast<const uint16_t*>(low.data_ptr()), *q = static_cast<const uint16_t*>(want.data_ptr());
    int64_t diff = 0;
    for (int64_t i = 0; i < n; ++i) diff += p[i] != q[i];
    CHECK(diff == 0);
  }
  // The copy's dtype is checked against the compiled output.
  NDArray w = random_array(37, 1), g = random_array(37, 2), m = random_array(37, 3), v = random_array(37, 4, true);
  NDArray wrong = nd::zeros({37}, DType::f32);
  CHECK_THROWS_WITH_AS(FusedUpdate::get("test_adam_to_bf16", w, with_copy)
                           .run({{"weight", w}, {"grad", g}, {"mean", m}, {"var", v}, {"weight_low", wrong}}, s),
                       doctest::Contains("output array 'weight_low'"), hgc::Error);
}
