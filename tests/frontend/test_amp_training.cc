// AMP training traces (issue 20, speed): a hybridized block's training trace is converted to
// bfloat16 as one graph before it is split into the training forward and the gradient graph
// (passes/amp.h amp_convert_training), so a value both read crosses over in bfloat16: the
// forward runs no kernel that casts a saved value back to float32 for the gradient graph to
// cast again. Gradients stay float32 and within bfloat16 error of float32 training.
#include <doctest/doctest.h>

#include <cmath>
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
  // in_units given: initialize() draws the weights at once, so both copies get the same ones
  net->add(std::make_shared<nn::Dense>(nn::DenseOptions(48).activation("relu").in_units(40)));
  net->add(std::make_shared<nn::Dense>(nn::DenseOptions(24).activation("relu").in_units(48)));
  net->add(std::make_shared<nn::Dense>(nn::DenseOptions(8).in_units(24)));
  return net;
}

std::shared_ptr<nn::HybridSequential> initialized(bool amp) {
  nd::random::seed(21);
  auto net = mlp();
  net->initialize(init::Xavier());
  net->hybridize();
  if (amp) amp::convert_hybrid_block(net, "bfloat16");
  return net;
}

NDArray labels(int64_t n) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>(i % 8);
  return nd::array(v, {n});
}

void backward(const std::shared_ptr<nn::HybridSequential>& net, const NDArray& x) {
  auto ce = std::make_shared<loss::SoftmaxCrossEntropyLoss>();
  NDArray l;
  {
    auto r = autograd::record();
    l = (*ce)((*net)(x), labels(x.shape()[0]));
  }
  l.backward();
}

// The profiler's labels of the compiled steps one call of `fn` ran.
// ||a - b|| / ||b|| over every parameter's gradient.
double grad_rel(const std::shared_ptr<nn::HybridSequential>& a, const std::shared_ptr<nn::HybridSequential>& b) {
  auto pa = a->collect_params().values(), pb = b->collect_params().values();
  REQUIRE(pa.size() == pb.size());
  double d = 0, n = 0;
  for (size_t i = 0; i < pa.size(); ++i) {
    NDArray ga = pa[i]->grad(), gb = pb[i]->grad();
    REQUIRE(ga.dtype() == DType::f32);
    REQUIRE(ga.shape() == gb.shape());
    const float *p = static_cast<const float*>(ga.data_ptr()), *q = static_cast<const float*>(gb.data_ptr());
    for (int64_t k = 0; k < ga.size(); ++k) d += (p[k] - q[k]) * double(p[k] - q[k]), n += double(q[k]) * q[k];
  }
  return std::sqrt(d / n);
}

}  // namespace

TEST_CASE("amp training: saved values cross to the gradient graph in bfloat16, gradients float32") {
  auto f32 = initialized(false), amp = initialized(true);
  NDArray x = nd::random::normal(0, 1, {32, 40});
  backward(f32, x);
  std::string steps = test::steps_of([&] { backward(amp, x); });
  // Converted per graph, the forward cast the two hidden layers' bfloat16 outputs and their
  // relu's back to float32 for the gradient graph (which cast them to bfloat16 again): four
  // cast kernels "dense*_fwd_amp_cast_float32", each a memory pass.
  std::istringstream lines(steps);
  int back_casts = 0;
  for (std::string l; std::getline(lines, l);)
    back_casts += l.find(" kernel") != std::string::npos && l.find("_fwd_amp_cast_float32") != std::string::npos;
  CHECK_MESSAGE(back_casts == 0, steps);
  CHECK_MESSAGE(steps.find("fully_connected_bf16") != std::string::npos, steps);  // it did run in bfloat16
  double rel = grad_rel(amp, f32);
  MESSAGE("AMP vs float32 gradients, relative: ", rel);
  CHECK(rel > 0);      // bfloat16 products, not the float32 ones
  CHECK(rel < 0.1);    // within bfloat16 error (8 significant bits, three layers, sums in float32)

  // Another batch size reuses the compiled graphs (the batch axis is dynamic; the probe trace
  // converts as the call's does) and still matches float32.
  NDArray x2 = nd::random::normal(0, 1, {20, 40});
  backward(f32, x2);
  backward(amp, x2);
  CHECK(amp->cache_stats().backward_compiles == 1);
  double rel2 = grad_rel(amp, f32);
  CHECK(rel2 > 0);
  CHECK(rel2 < 0.1);
}
