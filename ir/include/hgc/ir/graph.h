// The graph IR: an SSA graph of op nodes and variables, MXNet's symbol model.
//
//   Graph g = load_json_file("mlp-symbol.json");
//   infer_shapes(g, {{"data", Shape{1, 512}}});
//   for (const Node& n : g.nodes) std::cout << n.name << " " << n.out_shapes[0].str();
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hgc/ir/attr_view.h"
#include "hgc/base/dtype.h"
#include "hgc/ir/op.h"
#include "hgc/ir/shape.h"

namespace hgc {

// One output of one node.
struct ValueRef {
  int node = -1;
  int index = 0;
  bool operator==(const ValueRef& o) const { return node == o.node && index == o.index; }
  bool operator<(const ValueRef& o) const {
    return node != o.node ? node < o.node : index < o.index;
  }
};

struct Graph;

struct Node {
  std::string name;
  // "null" for variables; the spelling the file used (an alias stays an alias).
  std::string op_name = "null";
  // nullptr for variables and for ops the registry does not know.
  const OpDef* op = nullptr;
  // Attributes the file set (typed for known ops, strings for unknown ones).
  AttrMap attrs;
  // `__key__` attributes (shape/dtype hints on variables, lr_mult, ctx_group, ...), verbatim.
  std::map<std::string, std::string> hidden;
  std::vector<ValueRef> inputs;
  std::vector<int> control_deps;
  std::vector<std::shared_ptr<Graph>> subgraphs;
  // Filled by inference; one entry per output.
  std::vector<Shape> out_shapes;
  std::vector<DType> out_dtypes;

  bool is_variable() const { return op_name == "null"; }
  bool is_known_op() const { return op != nullptr; }
  int num_outputs() const;
  int num_visible_outputs() const;
  AttrView attr_view() const;
  // "node 'fc1' (FullyConnected)": the prefix of every error about this node.
  std::string describe() const;
};

enum class VarRole { Input, Parameter, AuxState };

struct Graph {
  std::vector<Node> nodes;  // topological order
  std::vector<ValueRef> heads;
  // Graph-level attributes other than mxnet_version, as JSON text, kept for round trips.
  std::map<std::string, std::string> extra_attrs;
  int mxnet_version = 10500;

  int add_variable(const std::string& name);
  // Adds an op node; `attrs` are typed already. Returns the node id.
  int add_node(const std::string& op, const std::string& name, std::vector<ValueRef> inputs,
               AttrMap attrs = {});
  int find(const std::string& name) const;  // -1 when absent
  // Variable node ids in node order (MXNet's arg_nodes).
  std::vector<int> variable_ids() const;
  // Aux states are variables used in an aux slot; parameters are variables in a parameter
  // slot (weight, bias, gamma, ...); everything else is an input.
  VarRole role(int var_id) const;
  std::vector<std::string> names_with_role(VarRole r) const;
  // Shape/dtype of a value after inference.
  const Shape& shape(ValueRef v) const { return nodes[v.node].out_shapes[v.index]; }
  DType dtype(ValueRef v) const { return nodes[v.node].out_dtypes[v.index]; }
};

// Names of a node's inputs in MXNet's order ("data", "weight", ...; "arg0".. for unknown ops).
Names input_names(const Node& n);

}  // namespace hgc
