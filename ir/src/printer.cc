#include "hgc/ir/printer.h"

#include <algorithm>
#include <iomanip>
#include <sstream>

namespace hgc {
namespace {

std::string value_name(const Graph& g, const ValueRef& v) {
  std::string s = "%" + g.nodes[v.node].name;
  return v.index ? s + ":" + std::to_string(v.index) : s;
}

std::string role_name(VarRole r) {
  switch (r) {
    case VarRole::Input: return "input";
    case VarRole::Parameter: return "param";
    case VarRole::AuxState: return "aux";
  }
  return "?";
}

std::string type_str(const Node& n, size_t k) {
  if (k >= n.out_shapes.size()) return "?";
  std::string t = k < n.out_dtypes.size() ? dtype_name(n.out_dtypes[k]) : "?";
  return n.out_shapes[k].str() + " " + (t == "unknown" ? "?" : t);
}

// Attributes worth a glance: the ones the file set, in name order.
std::string attr_str(const Node& n) {
  std::string s;
  for (const auto& [k, v] : n.attrs) s += (s.empty() ? "" : ", ") + k + "=" + format_attr(v);
  return s;
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB"};
  int u = 0;
  while (b >= 1024 && u < 3) b /= 1024, ++u;
  std::ostringstream os;
  os << std::fixed << std::setprecision(u ? 1 : 0) << b << " " << units[u];
  return os.str();
}

}  // namespace

std::string print_text(const Graph& g, const PrintOptions& o) {
  std::ostringstream os;
  std::vector<VarRole> roles(g.nodes.size(), VarRole::Input);
  for (int id : g.variable_ids()) roles[id] = g.role(id);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (n.is_variable()) {
      os << std::left << std::setw(6) << role_name(roles[i]) << " %" << n.name << " : "
         << type_str(n, 0) << "\n";
      continue;
    }
    os << "node   ";
    int nout = n.num_outputs(), vis = n.op ? n.num_visible_outputs() : nout;
    for (int k = 0; k < vis; ++k) os << (k ? ", " : "") << value_name(g, {int(i), k});
    os << " = " << n.op_name << (n.op ? "" : " [unknown op]") << "(";
    for (size_t k = 0; k < n.inputs.size(); ++k) os << (k ? ", " : "") << value_name(g, n.inputs[k]);
    os << ")";
    std::string a = attr_str(n);
    if (!a.empty()) os << " {" << a << "}";
    os << " : ";
    for (int k = 0; k < vis; ++k) os << (k ? ", " : "") << type_str(n, k);
    if (nout > vis) os << "  (+" << nout - vis << " hidden output" << (nout - vis > 1 ? "s" : "") << ")";
    os << "\n";
    for (const auto& sub : n.subgraphs) {  // a kernel group: its members, in order
      os << "         members:";
      for (const Node& m : sub->nodes)
        if (!m.is_variable()) os << " " << m.op_name << "(" << m.name << ")";
      os << "\n";
    }
  }
  os << "heads  ";
  for (size_t k = 0; k < g.heads.size(); ++k) os << (k ? ", " : "") << value_name(g, g.heads[k]);
  os << "\n";
  if (!o.summary) return os.str();

  std::map<std::string, int> hist;
  std::vector<std::string> unknown;
  int64_t param_count = 0;
  double param_bytes = 0;
  bool params_known = true;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (!n.is_variable()) {
      ++hist[n.op_name];
      if (!n.op && std::find(unknown.begin(), unknown.end(), n.op_name) == unknown.end())
        unknown.push_back(n.op_name);
    } else if (roles[i] != VarRole::Input) {
      if (n.out_shapes.empty() || !n.out_shapes[0].known()) {
        params_known = false;
        continue;
      }
      param_count += n.out_shapes[0].numel();
      param_bytes += double(n.out_shapes[0].numel()) * dtype_size(n.out_dtypes[0]);
    }
  }
  std::vector<std::pair<std::string, int>> ops(hist.begin(), hist.end());
  std::sort(ops.begin(), ops.end(), [](auto& a, auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  os << "\nsummary\n  nodes: " << g.nodes.size() << " (" << g.variable_ids().size()
     << " variables, " << g.nodes.size() - g.variable_ids().size() << " ops)\n  ops:";
  for (const auto& [name, c] : ops) os << " " << name << " x" << c;
  os << "\n  parameters: ";
  if (params_known)
    os << param_count << " values, " << human_bytes(param_bytes) << "\n";
  else
    os << "unknown until input shapes are given (--shape)\n";
  os << "  inputs:";
  for (int id : g.variable_ids())
    if (roles[id] == VarRole::Input) os << " " << g.nodes[id].name << " " << type_str(g.nodes[id], 0) << ";";
  os << "\n  outputs:";
  for (const ValueRef& h : g.heads) os << " " << value_name(g, h) << " " << type_str(g.nodes[h.node], h.index) << ";";
  os << "\n";
  if (!unknown.empty()) {
    os << "  unknown ops (load and dump only; cannot be executed):";
    for (const auto& u : unknown) os << " " << u;
    os << "\n";
  }
  return os.str();
}

namespace {
std::string dot_escape(const std::string& s) {
  std::string r;
  for (char c : s) {
    if (c == '"' || c == '\\') r += '\\';
    r += c;
  }
  return r;
}
}  // namespace

std::string print_dot(const Graph& g) {
  std::ostringstream os;
  os << "digraph hgc {\n  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n";
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (n.is_variable()) {
      VarRole r = g.role(static_cast<int>(i));
      os << "  n" << i << " [shape=ellipse, style=filled, fillcolor=\""
         << (r == VarRole::Input ? "#cfe8ff" : "#eeeeee") << "\", label=\""
         << dot_escape(n.name) << "\\n" << dot_escape(type_str(n, 0)) << "\"];\n";
    } else {
      // Kernel groups stand out in green and list their members.
      std::string label = dot_escape(n.op_name) + "\\n" + dot_escape(n.name);
      for (const auto& sub : n.subgraphs)
        for (const Node& m : sub->nodes)
          if (!m.is_variable()) label += "\\n  " + dot_escape(m.op_name);
      os << "  n" << i << " [shape=box, style=filled, fillcolor=\""
         << (!n.subgraphs.empty() ? "#c9f2c7" : n.op ? "#fff2cc" : "#f4cccc") << "\", label=\"" << label << "\"];\n";
    }
  }
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const ValueRef& v : g.nodes[i].inputs)
      os << "  n" << v.node << " -> n" << i << " [label=\""
         << dot_escape(type_str(g.nodes[v.node], v.index)) << "\", fontsize=8];\n";
  for (size_t k = 0; k < g.heads.size(); ++k)
    os << "  out" << k << " [shape=plaintext, label=\"output " << k << "\"];\n  n"
       << g.heads[k].node << " -> out" << k << ";\n";
  os << "}\n";
  return os.str();
}

}  // namespace hgc
