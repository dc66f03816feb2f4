// AMP's cached low-precision weights (frontend-internal; cached_graph.cc uses it).
//
// The amp pass (passes/amp.h) makes a low-precision op read Cast(weight): compiled as it is,
// every call of the block casts every float32 master weight again (one kernel per parameter
// and call, in the forward and again in the gradient graph). Here a hybridized block's graph
// is converted before it is compiled, and each Cast of a parameter variable to the AMP type
// becomes a variable "<param>_amp_<dtype>" that the block binds to Parameter::data_as(dtype):
// cast once, reused until the parameter's values change (an optimizer step, set_data).
//
//   int n = amp::detail::bind_cast_weights(g, DType::bf16, [&](const std::string& v) { return params.count(v); });
//   if (auto w = amp::detail::cast_weight_of("dense0_weight_amp_bfloat16")) ...  // {"dense0_weight", bf16}
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "hgc/base/dtype.h"
#include "hgc/ir/graph.h"

namespace hgc::amp::detail {

// `g` (inferred) with RNN expansion and the amp pass applied as compile() would, then the
// casts of parameter variables (`is_param`) to `target` turned into variables. Returns how many
// such variables it added; `g` stays inferred. The pipeline's own amp pass then finds nothing
// left to convert (it is idempotent).
int bind_cast_weights(Graph& g, DType target, const std::function<bool(const std::string&)>& is_param);
// Only the last step: each Cast of a parameter variable to `target` becomes the variable
// "<param>_amp_<dtype>" in place (node ids unchanged). Returns how many.
int weight_cast_variables(Graph& g, DType target, const std::function<bool(const std::string&)>& is_param);

// The parameter and dtype of a variable bind_cast_weights made, else nullopt.
std::optional<std::pair<std::string, DType>> cast_weight_of(const std::string& variable);

}  // namespace hgc::amp::detail
