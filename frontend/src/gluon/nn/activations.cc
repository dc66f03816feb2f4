// gluon.nn activation layers over the LeakyReLU op.
#include "hgc/frontend/gluon/nn/activations.h"

#include "gluon/nn/repr_util.h"

#include <sstream>

#include "hgc/frontend/nd/op.h"
#include "hgc/base/error.h"

namespace hgc::gluon::nn {
namespace {
using detail::num;
NDArray leaky(const NDArray& x, const std::string& type, double slope) {
  return nd::op("LeakyReLU", {{"act_type", type}, {"slope", slope}}, {x}, "fwd");
}
}  // namespace

LeakyReLU::LeakyReLU(double alpha, BlockArgs args) : HybridBlock("leakyrelu", std::move(args)), alpha_(alpha) {
  if (alpha < 0) fail("gluon", "LeakyReLU: slope ", alpha, " must be >= 0");
}
NDArray LeakyReLU::hybrid_forward(const NDArray& x) { return leaky(x, "leaky", alpha_); }
std::string LeakyReLU::repr() const { return "LeakyReLU(" + num(alpha_) + ")"; }

PReLU::PReLU(int64_t in_channels, BlockArgs args) : HybridBlock("prelu", std::move(args)) {
  auto scope = name_scope();
  alpha = params().get("alpha", ParamOptions().shape({in_channels}).init(init::Constant(0.25)));
}
NDArray PReLU::hybrid_forward(const NDArray& x) {
  return nd::op("LeakyReLU", {{"act_type", std::string("prelu")}}, {x, alpha->data()}, "fwd");
}

ELU::ELU(double alpha, BlockArgs args) : HybridBlock("elu", std::move(args)), alpha_(alpha) {}
NDArray ELU::hybrid_forward(const NDArray& x) { return leaky(x, "elu", alpha_); }
std::string ELU::repr() const { return "ELU(" + num(alpha_) + ")"; }

NDArray SELU::hybrid_forward(const NDArray& x) {
  return nd::op("LeakyReLU", {{"act_type", std::string("selu")}}, {x}, "fwd");
}
NDArray GELU::hybrid_forward(const NDArray& x) {
  return nd::op("LeakyReLU", {{"act_type", std::string("gelu")}}, {x}, "fwd");
}

}  // namespace hgc::gluon::nn
