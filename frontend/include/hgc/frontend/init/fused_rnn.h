// mx.init.FusedRNN: initializes the flat parameter vector of a fused RNN op (MXNet's layout,
// the one the RNN op and hgc's expand-rnn pass read) gate matrix by gate matrix.
//
//   NDArray params = nd::zeros({n});   // the RNN op's `parameters` input
//   init::FusedRNN(std::make_shared<init::Xavier>(), 8, 2, "lstm").init_weight("rnn_parameters", params);
#pragma once
#include <memory>
#include <string>

#include "hgc/frontend/init/initializer.h"

namespace hgc::gluon::init {

// Layout: every weight first, layer by layer and direction by direction (i2h (G*H, I_l) then
// h2h (G*H, H); I_l = D*H above layer 0), then every bias (i2h, h2h: G*H each) in the same
// order. Each gate's (H, I_l) block is initialized on its own by `init` (named as MXNet's
// FusedRNNCell.unpack_weights names it, e.g. "l0_i2h_f_weight", "r1_h2h_weight"), biases are
// 0, and with mode "lstm" both forget-gate biases are forget_bias. mode: "rnn_relu",
// "rnn_tanh", "lstm" or "gru"; the input size follows from the vector's length.
class FusedRNN : public Initializer {
 public:
  FusedRNN(std::shared_ptr<Initializer> init, int64_t num_hidden, int64_t num_layers, std::string mode,
           bool bidirectional = false, double forget_bias = 1.0);
  void init_weight(const std::string& name, NDArray& arr) const override;
  std::string dumps() const override;
  std::shared_ptr<Initializer> clone() const override { return std::make_shared<FusedRNN>(*this); }

 private:
  std::shared_ptr<Initializer> init_;
  int64_t hidden_, layers_;
  std::string mode_;
  bool bidirectional_;
  double forget_bias_;
};

}  // namespace hgc::gluon::init
