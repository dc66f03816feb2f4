// ONNX models as hgc graphs.
//
//   OnnxModel m = read_onnx_file("resnet18.onnx", OnnxReadOptions().shape("input", Shape{1, 3, 224, 224}));
//   infer(m.graph, m.infer_options());     // parameters and inputs carry their shapes
//   for (auto& [name, t] : m.params) ...   // initializers, by variable name
//
// Initializers become parameter variables; ONNX ops map to the registry's (MXNet-named) ops;
// shape-computing subgraphs (Shape, Gather, Unsqueeze, Concat, ...) are evaluated while
// reading once the input shapes are known; symbolic dims become unknown dims; external
// tensor data is read from beside the model. Errors are hgc::Error("onnx", ...) naming the
// file and node; what hgc deliberately does not take (float16/string/complex tensors,
// sequences and optionals, training graphs) throws OnnxUnsupported with its category.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "hgc/base/error.h"
#include "hgc/ir/graph.h"
#include "hgc/ir/infer.h"

namespace hgc {

// A dense tensor read from a TensorProto (row-major, little-endian element bytes).
struct OnnxTensor {
  DType dtype = DType::unknown;
  std::vector<int64_t> shape;
  std::string bytes;
  int64_t numel() const;
  // Element i converted to double / int64 (any numeric dtype).
  double as_double(int64_t i) const;
  int64_t as_int(int64_t i) const;
};

// The reason categories of an unsupported model (and nothing else).
enum class OnnxUnsupportedKind { Dtype, SequenceOrOptional, Training };
const char* onnx_unsupported_name(OnnxUnsupportedKind k);  // "dtype", "sequence-or-optional", "training"

class OnnxUnsupported : public Error {
 public:
  OnnxUnsupported(OnnxUnsupportedKind k, const std::string& msg)
      : Error("onnx", std::string("unsupported (") + onnx_unsupported_name(k) + "): " + msg), kind_(k) {}
  OnnxUnsupportedKind kind() const { return kind_; }

 private:
  OnnxUnsupportedKind kind_;
};

struct OnnxReadOptions {
  // Input shapes that replace the declared ones (needed where the model has symbolic dims
  // that shape computations read).
  std::map<std::string, Shape> shapes;
  // Values of inputs, used only where an op needs an input as a constant (a Reshape's
  // shape, a Slice's starts given as graph inputs): the graph is specialized to them, as it
  // is to input shapes.
  std::map<std::string, OnnxTensor> values;
  // When false (default), a shape for a name that is no model input is an error.
  bool ignore_unknown_names = false;
  OnnxReadOptions& shape(const std::string& name, Shape s) {
    shapes[name] = std::move(s);
    return *this;
  }
};

struct OnnxModel {
  Graph graph;
  // Initializers (and folded constants) that the graph still reads, by variable name.
  std::map<std::string, OnnxTensor> params;
  std::vector<std::string> inputs;   // the model's real inputs, in order
  std::vector<std::string> outputs;  // ONNX output names, one per graph head
  std::map<std::string, Shape> input_shapes;  // declared or given; symbolic dims unknown
  std::map<std::string, DType> input_dtypes;
  int64_t ir_version = 0;
  int64_t opset = 0;
  // Shapes and dtypes of inputs and parameters, ready for hgc::infer.
  InferOptions infer_options() const;
};

OnnxModel read_onnx_file(const std::string& path, const OnnxReadOptions& opts = {});
// `origin` names the source in errors; external data is looked up under `base_dir`.
OnnxModel read_onnx_bytes(const std::string& bytes, const std::string& origin, const std::string& base_dir,
                          const OnnxReadOptions& opts = {});
// The names of the model's real inputs (not initializers), in order, without reading its
// nodes; throws OnnxUnsupported for non-tensor inputs or outputs.
std::vector<std::string> read_onnx_input_names(const std::string& path);
// The declared element types of the model's real inputs (or its outputs), in order.
std::vector<DType> read_onnx_dtypes(const std::string& path, bool outputs = false);
// A serialized TensorProto (the backend test data's input_K.pb / output_K.pb).
OnnxTensor read_onnx_tensor_file(const std::string& path);
// Export: `g` inferred (every shape known), `params` the values of its parameters and aux
// states by name (the rest of its variables become graph inputs). The model passes
// onnx::checker's full check (with shape inference) or this throws.
std::string write_onnx_bytes(const Graph& g, const std::map<std::string, OnnxTensor>& params, int64_t opset = 17);
void write_onnx_file(const std::string& path, const Graph& g, const std::map<std::string, OnnxTensor>& params,
                     int64_t opset = 17);
// True for paths ending in ".onnx".
bool is_onnx_path(const std::string& path);

}  // namespace hgc
