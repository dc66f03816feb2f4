// FusedRNN: unpacks the flat vector into per-gate blocks on the host, initializes each, packs
// it back (MXNet's FusedRNNCell.unpack_weights / pack_weights around the inner initializer).
#include "hgc/frontend/init/fused_rnn.h"

#include <sstream>
#include <vector>

#include "hgc/base/error.h"

namespace hgc::gluon::init {

FusedRNN::FusedRNN(std::shared_ptr<Initializer> init, int64_t num_hidden, int64_t num_layers, std::string mode,
                   bool bidirectional, double forget_bias)
    : init_(std::move(init)), hidden_(num_hidden), layers_(num_layers), mode_(std::move(mode)),
      bidirectional_(bidirectional), forget_bias_(forget_bias) {
  if (!init_) fail("gluon", "FusedRNN: the inner initializer is null");
  if (hidden_ < 1 || layers_ < 1) fail("gluon", "FusedRNN: num_hidden and num_layers must be >= 1");
  if (mode_ != "rnn_relu" && mode_ != "rnn_tanh" && mode_ != "lstm" && mode_ != "gru")
    fail("gluon", "FusedRNN: mode must be rnn_relu, rnn_tanh, lstm or gru, got '", mode_, "'");
}

void FusedRNN::init_weight(const std::string& name, NDArray& arr) const {
  if (!dtype_is_float(arr.dtype()) || arr.ndim() != 1)
    fail("gluon", "FusedRNN: '", name, "' must be a 1-D float vector (the RNN op's parameters)");
  std::vector<std::string> gates = mode_ == "lstm" ? std::vector<std::string>{"_i", "_f", "_c", "_o"}
                                   : mode_ == "gru" ? std::vector<std::string>{"_r", "_z", "_o"}
                                                    : std::vector<std::string>{""};
  int64_t G = int64_t(gates.size()), H = hidden_, L = layers_, D = bidirectional_ ? 2 : 1;
  // size = D*G*H*I0 + D*G*H*H*L + D*G*H*(D*H)*(L-1) + L*D*2*G*H
  int64_t rest = D * G * H * H * L + D * G * H * D * H * (L - 1) + L * D * 2 * G * H;
  int64_t n = arr.size();
  if (n <= rest || (n - rest) % (D * G * H))
    fail("gluon", "FusedRNN: ", n, " parameters do not fit a ", mode_, " with ", L, " layers, ", H,
         " hidden units and ", D, " direction(s)");
  int64_t in0 = (n - rest) / (D * G * H);
  std::vector<float> out(size_t(n), 0.0f);
  int64_t off = 0;
  const char* dirs[2] = {"l", "r"};
  for (int64_t l = 0; l < L; ++l)
    for (int64_t d = 0; d < D; ++d)
      for (const char* kind : {"i2h", "h2h"}) {
        int64_t cols = std::string(kind) == "h2h" ? H : (l == 0 ? in0 : D * H);
        for (const auto& g : gates) {
          NDArray block = nd::zeros({H, cols}, arr.dtype());
          init_->init_weight(dirs[d] + std::to_string(l) + "_" + kind + g + "_weight", block);
          std::vector<float> v = block.to_vector<float>();
          std::copy(v.begin(), v.end(), out.begin() + off);
          off += H * cols;
        }
      }
  for (int64_t l = 0; l < L; ++l)
    for (int64_t d = 0; d < D; ++d)
      for (int k = 0; k < 2; ++k)
        for (const auto& g : gates) {
          if (mode_ == "lstm" && g == "_f") std::fill(out.begin() + off, out.begin() + off + H, float(forget_bias_));
          off += H;
        }
  arr.assign(nd::array(out, arr.shape()).astype(arr.dtype()));
}

std::string FusedRNN::dumps() const {
  std::ostringstream os;
  os << "[\"fusedrnn\", {\"init\": " << init_->dumps() << ", \"num_hidden\": " << hidden_ << ", \"num_layers\": "
     << layers_ << ", \"mode\": \"" << mode_ << "\", \"bidirectional\": " << (bidirectional_ ? "true" : "false")
     << ", \"forget_bias\": " << forget_bias_ << "}]";
  return os.str();
}

}  // namespace hgc::gluon::init
