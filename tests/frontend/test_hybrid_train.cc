// Hybridized training: a hybridized block under autograd::record() is one tape node whose
// backward is a compiled gradient graph. Same initial weights and data give the same losses
// and weights as imperative training; the forward is traced and the gradient graph compiled
// once per signature. Reports the train-step time imperative vs hybridized, and (when
// Debian's dataset-fashion-mnist is installed) trains a Fashion-MNIST MLP hybridized.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>

#include "hgc/hgc.h"
#include "hgc/base/error.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {

std::shared_ptr<nn::HybridSequential> mlp(const std::vector<int64_t>& units, int64_t in) {
  auto net = std::make_shared<nn::HybridSequential>();
  for (size_t i = 0; i < units.size(); ++i) {
    nn::DenseOptions o(units[i]);
    o.in_units(i == 0 ? in : units[i - 1]);
    if (i + 1 < units.size()) o.activation("relu");
    net->emplace<nn::Dense>(o);
  }
  net->initialize(init::Xavier());
  return net;
}

void copy_params(const Block& from, const Block& to) {
  auto a = from.collect_params().values(), b = to.collect_params().values();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) b[i]->set_data(a[i]->data());
}

double train_step(Block& net, Trainer& trainer, const NDArray& x, const NDArray& y, bool update = true) {
  loss::SoftmaxCrossEntropyLoss ce;
  NDArray l;
  {
    auto r = autograd::record();
    l = ce(net(x), y);
  }
  l.backward();
  if (update) trainer.step(x.shape()[0]);
  return nd::mean(l).asscalar();
}

void check_close(const NDArray& a, const NDArray& b, double tol) {
  std::vector<float> u = a.to_vector<float>(), v = b.to_vector<float>();
  REQUIRE(u.size() == v.size());
  double worst = 0;
  for (size_t i = 0; i < u.size(); ++i) worst = std::max(worst, double(std::abs(u[i] - v[i])));
  CHECK(worst <= tol);
}

// The MLP with the loss inside: two inputs (data, label), the label needing no gradient.
class WithLoss : public HybridBlock {
 public:
  explicit WithLoss(std::shared_ptr<Block> net) : HybridBlock("withloss"), net_(register_child(net, "net")) {}
  std::vector<NDArray> hybrid_forward_multi(const std::vector<NDArray>& xs) override {
    return {ce_((*net_)(xs[0]), xs[1])};
  }

 private:
  std::shared_ptr<Block> net_;
  loss::SoftmaxCrossEntropyLoss ce_;
};

// Single-head self-attention with a residual: x (batch, seq, d) -> same shape.
class Attention : public HybridBlock {
 public:
  explicit Attention(int64_t d) : HybridBlock("attention"), d_(d) {
    auto name_scope = this->name_scope();
    q_ = register_child(std::make_shared<nn::Dense>(nn::DenseOptions(d).in_units(d).flatten(false)), "q");
    k_ = register_child(std::make_shared<nn::Dense>(nn::DenseOptions(d).in_units(d).flatten(false)), "k");
    v_ = register_child(std::make_shared<nn::Dense>(nn::DenseOptions(d).in_units(d).flatten(false)), "v");
  }
  NDArray hybrid_forward(const NDArray& x) override {
    NDArray scores = nd::batch_dot((*q_)(x), (*k_)(x), false, true) * (1.0 / std::sqrt(double(d_)));
    return x + nd::batch_dot(nd::softmax(scores), (*v_)(x));
  }

 private:
  int64_t d_;
  std::shared_ptr<nn::Dense> q_, k_, v_;
};

}  // namespace

TEST_CASE("hybrid train: an MLP trains hybridized exactly as imperatively") {
  nd::random::seed(7);
  auto imp = mlp({64, 10}, 784), hyb = mlp({64, 10}, 784);
  copy_params(*imp, *hyb);
  hyb->hybridize();
  NDArray x = nd::random::uniform(0, 1, {32, 784});
  NDArray y = nd::floor(nd::random::uniform(0, 10, {32}));
  Trainer ti(imp->collect_params(), "sgd", {{"learning_rate", 0.5}});
  Trainer th(hyb->collect_params(), "sgd", {{"learning_rate", 0.5}});
  for (int step = 0; step < 5; ++step) {
    double li = train_step(*imp, ti, x, y), lh = train_step(*hyb, th, x, y);
    INFO("step ", step, ": imperative loss ", li, ", hybridized ", lh);
    CHECK(std::abs(li - lh) <= 1e-4);
  }
  auto a = imp->collect_params().values(), b = hyb->collect_params().values();
  for (size_t i = 0; i < a.size(); ++i) {
    INFO("parameter ", a[i]->name());
    check_close(b[i]->data(), a[i]->data(), 1e-4);
  }
  auto s = hyb->cache_stats();
  CHECK(s.misses == 1);  // one input signature
  CHECK(s.hits == 4);
  CHECK(s.traces == 1);  // hybrid_forward traced once: training forward and gradient graph
  CHECK(s.backward_compiles == 1);
}

TEST_CASE("hybrid train: loss inside the block, input gradients, grad_req add") {
  nd::random::seed(11);
  auto imp = mlp({16, 5}, 12), hyb = mlp({16, 5}, 12);
  copy_params(*imp, *hyb);
  auto whole = std::make_shared<WithLoss>(hyb);
  whole->hybridize();
  NDArray x = nd::random::normal(0, 1, {6, 12});
  NDArray y = nd::floor(nd::random::uniform(0, 5, {6}));
  NDArray xi = x.copy(), xh = x.copy();
  xi.attach_grad();
  xh.attach_grad();
  hyb->collect_params().setattr_grad_req("add");
  imp->collect_params().setattr_grad_req("add");
  loss::SoftmaxCrossEntropyLoss ce;
  for (int rep = 0; rep < 2; ++rep) {  // gradients add up over two backward passes
    NDArray li, lh;
    {
      auto r = autograd::record();
      li = ce((*imp)(xi), y);
      lh = (*whole)({xh, y})[0];
    }
    li.backward();
    lh.backward();
    check_close(lh, li, 1e-5);
  }
  check_close(xh.grad(), xi.grad(), 1e-5);
  auto a = imp->collect_params().values(), b = hyb->collect_params().values();
  for (size_t i = 0; i < a.size(); ++i) {
    INFO("parameter ", a[i]->name());
    check_close(b[i]->grad(), a[i]->grad(), 1e-5);
  }
  CHECK(whole->cache_stats().backward_compiles == 1);
  // The label needs no gradient; a data input that needs none gives another gradient graph.
  {
    auto r = autograd::record();
    NDArray l = (*whole)({x, y})[0];
    l.backward();
  }
  CHECK(whole->cache_stats().backward_compiles == 2);
  CHECK(whole->cache_stats().misses == 1);
  CHECK(whole->cache_stats().traces == 2);
}

TEST_CASE("hybrid train: train-step time, imperative vs hybridized (784-256-128-10, batch 64)") {
  nd::random::seed(3);
  auto imp = mlp({256, 128, 10}, 784), hyb = mlp({256, 128, 10}, 784);
  copy_params(*imp, *hyb);
  hyb->hybridize();
  NDArray x = nd::random::uniform(0, 1, {64, 784});
  NDArray y = nd::floor(nd::random::uniform(0, 10, {64}));
  Trainer ti(imp->collect_params(), "sgd", {{"learning_rate", 0.1}});
  Trainer th(hyb->collect_params(), "sgd", {{"learning_rate", 0.1}});
  using clock = std::chrono::steady_clock;
  for (int i = 0; i < 3; ++i) {  // warm-up: JIT kernels and graph compiles
    train_step(*imp, ti, x, y);
    train_step(*hyb, th, x, y);
  }
  // Alternating rounds, the best round of each (the machine is shared).
  auto round = [&](Block& net, Trainer& t, bool update) {
    const int n = 10;
    auto t0 = clock::now();
    double l = 0;
    for (int i = 0; i < n; ++i) l = train_step(net, t, x, y, update);
    CHECK(std::isfinite(l));
    return std::chrono::duration<double, std::milli>(clock::now() - t0).count() / n;
  };
  double ms_imp = 1e9, ms_hyb = 1e9, fb_imp = 1e9, fb_hyb = 1e9;
  for (int r = 0; r < 5; ++r) {
    ms_imp = std::min(ms_imp, round(*imp, ti, true));
    ms_hyb = std::min(ms_hyb, round(*hyb, th, true));
    fb_imp = std::min(fb_imp, round(*imp, ti, false));
    fb_hyb = std::min(fb_hyb, round(*hyb, th, false));
  }
  MESSAGE("MLP 784-256-128-10, batch 64, SGD train step (incl. a loss read): imperative ", ms_imp,
          " ms, hybridized ", ms_hyb, " ms; imperative / hybridized = ", ms_imp / ms_hyb,
          ". Forward + loss + backward only (no trainer.step): imperative ", fb_imp, " ms, hybridized ", fb_hyb,
          " ms; ratio ", fb_imp / fb_hyb);
  CHECK(hyb->cache_stats().backward_compiles == 1);
}

namespace {

// Trains two copies of make()'s net (one hybridized) with SGD on the same batch: equal losses
// at every step, equal weights after, one compiled gradient graph, a falling loss.
void train_both(const std::function<std::shared_ptr<nn::HybridSequential>()>& make, const NDArray& x, const NDArray& y) {
  auto imp = make(), hyb = make();
  hyb->hybridize();
  (*hyb)(x);  // deferred parameters take their shapes from the first call
  (*imp)(x);
  copy_params(*hyb, *imp);
  Trainer ti(imp->collect_params(), "sgd", {{"learning_rate", 0.2}});
  Trainer th(hyb->collect_params(), "sgd", {{"learning_rate", 0.2}});
  double first = 0, last = 0;
  for (int step = 0; step < 6; ++step) {
    double li = train_step(*imp, ti, x, y), lh = train_step(*hyb, th, x, y);
    INFO("step ", step, ": imperative loss ", li, ", hybridized ", lh);
    CHECK(std::abs(li - lh) <= 1e-4);
    (step == 0 ? first : last) = li;
  }
  CHECK(last < first);  // it learns
  auto a = imp->collect_params().values(), b = hyb->collect_params().values();
  for (size_t i = 0; i < a.size(); ++i) {
    INFO("parameter ", a[i]->name());
    check_close(b[i]->data(), a[i]->data(), 1e-4);
  }
  CHECK(hyb->cache_stats().backward_compiles == 1);
}

}  // namespace

TEST_CASE("hybrid train: a small CNN with max and avg pooling trains hybridized exactly as imperatively") {
  nd::random::seed(13);
  train_both([] {
    auto net = std::make_shared<nn::HybridSequential>();
    net->emplace<nn::Conv2D>(nn::Conv2DOptions(4, {3, 3}).activation("relu"));
    net->emplace<nn::MaxPool2D>();
    net->emplace<nn::Conv2D>(nn::Conv2DOptions(6, {3, 3}).padding({1, 1}).activation("tanh"));
    net->emplace<nn::AvgPool2D>(nn::Pool2DOptions({3, 3}).strides({2, 2}).padding({1, 1}));
    net->emplace<nn::Flatten>();
    net->emplace<nn::Dense>(nn::DenseOptions(3));
    net->initialize(init::Xavier());
    return net;
  }, nd::random::normal(0, 1, {4, 1, 12, 12}), nd::array({2, 0, 1, 1}));
}

TEST_CASE("hybrid train: strided, dilated, grouped and transposed convolutions train hybridized exactly as imperatively") {
  nd::random::seed(17);
  train_both([] {
    auto net = std::make_shared<nn::HybridSequential>();
    net->emplace<nn::Conv2D>(nn::Conv2DOptions(4, {3, 3}).strides({2, 2}).padding({1, 1}).activation("relu"));
    net->emplace<nn::Conv2D>(nn::Conv2DOptions(6, {3, 3}).groups(2).dilation({2, 2}).padding({2, 2}).activation("tanh"));
    net->emplace<nn::GlobalAvgPool2D>();
    net->emplace<nn::Flatten>();
    net->emplace<nn::Dense>(nn::DenseOptions(3));
    net->initialize(init::Xavier());
    return net;
  }, nd::random::normal(0, 1, {4, 2, 11, 11}), nd::array({2, 0, 1, 1}));
  // An encoder-decoder shape: down with a strided Conv2D, up with a grouped Conv2DTranspose.
  train_both([] {
    auto net = std::make_shared<nn::HybridSequential>();
    net->emplace<nn::Conv2D>(nn::Conv2DOptions(4, {3, 3}).strides({2, 2}).padding({1, 1}).activation("relu"));
    net->emplace<nn::Conv2DTranspose>(
        nn::Conv2DOptions(4, {3, 3}).strides({2, 2}).padding({1, 1}).output_padding({1, 1}).groups(2).activation("tanh"));
    net->emplace<nn::MaxPool2D>(nn::Pool2DOptions({2, 2}));
    net->emplace<nn::Flatten>();
    net->emplace<nn::Dense>(nn::DenseOptions(3));
    net->initialize(init::Xavier());
    return net;
  }, nd::random::normal(0, 1, {4, 1, 8, 8}), nd::array({2, 0, 1, 1}));
}

TEST_CASE("hybrid train: Fashion-MNIST MLP hybridized reaches >= 85% test accuracy in <= 3 epochs") {
  const std::string dir = "/usr/share/datasets/fashion-mnist/";
  if (!std::filesystem::exists(dir + "train-images-idx3-ubyte.gz")) {
    MESSAGE("skipped: ", dir, " is absent (install Debian's dataset-fashion-mnist)");
    return;
  }
  auto load = [&](const std::string& split) {
    NDArray images = data::read_idx(dir + split + "-images-idx3-ubyte.gz");
    NDArray labels = data::read_idx(dir + split + "-labels-idx1-ubyte.gz");
    return std::vector<NDArray>{images.astype(DType::f32).reshape({images.shape()[0], -1}) / 255.0,
                                labels.astype(DType::f32)};
  };
  nd::random::seed(1);
  auto net = mlp({256, 128, 10}, 784);
  net->hybridize();
  Trainer trainer(net->collect_params(), "sgd", {{"learning_rate", 0.1}});
  data::DataLoader train(std::make_shared<data::ArrayDataset>(load("train")),
                         data::DataLoaderOptions(64).shuffle(true).seed(3).last_batch("discard"));
  data::DataLoader test(std::make_shared<data::ArrayDataset>(load("t10k")), data::DataLoaderOptions(1000));
  auto t0 = std::chrono::steady_clock::now();
  double test_acc = 0;
  int epochs = 0;
  while (epochs < 3 && test_acc < 0.85) {
    for (const auto& b : train) {
      NDArray l;
      {
        auto r = autograd::record();
        l = loss::SoftmaxCrossEntropyLoss()((*net)(b[0]), b[1]);
      }
      l.backward();
      trainer.step(64);
    }
    ++epochs;
    metric::Accuracy acc;
    for (const auto& b : test) acc.update(b[1], (*net)(b[0]));
    test_acc = acc.get().second;
  }
  MESSAGE("Fashion-MNIST hybridized: test accuracy ", test_acc, " after ", epochs, " epoch(s), ",
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), " s");
  CHECK(test_acc >= 0.85);
  CHECK(net->cache_stats().backward_compiles == 1);
}

TEST_CASE("hybrid train: Dropout in training mode: the whole hybridized net is one compiled tape node") {
  nd::random::seed(5);
  auto net = std::make_shared<nn::HybridSequential>();
  net->emplace<nn::Dense>(nn::DenseOptions(8).activation("relu").in_units(4));
  net->emplace<nn::Dropout>(0.5);
  net->emplace<nn::Dense>(nn::DenseOptions(3).in_units(8));
  net->initialize();
  net->hybridize();
  NDArray x = nd::random::uniform(-1, 1, {5, 4});
  NDArray l;
  {
    auto r = autograd::record();
    l = loss::SoftmaxCrossEntropyLoss()((*net)(x), nd::array({0, 1, 2, 0, 1}));
  }
  l.backward();
  auto w = net->collect_params().values();
  CHECK(nd::sum(nd::abs(w.back()->grad())).asscalar() > 0);  // the last Dense got gradients
  CHECK(net->cache_stats().backward_compiles == 1);           // the whole net: one gradient graph
  // Its Dense children did not run on their own (no imperative fallback for the parent).
  auto dense = std::dynamic_pointer_cast<HybridBlock>(net->children()[0].second);
  REQUIRE(dense);
  CHECK(dense->cache_stats().traces == 0);
  // In predict mode the whole net compiles as before.
  CHECK((*net)(x).shape() == std::vector<int64_t>{5, 3});
}

TEST_CASE("hybrid train: BatchNorm in training mode updates its running statistics as imperatively") {
  nd::random::seed(6);
  auto make = [] {
    auto net = std::make_shared<nn::HybridSequential>();
    net->emplace<nn::Dense>(nn::DenseOptions(6).in_units(4));
    net->emplace<nn::BatchNorm>();
    net->emplace<nn::Dense>(nn::DenseOptions(2).in_units(6));
    net->initialize();
    return net;
  };
  auto imp = make(), hyb = make();
  (*imp)(nd::zeros({1, 4}));  // BatchNorm's in_channels
  (*hyb)(nd::zeros({1, 4}));
  copy_params(*imp, *hyb);
  hyb->hybridize();
  NDArray x = nd::random::normal(0, 1, {8, 4});
  for (Block* net : {static_cast<Block*>(imp.get()), static_cast<Block*>(hyb.get())}) {
    auto r = autograd::record();
    NDArray l = loss::L2Loss()((*net)(x), nd::zeros({8, 2}));
    l.backward();
  }
  auto a = imp->collect_params().values(), b = hyb->collect_params().values();
  for (size_t i = 0; i < a.size(); ++i) {
    INFO("parameter ", a[i]->name());
    check_close(b[i]->data(), a[i]->data(), 1e-6);  // running_mean / running_var included
    if (a[i]->grad_req() != "null") check_close(b[i]->grad(), a[i]->grad(), 1e-5);
  }
}

TEST_CASE("hybrid train: a small CNN's gradients match imperative ones (deferred shapes, first call recorded)") {
  nd::random::seed(9);
  auto make = [] {
    auto net = std::make_shared<nn::HybridSequential>();
    net->emplace<nn::Conv2D>(nn::Conv2DOptions(4, {3, 3}).activation("relu"));
    net->emplace<nn::Conv2D>(nn::Conv2DOptions(6, {3, 3}).padding({1, 1}).activation("tanh"));
    net->emplace<nn::Flatten>();
    net->emplace<nn::Dense>(nn::DenseOptions(10).activation("sigmoid"));
    net->emplace<nn::Dense>(nn::DenseOptions(3));
    net->initialize(init::Xavier());
    return net;
  };
  auto imp = make(), hyb = make();
  hyb->hybridize();
  NDArray x = nd::random::normal(0, 1, {2, 1, 12, 12});
  NDArray y = nd::array({2, 0});
  loss::SoftmaxCrossEntropyLoss ce;
  auto grads = [&](Block& net, NDArray xin) {
    NDArray l;
    {
      auto r = autograd::record();
      l = ce(net(xin), y);
    }
    l.backward();
    return l;
  };
  grads(*hyb, x);  // deferred parameters initialized by the first (recorded) call
  (*imp)(x);
  copy_params(*hyb, *imp);
  NDArray xi = x.copy(), xh = x.copy();
  xi.attach_grad();
  xh.attach_grad();
  check_close(grads(*hyb, xh), grads(*imp, xi), 1e-5);
  check_close(xh.grad(), xi.grad(), 1e-5);
  auto a = imp->collect_params().values(), b = hyb->collect_params().values();
  for (size_t i = 0; i < a.size(); ++i) {
    INFO("parameter ", a[i]->name());
    check_close(b[i]->grad(), a[i]->grad(), 1e-5);
  }
}

TEST_CASE("hybrid train: an attention block's gradients match imperative ones") {
  nd::random::seed(13);
  auto imp = std::make_shared<Attention>(8), hyb = std::make_shared<Attention>(8);
  imp->initialize(init::Xavier());
  hyb->initialize();
  copy_params(*imp, *hyb);
  hyb->hybridize();
  NDArray x = nd::random::normal(0, 1, {2, 5, 8});
  NDArray target = nd::random::normal(0, 1, {2, 5, 8});
  NDArray xi = x.copy(), xh = x.copy();
  xi.attach_grad();
  xh.attach_grad();
  for (auto [net, xin] : {std::pair{imp.get(), xi}, std::pair{hyb.get(), xh}}) {
    NDArray l;
    {
      auto r = autograd::record();
      l = loss::L2Loss()((*net)(xin), target);
    }
    l.backward();
  }
  check_close(xh.grad(), xi.grad(), 1e-5);
  auto a = imp->collect_params().values(), b = hyb->collect_params().values();
  for (size_t i = 0; i < a.size(); ++i) {
    INFO("parameter ", a[i]->name());
    check_close(b[i]->grad(), a[i]->grad(), 1e-5);
  }
  CHECK(hyb->cache_stats().backward_compiles == 1);
}

TEST_CASE("hybrid train: pass-through outputs, autograd::grad and retain_graph") {
  // y = (x, x * w): the first output's gradient is the head gradient itself.
  class Two : public HybridBlock {
   public:
    Two() : HybridBlock("two") { w = params().get("w", ParamOptions().shape({3})); }
    std::vector<NDArray> hybrid_forward_multi(const std::vector<NDArray>& xs) override {
      return {xs[0] + 1.0, xs[0] * w->data()};
    }
    std::shared_ptr<Parameter> w;
  };
  auto b = std::make_shared<Two>();
  b->initialize(init::Constant(2));
  b->hybridize();
  NDArray x = nd::array({1, 2, 3});
  x.attach_grad();
  std::vector<NDArray> ys;
  {
    auto r = autograd::record();
    ys = (*b)(std::vector<NDArray>{x});
  }
  NDArray l0 = ys[1];
  l0.backward(NDArray(), true);  // only the second output: the first's head gradient is zeros
  CHECK(x.grad().to_vector<float>() == std::vector<float>{2, 2, 2});
  CHECK(b->w->grad().to_vector<float>() == std::vector<float>{1, 2, 3});
  l0.backward();  // retained: runs again
  CHECK(x.grad().to_vector<float>() == std::vector<float>{2, 2, 2});
  {
    auto r = autograd::record();
    ys = (*b)(std::vector<NDArray>{x});
  }
  auto g = autograd::grad({ys[0], ys[1]}, {x});
  CHECK(g[0].to_vector<float>() == std::vector<float>{3, 3, 3});
  CHECK(b->cache_stats().backward_compiles == 1);
}
