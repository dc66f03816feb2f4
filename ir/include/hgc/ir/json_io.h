// MXNet symbol JSON: load every era (E0 `param`+`attr`, E1 `attr`, E2 `attrs`), save E2.
//
//   Graph g = load_json_file("resnet18-symbol.json");
//   std::string text = save_json(g);        // canonical: sorted attrs, mxnet_version
//   Graph g2 = load_json(text, "<memory>");   // identical graph
#pragma once
#include <string>

#include "hgc/ir/graph.h"

namespace hgc {

// `origin` names the source in errors (a file path or "<memory>").
Graph load_json(const std::string& text, const std::string& origin = "<memory>");
Graph load_json_file(const std::string& path);
std::string save_json(const Graph& g, int indent = 2);
void save_json_file(const Graph& g, const std::string& path);

}  // namespace hgc
