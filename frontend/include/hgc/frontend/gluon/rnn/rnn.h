// Recurrent layers (gluon.rnn): the cells RNNCell, LSTMCell, GRUCell and SequentialRNNCell
// with unroll(), and the multi-layer RNN, LSTM and GRU layers. Everything is NDArray ops
// (FullyConnected, slice_axis, Activation, elementwise), unrolled over time, so it runs
// imperatively or hybridized and trains in both modes. Gate order and parameter layout are
// MXNet's (LSTM i, f, c, o; GRU r, z, n), so an LSTM layer's parameters packed in MXNet's
// order feed the fused `RNN` op unchanged.
//
//   using namespace hgc::gluon;
//   auto cell = std::make_shared<rnn::LSTMCell>(rnn::CellOptions(100));   // lstm0_i2h_weight, ...
//   auto [h, states] = (*cell)(x_t, cell->begin_state(batch));           // one step
//   auto r = cell->unroll(T, x, {}, "NTC", true);                        // r.output (N, T, 100)
//   auto layer = std::make_shared<rnn::LSTM>(rnn::LayerOptions(100).num_layers(2).bidirectional(true));
//   NDArray y = (*layer)(x);                                              // x (T, N, C) -> (T, N, 200)
//   auto [y2, hc] = (*layer)(x, layer->begin_state(batch));              // also the last states
//   std::cout << *layer;   // LSTM(None -> 100, TNC, num_layers=2, bidirectional)
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hgc/frontend/gluon/block.h"

namespace hgc::gluon::rnn {

// ---- cells ----

struct CellOptions {
  explicit CellOptions(int64_t hidden_size) : hidden_size_(hidden_size) {}
  int64_t hidden_size_;
  int64_t input_size_ = 0;           // 0: from the first input
  std::string activation_ = "tanh";  // RNNCell only: Activation act_type
  std::shared_ptr<Initializer> i2h_weight_initializer_, h2h_weight_initializer_;
  std::shared_ptr<Initializer> i2h_bias_initializer_ = init::create("zeros"), h2h_bias_initializer_ = init::create("zeros");
  CellOptions& input_size(int64_t n) { input_size_ = n; return *this; }
  CellOptions& activation(std::string a) { activation_ = std::move(a); return *this; }
  CellOptions& i2h_weight_initializer(const Initializer& i) { i2h_weight_initializer_ = i.clone(); return *this; }
  CellOptions& h2h_weight_initializer(const Initializer& i) { h2h_weight_initializer_ = i.clone(); return *this; }
  CellOptions& i2h_bias_initializer(const Initializer& i) { i2h_bias_initializer_ = i.clone(); return *this; }
  CellOptions& h2h_bias_initializer(const Initializer& i) { h2h_bias_initializer_ = i.clone(); return *this; }
};

// What unroll() returns: with merge_outputs the outputs stacked along the layout's time
// axis in `output`, else one array per step in `outputs`; the states after the last step.
struct UnrollResult {
  NDArray output;
  std::vector<NDArray> outputs;
  std::vector<NDArray> states;
};

// One state's shape for a batch (Gluon's state_info: {'shape': (N, H), '__layout__': 'NC'}).
struct StateInfo {
  std::vector<int64_t> shape;
  std::string layout = "NC";
};

// Gluon's HybridRecurrentCell: one time step (output, new states) = cell(input, states). As a
// block it takes {input, states...} and returns {output, new states...}.
class RecurrentCell : public HybridBlock {
 public:
  explicit RecurrentCell(const std::string& hint, BlockArgs args = {}) : HybridBlock(hint, std::move(args)) {}
  using Block::operator();
  // One step: (output, new states); states as begin_state() gives them.
  std::pair<NDArray, std::vector<NDArray>> operator()(const NDArray& input, const std::vector<NDArray>& states);
  std::vector<NDArray> hybrid_forward_multi(const std::vector<NDArray>& xs) override;
  // The step on values or traced values (what hybrid_forward_multi runs).
  virtual std::pair<NDArray, std::vector<NDArray>> step(const NDArray& input, const std::vector<NDArray>& states) = 0;

  virtual std::vector<StateInfo> state_info(int64_t batch_size) const = 0;
  // Zeros of state_info's shapes.
  std::vector<NDArray> begin_state(int64_t batch_size, DType dtype = DType::f32) const;
  // Runs `length` steps over `inputs` (layout "NTC" or "TNC"); empty begin_state: zeros.
  // merge_outputs unset: merged (inputs is one array, as in Gluon).
  UnrollResult unroll(int64_t length, const NDArray& inputs, std::vector<NDArray> begin_state = {},
                      const std::string& layout = "NTC", std::optional<bool> merge_outputs = std::nullopt);
  // The same over one (N, C) array per step; merge_outputs unset: not merged.
  UnrollResult unroll(int64_t length, const std::vector<NDArray>& inputs, std::vector<NDArray> begin_state = {},
                      const std::string& layout = "NTC", std::optional<bool> merge_outputs = std::nullopt);
  // Restarts the step counter that names traced nodes ("lstm0_t3_i2h"); unroll() calls it.
  virtual void reset() { counter_ = -1; }

 protected:
  // "t<step>_", Gluon's per-step node name prefix.
  std::string step_prefix() const { return "t" + std::to_string(counter_ < 0 ? 0 : counter_) + "_"; }
  int counter_ = -1;
};

// Parameters i2h_weight (G*H, input), h2h_weight (G*H, H), i2h_bias, h2h_bias; G gates.
class GatedCell : public RecurrentCell {
 public:
  GatedCell(const std::string& hint, int gates, CellOptions opts, BlockArgs args);
  std::string repr() const override;
  const CellOptions& options() const { return opts_; }
  int64_t hidden_size() const { return opts_.hidden_size_; }
  std::shared_ptr<Parameter> i2h_weight, h2h_weight, i2h_bias, h2h_bias;

 protected:
  // i2h (N, G*H) and h2h (N, G*H) of one step.
  std::pair<NDArray, NDArray> projections(const NDArray& input, const NDArray& h);
  CellOptions opts_;
  int gates_;
};

// h' = activation(W_i x + b_i + W_h h + b_h).
class RNNCell : public GatedCell {
 public:
  explicit RNNCell(CellOptions opts, BlockArgs args = {}) : GatedCell("rnn", 1, std::move(opts), std::move(args)) {}
  std::pair<NDArray, std::vector<NDArray>> step(const NDArray& input, const std::vector<NDArray>& states) override;
  std::vector<StateInfo> state_info(int64_t batch_size) const override;
};

// States (h, c); gates i, f, c, o: c' = f c + i tanh(.), h' = o tanh(c').
class LSTMCell : public GatedCell {
 public:
  explicit LSTMCell(CellOptions opts, BlockArgs args = {}) : GatedCell("lstm", 4, std::move(opts), std::move(args)) {}
  std::pair<NDArray, std::vector<NDArray>> step(const NDArray& input, const std::vector<NDArray>& states) override;
  std::vector<StateInfo> state_info(int64_t batch_size) const override;
};

// Gates r, z, n: n = tanh(i2h_n + r * h2h_n), h' = (1 - z) n + z h.
class GRUCell : public GatedCell {
 public:
  explicit GRUCell(CellOptions opts, BlockArgs args = {}) : GatedCell("gru", 3, std::move(opts), std::move(args)) {}
  std::pair<NDArray, std::vector<NDArray>> step(const NDArray& input, const std::vector<NDArray>& states) override;
  std::vector<StateInfo> state_info(int64_t batch_size) const override;
};

// Cells stacked: each one's output is the next one's input; the states are all cells'
// states in order (Gluon's (Hybrid)SequentialRNNCell).
class SequentialRNNCell : public RecurrentCell {
 public:
  explicit SequentialRNNCell(BlockArgs args = {}) : RecurrentCell("sequentialrnncell", std::move(args)) {}
  SequentialRNNCell& add(std::shared_ptr<RecurrentCell> cell);
  std::pair<NDArray, std::vector<NDArray>> step(const NDArray& input, const std::vector<NDArray>& states) override;
  std::vector<StateInfo> state_info(int64_t batch_size) const override;
  std::shared_ptr<RecurrentCell> operator[](size_t i) const { return cells_.at(i); }
  size_t size() const { return cells_.size(); }
  void reset() override;

 private:
  std::vector<std::shared_ptr<RecurrentCell>> cells_;
};

// ---- layers ----

struct LayerOptions {
  explicit LayerOptions(int64_t hidden_size) : hidden_size_(hidden_size) {}
  int64_t hidden_size_;
  int64_t num_layers_ = 1;
  std::string layout_ = "TNC";  // or "NTC"
  double dropout_ = 0.0;        // on every layer's output but the last's (training mode)
  bool bidirectional_ = false;
  int64_t input_size_ = 0;        // 0: from the first input
  std::string activation_ = "relu";  // RNN only: relu or tanh
  std::shared_ptr<Initializer> i2h_weight_initializer_, h2h_weight_initializer_;
  std::shared_ptr<Initializer> i2h_bias_initializer_ = init::create("zeros"), h2h_bias_initializer_ = init::create("zeros");
  LayerOptions& num_layers(int64_t n) { num_layers_ = n; return *this; }
  LayerOptions& layout(std::string l) { layout_ = std::move(l); return *this; }
  LayerOptions& dropout(double p) { dropout_ = p; return *this; }
  LayerOptions& bidirectional(bool b) { bidirectional_ = b; return *this; }
  LayerOptions& input_size(int64_t n) { input_size_ = n; return *this; }
  LayerOptions& activation(std::string a) { activation_ = std::move(a); return *this; }
  LayerOptions& i2h_weight_initializer(const Initializer& i) { i2h_weight_initializer_ = i.clone(); return *this; }
  LayerOptions& h2h_weight_initializer(const Initializer& i) { h2h_weight_initializer_ = i.clone(); return *this; }
  LayerOptions& i2h_bias_initializer(const Initializer& i) { i2h_bias_initializer_ = i.clone(); return *this; }
  LayerOptions& h2h_bias_initializer(const Initializer& i) { h2h_bias_initializer_ = i.clone(); return *this; }
};

// Gluon's _RNNLayer: parameters l0_i2h_weight, l0_h2h_weight, l0_i2h_bias, l0_h2h_bias
// (r0_... for the reverse direction), layer by layer. As a block it takes {x} and returns
// {output}, or takes {x, states...} and returns {output, states...}; states are
// (num_layers * directions, N, H) each (LSTM: h and c), index layer * directions + direction.
class RNNLayer : public HybridBlock {
 public:
  // mode: MXNet's RNN mode (rnn_relu, rnn_tanh, lstm, gru).
  RNNLayer(const std::string& hint, std::string mode, LayerOptions opts, BlockArgs args);
  using Block::operator();
  // The output and the states after the last step.
  std::pair<NDArray, std::vector<NDArray>> operator()(const NDArray& x, const std::vector<NDArray>& states);
  std::vector<NDArray> hybrid_forward_multi(const std::vector<NDArray>& xs) override;
  std::vector<StateInfo> state_info(int64_t batch_size) const;
  std::vector<NDArray> begin_state(int64_t batch_size, DType dtype = DType::f32) const;
  std::string repr() const override;
  const LayerOptions& options() const { return opts_; }
  const std::string& mode() const { return mode_; }
  int gates() const { return gates_; }
  int64_t directions() const { return opts_.bidirectional_ ? 2 : 1; }
  // Parameter `kind` ("i2h_weight", ...) of layer `layer`, direction 0 (l) or 1 (r).
  std::shared_ptr<Parameter> param(int64_t layer, int direction, const std::string& kind) const;
  // MXNet's packed parameter vector of the fused RNN op: every weight (per layer, per
  // direction: i2h then h2h), then every bias in the same order.
  NDArray packed_parameters() const;

 private:
  std::vector<NDArray> forward_layers(const NDArray& x, std::vector<NDArray> states);
  std::string mode_;
  LayerOptions opts_;
  int gates_;
  std::vector<std::shared_ptr<Parameter>> params_;  // layer-major, direction, then the 4 kinds
  std::shared_ptr<HybridBlock> dropout_;
};

class RNN : public RNNLayer {
 public:
  explicit RNN(LayerOptions opts, BlockArgs args = {});
};
class LSTM : public RNNLayer {
 public:
  explicit LSTM(LayerOptions opts, BlockArgs args = {}) : RNNLayer("lstm", "lstm", std::move(opts), std::move(args)) {}
};
class GRU : public RNNLayer {
 public:
  explicit GRU(LayerOptions opts, BlockArgs args = {}) : RNNLayer("gru", "gru", std::move(opts), std::move(args)) {}
};

}  // namespace hgc::gluon::rnn
