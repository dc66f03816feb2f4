// A compiled graph bound to its inputs (frontend-internal): what a hybridized block or a
// SymbolBlock runs once its graph is traced or loaded.
//
//   auto c = CachedGraph::build(graph, {"data"}, {x}, params, constants, opts, "net0");
//   std::vector<NDArray> y = c->run({x});   // parameters read at each run (they train)
//
// Built for a gpu(i) context, the graph is compiled to a GpuPlan (PTX) and run on that
// device on the inputs' and parameters' device blocks (all must live on that context);
// the outputs stay there.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hgc/compiler/compile.h"
#include "hgc/frontend/gluon/parameter.h"
#include "hgc/runtime/gpu_executable.h"

namespace hgc::gluon {

struct CachedGraph {
  Graph graph;  // as traced or loaded (export writes it)
  std::vector<std::string> input_names;
  std::shared_ptr<const Executable> exe;
  struct Source {
    int input = -1;                    // >= 0: the call's input
    std::shared_ptr<Parameter> param;  // else a parameter's current data
    HostTensor value;                  // else a constant (or zeros for an unbound input)
  };
  std::vector<Source> bind;  // one per executable input
  std::string block;
  Context ctx;                                 // where it runs
  std::shared_ptr<const GpuExecutable> gpu;    // set for gpu contexts (exe is its step plan)
  std::vector<NDArray> device_values;          // per bind entry: a constant's device copy

  // Infers shapes from the inputs, parameters and constants, compiles, binds. Variables that
  // are neither (labels of loss ops) are bound to zeros of their inferred shape.
  static std::shared_ptr<CachedGraph> build(const Graph& g, const std::vector<std::string>& input_names,
                                            const std::vector<NDArray>& xs,
                                            const std::map<std::string, std::shared_ptr<Parameter>>& params,
                                            const std::map<std::string, HostTensor>& constants,
                                            const CompileOptions& opts, const std::string& block,
                                            Context ctx = Context());
  std::vector<NDArray> run(const std::vector<NDArray>& xs) const;

 private:
  std::vector<NDArray> run_device(const std::vector<NDArray>& xs) const;
};

// "data" for one input, else "data0", "data1", ... (Gluon's names).
std::vector<std::string> default_input_names(size_t n);

}  // namespace hgc::gluon
