// Fused RNN (MXNet 1.x src/operator/rnn-inl.h, rnn.cc): data (T, N, I), one flat parameter
// vector, initial states (L*D, N, H) and, for LSTM, cell states.
//
// Traits: dropout between layers (p > 0) draws random numbers, but traits are per op, not
// per attribute value, so RNN is not marked kRandom; a pass that must not CSE/fold a training
// RNN with p > 0 has to check `p` itself.
#include "nn_movement_util.h"

namespace hgc::ops {
namespace {

using util::known;

int gates(const std::string& mode) { return mode == "lstm" ? 4 : mode == "gru" ? 3 : 1; }

// MXNet's GetRnnParamSize: per layer and direction, input and recurrent weights plus two bias
// vectors for every gate; with a projection the recurrent input is the projected state and
// every layer/direction adds a (P, H) projection matrix.
int64_t rnn_param_size(int64_t layers, int64_t input, int64_t hidden, int64_t dirs, int g,
                       std::optional<int64_t> proj) {
  int64_t size = hidden * dirs * g;
  int64_t rec = proj ? *proj : hidden;
  int64_t first = (input + rec + 2) * size;
  int64_t other = (rec * dirs + rec + 2) * size;
  int64_t total = first + (layers - 1) * other;
  if (proj) total += *proj * hidden * layers * dirs;
  return total;
}

Names rnn_inputs(const AttrView& a) {
  Names n{"data", "parameters", "state"};
  if (a.s("mode") == "lstm") n.push_back("state_cell");
  if (a.b("use_sequence_length")) n.push_back("sequence_length");
  return n;
}

int rnn_outputs(const AttrView& a) {
  if (!a.b("state_outputs")) return 1;
  return a.s("mode") == "lstm" ? 3 : 2;
}

bool rnn_shape(ShapeCtx& c) {
  const AttrView& a = c.attrs;
  int64_t hidden = a.i("state_size"), layers = a.i("num_layers");
  if (hidden < 1 || layers < 1) c.error("state_size and num_layers must be >= 1");
  double p = a.f("p");
  if (!(p >= 0 && p <= 1)) c.error("p must be in [0, 1], got " + std::to_string(p));
  std::optional<int64_t> proj = a.opt_i("projection_size");
  if (proj && *proj < 1) c.error("projection_size must be >= 1");
  bool lstm = a.s("mode") == "lstm";
  int64_t dirs = a.b("bidirectional") ? 2 : 1;
  int g = gates(a.s("mode"));
  int64_t state = proj ? *proj : hidden;

  Shape d = c.in[0];
  if (d.rank_known() && d.ndim() != 3)
    c.error("data has shape " + d.str() + ", expected (seq_len, batch, input_size)");
  if (!d.rank_known()) d = Shape::of_rank(3);
  // The batch size may come from a given state instead (e.g. a deferred `_zeros` state).
  if (c.in[2].rank_known() && c.in[2].ndim() == 3) d[1] = known(d[1]) ? d[1] : c.in[2][1];
  // A known parameter vector determines a deferred input size.
  if (!known(d[2]) && c.in[1].rank_known() && c.in[1].ndim() == 1 && known(c.in[1][0])) {
    int64_t per_input = hidden * dirs * g;  // d(size)/d(input_size)
    int64_t rest = c.in[1][0] - rnn_param_size(layers, 0, hidden, dirs, g, proj);
    if (rest < 0 || rest % per_input != 0)
      c.error("parameters has shape " + c.in[1].str() + ", which fits no input size");
    d[2] = rest / per_input;
  }
  c.assign_in(0, d);
  d = c.in[0];
  int64_t n = d[1];

  c.assign_in(2, Shape{layers * dirs, n, state});
  if (lstm) c.assign_in(3, Shape{layers * dirs, n, hidden});
  if (a.b("use_sequence_length")) c.assign_in(lstm ? 4 : 3, Shape{n});
  c.assign_in(1, Shape{known(d[2]) ? rnn_param_size(layers, d[2], hidden, dirs, g, proj)
                                   : Shape::kUnknownDim});

  c.assign_out(0, Shape{d[0], n, dirs * state});
  if (a.b("state_outputs")) {
    c.assign_out(1, Shape{layers * dirs, n, state});
    if (lstm) c.assign_out(2, Shape{layers * dirs, n, hidden});
  }
  // The sequence length only flows back from the output.
  if (c.out[0].rank_known()) c.assign_in(0, Shape{c.out[0][0], -1, -1});
  return c.in[0].known() && c.in[1].known();
}

// Everything shares data's dtype except sequence_length, which keeps its own (integer) type.
bool rnn_type(TypeCtx& c) {
  bool seq = c.attrs.b("use_sequence_length");
  DType seq_t = seq ? c.in.back() : DType::unknown;
  if (seq) c.in.back() = DType::unknown;
  bool ok = rules::same_type(c);
  if (seq && seq_t != DType::unknown) c.in.back() = seq_t;
  return ok;
}

}  // namespace

void register_rnn(OpRegistry& r) {
  r.add("RNN")
      .attr(AttrSpec::integer("state_size"))
      .attr(AttrSpec::integer("num_layers"))
      .attr(AttrSpec::boolean("bidirectional").def(false))
      .attr(AttrSpec::one_of("mode", {"rnn_relu", "rnn_tanh", "lstm", "gru"}))
      .attr(AttrSpec::real("p").def(0.0))
      .attr(AttrSpec::boolean("state_outputs").def(false))
      .attr(AttrSpec::integer("projection_size").opt())
      .attr(AttrSpec::real("lstm_state_clip_min").opt())
      .attr(AttrSpec::real("lstm_state_clip_max").opt())
      .attr(AttrSpec::boolean("lstm_state_clip_nan").def(false))
      .attr(AttrSpec::boolean("use_sequence_length").def(false))
      .inputs(rnn_inputs)
      .params({"parameters"})
      .outputs(rnn_outputs, rnn_outputs)
      .output_names([](const AttrView& a) {
        Names n{"output"};
        if (a.b("state_outputs")) n.push_back("state_output");
        if (a.b("state_outputs") && a.s("mode") == "lstm") n.push_back("statecell_output");
        return n;
      })
      .shape(rnn_shape)
      .type(rnn_type);
}

}  // namespace hgc::ops
