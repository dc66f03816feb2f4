// Trainer::save_states / load_states: training resumed from saved states continues exactly
// as the uninterrupted run (momentum, Adam moments, update counts, the schedule position),
// and mismatched files are refused without touching the optimizer.
#include <doctest/doctest.h>

#include "hgc/hgc.h"
#include "hgc/base/error.h"
#include "support/paths.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {

struct Fixture {
  std::shared_ptr<nn::HybridSequential> net = std::make_shared<nn::HybridSequential>();
  NDArray x, y;
  Fixture() {
    nd::random::seed(3);
    net->add(std::make_shared<nn::Dense>(nn::DenseOptions(4).activation("tanh")));
    net->add(std::make_shared<nn::Dense>(nn::DenseOptions(2)));
    net->initialize(init::Normal(0.5));
    x = nd::random::normal(0, 1, {6, 3});
    y = nd::random::normal(0, 1, {6, 2});
  }
  void step(Trainer& tr, int k) {
    for (int i = 0; i < k; ++i) {
      NDArray l;
      {
        auto r = autograd::record();
        // a different batch each step, so the moments carry real history
        l = loss::L2Loss()((*net)(x * (1 + 0.1 * i)), y);
      }
      l.backward();
      tr.step(6);
    }
  }
  std::vector<std::vector<float>> weights() {
    std::vector<std::vector<float>> r;
    for (auto& p : net->collect_params().values()) r.push_back(p->data().to_vector<float>());
    return r;
  }
  void set_weights(const std::vector<std::vector<float>>& w) {
    auto ps = net->collect_params().values();
    for (size_t i = 0; i < ps.size(); ++i) ps[i]->set_data(nd::array(w[i], ps[i]->data().shape()));
  }
};

std::shared_ptr<lr_scheduler::LRScheduler> schedule() {
  return std::make_shared<lr_scheduler::FactorScheduler>(2, lr_scheduler::FactorOptions().factor(0.7).base_lr(0.05));
}

}  // namespace

TEST_CASE("trainer states: a reloaded trainer continues exactly like the uninterrupted one") {
  std::string dir = test::temp_dir();
  for (auto [opt, params] : std::vector<std::pair<std::string, std::map<std::string, double>>>{
           {"adam", {{"wd", 0.01}}}, {"sgd", {{"momentum", 0.9}}}, {"rmsprop", {{"centered", 1}}}}) {
    CAPTURE(opt);
    Fixture f;
    Trainer tr(f.net->collect_params(), opt, params, schedule());
    f.step(tr, 3);
    auto at_checkpoint = f.weights();
    tr.save_states(dir + "/t.states");
    f.step(tr, 3);
    auto uninterrupted = f.weights();

    f.set_weights(at_checkpoint);
    Trainer resumed(f.net->collect_params(), opt, params, schedule());
    resumed.load_states(dir + "/t.states");
    CHECK(resumed.optimizer().num_update() == 3);
    CHECK(resumed.learning_rate() == doctest::Approx(tr.optimizer().options().lr_scheduler->operator()(3)));
    f.step(resumed, 3);
    CHECK(f.weights() == uninterrupted);  // bit for bit

    // Without the states the run differs (fresh moments, the schedule restarts).
    f.set_weights(at_checkpoint);
    Trainer fresh(f.net->collect_params(), opt, params, schedule());
    f.step(fresh, 3);
    CHECK(f.weights() != uninterrupted);
  }
}

TEST_CASE("trainer states: mismatched files are refused and leave the optimizer as it was") {
  std::string dir = test::temp_dir();
  ParameterDict pd("st_");
  auto w = pd.get("w", ParamOptions().shape({2}));
  pd.initialize(init::One());
  Trainer adam(pd, "adam");
  w->grad().assign(nd::array({1, -1}));
  adam.step(1);
  adam.save_states(dir + "/a.states");
  const std::vector<NDArray>* st = adam.optimizer().state(0);
  REQUIRE(st);
  CHECK(st->size() == 2);
  CHECK(adam.optimizer().update_count(0) == 1);

  Trainer sgd(pd, "sgd", {{"momentum", 0.9}});
  CHECK_THROWS_WITH_AS(sgd.load_states(dir + "/a.states"), doctest::Contains("holds adam states"), hgc::Error);

  ParameterDict other("other_");
  other.get("w", ParamOptions().shape({2}));
  other.initialize(init::One());
  Trainer adam_other(other, "adam");
  CHECK_THROWS_WITH_AS(adam_other.load_states(dir + "/a.states"), doctest::Contains("st_w:count"), hgc::Error);

  ParameterDict wide("st_");
  auto w3 = wide.get("w", ParamOptions().shape({3}));
  wide.initialize(init::One());
  Trainer adam_wide(wide, "adam");
  w3->grad().assign(nd::array({1, 2, 3}));
  adam_wide.step(1);
  CHECK_THROWS_WITH_AS(adam_wide.load_states(dir + "/a.states"), doctest::Contains("state is (2,)"), hgc::Error);
  CHECK(adam_wide.optimizer().state(0)->at(0).shape() == std::vector<int64_t>{3});  // untouched
  CHECK(adam_wide.optimizer().num_update() == 1);

  nd::save(dir + "/plain.params", std::map<std::string, NDArray>{{"w", nd::zeros({2})}});
  CHECK_THROWS_WITH_AS(adam.load_states(dir + "/plain.params"), doctest::Contains("not a Trainer states file"),
                       hgc::Error);
  CHECK_THROWS_AS(adam.load_states(dir + "/missing.states"), hgc::Error);
}
