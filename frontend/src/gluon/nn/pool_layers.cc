// 1-D and 3-D pooling layers: the Pooling op with as many window dims as spatial dims.
#include "hgc/frontend/gluon/nn/pool_layers.h"

#include "hgc/base/error.h"
#include "hgc/frontend/nd/op.h"
#include "nd/detail.h"

namespace hgc::gluon::nn {
namespace {
std::string tup(const std::vector<int64_t>& v) {
  std::string r = "(";
  for (size_t i = 0; i < v.size(); ++i) r += (i ? ", " : "") + std::to_string(v[i]);
  return r + (v.size() == 1 ? ",)" : ")");
}
}  // namespace

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
  AttrMap a{{"kernel", opts_.pool_size_}, {"pool_type", type_}, {"global_pool", global_},
            {"pooling_convention", std::string(opts_.ceil_mode_ ? "full" : "valid")}};
  if (!global_) {
    a["stride"] = opts_.strides_;
    a["pad"] = opts_.padding_;
  }
  if (type_ == "avg" && !opts_.count_include_pad_) a["count_include_pad"] = false;
  return nd::op("Pooling", a, {x}, "fwd");
}

std::string PoolND::repr() const {
  return type_name() + "(size=" + tup(opts_.pool_size_) + ", stride=" + tup(opts_.strides_) + ", padding=" +
         tup(opts_.padding_) + ", ceil_mode=" + (opts_.ceil_mode_ ? "True" : "False") + ", global_pool=" +
         (global_ ? "True" : "False") + ", pool_type=" + type_ + ", layout=" + (dims_ == 1 ? "NCW" : "NCDHW") + ")";
}

}  // namespace hgc::gluon::nn
