// Symbols: the user-visible side of tracing (MXNet's mx.sym). A hybrid block called on a
// symbol returns the graph of its computation, which prints, serializes and exports.
//
//   using namespace hgc::gluon;
//   Symbol x = sym::var("data");
//   std::cout << x;                    // <Symbol data>
//   Symbol y = (*net)(x);
//   std::cout << y;                    // <Symbol hybridsequential0_dense2_fwd>
//   std::string json = y.to_json();    // nodes, arg_nodes, node_row_ptr, heads, attrs
//   y.save("model-symbol.json");
#pragma once
#include <ostream>
#include <string>
#include <vector>

#include "hgc/frontend/nd/ndarray.h"
#include "hgc/ir/graph.h"

namespace hgc::gluon {

class Symbol {
 public:
  Symbol() = default;
  // Traced values of one graph (what Block::operator() on symbols returns).
  explicit Symbol(std::vector<NDArray> outputs);

  // The node name of the first output.
  std::string name() const;
  size_t num_outputs() const { return outputs_.size(); }
  const std::vector<NDArray>& outputs() const { return outputs_; }
  NDArray output(size_t i = 0) const { return outputs_.at(i); }
  // Variables that are no aux states (data and parameters), in graph order.
  std::vector<std::string> list_arguments() const;
  std::vector<std::string> list_auxiliary_states() const;
  // The nodes that compute the outputs (unreachable ones dropped), heads set.
  Graph graph() const;
  std::string to_json() const;
  void save(const std::string& path) const;
  // "<Symbol name>"
  std::string str() const;

 private:
  std::vector<NDArray> outputs_;
};

std::ostream& operator<<(std::ostream& os, const Symbol& s);

namespace sym {
// A placeholder; `shape` may be empty (unknown) or hold 0 dims (unknown).
Symbol var(const std::string& name, const std::vector<int64_t>& shape = {}, DType dtype = DType::f32);
}  // namespace sym

// The subgraph of `g` reachable from `heads`, renumbered, with those heads.
Graph prune_graph(const Graph& g, const std::vector<ValueRef>& heads);

}  // namespace hgc::gluon
