// Work done ahead of a first training step (issue 19, cold start): Optimizer::prepare, which a
// Trainer runs in the background from its constructor, and the library calls' one-off setup
// (prepare_library) that a hybridized training call does while its gradient graph compiles.
// Both must leave every value as it would have been without them.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "hgc/hgc.h"
#include "hgc/runtime/library.h"
#include "hgc/runtime/library_call.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {

// Three SGD steps (momentum, clipping: a rule variant of its own) on fixed gradients.
std::vector<float> train_sgd(bool fused, bool prepare_first) {
  nd::random::seed(11);
  ParameterDict pd("prep_");
  auto w = pd.get("w", ParamOptions().shape({37, 5}));
  pd.initialize(init::Normal(1));
  std::map<std::string, double> hp{{"learning_rate", 0.1}, {"momentum", 0.9}, {"clip_gradient", 0.5},
                                   {"use_fused_step", fused ? 1.0 : 0.0}};
  Trainer tr(pd, "sgd", hp);
  std::vector<float> before = w->data().to_vector<float>();
  if (prepare_first) {
    tr.optimizer().prepare(w->data());  // again, on this thread: a cache hit or the compile
    CHECK(w->data().to_vector<float>() == before);  // compiles, updates nothing
  }
  for (int s = 0; s < 3; ++s) {
    w->grad().assign(nd::random::normal(0, 1, {37, 5}));
    tr.step(1);
  }
  return w->data().to_vector<float>();
}

}  // namespace

TEST_CASE("Optimizer::prepare compiles ahead and the fused steps equal the op-by-op ones") {
  std::vector<float> eager = train_sgd(false, false);
  for (bool prepare_first : {false, true}) {
    std::vector<float> fused = train_sgd(true, prepare_first);
    REQUIRE(fused.size() == eager.size());
    int bad = 0;
    for (size_t i = 0; i < fused.size(); ++i) bad += !(fused[i] == doctest::Approx(eager[i]).epsilon(1e-5));
    CHECK(bad == 0);
  }
  // Plain SGD and NAG prepare too; an unprepared optimizer's prepare is a no-op.
  NDArray w = nd::random::normal(0, 1, {8, 3});
  std::vector<float> before = w.to_vector<float>();
  optim::SGD(optim::OptimizerOptions(), 0).prepare(w);
  optim::NAG(optim::OptimizerOptions(), 0.5).prepare(w);
  CHECK(w.to_vector<float>() == before);
}

TEST_CASE("prepare_library: fully connected products after their setup equal a reference") {
  // Sizes that take the packed-primitive path (rows 5..256, a small weight) and sgemm's.
  for (int64_t M : {8, 64, 300}) {
    const int64_t N = 24, K = 40;
    std::vector<float> x(M * K), w(N * K), b(N), y(M * N, -1.f);
    for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.1f * static_cast<float>(i));
    for (size_t i = 0; i < w.size(); ++i) w[i] = std::cos(0.07f * static_cast<float>(i));
    for (size_t i = 0; i < b.size(); ++i) b[i] = 0.01f * static_cast<float>(i);
    prepare_library(LibraryCall{"fully_connected", {M, N, K, 1}, {}});
    prepare_library(LibraryCall{"matmul", {M, N, K, 0, 1}, {}});  // no setup: nothing happens
    lib::fully_connected(x.data(), w.data(), b.data(), y.data(), M, N, K);
    int bad = 0;
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double ref = b[j];
        for (int64_t k = 0; k < K; ++k) ref += double(x[i * K + k]) * w[j * K + k];
        bad += !(y[i * N + j] == doctest::Approx(ref).epsilon(1e-4));
      }
    CHECK(bad == 0);
  }
}
