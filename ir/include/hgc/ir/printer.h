// Human-readable views of a graph: one line per node, a summary, and Graphviz.
//
//   std::cout << print_text(g);
#pragma once
#include <string>

#include "hgc/ir/graph.h"

namespace hgc {

struct PrintOptions {
  bool summary = true;
};

std::string print_text(const Graph& g, const PrintOptions& o = {});
std::string print_dot(const Graph& g);

}  // namespace hgc
