#include "model_load.h"

#include <cstring>

#include "hgc/ir/json_io.h"

namespace hgc::cli {

HostTensor to_host(const OnnxTensor& t) {
  HostTensor h(t.dtype, t.shape);
  if (h.nbytes() != t.bytes.size()) fail("cli", "tensor of ", h.describe(), " holds ", t.bytes.size(), " bytes");
  if (!t.bytes.empty()) std::memcpy(h.raw(), t.bytes.data(), t.bytes.size());
  return h;
}

Graph load_model(const std::string& path, InferOptions& io, std::map<std::string, HostTensor>& params) {
  if (!is_onnx_path(path)) return load_json_file(path);
  OnnxReadOptions ro;
  ro.shapes = io.shapes;
  ro.ignore_unknown_names = true;  // hgc::infer names a shape for no input
  OnnxModel m = read_onnx_file(path, ro);
  InferOptions mo = m.infer_options();
  for (const auto& [n, s] : mo.shapes)
    if (!io.shapes.count(n) && (s.rank_known() || m.params.count(n))) io.shapes[n] = s;
  for (const auto& [n, d] : mo.dtypes)
    if (!io.dtypes.count(n)) io.dtypes[n] = d;
  for (const auto& [n, t] : m.params)
    if (!params.count(n)) params[n] = to_host(t);
  return std::move(m.graph);
}

}  // namespace hgc::cli
