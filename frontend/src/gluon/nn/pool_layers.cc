// 1-D and 3-D pooling layers: the Pooling op with as many window dims as spatial dims.
#include "hgc/frontend/gluon/nn/pool_layers.h"

#include "gluon/nn/pooling.h"
#include "hgc/base/error.h"
#include "nd/detail.h"

namespace hgc::gluon::nn {
using detail::tup;

std::string detail::tup(const std::vector<int64_t>& v) {
  std::string r = "(";
  for (size_t i = 0; i < v.size(); ++i) r += (i ? ", " : "") + std::to_string(v[i]);
  return r + (v.size() == 1 ? ",)" : ")");
}

PoolND::PoolND(int dims, std::string pool_type, bool global, PoolOptions opts, BlockArgs args)
    : HybridBlock("pool", std::move(args)), dims_(dims), type_(std::move(pool_type)), global_(global), opts_(std::move(opts)) {
  if (opts_.strides_.empty()) opts_.strides_ = opts_.pool_size_;
  if (opts_.padding_.empty()) opts_.padding_.assign(dims_, 0);
  for (const auto* v : {&opts_.pool_size_, &opts_.strides_, &opts_.padding_})
    if (static_cast<int>(v->size()) != dims_)
      fail("gluon", type_name(), ": pool_size, strides and padding need ", dims_, " values each, got ", tup(*v));
}

NDArray PoolND::hybrid_forward(const NDArray& x) {
  if (x.ndim() != dims_ + 2)
    fail("gluon", type_name(), " '", name(), "': expects ", dims_ == 1 ? "(N, C, W)" : "(N, C, D, H, W)", " input, got ",
         nd_detail::shape_str(x.shape()));
  return detail::pooling(x, type_, global_, opts_);
}

std::string PoolND::repr() const {
  return detail::pooling_repr(type_name(), type_, global_, opts_, dims_ == 1 ? "NCW" : "NCDHW");
}

}  // namespace hgc::gluon::nn
