// Private to compiler/: what an imperative call compiles, decided from shapes and dtypes alone
// (no data). The one place that makes an imperative kernel's cache key and MLIR text, shared
// by invoke() and the build-time tool that prebuilds the common kernels (compiler/prebuilt/),
// so a prebuilt kernel is exactly the kernel invoke() would have compiled.
//
//   auto call = prepare_imperative("relu"-like op, attrs, {{64, 784}}, {DType::f32}, opts);
//   if (call->lowering->kind == lower::Kind::Kernel) text = call->kernel_text("k");
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hgc/base/attrs.h"
#include "hgc/base/compile_options.h"
#include "hgc/ir/graph.h"
#include "lowering.h"

namespace hgc::compiler_detail {

struct ImperativeCall {
  Graph graph;
  int node = -1;
  const lower::Lowering* lowering = nullptr;
  std::optional<lower::NodeCtx> ctx;         // the concrete shapes
  std::optional<lower::NodeCtx> kernel_ctx;  // the shapes the kernel is generated for
  // A runtime scalar (Lowering::runtime_scalar): its value travels as a trailing 0-d input.
  bool scalar_input = false;
  DType scalar_type = DType::f32;
  double scalar_value = 0;
  // The imperative kernel cache key (Kind::Kernel only): op, attributes, dtypes, shape class,
  // opt level and target CPU.
  std::string key;

  // The kernel as one MLIR function named `name` (Kind::Kernel only).
  std::string kernel_text(const std::string& name) const;
};

// Builds the one-op graph, infers it and decides the kernel signature. Throws hgc::Error
// ("imperative") for unknown ops, missing attributes, and ops without a lowering.
std::unique_ptr<ImperativeCall> prepare_imperative(const std::string& op, const AttrMap& attrs,
                                                   const std::vector<std::vector<int64_t>>& shapes,
                                                   const std::vector<DType>& dtypes, const CompileOptions& opts);

}  // namespace hgc::compiler_detail
