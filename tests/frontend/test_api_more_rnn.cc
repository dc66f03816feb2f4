// rnn_wrappers.h: ModifierCell as a real base (a cell defined here on it; Residual/Zoneout
// derive from it) and HybridSequentialRNNCell / HybridRecurrentCell hybridized == imperative.
#include <doctest/doctest.h>

#include "hgc/frontend/gluon/rnn/rnn_wrappers.h"
#include "support/nd_close.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {
// Scales the base cell's output: a user-defined ModifierCell.
class ScaledCell : public rnn::ModifierCell {
 public:
  ScaledCell(std::shared_ptr<rnn::RecurrentCell> base, double s) : ModifierCell("scaledcell", std::move(base)), s_(s) {}
  std::pair<NDArray, std::vector<NDArray>> step(const NDArray& x, const std::vector<NDArray>& st) override {
    auto [o, ns] = (*base_)(x, st);
    return {o * s_, ns};
  }

 private:
  double s_;
};
}  // namespace

TEST_CASE("rnn: ModifierCell wraps a base cell (states, params, reset)") {
  auto base = std::make_shared<rnn::GRUCell>(rnn::CellOptions(3).input_size(2));
  auto cell = std::make_shared<ScaledCell>(base, 2.0);
  cell->initialize(init::Normal(0.5));
  CHECK(cell->base_cell() == base);
  CHECK(cell->state_info(4).size() == 1);
  CHECK(cell->state_info(4)[0].shape == std::vector<int64_t>{4, 3});
  CHECK(cell->collect_params().size() == base->collect_params().size());
  NDArray x = nd::random::uniform(-1, 1, {4, 2});
  auto st = base->begin_state(4);
  auto [o, s1] = (*cell)(x, st);
  auto [ob, s2] = (*base)(x, st);
  test::check_close(o, ob * 2);
  test::check_close(s1[0], s2[0]);
  auto res = std::make_shared<rnn::ResidualCell>(std::make_shared<rnn::RNNCell>(rnn::CellOptions(2)));
  CHECK(dynamic_cast<rnn::ModifierCell*>(res.get()) != nullptr);
  CHECK_THROWS_AS(ScaledCell(nullptr, 1), Error);
}

TEST_CASE("rnn: HybridSequentialRNNCell unrolled, hybridized == imperative") {
  auto stack = std::make_shared<rnn::HybridSequentialRNNCell>();
  stack->add(std::make_shared<rnn::LSTMCell>(rnn::CellOptions(4).input_size(3)));
  stack->add(std::make_shared<rnn::ResidualCell>(std::make_shared<rnn::GRUCell>(rnn::CellOptions(4).input_size(4))));
  std::shared_ptr<rnn::HybridRecurrentCell> as_cell = stack;
  stack->initialize(init::Normal(0.3));
  NDArray seq = nd::random::uniform(-1, 1, {2, 5, 3});
  auto imperative = stack->unroll(5, seq, {}, "NTC");
  CHECK(imperative.output.shape() == std::vector<int64_t>{2, 5, 4});
  CHECK(imperative.states.size() == 3);  // LSTM h, c; GRU h
  stack->hybridize();
  auto hybrid = stack->unroll(5, seq, {}, "NTC");
  test::check_close(hybrid.output, imperative.output, 1e-5);
  for (size_t i = 0; i < 3; ++i) test::check_close(hybrid.states[i], imperative.states[i], 1e-5);
}
