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
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hgc/compiler/compile.h"
#include "hgc/compiler/dynamic.h"
#include "hgc/frontend/gluon/parameter.h"
#include "hgc/runtime/gpu_executable.h"

namespace hgc::gluon {

struct CachedGraph {
  Graph graph;  // as traced or loaded (export writes it)
  std::vector<std::string> input_names;
  std::shared_ptr<const Executable> exe;  // of the latest size run
  struct Source {
    int input = -1;                    // >= 0: the call's input
    std::shared_ptr<Parameter> param;  // else a parameter's current data
    DType cast = DType::unknown;       // with param: its data_as(cast) (AMP's cached weights)
    HostTensor value;                  // else a constant (or zeros for an unbound input)
  };
  std::vector<Source> bind;  // one per executable input (of `exe`)
  std::string block;
  Context ctx;                                 // where it runs
  std::shared_ptr<const GpuExecutable> gpu;    // set for gpu contexts (exe is its step plan)
  std::vector<NDArray> device_values;          // per bind entry: a constant's device copy

  // Symbolic dims (cpu): the kernels, compiled once; per input shapes an executable (its own
  // step and memory plan) and its bindings, the latest `max_sizes` kept.
  std::shared_ptr<DynamicGraph> dyn;
  size_t max_sizes = 16;
  // Called when a size needed a module this graph had not compiled (reason, input signature).
  std::function<void(const std::string&, const std::string&)> on_compile;

  // Infers shapes from the inputs, parameters and constants, compiles, binds. Variables that
  // are neither (labels of loss ops) are bound to zeros of their inferred shape. With
  // `probe_shapes` (the inputs' shapes at other sizes of the dynamic axes; cpu only), the
  // kernels are written over the dims that differ and serve every size.
  static std::shared_ptr<CachedGraph> build(const Graph& g, const std::vector<std::string>& input_names,
                                            const std::vector<NDArray>& xs,
                                            const std::map<std::string, std::shared_ptr<Parameter>>& params,
                                            const std::map<std::string, HostTensor>& constants,
                                            const CompileOptions& opts, const std::string& block,
                                            Context ctx = Context(),
                                            const std::vector<std::vector<int64_t>>& probe_shapes = {},
                                            std::function<void(const std::string&, const std::string&)> on_compile = {});
  std::vector<NDArray> run(const std::vector<NDArray>& xs) const;
  // With CompileOptions::amp on the cpu: how many parameters the graph reads as a cached
  // low-precision copy (amp/weights.h) instead of casting them on every call.
  int cached_weight_casts() const { return cached_weight_casts_; }
  // The constants bound to the graph's variables (by name).
  const std::map<std::string, HostTensor>& constants() const { return constants_; }
  // Executables planned for distinct input shapes so far (sizes served).
  int64_t instances_built() const { return instances_built_; }

 private:
  struct Instance {
    std::vector<std::vector<int64_t>> shapes;
    std::shared_ptr<const Executable> exe;
    std::vector<Source> bind;
  };
  // `graph` inferred at these input shapes; unbound variables' zeros into `zeros`.
  Graph infer_at(const std::vector<std::vector<int64_t>>& shapes, const std::vector<DType>& dtypes,
                 std::map<std::string, HostTensor>* zeros) const;
  const Instance& instance(const std::vector<NDArray>& xs) const;
  const Instance& instance(const std::vector<std::vector<int64_t>>& shapes, const std::vector<DType>& dtypes) const;
  // Batch-split runs (cached_graph_split.cc): how many row chunks of the batch this call runs
  // as (1: whole), and the run itself, one chunk per thread of the pool (false: the chunks'
  // plans are not as analysed, run the call whole).
  // batch_chunks also gives the batch rows of the call (`rows`) when it answers more than 1.
  int batch_chunks(const std::vector<NDArray>& xs, int64_t& rows) const;
  bool run_split(const std::vector<NDArray>& xs, int64_t rows, int chunks, std::vector<NDArray>& res) const;
  // Whole or split, as measured for this batch size: the first calls at a size alternate
  // between the two and time them (false: run it whole, untimed).
  bool run_measured(const std::vector<NDArray>& xs, int64_t rows, int chunks, std::vector<NDArray>& res) const;
  std::vector<NDArray> run_whole(const std::vector<NDArray>& xs) const;
  // The bound pointers of `inst`'s inputs for one call (AMP casts held in `casts`).
  std::vector<const HostTensor*> bound_inputs(const Instance& inst, const std::vector<NDArray>& xs,
                                              std::vector<NDArray>& casts) const;
  std::vector<NDArray> run_device(const std::vector<NDArray>& xs) const;
  std::map<std::string, std::shared_ptr<Parameter>> params_;
  std::map<std::string, HostTensor> constants_;
  std::map<std::string, int> input_pos_;
  CompileOptions opts_;
  std::vector<std::vector<bool>> shown_dynamic_;  // input axes logged as '?'
  mutable std::list<Instance> instances_;
  struct SplitChoice {
    int whole_runs = 0, split_runs = 0;
    double whole_best = 0, split_best = 0;  // seconds, the fastest timed run of each
    int decided = 0;                        // 0: still measuring, 1: whole, 2: split
  };
  mutable std::map<int64_t, SplitChoice> split_choice_;  // by batch rows
  mutable int64_t instances_built_ = 0;
  mutable int cached_weight_casts_ = 0;
};

// "data" for one input, else "data0", "data1", ... (Gluon's names).
std::vector<std::string> default_input_names(size_t n);

// "data=?x784:float32,..." with `dynamic[i]` marking the axes of input i shown as '?'.
std::string signature_str(const std::vector<std::string>& names, const std::vector<std::vector<int64_t>>& shapes,
                          const std::vector<DType>& dtypes, const std::vector<std::vector<bool>>& dynamic = {});

}  // namespace hgc::gluon
