// Block utilities (summary, forward hooks, apply, cast), split_and_load, multi-context
// parameters and Trainer::allreduce_grads/update: replicas per cpu(i) context, the right copy
// inside a call on that context, gradients summed across copies, copies kept equal.
#include <doctest/doctest.h>

#include <algorithm>
#include <sstream>

#include "hgc/base/error.h"
#include "hgc/hgc.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {
std::shared_ptr<nn::HybridSequential> mlp() {
  auto net = std::make_shared<nn::HybridSequential>();
  net->add(std::make_shared<nn::Dense>(nn::DenseOptions(4).activation("relu")));
  net->add(std::make_shared<nn::Dense>(nn::DenseOptions(2)));
  return net;
}
}  // namespace

TEST_CASE("Block::summary prints output shapes and parameter counts") {
  auto net = mlp();
  net->initialize();
  std::ostringstream os;
  net->summary({nd::ones({3, 5})}, os);
  std::string s = os.str();
  CHECK(s.find("Dense-1") != std::string::npos);
  CHECK(s.find("(3, 4)") != std::string::npos);
  CHECK(s.find("(3, 2)") != std::string::npos);
  CHECK(s.find("Total params: 34") != std::string::npos);  // 5*4+4 + 4*2+2
  CHECK(s.find("Unique parameters in model: 34") != std::string::npos);
  net->hybridize();
  CHECK_THROWS_AS(net->summary({nd::ones({3, 5})}, os), Error);
}

TEST_CASE("forward hooks and pre-hooks; detach; apply order; cast") {
  auto net = mlp();
  net->initialize();
  std::vector<std::string> log;
  auto pre = net->register_forward_pre_hook([&](Block&, const std::vector<NDArray>& in) {
    log.push_back("pre " + std::to_string(in[0].shape()[1]));
  });
  auto post = (*net->children()[0].second).register_forward_hook(
      [&](Block& b, const std::vector<NDArray>&, const std::vector<NDArray>& out) { log.push_back(b.type_name() + " " + std::to_string(out[0].shape()[1])); });
  (*net)(nd::ones({2, 5}));
  CHECK(log == std::vector<std::string>{"pre 5", "Dense 4"});
  pre.detach();
  post.detach();
  (*net)(nd::ones({2, 5}));
  CHECK(log.size() == 2);
  std::vector<std::string> order;
  net->apply([&](Block& b) { order.push_back(b.type_name()); });
  CHECK(order.back() == "HybridSequential");
  CHECK(std::count(order.begin(), order.end(), "Dense") == 2);
  NDArray y32 = (*net)(nd::ones({2, 5}));
  net->hybridize();
  (*net)(nd::ones({2, 5}));
  // FullyConnected runs on float32 GEMMs only, so the f64 values are checked, then cast back.
  net->cast(DType::f64);
  for (auto& p : net->collect_params().values()) CHECK(p->data().dtype() == DType::f64);
  net->cast(DType::f32);
  for (auto& p : net->collect_params().values()) CHECK(p->data().dtype() == DType::f32);
  NDArray back = (*net)(nd::ones({2, 5}));  // the compiled graph was dropped and rebuilt
  CHECK(nd::max(nd::abs(back - y32)).asscalar<float>() < 1e-6);
}

TEST_CASE("split_data / split_and_load") {
  NDArray x = nd::arange(12).reshape({6, 2});
  auto parts = utils::split_and_load(x, {cpu(0), cpu(1), cpu(2)});
  REQUIRE(parts.size() == 3);
  CHECK(parts[2].context() == cpu(2));
  CHECK(parts[2].to_vector<float>() == std::vector<float>{8, 9, 10, 11});
  CHECK_THROWS_WITH_AS(utils::split_data(x, 4), doctest::Contains("evenly"), Error);
  auto uneven = utils::split_data(x, 4, 0, false);
  CHECK(uneven.back().shape()[0] == 3);
  CHECK(utils::split_data(x, 2, 1)[1].to_vector<float>() == std::vector<float>{1, 3, 5, 7, 9, 11});
  CHECK_THROWS_AS(utils::split_data(x, 7), Error);
}

TEST_CASE("multi-context parameters: replicas, allreduce, update keeps them equal") {
  auto net = mlp();
  net->initialize(init::Xavier(), std::vector<Context>{cpu(0), cpu(1)});
  NDArray x = nd::random::normal(0, 1, {4, 5}), y = nd::random::normal(0, 1, {4, 2});
  (*net)(x.slice(0, 1));  // deferred shapes
  auto p = net->collect_params().values()[0];
  REQUIRE(p->list_ctx() == std::vector<Context>{cpu(0), cpu(1)});
  CHECK(p->data(cpu(1)).context() == cpu(1));
  CHECK(nd::max(nd::abs(p->data(cpu(1)).copyto(cpu(0)) - p->data(cpu(0)))).asscalar<float>() == 0);
  CHECK_THROWS_WITH_AS(p->data(cpu(3)), doctest::Contains("no copy on cpu(3)"), Error);

  // The whole batch on one context (a second net with the same values) as the reference.
  auto ref = mlp();
  ref->initialize(init::Xavier());
  (*ref)(x.slice(0, 1));
  auto rp = ref->collect_params().values();
  auto np = net->collect_params().values();
  for (size_t i = 0; i < rp.size(); ++i) rp[i]->set_data(np[i]->data());
  loss::L2Loss l2;
  auto xs = utils::split_and_load(x, {cpu(0), cpu(1)}), ys = utils::split_and_load(y, {cpu(0), cpu(1)});
  std::vector<NDArray> ls;
  {
    auto rec = autograd::record();
    for (int i = 0; i < 2; ++i) ls.push_back(l2((*net)(xs[i]), ys[i]));
  }
  CHECK(ls[1].context() == cpu(1));
  for (auto& l : ls) l.backward();
  NDArray lr_;
  {
    auto rec = autograd::record();
    lr_ = l2((*ref)(x), y);
  }
  lr_.backward();
  Trainer t(net->collect_params(), "sgd", {{"learning_rate", 0.1}});
  t.allreduce_grads();
  for (size_t i = 0; i < rp.size(); ++i) {
    auto g = np[i]->list_grad();
    CHECK(nd::max(nd::abs(g[0] - rp[i]->grad())).asscalar<float>() < 1e-5);
    CHECK(nd::max(nd::abs(g[1].copyto(cpu(0)) - rp[i]->grad())).asscalar<float>() < 1e-5);
  }
  t.update(4);
  Trainer tr(ref->collect_params(), "sgd", {{"learning_rate", 0.1}});
  tr.step(4);
  for (size_t i = 0; i < rp.size(); ++i) {
    auto d = np[i]->list_data();
    CHECK(nd::max(nd::abs(d[0] - rp[i]->data())).asscalar<float>() < 1e-6);
    CHECK(nd::max(nd::abs(d[1].copyto(cpu(0)) - d[0])).asscalar<float>() == 0);
  }
  CHECK_THROWS_AS(net->initialize(init::Xavier(), std::vector<Context>{cpu(0), cpu(0)}, true), Error);
}

TEST_CASE("Trainer update_on_kvstore: step as without; the two halves refused while a kvstore is in use") {
  auto make = [](std::vector<Context> ctx) {
    nd::random::seed(5);
    auto net = mlp();
    net->initialize(init::Xavier(), ctx);
    return net;
  };
  NDArray x = nd::random::normal(0, 1, {4, 5}), y = nd::random::normal(0, 1, {4, 2});
  loss::L2Loss l2;
  auto backward = [&](nn::HybridSequential& net, const std::vector<Context>& ctx) {
    auto xs = utils::split_and_load(x, ctx), ys = utils::split_and_load(y, ctx);
    std::vector<NDArray> ls;
    {
      auto rec = autograd::record();
      for (size_t i = 0; i < ctx.size(); ++i) ls.push_back(l2(net(xs[i]), ys[i]));
    }
    for (auto& l : ls) l.backward();
  };
  std::vector<Context> two{cpu(0), cpu(1)};
  auto a = make(two), b = make(two);
  (*a)(x.slice(0, 1));  // deferred shapes; then b takes a's values
  (*b)(x.slice(0, 1));
  for (size_t i = 0; i < a->collect_params().values().size(); ++i)
    b->collect_params().values()[i]->set_data(a->collect_params().values()[i]->data());
  backward(*a, two);
  backward(*b, two);
  Trainer on(a->collect_params(), "sgd", {{"learning_rate", 0.1}, {"momentum", 0.9}}, nullptr, "device", true);
  Trainer off(b->collect_params(), "sgd", {{"learning_rate", 0.1}, {"momentum", 0.9}}, nullptr, "device", false);
  CHECK(on.update_on_kvstore());
  CHECK_FALSE(off.update_on_kvstore());
  CHECK_FALSE(Trainer(b->collect_params(), "sgd").update_on_kvstore());  // unset: false (see trainer.h)
  CHECK_THROWS_WITH_AS(on.allreduce_grads(), doctest::Contains("allreduce_grads() when parameters are updated on kvstore"),
                       Error);
  CHECK_THROWS_WITH_AS(on.update(4), doctest::Contains("update() when parameters are updated on kvstore"), Error);
  on.step(4);
  off.allreduce_grads();
  off.update(4);
  auto pa = a->collect_params().values(), pb = b->collect_params().values();
  for (size_t i = 0; i < pa.size(); ++i)
    for (int k = 0; k < 2; ++k) {
      CHECK(nd::max(nd::abs(pa[i]->list_data()[k] - pb[i]->list_data()[k])).asscalar<float>() == 0);
      CHECK(nd::max(nd::abs(pa[i]->list_data()[k].copyto(cpu(0)) - pa[i]->data())).asscalar<float>() == 0);
    }
  // One context and no dist kvstore: no kvstore in use (MXNet creates none), so both halves run.
  auto c = make({cpu(0)});
  backward(*c, {cpu(0)});
  Trainer single(c->collect_params(), "sgd", {{"learning_rate", 0.1}}, nullptr, "device", true);
  single.allreduce_grads();
  single.update(4);
}

TEST_CASE("1-D and 3-D pooling layers against window maxima/means; gradients flow") {
  NDArray x = nd::array({1, 5, 2, 4, 3, 0}, {1, 1, 6});
  CHECK((*std::make_shared<nn::MaxPool1D>())(x).to_vector<float>() == std::vector<float>{5, 4, 3});
  CHECK((*std::make_shared<nn::AvgPool1D>(nn::PoolOptions({3})))(x).to_vector<float>() == std::vector<float>{8.f / 3, 7.f / 3});
  CHECK((*std::make_shared<nn::GlobalMaxPool1D>())(x).shape() == std::vector<int64_t>{1, 1, 1});
  NDArray v = nd::arange(16).reshape({1, 1, 2, 2, 4});
  NDArray m = (*std::make_shared<nn::MaxPool3D>())(v);
  CHECK(m.shape() == std::vector<int64_t>{1, 1, 1, 1, 2});
  CHECK(m.to_vector<float>() == std::vector<float>{13, 15});
  CHECK((*std::make_shared<nn::GlobalAvgPool3D>())(v).to_vector<float>() == std::vector<float>{7.5});
  CHECK_THROWS_AS((*std::make_shared<nn::MaxPool3D>())(x), Error);
  CHECK_THROWS_AS(nn::MaxPool1D(nn::PoolOptions({2, 2})), Error);
  NDArray w = x.copy();
  w.attach_grad();
  {
    auto rec = autograd::record();
    NDArray l = nd::sum((*std::make_shared<nn::MaxPool1D>())(w));
    l.backward();
  }
  CHECK(w.grad().to_vector<float>() == std::vector<float>{0, 1, 0, 1, 1, 0});
}

TEST_CASE("RNN cell wrappers: Residual, Dropout, Zoneout, Bidirectional") {
  nd::random::seed(5);
  auto base = std::make_shared<rnn::GRUCell>(rnn::CellOptions(3).input_size(3));
  auto res = std::make_shared<rnn::ResidualCell>(base);
  res->initialize(init::Xavier());
  NDArray x = nd::random::normal(0, 1, {2, 3});
  auto st = res->begin_state(2);
  auto [o, s] = (*res)(x, st);
  auto [ob, sb] = (*base)(x, st);
  CHECK(nd::max(nd::abs(o - (ob + x))).asscalar<float>() < 1e-6);
  auto drop = std::make_shared<rnn::DropoutCell>(0.5);
  auto [d0, ds] = (*drop)(x, {});
  CHECK(nd::max(nd::abs(d0 - x)).asscalar<float>() == 0);  // predict mode: identity
  auto zo = std::make_shared<rnn::ZoneoutCell>(base, 0.0, 0.99);
  NDArray h0 = nd::ones({2, 3});
  {
    auto rec = autograd::record();
    auto [zo_out, zo_st] = (*zo)(x, {h0});
    CHECK(nd::sum(zo_st[0] == 1.0).asscalar<float>() >= 4);  // almost every unit kept its state
  }
  auto [zp, zps] = (*zo)(x, {h0});  // predict mode: the base cell
  CHECK(nd::max(nd::abs(zps[0] - (*base)(x, {h0}).second[0])).asscalar<float>() < 1e-6);
  auto l = std::make_shared<rnn::LSTMCell>(rnn::CellOptions(4)), r = std::make_shared<rnn::LSTMCell>(rnn::CellOptions(4));
  auto bi = std::make_shared<rnn::BidirectionalCell>(l, r);
  bi->initialize(init::Xavier());
  NDArray seq = nd::random::normal(0, 1, {2, 5, 3});
  auto u = bi->unroll(5, seq, {}, "NTC");
  CHECK(u.output.shape() == std::vector<int64_t>{2, 5, 8});
  CHECK(u.states.size() == 4);
  // the right-to-left half at t = 4 is r's first step on the last input
  auto [r_first, r_st] = (*r)(seq.slice_axis(1, 4, 5).squeeze({1}), r->begin_state(2));
  CHECK(nd::max(nd::abs(u.output.slice_axis(1, 4, 5).squeeze({1}).slice_axis(1, 4, 8) - r_first)).asscalar<float>() < 1e-5);
  CHECK_THROWS_AS((*bi)(x, bi->begin_state(2)), Error);
}
