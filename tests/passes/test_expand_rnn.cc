// expand-rnn: structure (no RNN left, the graph verifies and re-infers from its data inputs),
// values (the compiled expansion against the recurrences written out below in double
// precision, and against the reference evaluator's RNN when the test binary has one), errors,
// and the shared PTB LSTM model end to end.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "hgc/compiler/compile.h"
#include "hgc/base/error.h"
#include "hgc/ir/infer.h"
#include "hgc/ir/json_io.h"
#include "hgc/ir/verify.h"
#include "hgc/passes/expand_rnn.h"
#include "support/paths.h"
#if __has_include("reference/reference.h")
#include "reference/reference.h"
#define HGC_TEST_HAVE_REFERENCE 1
#endif

using namespace hgc;

namespace {

constexpr int64_t kT = 3, kN = 2, kI = 4, kH = 5;

struct Case {
  std::string mode;
  int64_t layers = 1;
  bool bidirectional = false;
  bool state_outputs = true;
  int64_t gates() const { return mode == "lstm" ? 4 : mode == "gru" ? 3 : 1; }
  int64_t dirs() const { return bidirectional ? 2 : 1; }
  std::string str() const {
    return mode + " L=" + std::to_string(layers) + (bidirectional ? " bidirectional" : "") +
           (state_outputs ? " state_outputs" : "");
  }
};

// data -> RNN named "rnn"; parameters and states are variables whose shapes only the RNN
// determines, as in a Gluon export.
Graph rnn_graph(const Case& c, const AttrMap& extra = {}) {
  Graph g;
  std::vector<ValueRef> in{{g.add_variable("data"), 0}, {g.add_variable("rnn_parameters"), 0},
                           {g.add_variable("rnn_state"), 0}};
  if (c.mode == "lstm") in.push_back({g.add_variable("rnn_state_cell"), 0});
  if (extra.count("use_sequence_length")) in.push_back({g.add_variable("rnn_seq_len"), 0});
  AttrMap a{{"mode", c.mode},
            {"state_size", kH},
            {"num_layers", c.layers},
            {"bidirectional", c.bidirectional},
            {"state_outputs", c.state_outputs}};
  for (const auto& [k, v] : extra) a[k] = v;
  int r = g.add_node("RNN", "rnn", in, a);
  int nout = c.state_outputs ? (c.mode == "lstm" ? 3 : 2) : 1;
  for (int k = 0; k < nout; ++k) g.heads.push_back({r, k});
  return g;
}

InferOptions data_shape() {
  InferOptions o;
  o.shapes["data"] = Shape{kT, kN, kI};
  return o;
}

int count_op(const Graph& g, const std::string& op) {
  int n = 0;
  for (const Node& node : g.nodes) n += node.op_name == op;
  return n;
}

std::vector<double> values(const HostTensor& t) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i)
    v[i] = t.dtype() == DType::f64 ? t.data<double>()[i] : t.data<float>()[i];
  return v;
}

HostTensor random_tensor(std::vector<int64_t> shape, std::mt19937& rng, double scale) {
  HostTensor t(DType::f32, std::move(shape));
  std::uniform_real_distribution<float> u(static_cast<float>(-scale), static_cast<float>(scale));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// The recurrences, straight from MXNet's rnn_impl.h: y is (T, N, D*H); hy/cy (L*D, N, H).
struct Expected {
  std::vector<double> y, hy, cy;
};

Expected recurrences(const Case& c, const HostTensor& data, const HostTensor& params,
                     const HostTensor& state, const HostTensor* cell) {
  const int64_t T = kT, N = kN, H = kH, G = c.gates(), D = c.dirs(), GH = G * H;
  std::vector<double> p = values(params), x = values(data), hy = values(state);
  std::vector<double> cy = cell ? values(*cell) : std::vector<double>();
  // Offsets: all weights (per layer, per direction: Wx then Wh), then all biases (bx, bh).
  int64_t b_off = 0;
  for (int64_t l = 0; l < c.layers; ++l) b_off += D * GH * ((l ? D * H : kI) + H);
  REQUIRE(b_off + c.layers * D * 2 * GH == params.numel());
  int64_t w_off = 0, in = kI;
  std::vector<double> y;
  for (int64_t l = 0; l < c.layers; ++l) {
    y.assign(T * N * D * H, 0.0);
    for (int64_t d = 0; d < D; ++d) {
      const double *wx = &p[w_off], *wh = wx + GH * in, *bx = &p[b_off], *bh = bx + GH;
      w_off += GH * (in + H);
      b_off += 2 * GH;
      double* h = &hy[(l * D + d) * N * H];
      double* cs = cell ? &cy[(l * D + d) * N * H] : nullptr;
      for (int64_t s = 0; s < T; ++s) {
        int64_t t = d ? T - 1 - s : s;
        std::vector<double> hnew(N * H);
        for (int64_t n = 0; n < N; ++n) {
          // gx = Wx x + bx, gh = Wh h + bh for every gate row.
          std::vector<double> gx(GH), gh(GH);
          for (int64_t r = 0; r < GH; ++r) {
            gx[r] = bx[r];
            for (int64_t k = 0; k < in; ++k) gx[r] += wx[r * in + k] * x[(t * N + n) * in + k];
            gh[r] = bh[r];
            for (int64_t k = 0; k < H; ++k) gh[r] += wh[r * H + k] * h[n * H + k];
          }
          for (int64_t k = 0; k < H; ++k) {
            double out;
            if (c.mode == "lstm") {
              double i = sigmoid(gx[k] + gh[k]), f = sigmoid(gx[H + k] + gh[H + k]);
              double g = std::tanh(gx[2 * H + k] + gh[2 * H + k]);
              double o = sigmoid(gx[3 * H + k] + gh[3 * H + k]);
              cs[n * H + k] = f * cs[n * H + k] + i * g;
              out = o * std::tanh(cs[n * H + k]);
            } else if (c.mode == "gru") {
              double r = sigmoid(gx[k] + gh[k]), z = sigmoid(gx[H + k] + gh[H + k]);
              double nn = std::tanh(gx[2 * H + k] + r * gh[2 * H + k]);
              out = (1 - z) * nn + z * h[n * H + k];
            } else {
              double a = gx[k] + gh[k];
              out = c.mode == "rnn_tanh" ? std::tanh(a) : std::max(0.0, a);
            }
            hnew[n * H + k] = out;
            y[(t * N + n) * D * H + d * H + k] = out;
          }
        }
        std::copy(hnew.begin(), hnew.end(), h);
      }
    }
    x = y;
    in = D * H;
  }
  return {y, hy, cy};
}

void check_close(const std::vector<double>& got, const std::vector<double>& want, const std::string& what) {
  REQUIRE(got.size() == want.size());
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(got[i] - want[i]));
  INFO(what << ": max |diff| = " << worst);
  CHECK(worst <= 1e-4);
}

std::string error_of(Graph g, const ExpandRnnOptions& o = {}) {
  try {
    expand_rnn(g, o);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("expand-rnn: no RNN node remains and the graph verifies and re-infers") {
  Case c{"lstm", 2, true, true};
  Graph g = rnn_graph(c);
  infer(g, data_shape());
  REQUIRE(expand_rnn(g) == 1);
  CHECK(count_op(g, "RNN") == 0);
  CHECK_NOTHROW(verify(g));
  // The output keeps the RNN's name; generated nodes say where they belong.
  int out = g.find("rnn");
  REQUIRE(out >= 0);
  CHECK(g.nodes[out].out_shapes[0] == Shape{kT, kN, 2 * kH});
  CHECK(g.find("rnn_l1_bwd_t0_h2h") >= 0);
  CHECK(g.find("rnn_l0_fwd_t2_c") >= 0);
  // One input projection per layer and direction, one recurrent GEMM per step.
  CHECK(count_op(g, "FullyConnected") == 2 * 2 * (1 + kT));
  REQUIRE(g.heads.size() == 3);
  CHECK(g.shape(g.heads[1]) == Shape{4, kN, kH});
  CHECK(g.shape(g.heads[2]) == Shape{4, kN, kH});

  // Parameter and state shapes came from the RNN; the pass pinned them, so inference from
  // the data shape alone still succeeds, also after a JSON round trip.
  Graph again = g;
  CHECK_NOTHROW(infer(again, data_shape()));
  CHECK_NOTHROW(verify(again));
  Graph loaded = load_json(save_json(g));
  CHECK_NOTHROW(infer(loaded, data_shape()));
  CHECK(loaded.shape(loaded.heads[0]) == Shape{kT, kN, 2 * kH});

  SUBCASE("as a pass after infer") {
    Graph h = rnn_graph(Case{"gru", 1, false, false});
    PassManager pm;
    pm.add(make_infer_pass(data_shape())).add(make_expand_rnn_pass());
    pm.run(h);
    CHECK(count_op(h, "RNN") == 0);
    CHECK(pm.facts().count(Fact::ShapesInferred) == 1);
    CHECK(h.shape(h.heads[0]) == Shape{kT, kN, kH});
  }
  SUBCASE("a graph without RNN is left alone") {
    Graph h;
    int x = h.add_variable("x");
    h.heads = {{h.add_node("relu", "r", {{x, 0}}), 0}};
    InferOptions o;
    o.shapes["x"] = Shape{2};
    infer(h, o);
    CHECK(expand_rnn(h) == 0);
    CHECK(h.nodes.size() == 2);
  }
}

TEST_CASE("expand-rnn: what it cannot expand is a clear error naming the node") {
  auto inferred = [](Graph g) {
    infer(g, data_shape());
    return g;
  };
  Case lstm{"lstm", 1, false, false};
  std::string e = error_of(inferred(rnn_graph(lstm, {{"projection_size", int64_t{3}}})));
  CHECK(e.find("'rnn' (RNN)") != std::string::npos);
  CHECK(e.find("projection_size") != std::string::npos);

  Graph seq = rnn_graph(lstm, {{"use_sequence_length", true}});
  InferOptions o = data_shape();
  o.shapes["rnn_seq_len"] = Shape{kN};
  infer(seq, o);
  e = error_of(seq);
  CHECK(e.find("use_sequence_length") != std::string::npos);
  CHECK(e.find("'rnn'") != std::string::npos);

  Graph drop = inferred(rnn_graph(lstm, {{"p", 0.5}}));
  e = error_of(drop, ExpandRnnOptions().train(true));
  CHECK(e.find("training") != std::string::npos);
  CHECK(error_of(drop).empty());  // predict mode: dropout is the identity

  e = error_of(inferred(rnn_graph(lstm, {{"lstm_state_clip_min", -1.0}})));
  CHECK(e.find("together") != std::string::npos);

  e = error_of(rnn_graph(lstm));  // not inferred
  CHECK(e.find("infer shapes") != std::string::npos);
}

TEST_CASE("expand-rnn: compiled expansion == the recurrences (lstm, gru, rnn_tanh, rnn_relu)") {
  std::vector<Case> cases;
  for (const char* mode : {"lstm", "gru"})
    for (int64_t layers : {1, 2})
      for (bool bidir : {false, true}) cases.push_back({mode, layers, bidir, true});
  cases.push_back({"rnn_tanh", 2, true, true});
  cases.push_back({"rnn_relu", 2, false, true});
  cases.push_back({"lstm", 2, true, false});

  std::mt19937 rng(7);
  for (const Case& c : cases) {
    CAPTURE(c.str());
    Graph g = rnn_graph(c);
    infer(g, data_shape());
    const Graph original = g;
    std::map<std::string, HostTensor> vars;
    for (int id : g.variable_ids()) {
      const Node& v = g.nodes[id];
      vars[v.name] = random_tensor(v.out_shapes[0].dims(), rng, v.name == "data" ? 1.0 : 0.5);
    }
    REQUIRE(expand_rnn(g) == 1);
    verify(g);
    auto outs = compile(g)->run(vars);
    REQUIRE(outs.size() == g.heads.size());

    bool lstm = c.mode == "lstm";
    Expected want = recurrences(c, vars["data"], vars["rnn_parameters"], vars["rnn_state"],
                                lstm ? &vars["rnn_state_cell"] : nullptr);
    check_close(values(outs[0]), want.y, "output");
    if (c.state_outputs) {
      check_close(values(outs[1]), want.hy, "state_output");
      if (lstm) check_close(values(outs[2]), want.cy, "statecell_output");
    }
#ifdef HGC_TEST_HAVE_REFERENCE
    // A second, independently written oracle: the reference evaluator's fused RNN.
    if (ref::supports("RNN")) {
      auto ref = ref::evaluate(original, vars);
      REQUIRE(ref.size() == outs.size());
      for (size_t k = 0; k < ref.size(); ++k) check_close(values(outs[k]), values(ref[k]), "reference head");
    }
#endif
  }
}

TEST_CASE("expand-rnn: LSTM state clipping") {
  Case c{"lstm", 1, false, true};
  Graph g = rnn_graph(c, {{"lstm_state_clip_min", -0.05}, {"lstm_state_clip_max", 0.05}});
  infer(g, data_shape());
  std::mt19937 rng(3);
  std::map<std::string, HostTensor> vars;
  for (int id : g.variable_ids())
    vars[g.nodes[id].name] = random_tensor(g.nodes[id].out_shapes[0].dims(), rng, 1.0);
  REQUIRE(expand_rnn(g) == 1);
  CHECK(count_op(g, "clip") == kT);
  auto outs = compile(g)->run(vars);
  for (double v : values(outs[2])) CHECK(std::abs(v) <= 0.05 + 1e-6);
}

TEST_CASE("expand-rnn: the shared PTB LSTM model expands, infers and compiles") {
  auto path = test::shared_model("mms_lstm_ptb-symbol.json");
  if (!path) return;
  Graph g = load_json_file(*path);
  InferOptions io;
  io.shapes["data"] = Shape{35, 20};
  io.shapes["softmax_label"] = Shape{35, 20};
  infer(g, io);
  REQUIRE(expand_rnn(g) == 1);
  CHECK(count_op(g, "RNN") == 0);
  // What `hgc run` does: infer again from the data inputs only.
  infer(g, io);
  verify(g);
  CHECK(g.shape(g.nodes[g.find("lstm_rnn")].inputs[0]) == Shape{700, 200});
  CHECK(g.shape(g.heads[0]) == Shape{700, 10000});
  // The deferred `_zeros(shape=(2, 0, 200))` begin state got its batch size.
  CHECK(g.nodes[g.find("lstm_begin_state_0")].out_shapes[0] == Shape{2, 20, 200});
  MESSAGE("PTB expanded to " << g.nodes.size() << " nodes");

  auto t0 = std::chrono::steady_clock::now();
  auto exe = compile(g);
  MESSAGE("PTB compile: " << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s");
  std::mt19937 rng(1);
  std::map<std::string, HostTensor> vars;
  for (int id : g.variable_ids()) {
    const Node& v = g.nodes[id];
    HostTensor t = random_tensor(v.out_shapes[0].dims(), rng, 0.1);
    if (v.name == "data")  // word ids
      for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>((i * 37) % 10000);
    vars[v.name] = t;
  }
  auto out = exe->run(vars);
  REQUIRE(out.size() == 1);
  std::vector<double> p = values(out[0]);
  bool finite = true;
  for (double v : p) finite = finite && std::isfinite(v);
  CHECK(finite);
  for (int64_t row : {int64_t{0}, int64_t{699}}) {  // softmax rows sum to one
    double s = 0;
    for (int64_t k = 0; k < 10000; ++k) s += p[row * 10000 + k];
    CHECK(s == doctest::Approx(1.0).epsilon(1e-4));
  }
}
