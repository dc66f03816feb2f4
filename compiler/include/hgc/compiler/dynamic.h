// One compile for every size of a graph's dynamic axes. A graph is inferred twice: at the
// sizes of a call and at probe sizes (other values on the axes meant to be dynamic); the dims
// that differ between the two are symbolic, and each kernel is written over them (`?` in its
// MLIR types, read off its arguments at run time), so its text, and the compiled module, is
// the same for every size. A new size then costs shape inference, the passes, a step and
// memory plan and library handles: no MLIR/LLVM.
//
//   Graph at8 = g;  infer(at8, {{{"data", Shape{8, 784}}}});
//   Graph at9 = g;  infer(at9, {{{"data", Shape{9, 784}}}});   // the probe
//   auto d = DynamicGraph::create(at8, at9, CompileOptions());
//   auto i8 = d->instantiate(at8);   // i8.compiled: the module was compiled (or disk-loaded)
//   Graph at3 = g;  infer(at3, {{{"data", Shape{3, 784}}}});
//   auto i3 = d->instantiate(at3);   // i3.compiled == false: same kernels, new plan
//
// A graph whose passes turn out differently at the probe (a simplification only one size
// allows) has no symbolic dims (reason()); a size whose prepared graph differs from the
// symbolic one, or binds one symbol to two values, gets kernels with its own shapes, compiled
// for it, with the reason in Instance::reason. Kernels whose lowering must read a symbolic
// dim's value keep concrete shapes (specialized_kernels()); they compile per size.
#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "hgc/base/compile_options.h"
#include "hgc/ir/graph.h"
#include "hgc/runtime/executable.h"

namespace hgc {

class JitModule;

class DynamicGraph {
 public:
  // `at` and `probe`: one graph inferred at two sets of input shapes (fully known).
  static std::shared_ptr<DynamicGraph> create(const Graph& at, const Graph& probe, const CompileOptions& opts);
  // No symbolic dims: every size compiles its own kernels (the same bookkeeping).
  static std::shared_ptr<DynamicGraph> fixed(const CompileOptions& opts);

  struct Instance {
    std::shared_ptr<const Executable> exe;
    bool compiled = false;  // a module this object had not seen: MLIR/LLVM ran (or the disk cache)
    std::string reason;     // why, when compiled
    // Where a new size's time went (ms): the passes, the step and memory plan, the JIT (or
    // module lookup).
    double passes_ms = 0, plan_ms = 0, jit_ms = 0;
  };
  // The executable for `g` (the graph given to create(), inferred at other input shapes).
  Instance instantiate(const Graph& g);

  bool dynamic() const { return dynamic_; }
  // Why there are no symbolic dims (empty when dynamic()).
  const std::string& reason() const { return reason_; }
  // The prepared graph with symbolic dims (ids <= -2, one per distinct symbolic size).
  const Graph& symbolic() const { return symbolic_; }
  // Nodes whose kernels keep concrete shapes, from the last instantiate().
  const std::vector<std::string>& specialized_kernels() const { return specialized_; }
  int modules() const { return static_cast<int>(modules_.size()); }
  // Whether the graph may run as independent row chunks of its batch, one chunk per thread
  // (batch_split_refusal() says why not), and its work per batch row (multiply-adds of its
  // GEMMs and convolutions plus elements written), to size the chunks.
  bool batch_splittable() const { return batch_split_why_.empty(); }
  const std::string& batch_split_refusal() const { return batch_split_why_; }
  int64_t row_cost() const { return row_cost_; }

 private:
  CompileOptions opts_;
  bool dynamic_ = false;
  std::string reason_;
  std::string batch_split_why_ = "no symbolic dims";
  int64_t row_cost_ = 0;
  Graph symbolic_;
  std::vector<std::string> specialized_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<JitModule>> modules_;  // module text -> code
};

// Why `a` and `b` are not the same graph up to shapes (op, attributes, inputs, subgraphs), or
// empty. Names the first differing node.
std::string structure_difference(const Graph& a, const Graph& b);

// `at` (prepared at some sizes) with the dims that differ in `probe` (the same graph prepared
// at other sizes) made symbolic, as DynamicGraph::create does; returns why that is not
// possible (empty when `at` is now symbolic).
std::string symbolize_graph(Graph& at, const Graph& probe);

// Why the symbolic graph `sym` cannot run as row chunks of its batch, or empty: it has one
// symbolic size (the batch), every value carrying it carries it as axis 0 only (outputs
// included), and each op computes row r of its outputs from row r of its inputs (GEMMs,
// convolutions and pooling per sample, elementwise ops, softmax-like ops off axis 0, reshapes
// that keep axis 0, inference BatchNorm and Dropout; no random draws). `row_cost` gets the work
// per row. Implemented in batch_split.cc.
std::string batch_split_refusal(const Graph& sym, int64_t* row_cost);

// The MLIR-type spelling of a shape with symbolic dims ("?x784").
std::string symbolic_str(const std::vector<int64_t>& dims);

}  // namespace hgc
