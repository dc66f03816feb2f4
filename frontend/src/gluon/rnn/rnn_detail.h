// The recurrences shared by the cells (rnn_cell.cc) and the layers (rnn_layer.cc), written
// with NDArray ops that have gradient rules. frontend-internal.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "hgc/frontend/nd/ndarray.h"

namespace hgc::gluon::rnn::detail {

// FullyConnected(x, w, b) with num_hidden rows of w; flatten=False keeps x's leading axes.
NDArray fc(const NDArray& x, const NDArray& w, const NDArray& b, int64_t num_hidden, bool flatten,
           const std::string& name);

// One step from the input projection i2h (N, G*H) and the recurrent projection h2h
// (N, G*H): the output and the new states. mode: "rnn" (with `act`), "lstm" (states h, c),
// "gru"; gate order MXNet's (LSTM i, f, c, o; GRU r, z, n).
std::pair<NDArray, std::vector<NDArray>> step(const std::string& mode, const std::string& act, const NDArray& i2h,
                                              const NDArray& h2h, const std::vector<NDArray>& states, int64_t hidden);

}  // namespace hgc::gluon::rnn::detail
