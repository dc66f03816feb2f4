// MXNet symbol JSON reader/writer.
//
// Eras: E0 (mxnet < 0.9: `param` + `attr`, [node, index] inputs, BatchNorm without aux
// variables), E1 (`attr`), E2 (`attrs`, `subgraphs`, `control_deps`). Loading normalises all
// of them into one Graph; saving always writes E2 with sorted attributes, so
// load -> save -> load is the identity on the Graph.
#include "hgc/ir/json_io.h"

#include <nlohmann/json.hpp>

#include "hgc/base/error.h"
#include "hgc/base/files.h"
#include "families.h"

namespace hgc {
namespace {

using json = nlohmann::json;

constexpr int kVersion0_9 = 900;
// MXNet's kHiddenKeys: attributes that are not op parameters but annotations.
const char* const kHiddenKeys[] = {"ctx_group",    "lr_mult",     "wd_mult",
                                   "force_mirroring", "mirror_stage", "profiler_scope"};

struct Loader {
  std::string origin;
  int depth = 0;  // subgraph nesting; bounded so hostile files cannot exhaust the stack

  [[noreturn]] void error(const std::string& where, const std::string& msg) const {
    fail("json", origin, ": ", where, ": ", msg);
  }

  const json& field(const json& obj, const char* key, const std::string& where) const {
    auto it = obj.find(key);
    if (it == obj.end()) error(where, std::string("missing \"") + key + "\"");
    return *it;
  }

  std::string str(const json& v, const std::string& where, const char* what) const {
    if (!v.is_string()) error(where, std::string(what) + " must be a string");
    return v.get<std::string>();
  }

  int64_t integer(const json& v, const std::string& where, const char* what) const {
    if (!v.is_number_integer()) error(where, std::string(what) + " must be an integer");
    return v.get<int64_t>();
  }

  // MXNet's rule: "lr_mult" -> "__lr_mult__", "weight_lr_mult" -> "weight___lr_mult__".
  static std::optional<std::string> hidden_name(const std::string& key) {
    // Anything already spelled "...__" is hidden (covers "weight___lr_mult__" on re-load).
    if (key.size() > 4 && key.compare(key.size() - 2, 2, "__") == 0 && key.find("__") < key.size() - 2)
      return key;
    for (const char* h : kHiddenKeys) {
      std::string hk = h;
      if (key == hk) return "__" + hk + "__";
      if (key.size() > hk.size() && key.compare(key.size() - hk.size(), hk.size(), hk) == 0)
        return key.substr(0, key.size() - hk.size()) + "__" + hk + "__";
    }
    return std::nullopt;
  }

  void read_attrs(Node& n, const json& jn, const std::string& where) const {
    std::map<std::string, std::string> raw;
    for (const char* key : {"param", "attr", "attrs"}) {
      auto it = jn.find(key);
      if (it == jn.end() || it->is_null()) continue;
      if (!it->is_object()) error(where, std::string("\"") + key + "\" must be an object");
      for (auto& [k, v] : it->items()) raw[k] = str(v, where + " attribute '" + k + "'", "value");
    }
    for (const auto& [k, v] : raw) {
      if (n.is_variable()) {
        n.hidden[hidden_name(k).value_or(k)] = v;  // variables keep every annotation verbatim
        continue;
      }
      if (auto h = hidden_name(k)) {
        n.hidden[*h] = v;
        continue;
      }
      if (!n.op) {  // unknown op: keep its attributes as written
        n.attrs[k] = v;
        continue;
      }
      const AttrSpec* spec = n.op->attr_spec(k);
      if (!spec) error(where, "op " + n.op_name + " has no attribute '" + k + "'");
      try {
        n.attrs[k] = parse_attr(*spec, v);
      } catch (const Error& e) {
        error(where, "attribute '" + k + "': " + std::string(e.what()).substr(7));
      }
    }
    if (n.op)
      for (const AttrSpec& s : n.op->attrs)
        if (!s.default_value && !n.attrs.count(s.name))
          error(where, "required attribute '" + s.name + "' of " + n.op_name + " is missing");
  }

  ValueRef entry(const json& e, const std::vector<int>& remap, Graph& g,
                 const std::string& where) const {
    if (!e.is_array() || e.size() < 2 || e.size() > 3)
      error(where, "an input must be [node, output] or [node, output, version]");
    int64_t src = integer(e[0], where, "input node");
    int64_t idx = integer(e[1], where, "input output index");
    if (src < 0 || src >= static_cast<int64_t>(remap.size()))
      error(where, "input refers to node " + std::to_string(src) +
                       " which is not an earlier node (nodes must be topologically ordered)");
    Node& p = g.nodes[remap[src]];
    // An unknown op's output count is whatever its consumers reference.
    if (!p.op && !p.is_variable() && idx >= 0 && idx < 4096 &&
        idx >= static_cast<int64_t>(p.out_shapes.size()))
      p.out_shapes.resize(idx + 1);
    if (idx < 0 || idx >= p.num_outputs())
      error(where, "input refers to output " + std::to_string(idx) + " of " + p.describe() +
                       ", which has " + std::to_string(p.num_outputs()) + " output(s)");
    return {remap[src], static_cast<int>(idx)};
  }

  Graph load(const json& j) const {
    Graph g = load_nodes(j);
    for (Node& n : g.nodes)  // output counts of unknown ops were only needed while loading
      if (!n.op && !n.is_variable()) n.out_dtypes.assign(n.out_shapes.size(), DType::unknown);
    return g;
  }

  Graph load_nodes(const json& j) const {
    if (!j.is_object()) error("top level", "must be an object");
    Graph g;
    if (auto a = j.find("attrs"); a != j.end() && a->is_object()) {
      for (auto& [k, v] : a->items()) {
        if (k == "mxnet_version") {
          if (v.is_array() && v.size() == 2 && v[1].is_number_integer())
            g.mxnet_version = v[1].get<int>();
          else
            error("attrs", "mxnet_version must be [\"int\", N]");
        } else {
          g.extra_attrs[k] = v.dump();
        }
      }
    } else {
      g.mxnet_version = 800;  // files without a version predate 0.9 (MXNet's rule)
    }
    const json& nodes = field(j, "nodes", "top level");
    if (!nodes.is_array()) error("top level", "\"nodes\" must be an array");
    std::vector<int> remap;  // file node id -> graph node id
    remap.reserve(nodes.size());
    for (size_t i = 0; i < nodes.size(); ++i) {
      const json& jn = nodes[i];
      std::string where = "node " + std::to_string(i);
      if (!jn.is_object()) error(where, "must be an object");
      Node n;
      n.name = str(field(jn, "name", where), where, "\"name\"");
      where += " '" + n.name + "'";
      n.op_name = str(field(jn, "op", where), where, "\"op\"");
      if (!n.is_variable()) n.op = OpRegistry::global().find(n.op_name);
      read_attrs(n, jn, where + " (" + n.op_name + ")");
      const json& ins = field(jn, "inputs", where);
      if (!ins.is_array()) error(where, "\"inputs\" must be an array");
      if (n.is_variable() && !ins.empty()) error(where, "a variable cannot have inputs");
      for (const json& e : ins) n.inputs.push_back(entry(e, remap, g, where));
      if (auto cd = jn.find("control_deps"); cd != jn.end()) {
        if (!cd->is_array()) error(where, "\"control_deps\" must be an array");
        for (const json& d : *cd) {
          int64_t k = integer(d, where, "control dependency");
          if (k < 0 || k >= static_cast<int64_t>(remap.size()))
            error(where, "control dependency on node " + std::to_string(k) + " out of range");
          n.control_deps.push_back(remap[k]);
        }
      }
      if (auto sg = jn.find("subgraphs"); sg != jn.end()) {
        if (!sg->is_array()) error(where, "\"subgraphs\" must be an array");
        if (depth >= 16) error(where, "subgraphs nested more than 16 deep");
        for (const json& s : *sg)
          n.subgraphs.push_back(
              std::make_shared<Graph>(Loader{origin + ":" + n.name, depth + 1}.load(s)));
        ops::hoist_subgraph_attrs(n, where);
      }
      if (n.op) check_arity(g, n, where);
      g.nodes.push_back(std::move(n));
      remap.push_back(static_cast<int>(g.nodes.size()) - 1);
    }
    const json& heads = field(j, "heads", "top level");
    if (!heads.is_array() || heads.empty()) error("heads", "must be a non-empty array");
    for (const json& h : heads) g.heads.push_back(entry(h, remap, g, "heads"));
    if (auto an = j.find("arg_nodes"); an != j.end()) {
      if (!an->is_array()) error("arg_nodes", "must be an array");
      for (const json& a : *an) {
        int64_t k = integer(a, "arg_nodes", "entry");
        if (k < 0 || k >= static_cast<int64_t>(remap.size()) || !g.nodes[remap[k]].is_variable())
          error("arg_nodes", "entry " + std::to_string(k) + " is not a variable node");
      }
    }
    return g;
  }

  // Before 0.9, ops could omit trailing inputs (BatchNorm's aux states); MXNet's upgrade
  // creates variables named "<node>_<input>" for them. Later files must be complete.
  void check_arity(Graph& g, Node& n, const std::string& where) const {
    Names names = n.op->input_names(n.attr_view());
    if (n.inputs.size() == names.size()) return;
    if (n.inputs.size() < names.size() && g.mxnet_version < kVersion0_9) {
      for (size_t k = n.inputs.size(); k < names.size(); ++k) {
        int v = g.add_variable(n.name + "_" + names[k]);
        n.inputs.push_back({v, 0});
      }
      return;
    }
    std::string list;
    for (const auto& s : names) list += (list.empty() ? "" : ", ") + s;
    error(where + " (" + n.op_name + ")", "has " + std::to_string(n.inputs.size()) +
                                              " inputs, expected " +
                                              std::to_string(names.size()) + " (" + list + ")");
  }
};

json entry_json(const ValueRef& v) { return json::array({v.node, v.index, 0}); }

json save_graph(const Graph& g) {
  json nodes = json::array();
  json arg_nodes = json::array();
  json row_ptr = json::array({0});
  int rows = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    json jn;
    jn["op"] = n.op_name;
    jn["name"] = n.name;
    std::map<std::string, std::string> attrs(n.hidden.begin(), n.hidden.end());
    for (const auto& [k, v] : n.attrs)
      if (!ops::is_hoisted_attr(n, k)) attrs[k] = format_attr(v);
    if (!attrs.empty()) jn["attrs"] = attrs;  // std::map: sorted keys
    json ins = json::array();
    for (const ValueRef& v : n.inputs) ins.push_back(entry_json(v));
    jn["inputs"] = ins;
    if (!n.control_deps.empty()) jn["control_deps"] = n.control_deps;
    if (!n.subgraphs.empty()) {
      json sgs = json::array();
      for (const auto& s : n.subgraphs) sgs.push_back(save_graph(*s));
      jn["subgraphs"] = sgs;
    }
    nodes.push_back(std::move(jn));
    if (n.is_variable()) arg_nodes.push_back(i);
    rows += n.num_outputs();
    row_ptr.push_back(rows);
  }
  json heads = json::array();
  for (const ValueRef& h : g.heads) heads.push_back(entry_json(h));
  json attrs = json::object();
  for (const auto& [k, v] : g.extra_attrs) attrs[k] = json::parse(v);
  attrs["mxnet_version"] = json::array({"int", g.mxnet_version});
  json j;
  j["nodes"] = nodes;
  j["arg_nodes"] = arg_nodes;
  j["node_row_ptr"] = row_ptr;
  j["heads"] = heads;
  j["attrs"] = attrs;
  return j;
}

}  // namespace

Graph load_json(const std::string& text, const std::string& origin) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    fail("json", origin, ": malformed JSON at byte ", e.byte, ": ", e.what());
  }
  return Loader{origin}.load(j);
}

Graph load_json_file(const std::string& path) { return load_json(read_file(path, "json"), path); }

std::string save_json(const Graph& g, int indent) { return save_graph(g).dump(indent); }

void save_json_file(const Graph& g, const std::string& path) {
  write_file_atomic(path, save_json(g) + "\n", "json");
}

}  // namespace hgc
