// The op registry: one OpDef record per op, defined in ir/ops/<family>.cc.
//
//   const OpDef& fc = OpRegistry::global().get("FullyConnected");
//   fc.attr_spec("num_hidden");  fc.has(kTraitGemm);
//
// Defining an op (inside a family file's register function):
//
//   r.add("relu").unary().traits(kElementwise | kInplace).shape(same_shape);
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <source_location>
#include <string>
#include <vector>

#include "hgc/ir/attr_view.h"
#include "hgc/base/dtype.h"
#include "hgc/ir/shape.h"

namespace hgc {

// Traits are data that passes query; passes never switch on op names.
enum OpTrait : uint32_t {
  kElementwise = 1u << 0,   // out[i] depends on in[i] only (same shape)
  kBroadcast = 1u << 1,     // numpy-style broadcasting of its inputs
  kReduce = 1u << 2,        // reduces over axes
  kInjective = 1u << 3,     // movement: each output element reads one input element
  kInplace = 1u << 4,       // output may alias its first input
  kRandom = 1u << 5,        // draws random numbers (never CSE'd or constant-folded)
  kAuxState = 1u << 6,      // has aux-state inputs it may update
  kGemm = 1u << 7,          // GEMM-shaped work (library call)
  kTrainingOnly = 1u << 8,  // identity in predict mode (Dropout)
  kLoss = 1u << 9,          // *Output ops: forward is identity-like, backward is the loss grad
  kSource = 1u << 10,       // no data inputs (_zeros, _arange)
  kStateful = 1u << 11,     // depends on hidden state (never CSE'd)
  kSubgraph = 1u << 12,     // computes node.subgraphs[0] (a fused kernel group)
};

using Names = std::vector<std::string>;

// Context for shape inference of one node. `in` holds the input shapes (incl. aux) and may
// be completed by the rule (deferred parameter dims); `out` receives output shapes.
struct ShapeCtx {
  const AttrView& attrs;
  const Names& input_names;
  std::vector<Shape>& in;
  std::vector<Shape>& out;
  // Throws hgc::Error naming the node and op.
  [[noreturn]] void error(const std::string& msg) const;
  // Merges `s` into input i (naming the input on conflict).
  void assign_in(int i, const Shape& s) const;
  // Merges `s` into output i.
  void assign_out(int i, const Shape& s) const;
};
// Returns false when not enough is known yet.
using ShapeFn = std::function<bool(ShapeCtx&)>;

struct TypeCtx {
  const AttrView& attrs;
  std::vector<DType>& in;
  std::vector<DType>& out;
  [[noreturn]] void error(const std::string& msg) const;
};
using TypeFn = std::function<bool(TypeCtx&)>;

using NamesFn = std::function<Names(const AttrView&)>;
using CountFn = std::function<int(const AttrView&)>;

// Slots filled by later layers (autodiff, compiler); opaque to ir.
class OpRegistry;
struct GradRule;
struct LoweringRule;

struct OpDef {
  std::string name;
  // The op's family: the stem of the ir/ops/<family>.cc file whose register function added
  // it (taken from the add() call site, so it cannot disagree with where the record is). Its
  // lowering, gradient rule and reference kernel are registered from same-named files.
  std::string family;
  Names aliases;
  std::vector<AttrSpec> attrs;
  NamesFn input_names;     // data and parameter inputs, then aux states, in MXNet's order
  int num_aux = 0;         // trailing inputs that are aux states
  Names aux_inputs;        // aux states named where they sit (a fused op's BatchNorm statistics)
  Names param_inputs;      // input names that are learnable parameters ("weight", "bias")
  bool variadic = false;   // input count comes from an attribute (num_args)
  CountFn num_outputs;     // all outputs
  CountFn num_visible_outputs;  // outputs a user sees (BatchNorm: 1 of 3)
  NamesFn output_names;
  uint32_t traits = 0;
  ShapeFn infer_shape;
  TypeFn infer_type;
  const GradRule* grad = nullptr;
  const LoweringRule* lowering = nullptr;

  bool has(uint32_t t) const { return (traits & t) == t; }
  const AttrSpec* attr_spec(const std::string& n) const;
};

// Chained setters used by the family files.
class OpBuilder {
 public:
  OpBuilder(OpRegistry& r, OpDef& d) : r_(r), d_(d) {}
  OpBuilder& alias(std::string a);
  OpBuilder& attr(AttrSpec s);
  OpBuilder& inputs(Names names);
  OpBuilder& inputs(NamesFn fn);
  // One input named "data".
  OpBuilder& unary() { return inputs(Names{"data"}); }
  OpBuilder& binary() { return inputs(Names{"lhs", "rhs"}); }
  OpBuilder& aux(int n) { d_.num_aux = n; return *this; }
  OpBuilder& aux_inputs(Names names) { d_.aux_inputs = std::move(names); return *this; }
  OpBuilder& params(Names names);
  // Inputs "arg0".."argN-1" counted by attribute `count_attr`.
  OpBuilder& variadic(const std::string& count_attr);
  OpBuilder& outputs(int n);
  OpBuilder& outputs(CountFn all, CountFn visible);
  OpBuilder& output_names(NamesFn fn);
  OpBuilder& traits(uint32_t t) { d_.traits |= t; return *this; }
  OpBuilder& shape(ShapeFn fn) { d_.infer_shape = std::move(fn); return *this; }
  OpBuilder& type(TypeFn fn) { d_.infer_type = std::move(fn); return *this; }

 private:
  OpRegistry& r_;
  OpDef& d_;
};

class OpRegistry {
 public:
  // The registry with every family registered (built once, thread-safe).
  static const OpRegistry& global();
  // `where` records the op's family (OpDef::family); callers leave it defaulted.
  OpBuilder add(const std::string& name, std::source_location where = std::source_location::current());
  // nullptr when unknown; resolves aliases.
  const OpDef* find(const std::string& name) const;
  // Throws hgc::Error("ir", "unknown op ...").
  const OpDef& get(const std::string& name) const;
  std::vector<const OpDef*> all() const;

 private:
  std::vector<std::unique_ptr<OpDef>> ops_;
  std::map<std::string, const OpDef*> by_name_;
  friend class OpBuilder;
};

// The stem of a source file's name ("ir/ops/nn_norm.cc" -> "nn_norm"): how a registration
// call site names its family.
std::string file_stem(const char* path);

// Common rules shared by the family files.
namespace rules {
// out[0] = in[0]; all inputs must agree.
bool same_shape(ShapeCtx& c);
// numpy broadcasting of in[0] and in[1].
bool broadcast_shape(ShapeCtx& c);
// All inputs and outputs share one dtype.
bool same_type(TypeCtx& c);
// Broadcast two shapes; nullopt when incompatible.
std::optional<Shape> broadcast(const Shape& a, const Shape& b);
}  // namespace rules

}  // namespace hgc
