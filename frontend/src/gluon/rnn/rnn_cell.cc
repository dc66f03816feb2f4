// gluon.rnn cells: RNNCell, LSTMCell, GRUCell, SequentialRNNCell and unroll(), plus the
// step recurrences the layers share (rnn_detail.h).
#include "hgc/frontend/nd/op.h"
#include "hgc/frontend/gluon/rnn/rnn.h"
#include "hgc/base/error.h"
#include "nd/detail.h"
#include "gluon/rnn/rnn_detail.h"

namespace hgc::gluon::rnn {
namespace detail {

NDArray fc(const NDArray& x, const NDArray& w, const NDArray& b, int64_t num_hidden, bool flatten,
           const std::string& name) {
  return nd::op("FullyConnected", {{"num_hidden", num_hidden}, {"flatten", flatten}}, {x, w, b}, name);
}

namespace {
NDArray act(const NDArray& x, const std::string& type) { return nd::op("Activation", {{"act_type", type}}, {x}); }
// Gate k of G stacked along axis 1.
NDArray gate(const NDArray& x, int k, int64_t h) { return x.slice_axis(1, k * h, (k + 1) * h); }
}  // namespace

std::pair<NDArray, std::vector<NDArray>> step(const std::string& mode, const std::string& activation, const NDArray& i2h,
                                              const NDArray& h2h, const std::vector<NDArray>& states, int64_t hidden) {
  if (mode == "rnn") {
    NDArray h = act(i2h + h2h, activation);
    return {h, {h}};
  }
  if (mode == "lstm") {
    NDArray gates = i2h + h2h;
    NDArray in_gate = act(gate(gates, 0, hidden), "sigmoid");
    NDArray forget_gate = act(gate(gates, 1, hidden), "sigmoid");
    NDArray in_transform = act(gate(gates, 2, hidden), "tanh");
    NDArray out_gate = act(gate(gates, 3, hidden), "sigmoid");
    NDArray c = forget_gate * states[1] + in_gate * in_transform;
    NDArray h = out_gate * act(c, "tanh");
    return {h, {h, c}};
  }
  // gru
  NDArray reset_gate = act(gate(i2h, 0, hidden) + gate(h2h, 0, hidden), "sigmoid");
  NDArray update_gate = act(gate(i2h, 1, hidden) + gate(h2h, 1, hidden), "sigmoid");
  NDArray candidate = act(gate(i2h, 2, hidden) + reset_gate * gate(h2h, 2, hidden), "tanh");
  NDArray h = (1.0 - update_gate) * candidate + update_gate * states[0];
  return {h, {h}};
}

}  // namespace detail

// ---- RecurrentCell ----
std::pair<NDArray, std::vector<NDArray>> RecurrentCell::operator()(const NDArray& input, const std::vector<NDArray>& states) {
  std::vector<NDArray> in{input};
  in.insert(in.end(), states.begin(), states.end());
  std::vector<NDArray> out = Block::operator()(in);
  return {out[0], std::vector<NDArray>(out.begin() + 1, out.end())};
}

std::vector<NDArray> RecurrentCell::hybrid_forward_multi(const std::vector<NDArray>& xs) {
  size_t want = state_info(1).size();
  if (xs.size() != want + 1)
    fail("gluon", type_name(), " '", name(), "': takes the input and ", want, " state(s), got ", xs.size(), " arrays");
  ++counter_;
  auto [out, states] = step(xs[0], std::vector<NDArray>(xs.begin() + 1, xs.end()));
  std::vector<NDArray> r{out};
  r.insert(r.end(), states.begin(), states.end());
  return r;
}

std::vector<NDArray> RecurrentCell::begin_state(int64_t batch_size, DType dtype) const {
  std::vector<NDArray> r;
  for (const StateInfo& s : state_info(batch_size)) r.push_back(nd::zeros(s.shape, dtype));
  return r;
}

namespace {
int time_axis(const std::string& layout, const std::string& who) {
  if (layout != "NTC" && layout != "TNC") fail("gluon", who, ": layout must be NTC or TNC, got '", layout, "'");
  return static_cast<int>(layout.find('T'));
}
}  // namespace

UnrollResult RecurrentCell::unroll(int64_t length, const NDArray& inputs, std::vector<NDArray> begin_state,
                                   const std::string& layout, std::optional<bool> merge_outputs) {
  int axis = time_axis(layout, type_name() + " '" + name() + "' unroll");
  if (inputs.ndim() != 3 || inputs.shape()[axis] != length)
    fail("gluon", type_name(), " '", name(), "' unroll: inputs of layout ", layout, " with ", length,
         " steps expected, got shape ", nd_detail::shape_str(inputs.shape()));
  std::vector<NDArray> steps;
  for (int64_t t = 0; t < length; ++t) steps.push_back(inputs.slice_axis(axis, t, t + 1).squeeze({axis}));
  return unroll(length, steps, std::move(begin_state), layout, merge_outputs.value_or(true));
}

UnrollResult RecurrentCell::unroll(int64_t length, const std::vector<NDArray>& inputs, std::vector<NDArray> begin_state,
                                   const std::string& layout, std::optional<bool> merge_outputs) {
  int axis = time_axis(layout, type_name() + " '" + name() + "' unroll");
  if (static_cast<int64_t>(inputs.size()) != length || length < 1)
    fail("gluon", type_name(), " '", name(), "' unroll: ", length, " steps but ", inputs.size(), " inputs");
  reset();
  UnrollResult r;
  r.states = begin_state.empty() ? this->begin_state(inputs[0].shape()[0], inputs[0].dtype()) : std::move(begin_state);
  for (const NDArray& x : inputs) {
    auto [out, states] = (*this)(x, r.states);
    r.outputs.push_back(out);
    r.states = std::move(states);
  }
  if (merge_outputs.value_or(false)) {
    r.output = nd::stack(r.outputs, axis);
    r.outputs.clear();
  }
  return r;
}

// ---- the gated cells ----
GatedCell::GatedCell(const std::string& hint, int gates, CellOptions opts, BlockArgs args)
    : RecurrentCell(hint, std::move(args)), opts_(std::move(opts)), gates_(gates) {
  int64_t h = opts_.hidden_size_, gh = gates_ * h;
  if (h <= 0) fail("gluon", type_name(), ": hidden_size must be positive, got ", h);
  auto scope = name_scope();
  auto param = [&](const char* n, std::vector<int64_t> shape, const std::shared_ptr<Initializer>& init) {
    ParamOptions o = ParamOptions().shape(std::move(shape));
    if (init) o.init(*init);
    return params().get(n, o);
  };
  i2h_weight = param("i2h_weight", {gh, opts_.input_size_}, opts_.i2h_weight_initializer_);
  h2h_weight = param("h2h_weight", {gh, h}, opts_.h2h_weight_initializer_);
  i2h_bias = param("i2h_bias", {gh}, opts_.i2h_bias_initializer_);
  h2h_bias = param("h2h_bias", {gh}, opts_.h2h_bias_initializer_);
}

std::pair<NDArray, NDArray> GatedCell::projections(const NDArray& input, const NDArray& h) {
  if (input.ndim() != 2)
    fail("gluon", type_name(), " '", name(), "': a step's input is (batch, features), got ", nd_detail::shape_str(input.shape()));
  int64_t gh = gates_ * opts_.hidden_size_;
  std::string p = step_prefix();
  return {detail::fc(input, i2h_weight->data(), i2h_bias->data(), gh, true, p + "i2h"),
          detail::fc(h, h2h_weight->data(), h2h_bias->data(), gh, true, p + "h2h")};
}

// Gluon: "LSTMCell(None -> 400)", the i2h weight's shape (rows = gates * hidden).
std::string GatedCell::repr() const {
  const auto& s = i2h_weight->shape();
  std::string r = type_name() + "(" + (s[1] ? std::to_string(s[1]) : "None") + " -> " + std::to_string(s[0]);
  if (gates_ == 1) r += ", " + opts_.activation_;
  return r + ")";
}

std::pair<NDArray, std::vector<NDArray>> RNNCell::step(const NDArray& input, const std::vector<NDArray>& states) {
  auto [i2h, h2h] = projections(input, states[0]);
  return detail::step("rnn", opts_.activation_, i2h, h2h, states, opts_.hidden_size_);
}
std::vector<StateInfo> RNNCell::state_info(int64_t n) const { return {{{n, opts_.hidden_size_}}}; }

std::pair<NDArray, std::vector<NDArray>> LSTMCell::step(const NDArray& input, const std::vector<NDArray>& states) {
  auto [i2h, h2h] = projections(input, states[0]);
  return detail::step("lstm", "", i2h, h2h, states, opts_.hidden_size_);
}
std::vector<StateInfo> LSTMCell::state_info(int64_t n) const {
  return {{{n, opts_.hidden_size_}}, {{n, opts_.hidden_size_}}};
}

std::pair<NDArray, std::vector<NDArray>> GRUCell::step(const NDArray& input, const std::vector<NDArray>& states) {
  auto [i2h, h2h] = projections(input, states[0]);
  return detail::step("gru", "", i2h, h2h, states, opts_.hidden_size_);
}
std::vector<StateInfo> GRUCell::state_info(int64_t n) const { return {{{n, opts_.hidden_size_}}}; }

// ---- SequentialRNNCell ----
SequentialRNNCell& SequentialRNNCell::add(std::shared_ptr<RecurrentCell> cell) {
  cells_.push_back(register_child(std::move(cell)));
  return *this;
}

std::pair<NDArray, std::vector<NDArray>> SequentialRNNCell::step(const NDArray& input, const std::vector<NDArray>& states) {
  if (cells_.empty()) fail("gluon", "SequentialRNNCell '", name(), "' has no cells");
  NDArray x = input;
  std::vector<NDArray> next;
  size_t at = 0;
  for (const auto& cell : cells_) {
    size_t n = cell->state_info(1).size();
    auto [out, s] = (*cell)(x, std::vector<NDArray>(states.begin() + at, states.begin() + at + n));
    at += n;
    x = out;
    next.insert(next.end(), s.begin(), s.end());
  }
  return {x, next};
}

std::vector<StateInfo> SequentialRNNCell::state_info(int64_t n) const {
  std::vector<StateInfo> r;
  for (const auto& cell : cells_) {
    auto s = cell->state_info(n);
    r.insert(r.end(), s.begin(), s.end());
  }
  return r;
}

void SequentialRNNCell::reset() {
  RecurrentCell::reset();
  for (const auto& cell : cells_) cell->reset();
}

}  // namespace hgc::gluon::rnn
