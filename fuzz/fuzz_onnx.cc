// libFuzzer target: the ONNX reader and shape inference of what it builds must never crash,
// whatever the bytes; hgc::Error (OnnxUnsupported included) is the only acceptable failure.
#include <cstdint>
#include <string>

#include "hgc/base/error.h"
#include "hgc/ir/infer.h"
#include "hgc/onnx/onnx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    hgc::OnnxModel m = hgc::read_onnx_bytes(bytes, "fuzz.onnx", "/nonexistent");
    hgc::InferOptions o = m.infer_options();
    o.require_complete = false;
    hgc::infer(m.graph, o);
  } catch (const hgc::Error&) {
  }
  return 0;
}
