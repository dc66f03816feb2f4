// Any registered op by its MXNet name, for layers and custom blocks (mx.nd.<Op>): runs
// imperatively, or records a node when an input is traced.
//
//   NDArray y = nd::op("FullyConnected", {{"num_hidden", int64_t(256)}}, {x, w, b}, "fwd");
//   // in a hybridized block "dense0_": the node is named "dense0_fwd"
#pragma once
#include <string>
#include <vector>

#include "hgc/frontend/nd/ndarray.h"
#include "hgc/base/attrs.h"

namespace hgc::nd {

// The op's visible outputs' first; `name` names the graph node when traced (scoped by the
// block's prefix; empty: "<op>N").
NDArray op(const std::string& op_name, const AttrMap& attrs, const std::vector<NDArray>& inputs,
           const std::string& name = "");
std::vector<NDArray> op_all(const std::string& op_name, const AttrMap& attrs, const std::vector<NDArray>& inputs,
                            const std::string& name = "");

}  // namespace hgc::nd
