// The compiler's lowering records: one per op (by the op record's canonical name), defined
// in compiler/src/lower/<family>.cc, the family of the op's record (OpDef::family); each
// registration remembers its file so a test can check that (hgc/compiler/lowerings.h). A lowering turns a node into either MLIR text inside a
// kernel, a view of its input (no code), or a library call (GEMM-shaped work on OpenBLAS).
#pragma once
#include <functional>
#include <map>
#include <source_location>
#include <string>
#include <vector>

#include "hgc/ir/graph.h"
#include "hgc/runtime/executable.h"
#include "kernel_writer.h"

namespace hgc::lower {

// What a lowering knows about the node it lowers (shapes are inferred and static).
struct NodeCtx {
  const Node& node;
  AttrView attrs;
  std::vector<Dims> in_shapes;
  std::vector<DType> in_types;
  std::vector<Dims> out_shapes;
  std::vector<DType> out_types;
  // For lowerings with runtime_scalar: the `scalar` attribute is not baked into the code but
  // read from one extra trailing input, a 0-d tensor of the output's dtype (the imperative
  // road passes it, so one kernel serves every value).
  bool scalar_input = false;
  [[noreturn]] void error(const std::string& msg) const;
};

enum class Kind { Kernel, View, Library };

// Emits code computing every output: `ins` are the input tensors, `outs` the destinations;
// the lowering binds each output with w.result(i, tensor).
using KernelFn = std::function<void(const NodeCtx&, KernelWriter& w, const std::vector<std::string>& ins,
                                    const std::vector<std::string>& outs)>;
using LibraryFn = std::function<LibraryCall(const NodeCtx&)>;

struct Lowering {
  Kind kind = Kind::Kernel;
  KernelFn kernel;
  LibraryFn library;
  // The kernel reads no dim values, only which dims are 1: it can be generated once for
  // shapes whose other dims are dynamic ("?"), so a new batch size reuses the code.
  bool shape_polymorphic = false;
  // The kernel can take its `scalar` attribute as a runtime input (NodeCtx::scalar_input).
  bool runtime_scalar = false;
  // The file that registered it (compiler/src/lower/<family>.cc).
  const char* file = "";
};

class LoweringTable {
 public:
  static const LoweringTable& global();
  // `where` (left defaulted) records the registering file in Lowering::file.
  using Where = std::source_location;
  void add(const std::string& op, Lowering l, Where where = Where::current());
  void kernel(const std::string& op, KernelFn fn, Where where = Where::current()) {
    add(op, {Kind::Kernel, std::move(fn), {}, false}, where);
  }
  void poly_kernel(const std::string& op, KernelFn fn, Where where = Where::current()) {
    add(op, {Kind::Kernel, std::move(fn), {}, true}, where);
  }
  void scalar_kernel(const std::string& op, KernelFn fn, Where where = Where::current()) {
    add(op, {Kind::Kernel, std::move(fn), {}, true, true}, where);
  }
  void view(const std::string& op, Where where = Where::current()) { add(op, {Kind::View, {}, {}, false}, where); }
  void library(const std::string& op, LibraryFn fn, Where where = Where::current()) {
    add(op, {Kind::Library, {}, std::move(fn), false}, where);
  }
  // Ops with no CPU lowering, each with the reason (lower/missing.cc); a test requires every
  // registry op to have a lowering or an entry here.
  void missing(const std::string& op, std::string reason);
  // nullptr when the op has no lowering.
  const Lowering* find(const OpDef& op) const;
  const std::map<std::string, Lowering>& all() const { return by_op_; }
  const std::map<std::string, std::string>& missing_ops() const { return missing_; }
  // " (<reason>)" for an op on the missing list, else "": for the no-lowering errors.
  std::string why_missing(const OpDef& op) const {
    auto it = missing_.find(op.name);
    return it == missing_.end() ? std::string() : " (" + it->second + ")";
  }

 private:
  std::map<std::string, Lowering> by_op_;
  std::map<std::string, std::string> missing_;
};

// Family registration: register_<family> in compiler/src/lower/<family>.cc.
void register_elementwise(LoweringTable& t);
void register_broadcast(LoweringTable& t);
void register_reduce(LoweringTable& t);
void register_movement(LoweringTable& t);
void register_movement_index(LoweringTable& t);
void register_init(LoweringTable& t);
void register_matmul(LoweringTable& t);
void register_nn(LoweringTable& t);
void register_nn_conv(LoweringTable& t);
void register_nn_resize(LoweringTable& t);
void register_nn_norm(LoweringTable& t);
void register_ordering(LoweringTable& t);
void register_random(LoweringTable& t);
void register_linalg(LoweringTable& t);
void register_detection(LoweringTable& t);
void register_fused(LoweringTable& t);
void register_quantization(LoweringTable& t);
void register_missing(LoweringTable& t);  // lower/missing.cc: ops without one, with the reason

}  // namespace hgc::lower
