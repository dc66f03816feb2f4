// The naive reference evaluator: the test oracle that compiled graphs are checked against.
// Plain loops in double precision, written for clarity, with MXNet 1.x predict-mode
// semantics. It lives under tests/ and is linked only into the test binary, so production
// code can never come to depend on a second set of kernels.
//
//   Graph g = load_json_file("mlp-symbol.json");
//   infer(g, {{{"data", Shape{2, 512}}}, {}, true});       // every out_shape must be known
//   std::vector<HostTensor> heads = ref::evaluate(g, {{"data", x}, {"fc1_weight", w}, ...});
//   auto all = ref::evaluate_all(g, vars);   all["fc1"];  all["bn0:1"];  // any node output
#pragma once
#include <map>
#include <string>
#include <vector>

#include "hgc/ir/graph.h"
#include "hgc/base/tensor.h"

namespace hgc::ref {

// Evaluates an inferred graph (every node's out_shapes/out_dtypes known) in predict mode.
// `variables` holds every variable the graph reads (inputs, parameters, aux states), with
// the shape and dtype inference gave it. Returns every node output, keyed "name" for
// output 0 and "name:k" for output k > 0 (hidden outputs included); variables map to
// themselves. Throws hgc::Error("reference", ...) naming the node for an unknown or
// unsupported op, an unsupported dtype or a missing/mismatched variable.
std::map<std::string, HostTensor> evaluate_all(const Graph& g,
                                               const std::map<std::string, HostTensor>& variables);

// The graph's heads, in order. Intermediate values are dropped after their last use.
std::vector<HostTensor> evaluate(const Graph& g, const std::map<std::string, HostTensor>& variables);

// Whether the evaluator has a kernel for `op_name` (any registered spelling or alias).
bool supports(const std::string& op_name);

// The canonical op names the evaluator supports, sorted.
std::vector<std::string> supported_ops();

// Canonical op name -> the source file that registered its kernel (ref_<family>.cc).
std::map<std::string, std::string> kernel_files();

}  // namespace hgc::ref
