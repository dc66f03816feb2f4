// Builds a one-op graph from MXNet-style string attributes and runs inference on it, the
// way a loaded JSON file would be inferred. Used by the per-family shape tests.
//
//   auto r = infer_op("FullyConnected", {{"num_hidden", "8"}}, {{2, 5}, {}, {}});
//   r.out[0] == Shape{2, 8};  r.in[1] == Shape{8, 5};
#pragma once
#include <map>
#include <string>
#include <vector>

#include "hgc/ir/graph.h"
#include "hgc/ir/infer.h"

namespace hgc::test {

struct OpResult {
  std::vector<Shape> in;   // inputs after inference (deferred dims filled)
  std::vector<Shape> out;  // outputs
  std::vector<DType> in_types, out_types;
};

// Input shapes: an unknown Shape() leaves that input to be completed by the op. Inputs are
// created as variables named after the op's input names.
OpResult infer_op(const std::string& op, const std::map<std::string, std::string>& attrs,
                  const std::vector<Shape>& inputs, const std::vector<DType>& dtypes = {},
                  bool require_complete = true);

}  // namespace hgc::test
