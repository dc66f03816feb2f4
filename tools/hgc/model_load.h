// Loading a model by its file type: MXNet symbol JSON or ONNX.
#pragma once
#include <map>
#include <string>

#include "hgc/ir/graph.h"
#include "hgc/ir/infer.h"
#include "hgc/onnx/onnx.h"
#include "hgc/base/tensor.h"

namespace hgc::cli {

HostTensor to_host(const OnnxTensor& t);

// A `.onnx` path is read with the input shapes already in `io` (so shape computations fold);
// its initializers join `params` (a file's parameters win) and its input and parameter
// shapes and dtypes join `io` (given ones win). Anything else is MXNet symbol JSON.
Graph load_model(const std::string& path, InferOptions& io, std::map<std::string, HostTensor>& params);

}  // namespace hgc::cli
