// Expands MXNet's fused `RNN` op (lstm, gru, rnn_tanh, rnn_relu; any number of layers;
// bidirectional; state_outputs) into primitive ops the compiler lowers: slice_axis, Reshape,
// FullyConnected, SliceChannel, Activation, elementwise math and Concat.
//
//   Graph g = load_json_file("mms_lstm_ptb-symbol.json");
//   infer(g, {{{"data", Shape{35, 20}}, {"softmax_label", Shape{35, 20}}}});
//   expand_rnn(g);                 // no RNN node left; g is inferred and verifies again
//   auto exe = compile(g);
//
// or as a pass: `pm.add(make_expand_rnn_pass());` after the infer pass.
#pragma once
#include <memory>

#include "hgc/ir/graph.h"
#include "hgc/passes/pass.h"

namespace hgc {

struct ExpandRnnOptions {
  // Training mode: dropout between layers (p > 0) would draw random masks, which the
  // expansion does not model, so such nodes are rejected. In predict mode dropout is the
  // identity and `p` is ignored.
  bool training = false;

  ExpandRnnOptions& train(bool on) { training = on; return *this; }
};

// Rewrites every RNN node of `g` (whose shapes must be inferred) and re-infers the graph
// from its variables' shapes. The expansion is specialised to the inferred sequence length
// and batch size. The RNN's parameter and state variables get a `__shape__` hint, and a
// deferred `_zeros(shape=(2, 0, 200))`-style begin state gets its inferred shape, because
// once the RNN is gone no consumer determines them; so a later `infer` from the data inputs
// alone still succeeds. Returns the number of RNN nodes expanded (0 leaves g untouched).
// Throws hgc::Error naming the node for what it cannot expand: projection_size,
// use_sequence_length, p > 0 in training mode, a one-sided LSTM state clip.
int expand_rnn(Graph& g, const ExpandRnnOptions& opts = {});

// expand_rnn as a pass ("expand-rnn"): requires and provides ShapesInferred.
std::unique_ptr<Pass> make_expand_rnn_pass(ExpandRnnOptions opts = {});

}  // namespace hgc
