// What the 1-, 2- and 3-D pooling layers share (conv_layers.cc, pool_layers.cc): the Pooling
// op's attributes from the layer's options and Gluon's repr. O is Pool2DOptions or PoolOptions
// (the same fields).
#pragma once
#include <string>
#include <vector>

#include "hgc/frontend/nd/op.h"

namespace hgc::gluon::nn::detail {

// Gluon's tuple spelling: (2, 2), and (2,) for one value.
std::string tup(const std::vector<int64_t>& v);

template <class O>
NDArray pooling(const NDArray& x, const std::string& type, bool global, const O& o) {
  AttrMap a{{"kernel", o.pool_size_}, {"pool_type", type}, {"global_pool", global},
            {"pooling_convention", std::string(o.ceil_mode_ ? "full" : "valid")}};
  if (!global) {
    a["stride"] = o.strides_;
    a["pad"] = o.padding_;
  }
  if (type == "avg" && !o.count_include_pad_) a["count_include_pad"] = false;
  return nd::op("Pooling", a, {x}, "fwd");
}

template <class O>
std::string pooling_repr(const std::string& type_name, const std::string& type, bool global, const O& o,
                         const std::string& layout) {
  return type_name + "(size=" + tup(o.pool_size_) + ", stride=" + tup(o.strides_) + ", padding=" + tup(o.padding_) +
         ", ceil_mode=" + (o.ceil_mode_ ? "True" : "False") + ", global_pool=" + (global ? "True" : "False") +
         ", pool_type=" + type + ", layout=" + layout + ")";
}

}  // namespace hgc::gluon::nn::detail
