// init_more.h: InitDesc dispatch, Load, Mixed, Orthogonal, Bilinear, LSTMBias against hand
// references, and errors on bad input.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "hgc/frontend/init/fused_rnn.h"
#include "hgc/frontend/init/init_more.h"

using namespace hgc;
using namespace hgc::gluon;

TEST_CASE("init: InitDesc dispatch by suffix and __init__") {
  init::Constant c(3);
  NDArray w = nd::zeros({2}), b = nd::ones({2}), g = nd::zeros({2});
  init::initialize(c, init::InitDesc("fc_weight"), w);
  init::initialize(c, init::InitDesc("fc_bias"), b);
  init::initialize(c, init::InitDesc("bn_gamma"), g);
  CHECK(w.to_vector<float>() == std::vector<float>{3, 3});
  CHECK(b.to_vector<float>() == std::vector<float>{0, 0});
  CHECK(g.to_vector<float>() == std::vector<float>{1, 1});
  init::initialize(c, init::InitDesc("x_bias", {{"__init__", "[\"constant\", {\"value\": 2.5}]"}}), b);
  CHECK(b.to_vector<float>() == std::vector<float>{2.5, 2.5});
  init::initialize(c, init::InitDesc("y", {{"__init__", "ones"}}), w);
  CHECK(w.to_vector<float>() == std::vector<float>{1, 1});
  CHECK_THROWS_AS(init::initialize(c, init::InitDesc("mystery"), w), Error);
  CHECK(init::loads(init::LSTMBias(2).dumps())->dumps() == init::LSTMBias(2).dumps());
}

TEST_CASE("init: Load and Mixed") {
  std::map<std::string, NDArray> saved{{"arg:fc_weight", nd::array({1, 2, 3, 4}, {2, 2})}};
  auto path = (std::filesystem::temp_directory_path() / "hgc_init_load.params").string();
  nd::save(path, saved);
  init::Load load(path, std::make_shared<init::Constant>(7));
  NDArray w = nd::zeros({2, 2}), other = nd::zeros({3});
  load.init_weight("fc_weight", w);
  load.init_weight("fc_bias", other);
  CHECK(w.to_vector<float>() == std::vector<float>{1, 2, 3, 4});
  CHECK(other.to_vector<float>() == std::vector<float>{7, 7, 7});
  NDArray wrong = nd::zeros({4});
  CHECK_THROWS_AS(load.init_weight("fc_weight", wrong), Error);
  CHECK_THROWS_AS(init::Load(saved).init_weight("nothere", other), Error);
  std::filesystem::remove(path);

  init::Mixed mixed({".*bias", ".*"}, {std::make_shared<init::Constant>(0.5), std::make_shared<init::One>()});
  mixed.init_weight("fc_bias", other);
  mixed.init_weight("fc_weight", w);
  CHECK(other.to_vector<float>() == std::vector<float>{0.5, 0.5, 0.5});
  CHECK(w.to_vector<float>() == std::vector<float>{1, 1, 1, 1});
  CHECK_THROWS_AS(init::Mixed({"a"}, {}), Error);
  CHECK_THROWS_AS(init::Mixed({"("}, {std::make_shared<init::One>()}), Error);
  CHECK_THROWS_AS(init::Mixed({"a.*"}, {std::make_shared<init::One>()}).init_weight("b", w), Error);
}

TEST_CASE("init: Orthogonal rows/columns are orthonormal times scale") {
  for (auto shape : {std::vector<int64_t>{3, 5}, std::vector<int64_t>{6, 2, 2}, std::vector<int64_t>{8, 3}}) {
    NDArray w = nd::zeros(shape);
    init::Orthogonal(2.0, "normal").init_weight("w", w);
    int64_t nout = shape[0], nin = w.size() / nout;
    NDArray m = w.reshape({nout, nin});
    NDArray gram = nout <= nin ? nd::dot(m, m, false, true) : nd::dot(m, m, true, false);
    int64_t k = std::min(nout, nin);
    std::vector<float> gv = gram.to_vector<float>();
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j) CHECK(gv[i * k + j] == doctest::Approx(i == j ? 4.0 : 0.0).epsilon(1e-4).scale(1));
  }
  NDArray v = nd::zeros({4});
  CHECK_THROWS_AS(init::Orthogonal().init_weight("v", v), Error);
  CHECK_THROWS_AS(init::Orthogonal(1, "cauchy"), Error);
}

TEST_CASE("init: Bilinear kernel and LSTMBias") {
  NDArray w = nd::zeros({1, 1, 4, 4});
  init::Bilinear().init_weight("up_weight", w);
  // f = 2, c = 0.75: the 1-D factors are 0.25 0.75 0.75 0.25
  double f1[4] = {0.25, 0.75, 0.75, 0.25};
  std::vector<float> v = w.to_vector<float>();
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) CHECK(v[y * 4 + x] == doctest::Approx(f1[x] * f1[y]));
  NDArray b = nd::ones({8});
  init::LSTMBias(2.0).init_weight("lstm_bias", b);
  CHECK(b.to_vector<float>() == std::vector<float>{0, 0, 2, 2, 0, 0, 0, 0});
  NDArray odd = nd::zeros({6});
  CHECK_THROWS_AS(init::LSTMBias().init_weight("b", odd), Error);
  NDArray w3 = nd::zeros({2, 2, 2});
  CHECK_THROWS_AS(init::Bilinear().init_weight("w", w3), Error);
}

namespace {
// Records the names and shapes it is asked to fill, filling each with a distinct constant.
struct Recorder : Initializer {
  std::shared_ptr<std::vector<std::pair<std::string, std::vector<int64_t>>>> seen =
      std::make_shared<std::vector<std::pair<std::string, std::vector<int64_t>>>>();
  void init_weight(const std::string& name, NDArray& arr) const override {
    seen->emplace_back(name, arr.shape());
    arr.fill_(double(seen->size()));
  }
  std::string dumps() const override { return "[\"recorder\", {}]"; }
  std::shared_ptr<Initializer> clone() const override { return std::make_shared<Recorder>(*this); }
};
}  // namespace

TEST_CASE("init: FusedRNN fills the RNN op's flat layout gate by gate") {
  // LSTM, 1 layer, H = 2, input 3: weights 4*2*3 + 4*2*2 = 40, biases 2 * 8 = 16.
  auto rec = std::make_shared<Recorder>();
  NDArray p = nd::zeros({56});
  init::FusedRNN(rec, 2, 1, "lstm", false, 1.5).init_weight("rnn_parameters", p);
  REQUIRE(rec->seen->size() == 8);
  CHECK((*rec->seen)[0].first == "l0_i2h_i_weight");
  CHECK((*rec->seen)[0].second == std::vector<int64_t>{2, 3});
  CHECK((*rec->seen)[5].first == "l0_h2h_f_weight");
  CHECK((*rec->seen)[5].second == std::vector<int64_t>{2, 2});
  std::vector<float> v = p.to_vector<float>();
  CHECK(v[0] == 1);    // i2h_i block: 6 values of 1
  CHECK(v[6] == 2);    // i2h_f block
  CHECK(v[24] == 5);   // h2h_i block starts after 4 * 6
  CHECK(v[39] == 8);
  // biases: i2h (i f c o) then h2h (i f c o); the forget gates hold forget_bias
  std::vector<float> bias(v.begin() + 40, v.end());
  CHECK(bias == std::vector<float>{0, 0, 1.5, 1.5, 0, 0, 0, 0, 0, 0, 1.5, 1.5, 0, 0, 0, 0});
  // bidirectional GRU, 2 layers, H = 2, input 3: layer 1's i2h takes D*H = 4 inputs.
  auto rec2 = std::make_shared<Recorder>();
  int64_t n = 2 * (3 * 2 * 3 + 3 * 2 * 2) + 2 * (3 * 2 * 4 + 3 * 2 * 2) + 2 * 2 * 2 * 6;
  NDArray q = nd::zeros({n});
  init::FusedRNN(rec2, 2, 2, "gru", true).init_weight("p", q);
  CHECK(rec2->seen->size() == 24);
  CHECK((*rec2->seen)[6].first == "r0_i2h_r_weight");
  CHECK((*rec2->seen)[12].first == "l1_i2h_r_weight");
  CHECK((*rec2->seen)[12].second == std::vector<int64_t>{2, 4});
  NDArray bad = nd::zeros({57});
  CHECK_THROWS_AS(init::FusedRNN(rec, 2, 1, "lstm").init_weight("p", bad), Error);
  CHECK_THROWS_AS(init::FusedRNN(rec, 2, 1, "transformer"), Error);
  CHECK_THROWS_AS(init::FusedRNN(nullptr, 2, 1, "gru"), Error);
}
