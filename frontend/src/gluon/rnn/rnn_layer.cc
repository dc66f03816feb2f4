// gluon.rnn layers RNN, LSTM, GRU: each layer and direction unrolled over time with the
// cells' recurrences (rnn_detail.h). The input projection of all steps is one
// FullyConnected over (T, N, C); each step adds the recurrent projection of its state.
#include <sstream>

#include "hgc/frontend/gluon/nn/basic_layers.h"
#include "hgc/frontend/nd/op.h"
#include "hgc/frontend/gluon/rnn/rnn.h"
#include "hgc/base/error.h"
#include "nd/detail.h"
#include "gluon/rnn/rnn_detail.h"

namespace hgc::gluon::rnn {
namespace {
const char* kKinds[] = {"i2h_weight", "h2h_weight", "i2h_bias", "h2h_bias"};
int gates_of(const std::string& mode) { return mode == "lstm" ? 4 : mode == "gru" ? 3 : 1; }
}  // namespace

RNNLayer::RNNLayer(const std::string& hint, std::string mode, LayerOptions opts, BlockArgs args)
    : HybridBlock(hint, std::move(args)), mode_(std::move(mode)), opts_(std::move(opts)), gates_(gates_of(mode_)) {
  const std::string who = type_name();
  if (opts_.hidden_size_ <= 0) fail("gluon", who, ": hidden_size must be positive, got ", opts_.hidden_size_);
  if (opts_.num_layers_ <= 0) fail("gluon", who, ": num_layers must be positive, got ", opts_.num_layers_);
  if (opts_.layout_ != "TNC" && opts_.layout_ != "NTC")
    fail("gluon", who, ": Invalid layout ", opts_.layout_, "; must be one of ['TNC' or 'NTC']");
  if (!(opts_.dropout_ >= 0 && opts_.dropout_ < 1)) fail("gluon", who, ": dropout ", opts_.dropout_, " is not in [0, 1)");
  auto scope = name_scope();
  int64_t h = opts_.hidden_size_, gh = gates_ * h, ni = opts_.input_size_;
  for (int64_t l = 0; l < opts_.num_layers_; ++l) {
    for (int64_t d = 0; d < directions(); ++d) {
      std::string pre = (d ? "r" : "l") + std::to_string(l) + "_";
      const std::vector<int64_t> shapes[] = {{gh, ni}, {gh, h}, {gh}, {gh}};
      const std::shared_ptr<Initializer> inits[] = {opts_.i2h_weight_initializer_, opts_.h2h_weight_initializer_,
                                                    opts_.i2h_bias_initializer_, opts_.h2h_bias_initializer_};
      for (int k = 0; k < 4; ++k) {
        ParamOptions o = ParamOptions().shape(shapes[k]);
        if (inits[k]) o.init(*inits[k]);
        params_.push_back(params().get(pre + kKinds[k], o));
      }
    }
    ni = h * directions();
  }
  if (opts_.dropout_ > 0 && opts_.num_layers_ > 1) dropout_ = std::make_shared<nn::Dropout>(opts_.dropout_);
}

std::shared_ptr<Parameter> RNNLayer::param(int64_t layer, int direction, const std::string& kind) const {
  for (int k = 0; k < 4; ++k)
    if (kind == kKinds[k]) {
      if (layer < 0 || layer >= opts_.num_layers_ || direction < 0 || direction >= directions())
        fail("gluon", type_name(), " '", name(), "': no layer ", layer, " direction ", direction);
      return params_[(layer * directions() + direction) * 4 + k];
    }
  fail("gluon", type_name(), " '", name(), "': no parameter kind '", kind, "' (i2h_weight, h2h_weight, i2h_bias, h2h_bias)");
}

NDArray RNNLayer::packed_parameters() const {
  std::vector<NDArray> parts;
  for (int bias = 0; bias < 2; ++bias)
    for (size_t i = 0; i < params_.size(); i += 4)
      for (int k = 0; k < 2; ++k) parts.push_back(params_[i + 2 * bias + k]->data().reshape({-1}));
  return nd::concat(parts, 0);
}

std::vector<StateInfo> RNNLayer::state_info(int64_t n) const {
  StateInfo s{{opts_.num_layers_ * directions(), n, opts_.hidden_size_}, "LNC"};
  if (mode_ == "lstm") return {s, s};
  return {s};
}

std::vector<NDArray> RNNLayer::begin_state(int64_t n, DType dtype) const {
  std::vector<NDArray> r;
  for (const StateInfo& s : state_info(n)) r.push_back(nd::zeros(s.shape, dtype));
  return r;
}

std::pair<NDArray, std::vector<NDArray>> RNNLayer::operator()(const NDArray& x, const std::vector<NDArray>& states) {
  std::vector<NDArray> in{x};
  in.insert(in.end(), states.begin(), states.end());
  std::vector<NDArray> out = Block::operator()(in);
  return {out[0], std::vector<NDArray>(out.begin() + 1, out.end())};
}

std::vector<NDArray> RNNLayer::hybrid_forward_multi(const std::vector<NDArray>& xs) {
  size_t nstates = mode_ == "lstm" ? 2 : 1;
  if (xs.size() != 1 && xs.size() != 1 + nstates)
    fail("gluon", type_name(), " '", name(), "': takes the input, or the input and ", nstates, " state(s); got ", xs.size(),
         " arrays");
  const NDArray& x = xs[0];
  if (x.ndim() != 3)
    fail("gluon", type_name(), " '", name(), "': input must be 3-D (layout ", opts_.layout_, "), got ",
         nd_detail::shape_str(x.shape()));
  NDArray tnc = opts_.layout_ == "NTC" ? nd::swapaxes(x, 0, 1) : x;
  std::vector<NDArray> states(xs.begin() + 1, xs.end());
  bool with_states = !states.empty();
  if (!with_states) states = begin_state(tnc.shape()[1], x.dtype());
  for (size_t i = 0; i < states.size(); ++i)
    if (states[i].shape() != state_info(tnc.shape()[1])[0].shape)
      fail("gluon", type_name(), " '", name(), "': state ", i, " has shape ", nd_detail::shape_str(states[i].shape()),
           ", expected ", nd_detail::shape_str(state_info(tnc.shape()[1])[0].shape));
  std::vector<NDArray> r = forward_layers(tnc, states);
  if (opts_.layout_ == "NTC") r[0] = nd::swapaxes(r[0], 0, 1);
  if (!with_states) r.resize(1);
  return r;
}

// {output (T, N, D*H), h_n, [c_n]}.
std::vector<NDArray> RNNLayer::forward_layers(const NDArray& x, std::vector<NDArray> states) {
  const int64_t T = x.shape()[0], H = opts_.hidden_size_, D = directions(), GH = gates_ * H;
  std::string cell_mode = mode_ == "lstm" || mode_ == "gru" ? mode_ : "rnn";
  std::string act = mode_ == "rnn_tanh" ? "tanh" : "relu";
  std::vector<std::vector<NDArray>> last(states.size());  // per state kind: one (N, H) per layer/direction
  NDArray cur = x;
  for (int64_t l = 0; l < opts_.num_layers_; ++l) {
    std::vector<NDArray> dir_out;
    for (int64_t d = 0; d < D; ++d) {
      const int64_t idx = l * D + d;
      std::string pre = (d ? "r" : "l") + std::to_string(l) + "_";
      auto p = [&](int k) { return params_[idx * 4 + k]->data(); };
      NDArray i2h = detail::fc(cur, p(0), p(2), GH, false, pre + "i2h");
      std::vector<NDArray> s;
      for (const NDArray& st : states) s.push_back(st.slice_axis(0, idx, idx + 1).squeeze({0}));
      std::vector<NDArray> outs(T);
      for (int64_t k = 0; k < T; ++k) {
        int64_t t = d ? T - 1 - k : k;
        std::string sp = pre + "t" + std::to_string(k) + "_";
        NDArray h2h = detail::fc(s[0], p(1), p(3), GH, true, sp + "h2h");
        NDArray i2h_t = i2h.slice_axis(0, t, t + 1).squeeze({0});
        auto [out, next] = detail::step(cell_mode, act, i2h_t, h2h, s, H);
        outs[t] = out;
        s = std::move(next);
      }
      for (size_t k = 0; k < s.size(); ++k) last[k].push_back(s[k]);
      dir_out.push_back(nd::stack(outs, 0));
    }
    cur = D == 1 ? dir_out[0] : nd::concat(dir_out, 2);
    if (dropout_ && l + 1 < opts_.num_layers_) cur = (*dropout_)(cur);
  }
  std::vector<NDArray> r{cur};
  for (const auto& per : last) r.push_back(nd::stack(per, 0));
  return r;
}

// Gluon: "LSTM(None -> 100, TNC, num_layers=2, dropout=0.5, bidirectional)".
std::string RNNLayer::repr() const {
  const auto& s = params_[0]->shape();
  std::ostringstream os;
  os << type_name() << "(" << (s[1] ? std::to_string(s[1]) : "None") << " -> " << s[0] / gates_ << ", " << opts_.layout_;
  if (opts_.num_layers_ != 1) os << ", num_layers=" << opts_.num_layers_;
  if (opts_.dropout_ != 0) os << ", dropout=" << opts_.dropout_;
  if (directions() == 2) os << ", bidirectional";
  os << ")";
  return os.str();
}

RNN::RNN(LayerOptions opts, BlockArgs args)
    : RNNLayer("rnn", "rnn_" + opts.activation_, opts, std::move(args)) {
  if (opts.activation_ != "relu" && opts.activation_ != "tanh")
    fail("gluon", "RNN: activation must be relu or tanh, got '", opts.activation_, "'");
}

}  // namespace hgc::gluon::rnn
