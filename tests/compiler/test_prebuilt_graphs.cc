// Library graphs' kernel modules compiled at build time (compiler/prebuilt/graphs.txt, written by
// tools/prebuilt_graphs.cc; hgc_prebuild): the hybridized SoftmaxCrossEntropyLoss, the compiled
// SGD update and a hybridized Dense/ReLU MLP's forward and gradient link them on an empty disk
// cache instead of compiling, give the JIT'd module's values bit for bit, and a module whose
// text or options differ is compiled as before.
// A failure of the "compiles nothing" checks after a lowering change means graphs.txt is stale:
//   ninja -C build hgc_prebuilt_graphs && ./build/tools/hgc_prebuilt_graphs compiler/prebuilt/graphs.txt
#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <mutex>

#include "hgc/compiler/imperative.h"
#include "hgc/compiler/kernel_cache.h"
#include "hgc/hgc.h"
#include "support/empty_disk_cache.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {

bool usable() {
  PrebuiltKernelsInfo info = prebuilt_kernels_info();
  if (!HGC_PREBUILT_BUILD || info.modules == 0 || !info.usable) {
    MESSAGE("skipped: no usable prebuilt graph modules (", info.modules, " in the library; ", info.reason, ")");
    return false;
  }
  return true;
}

struct JitOnly {
  JitOnly() { set_prebuilt_kernels_enabled(false); }
  ~JitOnly() { set_prebuilt_kernels_enabled(true); }
};

// The module texts compile_kernels is asked for in one scope.
struct Observed {
  std::mutex mu;
  std::vector<std::pair<std::string, std::vector<std::string>>> modules;
  Observed() {
    set_module_observer([this](const std::string& t, const std::vector<std::string>& k, const CompileOptions&) {
      std::lock_guard<std::mutex> lock(mu);
      modules.emplace_back(t, k);
    });
  }
  ~Observed() { set_module_observer(nullptr); }
};

struct LossRun {
  std::vector<float> loss, grad;
};

// A fresh hybridized loss (Gluon's idiom for a hybridized classifier), one recorded step.
LossRun softmax_ce(const NDArray& pred0, const NDArray& label) {
  loss::SoftmaxCrossEntropyLoss ce;
  ce.hybridize();
  NDArray pred = pred0.copy();
  pred.attach_grad();
  NDArray l;
  {
    auto r = autograd::record();
    l = ce(pred, label);
  }
  l.backward(nd::ones({label.shape()[0]}));
  return {l.to_vector<float>(), pred.grad().to_vector<float>()};
}

}  // namespace

TEST_CASE("prebuilt graph modules: a hybridized SoftmaxCrossEntropyLoss links build-time code on an empty cache, "
          "values bit-equal to the JIT'd module") {
  if (!usable()) return;
  test::EmptyDiskCache empty("prebuilt_graphs");
  // A batch other than the one graphs.txt was generated at (the batch axis is symbolic).
  const int64_t n = 37, classes = 10;
  nd::random::seed(5);
  NDArray pred = nd::random::uniform(-3, 3, {n, classes});
  NDArray label = nd::floor(nd::random::uniform(0, classes, {n}));
  auto writes = [] { return DiskCache::global().stats().writes; };  // kernels compiled and stored
  int64_t before = prebuilt_modules_used(), writes0 = writes();
  LossRun pre;
  Observed seen;
  pre = softmax_ce(pred, label);
  CHECK_MESSAGE(prebuilt_modules_used() - before == 2,
                "the loss's forward and gradient modules are no longer the ones in compiler/prebuilt/graphs.txt: "
                "rerun hgc_prebuilt_graphs");
  CHECK(writes() == writes0);  // nothing compiled
  REQUIRE(seen.modules.size() == 2);

  // Reference: -log_softmax(pred)[label], its gradient softmax - one_hot.
  std::vector<float> p = pred.to_vector<float>(), y = label.to_vector<float>();
  REQUIRE(pre.loss.size() == static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    double m = -1e30, z = 0;
    for (int64_t c = 0; c < classes; ++c) m = std::max(m, double(p[i * classes + c]));
    for (int64_t c = 0; c < classes; ++c) z += std::exp(p[i * classes + c] - m);
    int64_t t = static_cast<int64_t>(y[i]);
    CHECK(pre.loss[i] == doctest::Approx(-(p[i * classes + t] - m - std::log(z))).epsilon(1e-5));
    for (int64_t c = 0; c < classes; ++c)
      CHECK(pre.grad[i * classes + c] ==
            doctest::Approx(std::exp(p[i * classes + c] - m) / z - (c == t ? 1.0 : 0.0)).epsilon(1e-5));
  }

  // The same modules JIT-compiled (the prebuilt table off): the same code, the same bits.
  JitOnly jit;
  int64_t jit_before = prebuilt_modules_used(), jit_writes = writes();
  LossRun jitted = softmax_ce(pred, label);
  CHECK(prebuilt_modules_used() == jit_before);
  CHECK(writes() == jit_writes + 2);
  CHECK(jitted.loss == pre.loss);
  CHECK(jitted.grad == pre.grad);
}

TEST_CASE("prebuilt graph modules: a text or options differing from the listed ones compile as before") {
  if (!usable()) return;
  test::EmptyDiskCache empty("prebuilt_graphs");
  Observed seen;
  nd::random::seed(6);
  softmax_ce(nd::random::uniform(-1, 1, {8, 10}), nd::floor(nd::random::uniform(0, 10, {8})));
  REQUIRE(!seen.modules.empty());
  auto [text, kernels] = seen.modules.front();
  set_module_observer(nullptr);
  const CompileOptions defaults;
  DiskCache::global().reset_stats();
  int64_t before = prebuilt_modules_used();
  // The listed text itself: linked.
  auto linked = compile_kernels(text, kernels, defaults);
  CHECK(prebuilt_modules_used() == before + 1);
  CHECK(DiskCache::global().stats().writes == 0);
  // One character more (a stale listing, or another graph): compiled and stored, not linked.
  auto changed = compile_kernels(text + "\n", kernels, defaults);
  CHECK(prebuilt_modules_used() == before + 1);
  CHECK(DiskCache::global().stats().writes == 1);
  // Another opt level or CPU than the build used: compiled.
  auto o2 = compile_kernels(text, kernels, CompileOptions().opt(2));
  auto v3 = compile_kernels(text, kernels, CompileOptions().cpu("x86-64-v3"));
  CHECK(prebuilt_modules_used() == before + 1);
  CHECK(DiskCache::global().stats().writes == 3);
  for (const std::string& k : kernels) {
    CHECK(linked->contains(k));
    CHECK(changed->contains(k));
    CHECK(o2->contains(k));
    CHECK(v3->contains(k));
  }
}

TEST_CASE("prebuilt graph modules: the SGD update of any weight shape links build-time code") {
  if (!usable()) return;
  test::EmptyDiskCache empty("prebuilt_graphs");
  auto dense = std::make_shared<nn::Dense>(nn::DenseOptions(7));
  dense->initialize(init::Xavier());
  NDArray x = nd::random::uniform(0, 1, {3, 5});
  NDArray y;
  {
    auto r = autograd::record();
    y = nd::sum((*dense)(x));
  }
  y.backward();
  std::vector<std::vector<float>> w0, g;
  for (const auto& [name, p] : dense->collect_params().items()) {
    w0.push_back(p->data().to_vector<float>());
    g.push_back(p->grad().to_vector<float>());
  }
  int64_t before = prebuilt_modules_used(), writes0 = DiskCache::global().stats().writes;
  {
    Observed seen;
    Trainer trainer(dense->collect_params(), "sgd", {{"learning_rate", 0.5}, {"momentum", 0}});
    trainer.step(1);
    // The rule's module lives for the process (FusedUpdate): an earlier test may have made it.
    if (seen.modules.empty()) {
      MESSAGE("the SGD update was compiled earlier in this process: run this test alone to check its module");
    } else {
      CHECK_MESSAGE(prebuilt_modules_used() - before == 1,
                    "the SGD update's module is no longer the one in compiler/prebuilt/graphs.txt: rerun hgc_prebuilt_graphs");
      CHECK(DiskCache::global().stats().writes == writes0);
    }
  }
  size_t k = 0;
  for (const auto& [name, p] : dense->collect_params().items()) {
    std::vector<float> w = p->data().to_vector<float>();
    REQUIRE(w.size() == w0[k].size());
    for (size_t i = 0; i < w.size(); ++i) CHECK(w[i] == doctest::Approx(w0[k][i] - 0.5f * g[k][i]).epsilon(1e-6));
    ++k;
  }
}

TEST_CASE("prebuilt graph modules: a hybridized Dense/ReLU MLP of other widths links its forward module, "
          "values as the JIT'd") {
  if (!usable()) return;
  test::EmptyDiskCache empty("prebuilt_graphs");
  auto run = [](bool prebuilt) {
    JitOnly* off = prebuilt ? nullptr : new JitOnly();
    nd::random::seed(9);
    auto net = std::make_shared<nn::HybridSequential>();
    net->emplace<nn::Dense>(nn::DenseOptions(33).activation("relu"));
    net->emplace<nn::Dense>(nn::DenseOptions(5));
    net->initialize(init::Xavier());
    net->hybridize();
    NDArray x = nd::random::uniform(-1, 1, {7, 19});
    int64_t before = prebuilt_modules_used();
    NDArray y;
    {
      auto r = autograd::record();
      y = (*net)(x);
    }
    int64_t used = prebuilt_modules_used() - before;
    std::vector<float> out = y.to_vector<float>();
    delete off;
    return std::make_pair(used, out);
  };
  auto [used, out] = run(true);
  // The recorded call builds the forward and the gradient module: both listed (the gradient's is
  // checked further in the next test).
  CHECK_MESSAGE(used == 2, "the ReLU MLP's modules are no longer the ones in compiler/prebuilt/graphs.txt: rerun hgc_prebuilt_graphs");
  auto [jit_used, jit_out] = run(false);
  CHECK(jit_used == 0);
  CHECK(out == jit_out);
}

namespace {

struct MlpRun {
  int64_t used = 0, writes = 0;  // prebuilt modules linked, kernels compiled and stored
  std::vector<std::string> texts;
  std::vector<std::vector<float>> x, head, w, b, dw, db;  // per layer: weights, biases, gradients
};

// A fresh hybridized Dense/ReLU MLP (ReLU on all but the last layer) on `in` features, one
// recorded training step at batch `n`.
MlpRun relu_mlp_step(const std::vector<int64_t>& widths, int64_t in, int64_t n) {
  MlpRun r;
  nd::random::seed(11);
  auto net = std::make_shared<nn::HybridSequential>();
  std::vector<std::shared_ptr<nn::Dense>> layers;
  for (size_t k = 0; k < widths.size(); ++k) {
    nn::DenseOptions o(widths[k]);
    if (k + 1 < widths.size()) o.activation("relu");
    layers.push_back(net->emplace<nn::Dense>(o));
  }
  net->initialize(init::Xavier());
  net->hybridize();
  NDArray x = nd::random::uniform(-1, 1, {n, in});
  NDArray head = nd::random::uniform(-1, 1, {n, widths.back()});
  int64_t used0 = prebuilt_modules_used(), writes0 = DiskCache::global().stats().writes;
  {
    Observed seen;
    NDArray y;
    {
      auto rec = autograd::record();
      y = (*net)(x);
    }
    y.backward(head);
    for (const auto& m : seen.modules) r.texts.push_back(m.first);
  }
  r.used = prebuilt_modules_used() - used0;
  r.writes = DiskCache::global().stats().writes - writes0;
  r.x = {x.to_vector<float>()};
  r.head = {head.to_vector<float>()};
  for (const auto& d : layers) {
    r.w.push_back(d->weight->data().to_vector<float>());
    r.b.push_back(d->bias->data().to_vector<float>());
    r.dw.push_back(d->weight->grad().to_vector<float>());
    r.db.push_back(d->bias->grad().to_vector<float>());
  }
  return r;
}

// The parameters' gradients of MlpRun's step, by hand in double: z = h W^T + b, h' = relu(z);
// dW = dz^T h, db = the row sums of dz, dh = dz W, dz (inner) = dh where z > 0.
void check_mlp_gradients(const MlpRun& r, const std::vector<int64_t>& widths, int64_t in, int64_t n) {
  const size_t L = widths.size();
  std::vector<std::vector<double>> h(L + 1), z(L);
  h[0].assign(r.x[0].begin(), r.x[0].end());
  std::vector<int64_t> dim{in};
  for (int64_t w : widths) dim.push_back(w);
  for (size_t l = 0; l < L; ++l) {
    const int64_t I = dim[l], O = dim[l + 1];
    z[l].assign(n * O, 0.0);
    h[l + 1].assign(n * O, 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t o = 0; o < O; ++o) {
        double s = r.b[l][o];
        for (int64_t k = 0; k < I; ++k) s += h[l][i * I + k] * r.w[l][o * I + k];
        z[l][i * O + o] = s;
        h[l + 1][i * O + o] = l + 1 < L ? std::max(s, 0.0) : s;
      }
  }
  std::vector<double> dz(r.head[0].begin(), r.head[0].end());
  for (size_t l = L; l-- > 0;) {
    const int64_t I = dim[l], O = dim[l + 1];
    for (int64_t o = 0; o < O; ++o) {
      double sb = 0;
      for (int64_t i = 0; i < n; ++i) sb += dz[i * O + o];
      CHECK(r.db[l][o] == doctest::Approx(sb).epsilon(1e-4));
      for (int64_t k = 0; k < I; ++k) {
        double sw = 0;
        for (int64_t i = 0; i < n; ++i) sw += dz[i * O + o] * h[l][i * I + k];
        CHECK(r.dw[l][o * I + k] == doctest::Approx(sw).epsilon(1e-4));
      }
    }
    if (l == 0) break;
    std::vector<double> dh(n * I, 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < I; ++k) {
        double s = 0;
        for (int64_t o = 0; o < O; ++o) s += dz[i * O + o] * r.w[l][o * I + k];
        dh[i * I + k] = z[l - 1][i * I + k] > 0 ? s : 0.0;
      }
    dz = std::move(dh);
  }
}

}  // namespace

TEST_CASE("prebuilt graph modules: a hybridized Dense/ReLU MLP's gradient module is the same at other widths and "
          "depths, links build-time code on an empty cache, values as the JIT'd and as a reference") {
  if (!usable()) return;
  struct Case {
    std::vector<int64_t> widths;
    int64_t in, n;
  };
  // Neither graphs.txt's widths (16-8-4 on 12 and 33-21 on 7) nor its batch.
  const std::vector<Case> cases = {{{40, 9}, 19, 13}, {{24, 17, 6}, 11, 21}};
  std::vector<std::string> texts;
  for (const Case& c : cases) {
    CAPTURE(c.in);
    test::EmptyDiskCache empty("prebuilt_graphs");
    MlpRun pre = relu_mlp_step(c.widths, c.in, c.n);
    // The forward's ReLU module and the gradient's (the bias gradients' row sums, the ReLU
    // gradients), both linked: nothing compiled, nothing stored.
    REQUIRE(pre.texts.size() == 2);
    CHECK_MESSAGE(pre.used == 2, "the MLP's modules are no longer the ones in compiler/prebuilt/graphs.txt: "
                                 "rerun hgc_prebuilt_graphs");
    CHECK(pre.writes == 0);
    if (texts.empty()) texts = pre.texts;
    CHECK(pre.texts == texts);  // the same module texts at every width set and depth
    // No width of this MLP in its gradient module's text: every dim symbolic.
    for (int64_t w : c.widths) CHECK(pre.texts[1].find("x" + std::to_string(w) + "x") == std::string::npos);
    check_mlp_gradients(pre, c.widths, c.in, c.n);

    // The same modules JIT-compiled (the prebuilt table off): the same code, the same bits.
    JitOnly jit;
    MlpRun jitted = relu_mlp_step(c.widths, c.in, c.n);
    CHECK(jitted.used == 0);
    CHECK(jitted.writes == 2);
    CHECK(jitted.texts == pre.texts);
    CHECK(jitted.dw == pre.dw);
    CHECK(jitted.db == pre.db);
  }
}
