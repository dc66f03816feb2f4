// SymbolBlock: a block that runs a graph, such as one exported by MXNet or by
// HybridBlock::export_model (Gluon's SymbolBlock.imports).
//
//   using namespace hgc::gluon;
//   auto net = SymbolBlock::imports("mlp-symbol.json", {"data"}, "mlp-0000.params");
//   NDArray y = (*net)(x);          // compiled once per input shape, then cached
//   net->collect_params()["hybridsequential0_dense0_weight"]->data();
// Variables that are neither inputs nor parameters (the labels of SoftmaxOutput and other
// loss ops) are fed zeros: their forward does not read them.
//
// As a child of a hybridized block, its graph is inlined into the parent's trace (the
// nodes keep their names, as in Gluon), so the parent compiles and exports as one graph:
//   auto parent = std::make_shared<nn::HybridSequential>();
//   parent->add(SymbolBlock::imports("mlp-symbol.json", {"data"}, "mlp-0000.params"));
//   parent->emplace<nn::Dense>(nn::DenseOptions(2));
//   parent->hybridize();
// Under autograd::record() its ops are taped (one compiled tape node when hybridized), so
// its parameters train. In training mode its Dropout and BatchNorm (mode "training", not
// use_global_stats) nodes compute what nn::Dropout and nn::BatchNorm do: masks from the
// global generator, batch statistics, running statistics (aux states) updated.
#pragma once
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hgc/frontend/gluon/block.h"
#include "hgc/frontend/symbol/symbol.h"

namespace hgc::gluon {

struct CachedGraph;

class SymbolBlock : public HybridBlock {
 public:
  // Parameters are the variables of `graph` other than the inputs (aux states get
  // grad_req "null"); their shapes come from `__shape__` hints (0 dims deferred).
  SymbolBlock(Graph graph, std::vector<std::string> input_names, BlockArgs args = {});
  SymbolBlock(const Symbol& outputs, std::vector<std::string> input_names, BlockArgs args = {});
  ~SymbolBlock() override;
  // Loads `symbol_file`, and `param_file` when given (names with or without arg:/aux:).
  static std::shared_ptr<SymbolBlock> imports(const std::string& symbol_file, const std::vector<std::string>& input_names,
                                              const std::string& param_file = "");
  const Graph& graph() const { return graph_; }
  const std::vector<std::string>& input_names() const { return inputs_; }
  std::string repr() const override;
  // Replays the graph op by op through nd::op: computes on arrays, records into a trace on
  // traced values.
  std::vector<NDArray> hybrid_forward_multi(const std::vector<NDArray>& xs) override;

 protected:
  std::vector<NDArray> run(const std::vector<NDArray>& xs) override;

 private:
  struct Entry;
  // A Dropout or BatchNorm node's training-mode value (nullopt: the node is no such op).
  std::optional<NDArray> train_op(const Node& n, const std::vector<NDArray>& ins, const std::string& who);
  Graph graph_;
  bool trains_ = false;  // has nodes train_op computes
  std::vector<std::string> inputs_;
  std::list<std::shared_ptr<Entry>> cache_;
};

}  // namespace hgc::gluon
