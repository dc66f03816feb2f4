// HybridBlock::export_onnx: MXNet's export (symbol JSON + params of the predict-mode graph),
// inferred at the given input shapes, written as ONNX by the ONNX library's writer.
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <unistd.h>

#include "hgc/base/error.h"
#include "hgc/frontend/gluon/block.h"
#include "hgc/ir/infer.h"
#include "hgc/ir/json_io.h"
#include "hgc/onnx/onnx.h"
#include "hgc/runtime/tensor_io.h"

namespace hgc::gluon {

void HybridBlock::export_onnx(const std::string& path, const std::map<std::string, std::vector<int64_t>>& input_shapes,
                              int opset) const {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("hgc-export-onnx-" + std::to_string(::getpid()) + "-" + std::to_string(reinterpret_cast<uintptr_t>(this)));
  fs::create_directories(dir);
  struct Cleanup {
    fs::path d;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(d, ec);
    }
  } cleanup{dir};
  std::string prefix = (dir / "m").string();
  export_model(prefix, 0);
  Graph g = load_json_file(prefix + "-symbol.json");
  InferOptions io;
  for (const auto& [n, s] : input_shapes) io.shapes[n] = Shape(s);
  std::map<std::string, OnnxTensor> values;
  for (auto& [n, t] : hgc::load_params(prefix + "-0000.params")) {
    OnnxTensor o;
    o.dtype = t.dtype();
    o.shape = t.shape();
    o.bytes.assign(static_cast<const char*>(t.raw()), t.nbytes());
    std::string key = strip_param_prefix(n);
    io.shapes[key] = Shape(o.shape);
    io.dtypes[key] = o.dtype;
    values[key] = std::move(o);
  }
  infer(g, io);
  write_onnx_file(path, g, values, opset);
}

}  // namespace hgc::gluon
