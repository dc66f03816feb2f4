#include "hgc/ir/graph.h"

#include <algorithm>

#include "hgc/base/error.h"

namespace hgc {
namespace {
const OpDef& variable_def() {
  static OpDef d = [] {
    OpDef v;
    v.name = "null";
    return v;
  }();
  return d;
}
}  // namespace

int Node::num_outputs() const {
  if (is_variable()) return 1;
  if (!op) return std::max<int>(1, static_cast<int>(out_shapes.size()));
  return op->num_outputs(attr_view());
}

int Node::num_visible_outputs() const {
  if (!op) return num_outputs();
  return op->num_visible_outputs(attr_view());
}

AttrView Node::attr_view() const { return AttrView(op ? *op : variable_def(), attrs, describe()); }

std::string Node::describe() const {
  return "node '" + name + "' (" + (is_variable() ? std::string("variable") : op_name) + ")";
}

Names input_names(const Node& n) {
  if (n.op) return n.op->input_names(n.attr_view());
  Names names;
  for (size_t i = 0; i < n.inputs.size(); ++i) names.push_back("arg" + std::to_string(i));
  return names;
}

int Graph::add_variable(const std::string& name) {
  Node n;
  n.name = name;
  nodes.push_back(std::move(n));
  return static_cast<int>(nodes.size()) - 1;
}

int Graph::add_node(const std::string& op, const std::string& name, std::vector<ValueRef> inputs,
                    AttrMap attrs) {
  Node n;
  n.name = name;
  n.op_name = op;
  n.op = &OpRegistry::global().get(op);
  n.attrs = std::move(attrs);
  for (const ValueRef& v : inputs)
    if (v.node < 0 || v.node >= static_cast<int>(nodes.size()))
      fail("ir", "node '", name, "' (", op, "): input refers to missing node ", v.node);
  n.inputs = std::move(inputs);
  nodes.push_back(std::move(n));
  return static_cast<int>(nodes.size()) - 1;
}

int Graph::find(const std::string& name) const {
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].name == name) return static_cast<int>(i);
  return -1;
}

std::vector<int> Graph::variable_ids() const {
  std::vector<int> ids;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].is_variable()) ids.push_back(static_cast<int>(i));
  return ids;
}

VarRole Graph::role(int var_id) const {
  bool param = false;
  for (const Node& n : nodes) {
    if (!n.op) continue;
    Names names = n.op->input_names(n.attr_view());
    int first_aux = static_cast<int>(names.size()) - n.op->num_aux;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (n.inputs[i].node != var_id) continue;
      if (static_cast<int>(i) >= first_aux) return VarRole::AuxState;
      if (i < names.size() && std::find(n.op->aux_inputs.begin(), n.op->aux_inputs.end(), names[i]) !=
                                  n.op->aux_inputs.end())
        return VarRole::AuxState;
      if (i < names.size() && std::find(n.op->param_inputs.begin(), n.op->param_inputs.end(),
                                        names[i]) != n.op->param_inputs.end())
        param = true;
    }
  }
  // Readers of formats without parameter slots (ONNX initializers) mark parameters.
  if (!param && nodes[var_id].hidden.count("__param__")) param = true;
  return param ? VarRole::Parameter : VarRole::Input;
}

std::vector<std::string> Graph::names_with_role(VarRole r) const {
  std::vector<std::string> out;
  for (int id : variable_ids())
    if (role(id) == r) out.push_back(nodes[id].name);
  return out;
}

}  // namespace hgc
