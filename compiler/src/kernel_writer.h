// Writes one kernel function as MLIR text: memref arguments (inputs, then outputs) wrapped
// as tensors, linalg on tensors, results materialized into the output memrefs. Lowerings
// use it instead of MLIR's C++ builders so they compile without MLIR headers (and the text
// survives MLIR API churn); the JIT parses it.
//
//   KernelWriter w("k0");
//   std::string x = w.input({2, 3}, DType::f32);      // %in0 : tensor<2x3xf32>
//   std::string o = w.output({2, 3}, DType::f32);     // %out0 (destination)
//   std::string r = w.generic({x}, {maps...}, o, ...);
//   w.result(0, r);
//   std::string text = w.finish();
#pragma once
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "hgc/base/dtype.h"

namespace hgc::lower {

// Function attribute of kernels whose output arguments may be the memory of their inputs
// (see KernelWriter::outputs_may_alias; the CPU and GPU pipelines read and drop it).
inline constexpr const char* kOutputsMayAlias = "hgc.outputs_may_alias";
// With kOutputsMayAlias: an output shares memory only with an input of its own element type
// (the same array passed twice), never with one of another width (see outputs_may_alias).
inline constexpr const char* kAliasesKeepDtype = "hgc.aliases_keep_dtype";

using Dims = std::vector<int64_t>;

// "f32", "i64", ...; throws hgc::Error for types the code generator does not handle.
std::string elem_type(DType t);
std::string tensor_type(const Dims& shape, DType t);
std::string memref_type(const Dims& shape, DType t);
// "affine_map<(d0, d1) -> (d0, 0)>" from result expressions over `rank` dims.
std::string affine_map(int rank, const std::vector<std::string>& results);
// Identity map over `rank` dims.
std::string identity_map(int rank);
// Map of a broadcast operand of shape `in` into the iteration space `out` (numpy rules:
// right-aligned; size-1 dims read index 0).
std::string broadcast_map(const Dims& in, const Dims& out);
std::string float_literal(double v, DType t);
// An integer literal of dtype t, saturated to its range; NaN gives 0.
std::string int_literal(double v, DType t);

// Emits scalar ops inside a linalg region; every call returns the SSA name of its result.
class ScalarBuilder {
 public:
  ScalarBuilder(std::ostringstream& os, int& counter, DType t) : os_(os), counter_(counter), t_(t) {}
  DType type() const { return t_; }
  std::string ty() const { return elem_type(t_); }
  // A builder writing into the same body with another element type.
  ScalarBuilder retyped(DType t) const { return ScalarBuilder(os_, counter_, t); }
  std::string constant(double v);
  // `op` like "arith.addf"; operands of the builder's type.
  std::string binary(const std::string& op, const std::string& a, const std::string& b);
  std::string unary(const std::string& op, const std::string& a);
  // A reduction step with reassociation allowed, so LLVM can vectorize the loop (the
  // result may differ from a sequential sum in the last bits).
  std::string reduce_step(const std::string& op, const std::string& acc, const std::string& x);
  // arith.cmpf with `pred` (olt, ogt, oeq, une, oge, ole) -> 1.0 / 0.0 in the builder's type.
  std::string compare(const std::string& pred, const std::string& a, const std::string& b);
  std::string select(const std::string& cond_i1, const std::string& a, const std::string& b);
  std::string cmp_i1(const std::string& pred, const std::string& a, const std::string& b);
  // Any line: "%r = <text>"; returns %r.
  std::string raw(const std::string& text);
  std::string fresh();

 private:
  std::ostringstream& os_;
  int& counter_;
  DType t_;
};

using BodyFn = std::function<std::string(ScalarBuilder&, const std::vector<std::string>& args)>;

class KernelWriter {
 public:
  explicit KernelWriter(std::string name) : name_(std::move(name)) {}

  // Declares the next input argument; returns its tensor SSA name.
  std::string input(const Dims& shape, DType t);
  // Declares the next output argument; returns the destination tensor's SSA name.
  std::string output(const Dims& shape, DType t);
  // Binds the value computed for output `i`.
  void result(int i, const std::string& tensor);
  // Returns and forgets the bound results: a kernel group lowers its members one by one
  // into one function and collects each member's results this way.
  std::vector<std::string> take_results();

  // linalg.generic with `ins` (each with its map), one destination `init` (identity map
  // unless `init_map` is given) and a scalar body over the ins' elements (and the current
  // destination element last when `with_acc`).
  std::string generic(const std::vector<std::string>& ins, const std::vector<std::string>& maps,
                      const std::string& init, const std::string& init_map,
                      const std::vector<std::string>& iterators, DType body_type,
                      const BodyFn& body, bool with_acc = false);
  // Elementwise over the iteration space of `init`'s shape with broadcasting inputs.
  std::string elementwise(const std::vector<std::string>& ins, const std::string& init,
                          DType body_type, const BodyFn& body);
  // linalg.fill of `init` with a constant.
  std::string fill(const std::string& init, double value);
  // tensor.empty of a shape. Symbolic dims (ids <= -2, the same id for the same size; see
  // compiler/include/hgc/compiler/dynamic.h) are read at run time off an argument that has them.
  std::string empty(const Dims& shape, DType t);
  // The SSA index value of symbolic dim `sym` (tensor.dim of the first argument having it).
  std::string dim_value(int64_t sym);
  // Any tensor-valued op: emits "%r = <rhs>" and records the result's type.
  std::string emit(const std::string& rhs, const Dims& shape, DType t);
  // Index of a generic's loop dim `d` inside a body (linalg.index).
  static std::string index_op(int d);

  Dims shape_of(const std::string& tensor) const;
  DType type_of(const std::string& tensor) const;
  std::ostringstream& body() { return body_; }
  std::string fresh();
  std::string finish() const;
  // The caller may pass output buffers that are also input buffers (an in-place step, a
  // GEMM epilogue, an in-place optimizer update): the kernel computes into a temporary and
  // copies it out, which keeps its loops vectorized (a direct write into memory that LLVM
  // sees overlapping an input runs the scalar loop).
  // `keep_dtype`: an output buffer is only ever an input buffer of the output's own dtype
  // (an optimizer's weight, an in-place step of one dtype), so an output of another dtype
  // (the bfloat16 copy an update writes beside the float32 weight) is no input's memory.
  void outputs_may_alias(bool keep_dtype = false) { may_alias_ = true, keep_dtype_ = keep_dtype; }

 private:
  void remember(const std::string& ssa, const Dims& shape, DType t);
  struct Arg {
    Dims shape;
    DType type;
    bool is_output;
    std::string tensor;
  };
  std::string name_;
  std::vector<Arg> args_;
  std::vector<std::string> results_;
  std::ostringstream prologue_, body_;
  std::vector<std::pair<std::string, std::pair<Dims, DType>>> types_;
  int counter_ = 0;
  bool may_alias_ = false;
  bool keep_dtype_ = false;
  std::vector<std::pair<int64_t, std::string>> dim_values_;
};

}  // namespace hgc::lower
