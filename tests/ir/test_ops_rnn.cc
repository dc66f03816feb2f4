// Fused RNN: inputs by mode, state shapes, the flat parameter count (MXNet's GetRnnParamSize,
// computed by hand below) and the 2-layer LSTM of the PTB model.
#include <doctest/doctest.h>

#include "hgc/ir/infer.h"
#include "hgc/ir/json_io.h"
#include "hgc/ir/op.h"
#include "ir/nn_movement_test_util.h"
#include "support/paths.h"

using namespace hgc;
using hgc::test::infer_error;
using hgc::test::infer_op;
using hgc::test::names_node;

namespace {
constexpr int64_t X = Shape::kUnknownDim;
const Shape U = Shape();
const OpDef& rnn() { return OpRegistry::global().get("RNN"); }
Names inputs_of(AttrMap a) { return rnn().input_names(AttrView(rnn(), a, "x")); }
}  // namespace

TEST_CASE("RNN inputs and outputs depend on mode and flags") {
  CHECK(inputs_of({{"mode", std::string("lstm")}}) ==
        Names{"data", "parameters", "state", "state_cell"});
  CHECK(inputs_of({{"mode", std::string("gru")}}) == Names{"data", "parameters", "state"});
  CHECK(inputs_of({{"mode", std::string("rnn_tanh")}, {"use_sequence_length", true}}) ==
        Names{"data", "parameters", "state", "sequence_length"});
  CHECK(rnn().param_inputs == Names{"parameters"});
  CHECK_FALSE(rnn().attr_spec("state_size")->default_value);
  CHECK_FALSE(rnn().attr_spec("mode")->default_value);
  CHECK(*rnn().attr_spec("p")->default_value == AttrValue(0.0));
  CHECK(*rnn().attr_spec("projection_size")->default_value == AttrValue(std::monostate{}));

  AttrMap lstm = {{"mode", std::string("lstm")}, {"state_outputs", true}};
  CHECK(rnn().num_outputs(AttrView(rnn(), lstm, "x")) == 3);
  CHECK(rnn().num_visible_outputs(AttrView(rnn(), lstm, "x")) == 3);
  CHECK(rnn().output_names(AttrView(rnn(), lstm, "x")) ==
        Names{"output", "state_output", "statecell_output"});
  AttrMap gru = {{"mode", std::string("gru")}, {"state_outputs", true}};
  CHECK(rnn().num_outputs(AttrView(rnn(), gru, "x")) == 2);
  AttrMap plain = {{"mode", std::string("gru")}};
  CHECK(rnn().num_outputs(AttrView(rnn(), plain, "x")) == 1);
}

TEST_CASE("RNN parameter counts (GetRnnParamSize)") {
  auto count = [](std::map<std::string, std::string> a, int64_t input) {
    return infer_op("RNN", a, {{7, 3, input}, U, U, U}, {}, true).in[1];
  };
  // rnn_tanh, 1 layer, H=4, I=3: Wx 4x3 + Wh 4x4 + 2 biases of 4 = 12 + 16 + 8 = 36
  CHECK(infer_op("RNN", {{"mode", "rnn_tanh"}, {"state_size", "4"}, {"num_layers", "1"}},
                 {{7, 3, 3}, U, U})
            .in[1] == Shape{36});
  // Bidirectional GRU, 2 layers, H=8, I=3 (3 gates, so 24 rows per direction):
  //   layer 0 per direction: Wx 24x3 + Wh 24x8 + biases 2*24 = 72 + 192 + 48 = 312, x2 = 624
  //   layer 1 per direction: Wx 24x16 (both directions' outputs) + 192 + 48 = 624, x2 = 1248
  //   total 1872
  CHECK(infer_op(
            "RNN",
            {{"mode", "gru"}, {"state_size", "8"}, {"num_layers", "2"}, {"bidirectional", "True"}},
            {{7, 3, 3}, U, U})
            .in[1] == Shape{1872});
  // LSTM with projection (LSTMP), 1 layer, H=10, P=4, I=5 (4 gates, 40 rows):
  //   Wx 40x5 + Wh 40x4 (recurrent input is the projected state) + biases 80 + Wproj 4x10
  //   = 200 + 160 + 80 + 40 = 480
  CHECK(
      count({{"mode", "lstm"}, {"state_size", "10"}, {"num_layers", "1"}, {"projection_size", "4"}},
            5) == Shape{480});
}

TEST_CASE("RNN states and outputs") {
  // 2-layer bidirectional LSTM with projection: states are (L*D, N, P), cells (L*D, N, H).
  auto r = infer_op("RNN",
                    {{"mode", "lstm"},
                     {"state_size", "10"},
                     {"num_layers", "2"},
                     {"bidirectional", "True"},
                     {"projection_size", "4"},
                     {"state_outputs", "True"}},
                    {{7, 3, 5}, U, U, U});
  CHECK(r.in[2] == Shape{4, 3, 4});
  CHECK(r.in[3] == Shape{4, 3, 10});
  REQUIRE(r.out.size() == 3);
  CHECK(r.out[0] == Shape{7, 3, 8});  // D * P
  CHECK(r.out[1] == Shape{4, 3, 4});
  CHECK(r.out[2] == Shape{4, 3, 10});

  auto g = infer_op("RNN",
                    {{"mode", "gru"},
                     {"state_size", "6"},
                     {"num_layers", "1"},
                     {"use_sequence_length", "True"},
                     {"state_outputs", "True"}},
                    {{5, 2, 3}, U, U, U}, {DType::f32, DType::unknown, DType::unknown, DType::i32});
  CHECK(g.in[3] == Shape{2});
  CHECK(g.in_types[3] == DType::i32);  // lengths keep their own dtype
  CHECK(g.in_types[1] == DType::f32);
  CHECK(g.out[1] == Shape{1, 2, 6});

  // A known parameter vector completes a deferred input size: (643200 - 321600 - 800*202) / 800
  auto d = infer_op("RNN", {{"mode", "lstm"}, {"state_size", "200"}, {"num_layers", "2"}},
                    {Shape{35, 20, X}, {643200}, U, U});
  CHECK(d.in[0] == Shape{35, 20, 200});
  // The batch size can come from a given state.
  auto b = infer_op("RNN", {{"mode", "gru"}, {"state_size", "6"}, {"num_layers", "1"}},
                    {Shape{5, X, 3}, U, {1, 4, 6}});
  CHECK(b.out[0] == Shape{5, 4, 6});
}

TEST_CASE("RNN errors name the node") {
  std::map<std::string, std::string> a = {
      {"mode", "lstm"}, {"state_size", "8"}, {"num_layers", "1"}};
  CHECK(
      names_node(infer_error("RNN", a, {{7, 3}, U, U, U}), "RNN", "(seq_len, batch, input_size)"));
  CHECK(names_node(infer_error("RNN", a, {{7, 3, 5}, {100}, U, U}), "RNN", "parameters"));
  CHECK(names_node(infer_error("RNN", a, {{7, 3, 5}, U, {1, 4, 8}, U}), "RNN", "state"));
  CHECK_THROWS_AS(infer_op("RNN", {{"state_size", "8"}, {"num_layers", "1"}}, {{7, 3, 5}, U, U}),
                  Error);  // mode is required
}

// mms_lstm_ptb: data (seq, batch) -> Embedding(10000 -> 200) -> RNN(lstm, 2 layers, 200 hidden)
// whose begin states are `_zeros` of shape (2, 0, 200) with the batch dim deferred.
// Parameter count by hand, per layer (4 gates, H = 200, I = 200):
//   Wx 800x200 = 160000, Wh 800x200 = 160000, biases 2x800 = 1600 -> 321600
// two layers (the second layer's input is the first's 200-wide output): 643200.
TEST_CASE("PTB model: the fused LSTM's parameters and states are completed") {
  auto path = test::shared_model("mms_lstm_ptb-symbol.json");
  if (!path) return;
  Graph g = load_json_file(*path);
  InferOptions o;
  o.shapes = {{"data", {35, 20}}, {"softmax_label", {35, 20}}};
  infer(g, o);
  CHECK(g.nodes[g.find("lstm_parameters")].out_shapes[0] == Shape{643200});
  CHECK(g.nodes[g.find("lstm_begin_state_0")].out_shapes[0] == Shape{2, 20, 200});
  CHECK(g.nodes[g.find("lstm_begin_state_1")].out_shapes[0] == Shape{2, 20, 200});
  CHECK(g.nodes[g.find("lstm_rnn")].out_shapes[0] == Shape{35, 20, 200});
  CHECK(g.role(g.find("lstm_parameters")) == VarRole::Parameter);
}
