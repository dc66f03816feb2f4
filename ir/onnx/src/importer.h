// The ONNX importer's working state, shared by the op-family mapping files (map_*.cc):
// ONNX value names resolve either to graph values or to constants (initializers, Constant
// nodes and everything folded from them), so shape computations never reach the graph.
#pragma once
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "hgc/onnx/onnx.h"
#include "onnx/onnx_pb.h"

namespace hgc::onnx_detail {

namespace pb = ::onnx;

// One ONNX value during import.
struct Val {
  bool is_const = false;
  OnnxTensor c;  // when constant
  ValueRef ref;  // when a graph value (or a constant's parameter, once materialized)
  bool has_ref = false;
};

DType dtype_from_onnx(int elem_type, const std::string& where);
int onnx_from_dtype(DType t);
OnnxTensor tensor_from_proto(const pb::TensorProto& t, const std::string& base_dir, const std::string& where);
OnnxTensor make_tensor(DType t, std::vector<int64_t> shape);
void set_elem(OnnxTensor& t, int64_t i, double v);
void set_elem_int(OnnxTensor& t, int64_t i, int64_t v);
OnnxTensor int_tensor(const std::vector<int64_t>& v, bool scalar = false);
std::vector<int64_t> tensor_ints(const OnnxTensor& t);
std::vector<double> tensor_doubles(const OnnxTensor& t);

class Importer {
 public:
  Importer(std::string origin, std::string base_dir, OnnxReadOptions opts)
      : origin_(std::move(origin)), base_dir_(std::move(base_dir)), opts_(std::move(opts)) {}
  OnnxModel run(const pb::ModelProto& m);

  // --- for the mapping functions: the node being mapped ---
  const pb::NodeProto& node() const { return *node_; }
  std::string where() const;
  [[noreturn]] void error(const std::string& msg) const;
  [[noreturn]] void unsupported(OnnxUnsupportedKind k, const std::string& msg) const;
  int64_t opset() const { return opset_; }

  int num_inputs() const { return node_->input_size(); }
  // The input exists and is not the empty name (an omitted optional input).
  bool has_input(int i) const { return i < node_->input_size() && !node_->input(i).empty(); }
  const OnnxTensor* constant(int i);
  const OnnxTensor& need_constant(int i, const std::string& what);
  ValueRef in(int i);  // materializes a constant as a parameter variable
  Shape shape(int i);
  DType dtype(int i);
  int rank(int i);  // throws when unknown

  bool has_attr(const std::string& n) const;
  int64_t attr_i(const std::string& n, int64_t def) const;
  double attr_f(const std::string& n, double def) const;
  std::string attr_s(const std::string& n, const std::string& def) const;
  std::vector<int64_t> attr_ints(const std::string& n) const;
  std::vector<double> attr_floats(const std::string& n) const;
  const pb::AttributeProto* attr(const std::string& n) const;

  // Attributes of `op` from typed values; strings are parsed with the op's schema.
  AttrMap attrs(const std::string& op, const std::vector<std::pair<std::string, AttrValue>>& kv) const;
  // Adds a node (named after the ONNX output) and infers it at once.
  ValueRef add_typed(const std::string& op, std::vector<ValueRef> inputs, AttrMap a);
  ValueRef add(const std::string& op, std::vector<ValueRef> inputs,
               const std::vector<std::pair<std::string, AttrValue>>& kv = {}) {
    return add_typed(op, std::move(inputs), attrs(op, kv));
  }
  ValueRef cast(ValueRef v, DType t);  // no node when already `t`
  // A parameter variable holding `t`; `exact` keeps `hint` as its name (initializers).
  ValueRef const_ref(const OnnxTensor& t, const std::string& hint, bool exact = false);
  ValueRef scalar_ref(double v, DType t) { return const_ref(scalar_tensor(v, t), "const"); }
  static OnnxTensor scalar_tensor(double v, DType t);
  const Shape& shape_of(ValueRef r) const { return g_.shape(r); }
  DType dtype_of(ValueRef r) const { return g_.dtype(r); }
  int64_t node_index() const { return node_index_; }

  void set_output(int k, ValueRef r);
  void set_output(int k, OnnxTensor t);
  int num_outputs() const { return node_->output_size(); }
  bool has_output(int k) const { return k < node_->output_size() && !node_->output(k).empty(); }

 private:
  Val& value(int i);
  void infer_node(int id);
  std::string unique_name(const std::string& base);
  void read_graph_io(const pb::GraphProto& gp);
  void check_type(const pb::TypeProto& t, const std::string& what) const;
  void map_node(const pb::NodeProto& n);

  std::string origin_, base_dir_;
  OnnxReadOptions opts_;
  Graph g_;
  std::map<std::string, Val> values_;
  std::map<std::string, OnnxTensor> params_;
  std::set<std::string> names_;
  std::set<std::string> initializers_;  // names reserved for their own variables
  const pb::NodeProto* node_ = nullptr;
  int64_t node_index_ = 0;
  int64_t opset_ = 0;
  int name_counter_ = 0;
  OnnxModel model_;
};

using MapFn = std::function<void(Importer&)>;
using MapTable = std::map<std::string, MapFn>;
void register_math(MapTable& t);
void register_nn(MapTable& t);
void register_movement(MapTable& t);
void register_extra(MapTable& t);
void register_resize(MapTable& t);
void register_pad(MapTable& t);
void register_misc(MapTable& t);
// MaxPool with dilations: `pads` as [begins..., ends...] over the spatial dims.
void dilated_max_pool(Importer& im, const std::vector<int64_t>& kernel, const std::vector<int64_t>& stride,
                      const std::vector<int64_t>& dil, const std::vector<int64_t>& pads);
// `pads` as ONNX's [begins..., ends...]; mode constant/edge/reflect.
ValueRef pad_tensor(Importer& im, ValueRef x, const std::vector<int64_t>& pads, const std::string& mode, double value);
const MapTable& map_table();
// Evaluates the node when all its inputs are constants and it is a shape-style op the
// folder knows; returns false otherwise (then it is mapped into the graph).
bool try_fold(Importer& im);

}  // namespace hgc::onnx_detail
