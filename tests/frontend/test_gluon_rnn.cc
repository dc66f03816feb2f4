// gluon.rnn: cells against the recurrences written out here in double precision, unroll
// layouts and merging, SequentialRNNCell, layers against the fused `RNN` op (expanded and
// compiled, and the reference evaluator) with the same packed weights, hybridized ==
// imperative (1e-5 relative), training in both modes to the same weights, export round trip.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "hgc/compiler/compile.h"
#include "hgc/hgc.h"
#include "hgc/base/error.h"
#include "hgc/ir/infer.h"
#include "hgc/ir/json_io.h"
#include "hgc/passes/expand_rnn.h"
#include "reference/reference.h"
#include "support/paths.h"
#include "support/nd_close.h"

using namespace hgc;
using namespace hgc::gluon;
using hgc::test::check_close;

namespace {

std::vector<double> dvec(const NDArray& x) { return x.to_vector<double>(); }
double sigm(double v) { return 1 / (1 + std::exp(-v)); }

// One step of `mode` in double: x (N, I), h and c (N, H), weights (G*H, I) / (G*H, H).
void ref_step(const std::string& mode, const std::vector<double>& x, std::vector<double>& h, std::vector<double>& c,
              const std::vector<double>& wi, const std::vector<double>& wh, const std::vector<double>& bi,
              const std::vector<double>& bh, int64_t N, int64_t I, int64_t H) {
  int64_t G = mode == "lstm" ? 4 : mode == "gru" ? 3 : 1;
  std::vector<double> hn(N * H), cn = c;
  for (int64_t n = 0; n < N; ++n) {
    std::vector<double> gx(G * H), gh(G * H);
    for (int64_t r = 0; r < G * H; ++r) {
      gx[r] = bi[r];
      for (int64_t k = 0; k < I; ++k) gx[r] += wi[r * I + k] * x[n * I + k];
      gh[r] = bh[r];
      for (int64_t k = 0; k < H; ++k) gh[r] += wh[r * H + k] * h[n * H + k];
    }
    for (int64_t k = 0; k < H; ++k) {
      if (mode == "lstm") {
        double i = sigm(gx[k] + gh[k]), f = sigm(gx[H + k] + gh[H + k]), g = std::tanh(gx[2 * H + k] + gh[2 * H + k]);
        double o = sigm(gx[3 * H + k] + gh[3 * H + k]);
        cn[n * H + k] = f * c[n * H + k] + i * g;
        hn[n * H + k] = o * std::tanh(cn[n * H + k]);
      } else if (mode == "gru") {
        double r = sigm(gx[k] + gh[k]), z = sigm(gx[H + k] + gh[H + k]);
        double nn = std::tanh(gx[2 * H + k] + r * gh[2 * H + k]);
        hn[n * H + k] = (1 - z) * nn + z * h[n * H + k];
      } else {
        hn[n * H + k] = std::tanh(gx[k] + gh[k]);
      }
    }
  }
  h = hn;
  c = cn;
}

void check_vec(const NDArray& got, const std::vector<double>& want, double tol = 1e-5) {
  auto g = got.to_vector<float>();
  REQUIRE(g.size() == want.size());
  double worst = 0;
  for (size_t i = 0; i < g.size(); ++i) worst = std::max(worst, std::abs(g[i] - want[i]));
  INFO("max |diff| ", worst);
  CHECK(worst <= tol);
}

// MXNet's fused RNN op over the layer's packed parameters ("params"), with its states as
// inputs ("state", "state_cell") and state_outputs: the graph and its variables' values.
std::pair<Graph, std::map<std::string, HostTensor>> fused_rnn_graph(const rnn::RNNLayer& layer, const NDArray& x_tnc,
                                                                    const std::vector<NDArray>& states) {
  Graph g;
  std::vector<ValueRef> in{{g.add_variable("data"), 0}, {g.add_variable("params"), 0}, {g.add_variable("state"), 0}};
  bool lstm = layer.mode() == "lstm";
  if (lstm) in.push_back({g.add_variable("state_cell"), 0});
  AttrMap a{{"mode", layer.mode()},
            {"state_size", layer.options().hidden_size_},
            {"num_layers", layer.options().num_layers_},
            {"bidirectional", layer.options().bidirectional_},
            {"state_outputs", true}};
  int r = g.add_node("RNN", "rnn", in, a);
  for (int k = 0; k < (lstm ? 3 : 2); ++k) g.heads.push_back({r, k});
  std::map<std::string, HostTensor> vars{{"data", x_tnc.tensor()},
                                         {"params", layer.packed_parameters().tensor()},
                                         {"state", states[0].tensor()}};
  if (lstm) vars["state_cell"] = states[1].tensor();
  return {g, vars};
}

// The fused RNN op compiled (compile()'s pipeline expands it into primitive ops), checked
// against the reference evaluator's RNN when it has one. Returns {output, h_n[, c_n]}.
std::vector<HostTensor> fused_rnn(const rnn::RNNLayer& layer, const NDArray& x_tnc, const std::vector<NDArray>& states) {
  auto [g, vars] = fused_rnn_graph(layer, x_tnc, states);
  InferOptions io;
  for (const auto& [k, v] : vars) io.shapes[k] = Shape(v.shape());
  infer(g, io);
  const Graph original = g;
  std::vector<HostTensor> outs = compile(g)->run(vars);
  // compile() expands a copy; the caller's graph keeps its RNN node
  CHECK(std::count_if(g.nodes.begin(), g.nodes.end(), [](const Node& n) { return n.op_name == "RNN"; }) == 1);
  REQUIRE(expand_rnn(g) == 1);
  std::vector<HostTensor> expanded = compile(g)->run(vars);
  REQUIRE(expanded.size() == outs.size());
  for (size_t k = 0; k < outs.size(); ++k) check_close(nd::array(outs[k]), nd::array(expanded[k]), 0);
  if (ref::supports("RNN")) {
    auto want = ref::evaluate(original, vars);
    REQUIRE(want.size() == outs.size());
    for (size_t k = 0; k < outs.size(); ++k) check_close(nd::array(outs[k]), nd::array(want[k]), 1e-5);
  }
  return outs;
}

void copy_params(const Block& from, const Block& to) {
  auto a = from.collect_params().values(), b = to.collect_params().values();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) b[i]->set_data(a[i]->data());
}

// LSTM layer (NTC) -> last step -> Dense: a sequence classifier.
class SeqNet : public HybridBlock {
 public:
  SeqNet() : HybridBlock("seqnet") {
    auto scope = name_scope();
    lstm = register_child(std::make_shared<rnn::LSTM>(rnn::LayerOptions(6).layout("NTC").num_layers(2)), "lstm");
    gru = register_child(std::make_shared<rnn::GRU>(rnn::LayerOptions(4).layout("NTC").bidirectional(true)), "gru");
    out = register_child(std::make_shared<nn::Dense>(nn::DenseOptions(3)), "out");
  }
  NDArray hybrid_forward(const NDArray& x) override {
    NDArray y = (*gru)((*lstm)(x));
    return (*out)(y.slice_axis(1, -1, std::nullopt).squeeze({1}));
  }
  std::shared_ptr<rnn::LSTM> lstm;
  std::shared_ptr<rnn::GRU> gru;
  std::shared_ptr<nn::Dense> out;
};

}  // namespace

TEST_CASE("gluon rnn: cells against the recurrences, names, deferred shapes, repr, hybridized") {
  NameManager names;
  nd::random::seed(31);
  const int64_t N = 2, I = 3, H = 4;
  std::vector<std::shared_ptr<rnn::GatedCell>> cells{std::make_shared<rnn::RNNCell>(rnn::CellOptions(H)),
                                                     std::make_shared<rnn::LSTMCell>(rnn::CellOptions(H)),
                                                     std::make_shared<rnn::GRUCell>(rnn::CellOptions(H))};
  const char* modes[] = {"rnn", "lstm", "gru"};
  CHECK(cells[1]->collect_params().keys() ==
        std::vector<std::string>{"lstm0_i2h_weight", "lstm0_h2h_weight", "lstm0_i2h_bias", "lstm0_h2h_bias"});
  CHECK(cells[0]->name() == "rnn0");
  CHECK(cells[2]->name() == "gru0");
  CHECK(cells[1]->repr() == "LSTMCell(None -> 16)");
  CHECK(cells[0]->repr() == "RNNCell(None -> 4, tanh)");
  for (size_t m = 0; m < cells.size(); ++m) {
    auto& cell = cells[m];
    CAPTURE(modes[m]);
    cell->initialize(init::Uniform(0.5));
    for (const auto& p : cell->collect_params().values())
      if (p->name().find("bias") != std::string::npos) p->set_data(nd::random::uniform(-0.5, 0.5, p->shape()));
    NDArray x = nd::random::normal(0, 1, {N, I});
    std::vector<NDArray> states = cell->begin_state(N);
    CHECK(states.size() == (m == 1 ? 2u : 1u));
    CHECK(states[0].shape() == std::vector<int64_t>{N, H});
    states[0] = nd::random::normal(0, 1, {N, H});
    if (m == 1) states[1] = nd::random::normal(0, 1, {N, H});
    auto [out, next] = (*cell)(x, states);
    CHECK(cell->i2h_weight->shape()[1] == I);  // deferred input size
    CHECK(cell->repr().find("(3 -> ") != std::string::npos);
    std::vector<double> h = dvec(states[0]), c = m == 1 ? dvec(states[1]) : std::vector<double>();
    ref_step(modes[m], dvec(x), h, c, dvec(cell->i2h_weight->data()), dvec(cell->h2h_weight->data()),
             dvec(cell->i2h_bias->data()), dvec(cell->h2h_bias->data()), N, I, H);
    check_vec(out, h);
    check_vec(next[0], h);
    if (m == 1) check_vec(next[1], c);
    // Unrolled over 3 steps (NTC), merged and not; TNC gives the same per-step outputs.
    NDArray seq = nd::random::normal(0, 1, {N, 3, I});
    auto r = cell->unroll(3, seq, states, "NTC");
    REQUIRE(r.output.defined());
    CHECK(r.output.shape() == std::vector<int64_t>{N, 3, H});
    h = dvec(states[0]);
    c = m == 1 ? dvec(states[1]) : std::vector<double>();
    for (int64_t t = 0; t < 3; ++t) {
      ref_step(modes[m], dvec(seq.slice_axis(1, t, t + 1).squeeze({1})), h, c, dvec(cell->i2h_weight->data()),
               dvec(cell->h2h_weight->data()), dvec(cell->i2h_bias->data()), dvec(cell->h2h_bias->data()), N, I, H);
      check_vec(r.output.slice_axis(1, t, t + 1).squeeze({1}), h);
    }
    check_vec(r.states[0], h);
    auto tnc = cell->unroll(3, nd::swapaxes(seq, 0, 1), states, "TNC", false);
    CHECK(!tnc.output.defined());
    REQUIRE(tnc.outputs.size() == 3);
    check_close(tnc.outputs[2], r.output.slice_axis(1, 2, 3).squeeze({1}), 0);
    // Hybridized: the same step (the output is also the first state: a repeated head).
    cell->hybridize();
    auto [hout, hnext] = (*cell)(x, states);
    check_close(hout, out);
    check_close(hnext[0], next[0]);
    if (m == 1) check_close(hnext[1], next[1]);
    check_close(cell->unroll(3, seq, states, "NTC").output, r.output);
    cell->hybridize(false);
  }
  CHECK_THROWS_WITH_AS(cells[1]->unroll(4, nd::ones({2, 3, 3}), {}, "NTC"), doctest::Contains("4 steps"), Error);
  CHECK_THROWS_WITH_AS(cells[1]->unroll(3, nd::ones({2, 3, 3}), {}, "CTN"), doctest::Contains("layout"), Error);
  CHECK_THROWS_WITH_AS((*cells[1])(nd::ones({2, 3}), {nd::zeros({2, 4})}), doctest::Contains("state"), Error);
}

TEST_CASE("gluon rnn: SequentialRNNCell stacks cells; unroll with zero begin states") {
  NameManager names;
  nd::random::seed(4);
  auto seq = std::make_shared<rnn::SequentialRNNCell>();
  {
    auto scope = seq->name_scope();
    seq->add(std::make_shared<rnn::LSTMCell>(rnn::CellOptions(5)));
    seq->add(std::make_shared<rnn::GRUCell>(rnn::CellOptions(3)));
  }
  CHECK(seq->state_info(2).size() == 3);
  CHECK(seq->collect_params().keys()[0] == "sequentialrnncell0_lstm0_i2h_weight");
  seq->initialize(init::Xavier());
  NDArray x = nd::random::normal(0, 1, {2, 4, 6});
  auto r = seq->unroll(4, x, {}, "NTC", true);
  CHECK(r.output.shape() == std::vector<int64_t>{2, 4, 3});
  REQUIRE(r.states.size() == 3);
  // The same by hand: the LSTM unrolled, then the GRU over its outputs.
  auto a = (*seq)[0]->unroll(4, x, {}, "NTC", true);
  auto b = (*seq)[1]->unroll(4, a.output, {}, "NTC", true);
  check_close(r.output, b.output, 0);
  check_close(r.states[1], a.states[1], 0);  // the LSTM's cell state
  check_close(r.states[2], b.states[0], 0);
  seq->hybridize();
  check_close(seq->unroll(4, x, {}, "NTC", true).output, r.output);
}

TEST_CASE("gluon rnn: LSTM/GRU/RNN layers equal the fused RNN op with the packed parameters") {
  NameManager names;
  nd::random::seed(12);
  const int64_t T = 4, N = 3, C = 5, H = 6;
  struct Case {
    std::string kind;
    int64_t layers;
    bool bidir;
  };
  for (const Case& k : {Case{"lstm", 1, false}, Case{"lstm", 2, true}, Case{"gru", 2, false}, Case{"gru", 1, true},
                        Case{"rnn_tanh", 2, true}, Case{"rnn_relu", 1, false}}) {
    CAPTURE(k.kind);
    CAPTURE(k.layers);
    CAPTURE(k.bidir);
    rnn::LayerOptions o = rnn::LayerOptions(H).num_layers(k.layers).bidirectional(k.bidir);
    std::shared_ptr<rnn::RNNLayer> layer;
    if (k.kind == "lstm") layer = std::make_shared<rnn::LSTM>(o);
    else if (k.kind == "gru") layer = std::make_shared<rnn::GRU>(o);
    else layer = std::make_shared<rnn::RNN>(o.activation(k.kind == "rnn_tanh" ? "tanh" : "relu"));
    CHECK(layer->mode() == k.kind);
    layer->initialize(init::Uniform(0.4));
    NDArray x = nd::random::normal(0, 1, {T, N, C});
    std::vector<NDArray> states;
    for (const auto& s : layer->state_info(N)) states.push_back(nd::random::normal(0, 0.5, s.shape));
    auto [y, hs] = (*layer)(x, states);
    for (const auto& p : layer->collect_params().values())  // nonzero biases
      if (p->name().find("bias") != std::string::npos) p->set_data(nd::random::uniform(-0.3, 0.3, p->shape()));
    std::tie(y, hs) = (*layer)(x, states);
    int64_t D = k.bidir ? 2 : 1;
    CHECK(y.shape() == std::vector<int64_t>{T, N, D * H});
    REQUIRE(hs.size() == states.size());
    CHECK(hs[0].shape() == std::vector<int64_t>{k.layers * D, N, H});
    auto want = fused_rnn(*layer, x, states);
    check_close(y, nd::array(want[0]));
    for (size_t i = 0; i < hs.size(); ++i) check_close(hs[i], nd::array(want[1 + i]));
    // Without states: zeros, the output only.
    std::vector<NDArray> zs = layer->begin_state(N);
    check_close((*layer)(x), (*layer)(x, zs).first, 0);
    layer->hybridize();
    auto [hy, hhs] = (*layer)(x, states);
    check_close(hy, y);
    for (size_t i = 0; i < hs.size(); ++i) check_close(hhs[i], hs[i]);
  }
}

TEST_CASE("gluon rnn: layer names, repr, layouts, errors") {
  NameManager names;
  auto lstm = std::make_shared<rnn::LSTM>(rnn::LayerOptions(10).num_layers(2).bidirectional(true).dropout(0.5));
  auto keys = lstm->collect_params().keys();
  REQUIRE(keys.size() == 16);
  CHECK(keys[0] == "lstm0_l0_i2h_weight");
  CHECK(keys[3] == "lstm0_l0_h2h_bias");
  CHECK(keys[4] == "lstm0_r0_i2h_weight");
  CHECK(keys[8] == "lstm0_l1_i2h_weight");
  CHECK(lstm->param(0, 1, "i2h_weight")->shape() == std::vector<int64_t>{40, 0});
  CHECK(lstm->param(1, 0, "i2h_weight")->shape() == std::vector<int64_t>{40, 20});
  CHECK(lstm->repr() == "LSTM(None -> 10, TNC, num_layers=2, dropout=0.5, bidirectional)");
  auto gru = std::make_shared<rnn::GRU>(rnn::LayerOptions(7).layout("NTC").input_size(3));
  CHECK(gru->repr() == "GRU(3 -> 7, NTC)");
  CHECK(gru->name() == "gru0");
  gru->initialize();
  nd::random::seed(1);
  NDArray x = nd::random::normal(0, 1, {2, 5, 3});  // NTC
  NDArray y = (*gru)(x);
  CHECK(y.shape() == std::vector<int64_t>{2, 5, 7});
  // The same layer in TNC (shared parameters) gives the transposed output.
  auto tnc = std::make_shared<rnn::GRU>(rnn::LayerOptions(7).input_size(3), BlockArgs().params(gru->params_ptr()));
  check_close((*tnc)(nd::swapaxes(x, 0, 1)), nd::swapaxes(y, 0, 1), 0);
  CHECK_THROWS_WITH_AS(rnn::LSTM(rnn::LayerOptions(4).layout("TCN")), doctest::Contains("layout"), Error);
  CHECK_THROWS_WITH_AS(rnn::RNN(rnn::LayerOptions(4).activation("sigmoid")), doctest::Contains("relu or tanh"), Error);
  CHECK_THROWS_WITH_AS((*gru)(nd::ones({2, 3})), doctest::Contains("3-D"), Error);
  CHECK_THROWS_WITH_AS((*gru)(x, {nd::zeros({2, 2, 7})}), doctest::Contains("state 0"), Error);
  // Dropout between layers: identity when predicting, active in training.
  lstm->initialize();
  NDArray s = nd::random::normal(0, 1, {3, 2, 4});
  NDArray p1 = (*lstm)(s), p2 = (*lstm)(s);
  check_close(p1, p2, 0);
  NDArray t1;
  {
    TrainMode train;
    t1 = (*lstm)(s);
  }
  CHECK(nd::max(nd::abs(t1 - p1)).asscalar() > 0);
}

TEST_CASE("gluon rnn: a sequence model trains hybridized exactly as imperatively; export round trip") {
  nd::random::seed(23);
  std::shared_ptr<SeqNet> imp, hyb;
  {
    NameManager names;
    imp = std::make_shared<SeqNet>();
  }
  {
    NameManager names;
    hyb = std::make_shared<SeqNet>();
  }
  imp->initialize(init::Xavier());
  hyb->initialize(init::Xavier());
  NDArray x = nd::random::normal(0, 1, {4, 5, 3});  // NTC
  NDArray y = nd::array({0, 2, 1, 2});
  (*imp)(x);
  (*hyb)(x);
  copy_params(*imp, *hyb);
  CHECK(imp->lstm->param(0, 0, "i2h_weight")->shape() == std::vector<int64_t>{24, 3});
  CHECK(imp->gru->param(0, 1, "i2h_weight")->shape() == std::vector<int64_t>{12, 6});
  CHECK(imp->out->weight->shape() == std::vector<int64_t>{3, 8});
  hyb->hybridize();
  Trainer ti(imp->collect_params(), "sgd", {{"learning_rate", 0.5}});
  Trainer th(hyb->collect_params(), "sgd", {{"learning_rate", 0.5}});
  loss::SoftmaxCrossEntropyLoss ce;
  double first = 0, last = 0;
  for (int step = 0; step < 4; ++step) {
    double l2[2];
    int k = 0;
    for (auto [net, tr] : {std::pair{imp.get(), &ti}, std::pair{hyb.get(), &th}}) {
      NDArray l;
      {
        auto r = autograd::record();
        l = ce((*net)(x), y);
      }
      l.backward();
      tr->step(4);
      l2[k++] = nd::mean(l).asscalar();
    }
    INFO("step ", step, ": imperative ", l2[0], ", hybridized ", l2[1]);
    CHECK(std::abs(l2[0] - l2[1]) <= 1e-5 * (1 + l2[0]));
    if (step == 0) first = l2[0];
    last = l2[0];
  }
  CHECK(last < first);
  auto a = imp->collect_params().values(), b = hyb->collect_params().values();
  for (size_t i = 0; i < a.size(); ++i) {
    INFO("parameter ", a[i]->name());
    check_close(b[i]->data(), a[i]->data(), 1e-4);
  }
  CHECK(hyb->cache_stats().backward_compiles == 1);

  std::string dir = test::temp_dir();
  NDArray out = (*hyb)(x);
  hyb->export_model(dir + "/seq");
  auto back = SymbolBlock::imports(dir + "/seq-symbol.json", {"data"}, dir + "/seq-0000.params");
  CHECK((*back)(x).to_vector<float>() == out.to_vector<float>());
  std::filesystem::remove_all(dir);
}

TEST_CASE("gluon rnn: SymbolBlock::imports of a model with a fused RNN op (MXNet's exported LSTM)") {
  NameManager names;
  nd::random::seed(41);
  auto layer = std::make_shared<rnn::LSTM>(rnn::LayerOptions(5).num_layers(2));
  layer->initialize(init::Uniform(0.4));
  const int64_t T = 4, N = 3, C = 6;
  NDArray x = nd::random::normal(0, 1, {T, N, C});
  std::vector<NDArray> states;
  for (const auto& s : layer->state_info(N)) states.push_back(nd::random::normal(0, 0.5, s.shape));
  (*layer)(x, states);  // deferred input size
  auto want = fused_rnn(*layer, x, states);
  auto [g, vars] = fused_rnn_graph(*layer, x, states);
  std::string dir = test::temp_dir();
  std::string json = dir + "/rnn_imports-symbol.json", params = dir + "/rnn_imports-0000.params";
  save_json_file(g, json);
  nd::save(params, std::map<std::string, NDArray>{{"arg:params", nd::array(vars.at("params"))}});
  auto net = SymbolBlock::imports(json, {"data", "state", "state_cell"}, params);
  std::vector<NDArray> got = (*net)(std::vector<NDArray>{x, states[0], states[1]});
  REQUIRE(got.size() == want.size());
  for (size_t k = 0; k < got.size(); ++k) check_close(got[k], nd::array(want[k]), 1e-6);
}
