// gluon.nn InstanceNorm and GroupNorm: thin blocks over the InstanceNorm / GroupNorm ops (one
// op each, so imperative calls, compiled forwards and exported symbols share the kernel and
// the gradient rule of the nn_norm family).
#include "hgc/frontend/gluon/nn/sample_norm_layers.h"

#include "gluon/nn/repr_util.h"

#include <sstream>

#include "hgc/base/error.h"
#include "hgc/frontend/nd/ndarray.h"
#include "hgc/frontend/nd/op.h"

namespace hgc::gluon::nn {
namespace {
using detail::num;
using detail::py;

ParamOptions affine(int64_t n, const std::shared_ptr<Initializer>& init, bool trained) {
  ParamOptions o = ParamOptions().shape({n}).grad_req(trained ? "write" : "null");
  if (init) o.init(*init);
  return o;
}
}  // namespace

InstanceNorm::InstanceNorm(InstanceNormOptions opts, BlockArgs args)
    : HybridBlock("instancenorm", std::move(args)), opts_(std::move(opts)) {
  if (opts_.epsilon_ < 0) fail("gluon", "InstanceNorm: epsilon must be >= 0, got ", opts_.epsilon_);
  if (opts_.in_channels_ < 0) fail("gluon", "InstanceNorm: in_channels must be >= 0, got ", opts_.in_channels_);
  auto scope = name_scope();
  gamma = params().get("gamma", affine(opts_.in_channels_, opts_.gamma_initializer_, opts_.scale_));
  beta = params().get("beta", affine(opts_.in_channels_, opts_.beta_initializer_, opts_.center_));
}

NDArray InstanceNorm::hybrid_forward(const NDArray& x) {
  int n = x.ndim();
  int ax = opts_.axis_ < 0 ? opts_.axis_ + n : opts_.axis_;
  if (n < 2 || ax < 1 || ax >= n)
    fail("gluon", "block '", name(), "': InstanceNorm axis ", opts_.axis_, " must name a channel axis (not 0) of the rank-",
         n, " input");
  AttrMap a{{"eps", opts_.epsilon_}};
  if (ax == 1) return nd::op("InstanceNorm", a, {x, gamma->data(), beta->data()}, "fwd");
  NDArray y = nd::op("InstanceNorm", a, {nd::swapaxes(x, 1, ax), gamma->data(), beta->data()}, "fwd");
  return nd::swapaxes(y, 1, ax);
}

std::string InstanceNorm::repr() const {
  const auto& s = gamma->shape();
  std::string ch = s.empty() || s[0] == 0 ? "0" : std::to_string(s[0]);
  return "InstanceNorm(eps=" + num(opts_.epsilon_) + ", axis=" + std::to_string(opts_.axis_) + ", center=" + py(opts_.center_) +
         ", scale=" + py(opts_.scale_) + ", in_channels=" + ch + ")";
}

GroupNorm::GroupNorm(GroupNormOptions opts, BlockArgs args) : HybridBlock("groupnorm", std::move(args)), opts_(std::move(opts)) {
  if (opts_.num_groups_ < 1) fail("gluon", "GroupNorm: num_groups must be >= 1, got ", opts_.num_groups_);
  if (opts_.epsilon_ < 0) fail("gluon", "GroupNorm: epsilon must be >= 0, got ", opts_.epsilon_);
  auto scope = name_scope();
  gamma = params().get("gamma", affine(opts_.num_groups_, opts_.gamma_initializer_, opts_.scale_));
  beta = params().get("beta", affine(opts_.num_groups_, opts_.beta_initializer_, opts_.center_));
}

NDArray GroupNorm::hybrid_forward(const NDArray& x) {
  return nd::op("GroupNorm", {{"num_groups", opts_.num_groups_}, {"eps", opts_.epsilon_}}, {x, gamma->data(), beta->data()},
                "fwd");
}

std::string GroupNorm::repr() const {
  return "GroupNorm(eps=" + num(opts_.epsilon_) + ", num_groups=" + std::to_string(opts_.num_groups_) + ", center=" +
         py(opts_.center_) + ", scale=" + py(opts_.scale_) + ")";
}

}  // namespace hgc::gluon::nn
