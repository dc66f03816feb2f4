// AMP's cached weights: the graph half (weights.h); the binding is in cached_graph.cc.
#include "amp/weights.h"

#include <map>

#include "hgc/passes/amp.h"
#include "hgc/passes/expand_rnn.h"

namespace hgc::amp::detail {

namespace {
constexpr const char* kInfix = "_amp_";
}

int bind_cast_weights(Graph& g, DType target, const std::function<bool(const std::string&)>& is_param) {
  // The order of compile_passes (pipeline.cc): RNNs expand first, so their GEMMs convert too.
  expand_rnn(g);
  amp_convert(g, AmpOptions().target_dtype(target));
  return weight_cast_variables(g, target, is_param);
}

int weight_cast_variables(Graph& g, DType target, const std::function<bool(const std::string&)>& is_param) {
  std::map<std::string, int> made;  // variable name -> node id
  int count = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& n = g.nodes[i];
    if (!n.op || n.op->name != "Cast" || n.inputs.size() != 1 || n.out_dtypes.size() != 1 || n.out_dtypes[0] != target)
      continue;
    const Node& src = g.nodes[n.inputs[0].node];
    if (!src.is_variable() || src.out_dtypes.empty() || src.out_dtypes[0] != DType::f32 || !is_param(src.name))
      continue;
    std::string name = src.name + kInfix + dtype_name(target);
    if (made.count(name) || g.find(name) >= 0) continue;  // one variable per weight; a name taken: left as is
    // The cast node becomes the variable in place: the node order stays topological and its
    // users read it unchanged.
    Node v;
    v.name = name;
    v.out_shapes = n.out_shapes;
    v.out_dtypes = n.out_dtypes;
    n = std::move(v);
    made[name] = static_cast<int>(i);
    ++count;
  }
  return count;
}

std::optional<std::pair<std::string, DType>> cast_weight_of(const std::string& variable) {
  size_t at = variable.rfind(kInfix);
  if (at == std::string::npos || at == 0) return std::nullopt;
  auto t = dtype_from_name(variable.substr(at + std::string(kInfix).size()));
  if (!t || (*t != DType::bf16 && *t != DType::f16)) return std::nullopt;
  return std::make_pair(variable.substr(0, at), *t);
}

}  // namespace hgc::amp::detail
