// ONNX export of a hybridized block (a free function until the frontend's layout settles;
// it belongs beside HybridBlock::export_model).
//
//   net->hybridize();  (*net)(x);
//   gluon::export_onnx(*net, "net.onnx", {{"data", {1, 784}}});   // checked with onnx::checker
#pragma once
#include <map>
#include <string>
#include <vector>

#include "hgc/frontend/block.h"

namespace hgc::gluon {

// The predict-mode graph export_model writes, inferred at `input_shapes` (by input name:
// data, or data0, data1, ...), as ONNX at `path` (opset 13..17).
void export_onnx(const HybridBlock& block, const std::string& path,
                 const std::map<std::string, std::vector<int64_t>>& input_shapes, int opset = 17);

}  // namespace hgc::gluon
