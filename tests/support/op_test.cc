#include "support/op_test.h"

#include "hgc/base/error.h"

namespace hgc::test {

OpResult infer_op(const std::string& op, const std::map<std::string, std::string>& attrs,
                  const std::vector<Shape>& inputs, const std::vector<DType>& dtypes,
                  bool require_complete) {
  const OpDef& def = OpRegistry::global().get(op);
  AttrMap typed;
  for (const auto& [k, v] : attrs) {
    const AttrSpec* spec = def.attr_spec(k);
    if (!spec) fail("test", "op ", op, " has no attribute ", k);
    typed[k] = parse_attr(*spec, v);
  }
  Graph g;
  Names names = def.input_names(AttrView(def, typed, "test"));
  std::vector<ValueRef> in;
  InferOptions o;
  o.require_complete = require_complete;
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::string name = i < names.size() ? names[i] : "in" + std::to_string(i);
    in.push_back({g.add_variable(name), 0});
    if (inputs[i].rank_known()) o.shapes[name] = inputs[i];
    if (i < dtypes.size()) o.dtypes[name] = dtypes[i];
  }
  int id = g.add_node(op, "test_op", in, typed);
  infer(g, o);
  OpResult r;
  for (const ValueRef& v : in) {
    r.in.push_back(g.shape(v));
    r.in_types.push_back(g.dtype(v));
  }
  r.out = g.nodes[id].out_shapes;
  r.out_types = g.nodes[id].out_dtypes;
  return r;
}

}  // namespace hgc::test
