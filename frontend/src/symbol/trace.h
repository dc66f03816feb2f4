// Tracing (frontend-internal): while a trace is active, NDArray ops on traced values append
// nodes to a graph instead of computing (nd_detail::call_all routes them here).
//
//   auto tg = std::make_shared<TraceGraph>("net0");
//   trace::Activate on(tg);                       // this thread records into tg
//   NDArray x = trace::input(*tg, "data", {1, 512}, DType::f32);
//   NDArray y = nd::relu(x);                       // a node "relu0", no computation
//   tg->graph.heads = {trace::value_ref(y)};
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hgc/frontend/nd/ndarray.h"
#include "hgc/ir/graph.h"

namespace hgc {
namespace gluon {
class Parameter;
}
using gluon::Parameter;

struct TraceGraph {
  explicit TraceGraph(std::string block_name) : block(std::move(block_name)) {}
  Graph graph;
  std::string block;  // who is traced, for errors ("hybridsequential0", "symbol")
  bool training = false;
  // The graph will be compiled and run (hybridize), not only inspected (shape inference,
  // symbols, export): training-mode Dropout and BatchNorm trace their imperative computation
  // (below) instead of the Dropout / BatchNorm ops, which compile to their predict mode.
  bool for_compile = false;
  // Inputs the compiled forward gets from outside at each run, drawn in this order before
  // it (= the order an imperative forward draws them): Dropout's keep masks, from the same
  // global generator as imperatively, so a fixed seed gives the same masks either way.
  struct RandomInput {
    std::string name;
    std::function<NDArray()> draw;  // runs outside any trace
  };
  std::vector<RandomInput> random_inputs;
  // Parameters the forward changes (BatchNorm's running statistics): their new value, an
  // extra output the runner writes back into the parameter after each run.
  std::vector<std::pair<std::shared_ptr<Parameter>, ValueRef>> updates;
  // Name scopes (a block's prefix with fresh per-hint counters, as Gluon's name.Prefix).
  struct Scope {
    std::string prefix;
    std::map<std::string, int> counters;
  };
  std::vector<Scope> scopes;
  std::map<std::string, int> param_nodes;  // parameter name -> variable node
  std::vector<std::shared_ptr<Parameter>> params;  // in first-use order
  std::map<std::string, HostTensor> constants;     // concrete arrays the trace used
};

namespace trace {

// The innermost active trace on this thread, or nullptr.
TraceGraph* active();
std::shared_ptr<TraceGraph> active_ptr();

// Makes `g` this thread's active trace for the guard's lifetime (nests).
class Activate {
 public:
  explicit Activate(std::shared_ptr<TraceGraph> g);
  ~Activate();
  Activate(const Activate&) = delete;
  Activate& operator=(const Activate&) = delete;

 private:
  std::shared_ptr<TraceGraph> g_;
};

// Pushes a name scope (a block's prefix) onto `g` for the guard's lifetime.
class ScopeGuard {
 public:
  ScopeGuard(TraceGraph& g, const std::string& prefix);
  ~ScopeGuard();

 private:
  TraceGraph& g_;
};

// A new graph input (variable) with a possibly partial shape (-1 unknown; empty + !known rank).
NDArray input(const std::shared_ptr<TraceGraph>& g, const std::string& name, const Shape& shape, DType dtype);
// The variable of parameter `p` in the active trace (created at first use).
NDArray parameter(const std::shared_ptr<TraceGraph>& g, const std::shared_ptr<Parameter>& p);
// Records one op on inputs of which at least one is traced; `name` (may be empty) is
// scoped by the current prefix.
std::vector<NDArray> record(const std::string& op, const AttrMap& attrs, const std::vector<NDArray>& inputs,
                            const std::string& name);
ValueRef value_ref(const NDArray& x);
// The traced array of value `v` of `g` (any node's output, e.g. to replay gradient rules).
NDArray value(const std::shared_ptr<TraceGraph>& g, ValueRef v);
// The shape a traced value's node holds now (completed by later inference).
Shape shape_of(const TraceGraph& g, ValueRef v);
// A graph input (a variable named `hint` + a number) that `draw` computes before each run.
NDArray random_input(const std::shared_ptr<TraceGraph>& g, const std::string& hint, const Shape& shape, DType dtype,
                     std::function<NDArray()> draw);
// Parameter `p`'s value at this point of the forward: its last update() in this trace, else
// its variable.
NDArray state(const std::shared_ptr<TraceGraph>& g, const std::shared_ptr<Parameter>& p);
// Records `value` (traced) as `p`'s value after the forward.
void update(const std::shared_ptr<TraceGraph>& g, const std::shared_ptr<Parameter>& p, const NDArray& value);
// Merges `shape` into what the graph knows of traced value `x` (a deferred parameter's dims
// that no op's shape rule infers); throws on a conflict.
void refine_shape(const NDArray& x, const Shape& shape);
// Throws an hgc::Error for an operation that traced values do not support.
[[noreturn]] void unsupported(const NDArray& x, const std::string& what);

}  // namespace trace
}  // namespace hgc
