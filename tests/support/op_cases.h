// The op cases of the differential tests (one compiled op vs the reference evaluator), shared
// with the GPU tests (the same ops lowered to PTX, and run on a device when one exists).
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "hgc/base/error.h"
#include "hgc/ir/graph.h"
#include "hgc/ir/infer.h"
#include "hgc/ir/op.h"
#include "hgc/ir/shape.h"
#include "hgc/base/tensor.h"

namespace hgc::test {

// How to fill an input: uniform in [lo, hi), integers when `integral`.
struct Gen {
  float lo = -1, hi = 1;
  bool integral = false;
  bool spd = false;  // each trailing square matrix M becomes M M^T / n + I (the linalg ops)
};
inline const Gen kAny{}, kPos{0.1f, 2.f}, kSpd{-1.f, 1.f, false, true};
inline Gen ints(int lo, int hi) { return {static_cast<float>(lo), static_cast<float>(hi), true}; }

struct Case {
  std::string op;
  std::map<std::string, std::string> attrs;
  std::vector<Shape> shapes;
  std::vector<Gen> gens = {};  // per input; missing ones use kAny
  DType dtype = DType::f32;    // of every input (integer dtypes take integral values)
};

inline HostTensor fill(const Shape& s, const Gen& g, std::mt19937& rng, DType dt = DType::f32) {
  HostTensor t(dt, s.dims());
  std::uniform_real_distribution<float> u(g.lo, g.hi);
  for (int64_t i = 0; i < t.numel(); ++i) {
    float v = u(rng);
    if (g.integral || dt != DType::f32) v = std::floor(v);
    switch (dt) {
      case DType::i32: t.data<int32_t>()[i] = static_cast<int32_t>(v); break;
      case DType::i64: t.data<int64_t>()[i] = static_cast<int64_t>(v); break;
      case DType::i8: t.data<int8_t>()[i] = static_cast<int8_t>(v); break;
      case DType::u8: t.data<uint8_t>()[i] = static_cast<uint8_t>(v); break;
      case DType::boolean: t.data<uint8_t>()[i] = v != 0; break;
      default: t.data<float>()[i] = v;
    }
  }
  if (g.spd && dt == DType::f32 && s.ndim() >= 2 && s[s.ndim() - 1] == s[s.ndim() - 2]) {
    int64_t n = s[s.ndim() - 1];
    float* p = t.data<float>();
    for (int64_t b = 0; n > 0 && b < t.numel() / (n * n); ++b) {
      std::vector<float> m(p + b * n * n, p + (b + 1) * n * n);
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double acc = i == j ? 1.0 : 0.0;
          for (int64_t k = 0; k < n; ++k) acc += double(m[i * n + k]) * m[j * n + k] / double(n);
          p[b * n * n + i * n + j] = static_cast<float>(acc);
        }
    }
  }
  return t;
}

// The case as a one-op graph with inferred shapes, its input values (by variable name and in
// order) drawn from `rng`.
struct CaseGraph {
  Graph g;
  std::map<std::string, HostTensor> vars;
  std::vector<HostTensor> inputs;
};
inline CaseGraph case_graph(const Case& c, std::mt19937& rng) {
  CaseGraph out;
  Graph& g = out.g;
  std::map<std::string, HostTensor>& vars = out.vars;
  std::vector<HostTensor>& inputs = out.inputs;
  const OpDef& def = OpRegistry::global().get(c.op);
  AttrMap typed;
  for (const auto& [k, v] : c.attrs) typed[k] = parse_attr(*def.attr_spec(k), v);
  Names names = def.input_names(AttrView(def, typed, "case"));
  std::vector<ValueRef> ins;
  InferOptions io;
  for (size_t i = 0; i < c.shapes.size(); ++i) {
    std::string name = "in" + std::to_string(i) + "_" + names[i];
    ins.push_back({g.add_variable(name), 0});
    io.shapes[name] = c.shapes[i];
    io.dtypes[name] = c.dtype;
    inputs.push_back(fill(c.shapes[i], i < c.gens.size() ? c.gens[i] : kAny, rng, c.dtype));
    vars[name] = inputs.back();
  }
  int id = g.add_node(c.op, "n", ins, typed);
  for (int k = 0; k < g.nodes[id].op->num_visible_outputs(g.nodes[id].attr_view()); ++k) g.heads.push_back({id, k});
  infer(g, io);
  return out;
}

// Runs `check` on every case with its op named in failures; an hgc::Error fails that case
// and the run goes on to the next.
inline void each_case(const std::vector<Case>& cases, const std::function<void(const Case&)>& check) {
  for (const Case& c : cases) {
    CAPTURE(c.op);
    try {
      check(c);
    } catch (const Error& e) {
      FAIL_CHECK(c.op << ": " << std::string(e.what()));
    }
  }
}

inline std::vector<Case> unary_cases() {
  std::vector<Case> cases;
  for (const char* op : {"relu", "sigmoid", "tanh", "exp", "expm1", "abs", "negative", "square", "sign", "floor", "ceil",
                         "round", "rint", "trunc", "fix", "erf", "sin", "cos", "arctan", "sinh", "cosh", "arcsinh",
                         "degrees", "radians", "softsign", "_copy", "BlockGrad", "logical_not", "cbrt", "tan"})
    for (Shape s : {Shape{7}, Shape{3, 5}, Shape{2, 1, 4}, Shape{0, 3}})
      cases.push_back({op, {}, {s}, {kAny}});
  for (const char* op : {"log", "sqrt", "rsqrt", "log1p", "log2", "log10", "reciprocal", "rcbrt", "arccosh"})
    cases.push_back({op, {}, {Shape{4, 6}}, {Gen{1.1f, 3.f}}});
  for (const char* op : {"arcsin", "arccos", "arctanh"}) cases.push_back({op, {}, {Shape{9}}, {Gen{-0.9f, 0.9f}}});
  // The special functions written as series (erfinv, gamma, gammaln), incl. gamma's
  // reflection below 0.5.
  cases.push_back({"erfinv", {}, {Shape{4, 9}}, {Gen{-0.99f, 0.99f}}});
  cases.push_back({"gamma", {}, {Shape{3, 8}}, {Gen{0.2f, 6.f}}});
  cases.push_back({"gamma", {}, {Shape{8}}, {Gen{-0.9f, -0.1f}}});
  cases.push_back({"gammaln", {}, {Shape{3, 8}}, {Gen{0.05f, 30.f}}});
  cases.push_back({"gammaln", {}, {Shape{8}}, {Gen{-1.9f, -1.1f}}});
  cases.push_back({"_hgc_digamma", {}, {Shape{3, 8}}, {Gen{0.05f, 30.f}}});
  cases.push_back({"_hgc_digamma", {}, {Shape{8}}, {Gen{-2.9f, -2.1f}}});
  for (const char* act : {"relu", "sigmoid", "tanh", "softrelu", "softsign", "log_sigmoid", "mish"})
    cases.push_back({"Activation", {{"act_type", act}}, {Shape{3, 17}}, {Gen{-6, 6}}});
  for (const char* act : {"leaky", "elu", "selu", "gelu", "rrelu"})
    cases.push_back({"LeakyReLU", {{"act_type", act}, {"slope", "0.3"}}, {Shape{2, 3, 4}}, {Gen{-3, 3}}});
  cases.push_back({"LeakyReLU", {{"act_type", "prelu"}}, {Shape{2, 3, 4}, Shape{3}}, {Gen{-3, 3}, kAny}});
  cases.push_back({"hard_sigmoid", {}, {Shape{10}}, {Gen{-4, 4}}});
  cases.push_back({"clip", {{"a_min", "-0.3"}, {"a_max", "0.5"}}, {Shape{4, 4}}});
  cases.push_back({"_contrib_div_sqrt_dim", {}, {Shape{2, 3, 16}}});
  cases.push_back({"LogisticRegressionOutput", {}, {Shape{4, 2}, Shape{4, 2}}});
  return cases;
}

inline std::vector<Case> binary_cases() {
  std::vector<Case> cases;
  for (const char* op : {"elemwise_add", "elemwise_sub", "elemwise_mul", "elemwise_div", "_maximum", "_minimum",
                         "_hypot", "_greater", "_lesser_equal", "_equal", "_logical_and", "_mod"})
    cases.push_back({op, {}, {Shape{3, 4}, Shape{3, 4}}, {ints(-3, 4), ints(1, 4)}});
  const std::vector<std::pair<Shape, Shape>> pairs = {
      {Shape{3, 4}, Shape{3, 4}}, {Shape{3, 4}, Shape{1, 4}}, {Shape{3, 1}, Shape{1, 4}}, {Shape{2, 3, 4}, Shape{4}},
      {Shape{1}, Shape{5, 2}},    {Shape{2, 1, 3}, Shape{1, 4, 1}}, {Shape{0, 4}, Shape{1, 4}}};
  for (const char* op : {"broadcast_add", "broadcast_sub", "broadcast_mul", "broadcast_div", "broadcast_maximum",
                         "broadcast_minimum", "broadcast_greater", "broadcast_lesser", "broadcast_equal",
                         "broadcast_not_equal", "broadcast_greater_equal", "broadcast_logical_or", "broadcast_hypot"})
    for (const auto& [a, b] : pairs) cases.push_back({op, {}, {a, b}, {ints(-2, 3), ints(1, 3)}});
  cases.push_back({"broadcast_power", {}, {Shape{3, 4}, Shape{1, 4}}, {kPos, kAny}});
  cases.push_back({"broadcast_mod", {}, {Shape{3, 4}, Shape{3, 1}}, {Gen{-5, 5}, Gen{0.5f, 2}}});
  for (const char* op : {"_plus_scalar", "_minus_scalar", "_rminus_scalar", "_mul_scalar", "_div_scalar",
                         "_rdiv_scalar", "_maximum_scalar", "_minimum_scalar", "_greater_scalar", "_lesser_scalar",
                         "_equal_scalar", "_not_equal_scalar", "_greater_equal_scalar", "_lesser_equal_scalar",
                         "_hypot_scalar", "_mod_scalar", "_rmod_scalar"})
    cases.push_back({op, {{"scalar", "0.5"}}, {Shape{2, 5}}, {Gen{0.25f, 2}}});
  cases.push_back({"_power_scalar", {{"scalar", "2.5"}}, {Shape{6}}, {kPos}});
  cases.push_back({"_rpower_scalar", {{"scalar", "1.5"}}, {Shape{6}}});
  cases.push_back({"add_n", {{"num_args", "3"}}, {Shape{2, 3}, Shape{2, 3}, Shape{2, 3}}});
  cases.push_back({"where", {}, {Shape{3, 4}, Shape{3, 4}, Shape{3, 4}}, {ints(0, 2)}});
  cases.push_back({"where", {}, {Shape{3}, Shape{3, 4}, Shape{3, 4}}, {ints(0, 2)}});
  cases.push_back({"zeros_like", {}, {Shape{2, 2}}});
  cases.push_back({"ones_like", {}, {Shape{2, 2}}});
  return cases;
}

inline std::vector<Case> reduction_cases() {
  std::vector<Case> cases;
  for (const char* op : {"sum", "mean", "max", "min", "prod"}) {
    cases.push_back({op, {}, {Shape{3, 4, 5}}});
    cases.push_back({op, {{"axis", "1"}}, {Shape{3, 4, 5}}});
    cases.push_back({op, {{"axis", "(0, 2)"}, {"keepdims", "True"}}, {Shape{3, 4, 5}}});
    cases.push_back({op, {{"axis", "1"}, {"exclude", "True"}}, {Shape{3, 4, 5}}});
    cases.push_back({op, {{"axis", "-1"}}, {Shape{6, 1}}});
  }
  for (const char* op : {"argmax", "argmin"}) {
    cases.push_back({op, {{"axis", "1"}}, {Shape{3, 7}}, {ints(-3, 3)}});  // ties: the first index wins
    cases.push_back({op, {{"axis", "0"}, {"keepdims", "True"}}, {Shape{5, 4}}});
    cases.push_back({op, {}, {Shape{2, 3, 4}}});
  }
  for (const char* op : {"softmax", "log_softmax", "softmin"}) {
    cases.push_back({op, {}, {Shape{4, 10}}, {Gen{-5, 5}}});
    cases.push_back({op, {{"axis", "1"}}, {Shape{2, 5, 3}}, {Gen{-5, 5}}});
    cases.push_back({op, {{"axis", "0"}, {"temperature", "2.0"}}, {Shape{3, 4}}, {Gen{-5, 5}}});
    // Rows of 32 (the vectorized loops, no remainder) and of 37 (a remainder), with values
    // wide enough that exp(x) alone would overflow float (the row maximum is subtracted).
    cases.push_back({op, {}, {Shape{2, 3, 32}}, {Gen{-100, 100}}});
    cases.push_back({op, {{"temperature", "0.5"}}, {Shape{3, 37}}, {Gen{-60, 60}}});
  }
  cases.push_back({"SoftmaxOutput", {}, {Shape{4, 7}, Shape{4}}});
  cases.push_back({"SoftmaxOutput", {{"multi_output", "True"}}, {Shape{2, 3, 5}, Shape{2, 5}}});
  cases.push_back({"SoftmaxActivation", {}, {Shape{3, 6}}});
  cases.push_back({"SoftmaxActivation", {{"mode", "channel"}}, {Shape{2, 3, 4}}});
  cases.push_back({"LayerNorm", {}, {Shape{2, 3, 8}, Shape{8}, Shape{8}}});
  cases.push_back({"LayerNorm", {{"axis", "1"}, {"eps", "0.01"}}, {Shape{2, 5, 3}, Shape{5}, Shape{5}}});
  cases.push_back({"BatchNorm", {{"fix_gamma", "False"}}, {Shape{2, 3, 4, 4}, Shape{3}, Shape{3}, Shape{3}, Shape{3}},
                   {kAny, kAny, kAny, kAny, kPos}});
  cases.push_back({"BatchNorm", {}, {Shape{4, 5}, Shape{5}, Shape{5}, Shape{5}, Shape{5}}, {kAny, kAny, kAny, kAny, kPos}});
  cases.push_back({"L2Normalization", {}, {Shape{3, 4, 2}}});
  cases.push_back({"norm", {}, {Shape{3, 4, 5}}});
  cases.push_back({"norm", {{"ord", "1"}, {"axis", "(1,)"}}, {Shape{3, 4, 5}}});
  cases.push_back({"norm", {{"axis", "(0, 2)"}, {"keepdims", "True"}}, {Shape{3, 4, 5}}});
  cases.push_back({"argmax_channel", {}, {Shape{3, 5, 2}}, {ints(-3, 3)}});
  cases.push_back({"InstanceNorm", {}, {Shape{2, 3, 4, 5}, Shape{3}, Shape{3}}});
  cases.push_back({"InstanceNorm", {{"eps", "0.01"}}, {Shape{2, 3, 7}, Shape{3}, Shape{3}}});
  cases.push_back({"GroupNorm", {{"num_groups", "2"}}, {Shape{2, 4, 3, 3}, Shape{2}, Shape{2}}});
  cases.push_back({"GroupNorm", {}, {Shape{3, 6, 2}, Shape{1}, Shape{1}}});
  // The ordering ops (continuous random values: no ties).
  cases.push_back({"topk", {{"k", "2"}}, {Shape{3, 7}}});
  cases.push_back({"topk", {{"k", "3"}, {"axis", "0"}, {"ret_typ", "value"}}, {Shape{5, 4}}});
  cases.push_back({"topk", {{"k", "2"}, {"ret_typ", "both"}, {"is_ascend", "True"}, {"axis", "1"}}, {Shape{2, 6, 3}}});
  cases.push_back({"topk", {{"k", "2"}, {"ret_typ", "mask"}}, {Shape{4, 5}}});
  cases.push_back({"topk", {{"k", "4"}, {"axis", "None"}, {"ret_typ", "value"}}, {Shape{3, 4}}});
  cases.push_back({"sort", {}, {Shape{3, 7}}});
  cases.push_back({"sort", {{"axis", "0"}, {"is_ascend", "False"}}, {Shape{5, 3}}});
  cases.push_back({"argsort", {}, {Shape{2, 6}}});
  cases.push_back({"argsort", {{"axis", "None"}, {"is_ascend", "False"}}, {Shape{2, 3}}});
  cases.push_back({"L2Normalization", {{"mode", "channel"}}, {Shape{2, 3, 4}}});
  cases.push_back({"L2Normalization", {{"mode", "spatial"}}, {Shape{2, 3, 2, 2}}});
  return cases;
}

inline std::vector<Case> movement_cases() {
  std::vector<Case> cases;
  cases.push_back({"transpose", {}, {Shape{2, 3, 4}}});
  cases.push_back({"transpose", {{"axes", "(0, 2, 1, 3)"}}, {Shape{2, 3, 4, 5}}});
  cases.push_back({"SwapAxis", {{"dim1", "0"}, {"dim2", "2"}}, {Shape{2, 3, 4}}});
  cases.push_back({"Reshape", {{"shape", "(-1, 0)"}}, {Shape{2, 3, 4}}});
  cases.push_back({"_np_reshape", {{"newshape", "(4, -1)"}}, {Shape{2, 3, 4}}});
  cases.push_back({"Flatten", {}, {Shape{2, 3, 4}}});
  cases.push_back({"expand_dims", {{"axis", "1"}}, {Shape{2, 3}}});
  cases.push_back({"slice_axis", {{"axis", "1"}, {"begin", "1"}, {"end", "3"}}, {Shape{2, 4, 3}}});
  cases.push_back({"slice_axis", {{"axis", "-1"}, {"begin", "-2"}, {"end", "None"}}, {Shape{2, 4, 3}}});
  cases.push_back({"slice", {{"begin", "(1, 0)"}, {"end", "(3, None)"}}, {Shape{4, 5}}});
  cases.push_back({"slice", {{"begin", "(None, 4)"}, {"end", "(None, 0)"}, {"step", "(1, -2)"}}, {Shape{3, 6}}});
  cases.push_back({"slice_like", {{"axes", "(1,)"}}, {Shape{3, 6}, Shape{3, 2}}});
  cases.push_back({"SliceChannel", {{"num_outputs", "3"}, {"axis", "1"}}, {Shape{2, 6, 2}}});
  cases.push_back({"SliceChannel", {{"num_outputs", "2"}, {"axis", "0"}, {"squeeze_axis", "True"}}, {Shape{2, 3}}});
  cases.push_back({"Concat", {{"num_args", "3"}, {"dim", "1"}}, {Shape{2, 1, 3}, Shape{2, 4, 3}, Shape{2, 2, 3}}});
  cases.push_back({"Concat", {{"num_args", "2"}, {"dim", "0"}}, {Shape{1, 3}, Shape{2, 3}}});
  cases.push_back({"broadcast_axis", {{"axis", "(1,)"}, {"size", "(4,)"}}, {Shape{3, 1, 2}}});
  cases.push_back({"broadcast_to", {{"shape", "(3, 0, 4)"}}, {Shape{1, 2, 1}}});
  cases.push_back({"broadcast_like", {}, {Shape{1, 3}, Shape{4, 3}}});
  cases.push_back({"take", {}, {Shape{5, 3}, Shape{2, 4}}, {kAny, ints(-2, 7)}});
  cases.push_back({"take", {{"axis", "1"}, {"mode", "wrap"}}, {Shape{2, 5, 3}, Shape{4}}, {kAny, ints(-7, 9)}});
  cases.push_back({"Embedding", {{"input_dim", "10"}, {"output_dim", "4"}}, {Shape{3, 5}, Shape{10, 4}}, {ints(0, 12)}});
  cases.push_back({"one_hot", {{"depth", "6"}, {"on_value", "2"}, {"off_value", "-1"}}, {Shape{2, 3}}, {ints(0, 6)}});
  cases.push_back({"SequenceMask", {{"use_sequence_length", "True"}, {"value", "-5"}}, {Shape{5, 3, 2}, Shape{3}},
                   {kAny, ints(0, 6)}});
  cases.push_back({"SequenceMask", {{"use_sequence_length", "True"}, {"axis", "1"}}, {Shape{3, 5}, Shape{3}},
                   {kAny, ints(1, 5)}});
  cases.push_back({"_arange", {{"start", "2"}, {"stop", "11"}, {"step", "1.5"}}, {}});
  cases.push_back({"_arange", {{"start", "4"}, {"repeat", "2"}}, {}});
  cases.push_back({"_zeros", {{"shape", "(2, 3)"}}, {}});
  cases.push_back({"_ones", {{"shape", "(4,)"}}, {}});
  cases.push_back({"_full", {{"shape", "(2, 2)"}, {"value", "3.5"}}, {}});
  cases.push_back({"Cast", {{"dtype", "float32"}}, {Shape{3}}});
  cases.push_back({"stack", {{"num_args", "3"}, {"axis", "1"}}, {Shape{2, 3}, Shape{2, 3}, Shape{2, 3}}});
  cases.push_back({"stack", {{"num_args", "2"}, {"axis", "-1"}}, {Shape{4}, Shape{4}}});
  cases.push_back({"tile", {{"reps", "(2, 3)"}}, {Shape{2, 3}}});
  cases.push_back({"tile", {{"reps", "(2, 1, 2)"}}, {Shape{3, 1}}});
  cases.push_back({"tile", {{"reps", "(3,)"}}, {Shape{2, 4}}});
  cases.push_back({"repeat", {{"repeats", "3"}, {"axis", "1"}}, {Shape{2, 3, 2}}});
  cases.push_back({"repeat", {{"repeats", "2"}}, {Shape{2, 3}}});
  cases.push_back({"reverse", {{"axis", "(1,)"}}, {Shape{2, 5}}});
  cases.push_back({"reverse", {{"axis", "(0, 2)"}}, {Shape{3, 2, 4}}});
  cases.push_back({"depth_to_space", {{"block_size", "2"}}, {Shape{2, 12, 2, 3}}});
  cases.push_back({"space_to_depth", {{"block_size", "2"}}, {Shape{2, 3, 4, 6}}});
  cases.push_back({"pick", {}, {Shape{4, 5}, Shape{4}}, {kAny, ints(-2, 7)}});
  cases.push_back({"pick", {{"axis", "1"}, {"mode", "wrap"}, {"keepdims", "True"}}, {Shape{2, 5, 3}, Shape{2, 1, 3}},
                   {kAny, ints(-7, 9)}});
  cases.push_back({"pick", {{"axis", "0"}}, {Shape{3, 4}, Shape{4}}, {kAny, ints(0, 3)}});
  cases.push_back({"gather_nd", {}, {Shape{3, 4, 2}, Shape{2, 5}}, {kAny, ints(-3, 3)}});
  cases.push_back({"gather_nd", {}, {Shape{4, 3}, Shape{1, 2, 3}}, {kAny, ints(0, 4)}});
  // count_sketch: buckets -1, 5 and 6 fall outside out_dim 5 (dropped); signs -1, 0, 1.
  cases.push_back({"_contrib_count_sketch", {{"out_dim", "5"}}, {Shape{3, 7}, Shape{1, 7}, Shape{1, 7}},
                   {kAny, ints(-1, 7), ints(-1, 2)}});
  cases.push_back({"_contrib_count_sketch", {{"out_dim", "4"}}, {Shape{2, 2, 3, 6}, Shape{1, 6}, Shape{1, 6}},
                   {kAny, ints(0, 4), ints(-1, 2)}});
  // The detection family's generated kernels (anchors from the shape; IoU of box pairs).
  cases.push_back({"_contrib_MultiBoxPrior", {{"sizes", "(0.5, 0.25)"}, {"ratios", "(1, 2, 0.5)"}, {"clip", "True"}},
                   {Shape{2, 3, 3, 5}}});
  cases.push_back({"_contrib_MultiBoxPrior", {{"steps", "(0.2, 0.1)"}, {"offsets", "(0.2, 0.7)"}}, {Shape{1, 1, 4, 2}}});
  cases.push_back({"_contrib_box_iou", {}, {Shape{3, 4}, Shape{2, 2, 4}}, {kPos, kPos}});
  cases.push_back({"_contrib_box_iou", {{"format", "center"}}, {Shape{2, 3, 4}, Shape{5, 4}}, {kPos, kPos}});
  cases.push_back({"_eye", {{"N", "3"}, {"M", "5"}, {"k", "1"}}, {}});
  cases.push_back({"_eye", {{"N", "4"}, {"k", "-2"}}, {}});
  return cases;
}

// Integer arithmetic (MXNet computes in the integer type): elementwise, broadcast and scalar
// ops, clip, where, add_n and reductions over int32, int64, int8 and uint8.
inline std::vector<Case> int_cases() {
  // Divisors stay nonzero (integer division by zero has no MXNet meaning: C++ UB; here 0),
  // and uint8 minuends stay above the subtrahends (wrap-around is C's, the reference
  // saturates).
  std::vector<Case> cases;
  for (DType dt : {DType::i32, DType::i64, DType::i8, DType::u8}) {
    bool u = dt == DType::u8;
    Gen a = u ? Gen{5, 12, true} : Gen{-9, 10, true}, b = Gen{1, 5, true}, neg{-4, 0, true};
    for (const char* op : {"elemwise_add", "elemwise_sub", "elemwise_mul", "elemwise_div", "_mod", "_maximum",
                           "_minimum", "_equal", "_greater", "_lesser_equal", "_logical_and", "_logical_xor"})
      cases.push_back({op, {}, {Shape{3, 5}, Shape{3, 5}}, {a, b}, dt});
    for (const char* op : {"broadcast_add", "broadcast_sub", "broadcast_mul", "broadcast_div", "broadcast_mod",
                           "broadcast_maximum", "broadcast_not_equal", "broadcast_greater_equal", "broadcast_logical_or"})
      cases.push_back({op, {}, {Shape{2, 3, 4}, Shape{3, 1}}, {a, b}, dt});
    if (!u)  // negative divisors: truncating division, mod with the divisor's sign
      for (const char* op : {"elemwise_div", "_mod", "broadcast_mod"}) cases.push_back({op, {}, {Shape{9}, Shape{9}}, {a, neg}, dt});
    cases.push_back({"broadcast_power", {}, {Shape{2, 3}, Shape{3}}, {Gen{0, 4, true}, Gen{0, 3, true}}, dt});
    for (const char* op : {"_plus_scalar", "_minus_scalar", "_mul_scalar", "_div_scalar", "_mod_scalar", "_rmod_scalar",
                           "_maximum_scalar", "_greater_scalar", "_equal_scalar"})
      cases.push_back({op, {{"scalar", "3"}}, {Shape{7}}, {a}, dt});
    cases.push_back({"_rdiv_scalar", {{"scalar", "7"}}, {Shape{7}}, {b}, dt});
    if (!u) cases.push_back({"_rminus_scalar", {{"scalar", "3"}}, {Shape{7}}, {a}, dt});
    for (const char* op : {"abs", "square", "sign", "relu", "logical_not", "floor", "_copy"})
      cases.push_back({op, {}, {Shape{2, 5}}, {u ? Gen{0, 12, true} : a}, dt});
    if (!u) cases.push_back({"negative", {}, {Shape{2, 5}}, {a}, dt});
    cases.push_back({"clip", {{"a_min", u ? "6" : "-2"}, {"a_max", "8"}}, {Shape{9}}, {a}, dt});
    cases.push_back({"add_n", {{"num_args", "3"}}, {Shape{4}, Shape{4}, Shape{4}}, {a, a, a}, dt});
    cases.push_back({"where", {}, {Shape{6}, Shape{6}, Shape{6}}, {Gen{0, 2, true}, a, b}, dt});
    for (const char* op : {"sum", "mean", "max", "min", "prod"}) {
      cases.push_back({op, {{"axis", "1"}}, {Shape{3, 4, 2}}, {u ? Gen{0, 4, true} : Gen{-3, 4, true}}, dt});
      cases.push_back({op, {}, {Shape{2, 3}}, {u ? Gen{0, 3, true} : Gen{-2, 3, true}}, dt});
    }
    cases.push_back({"Cast", {{"dtype", "float32"}}, {Shape{5}}, {a}, dt});
  }
  // An int tensor with a float scalar (is_int=False) gives float64 (MXNet's scalar type rule).
  cases.push_back({"_mul_scalar", {{"scalar", "0.5"}, {"is_int", "False"}}, {Shape{4}}, {Gen{-9, 10, true}}, DType::i32});
  // Bool masks (ONNX And/Or/Xor/Not) take the logical ops and comparisons; results stay 0/1.
  Gen bit{0, 2, true};
  for (const char* op : {"_logical_and", "_logical_or", "_logical_xor", "_equal", "_not_equal", "_maximum"})
    cases.push_back({op, {}, {Shape{3, 5}, Shape{3, 5}}, {bit, bit}, DType::boolean});
  cases.push_back({"broadcast_logical_or", {}, {Shape{2, 3, 4}, Shape{3, 1}}, {bit, bit}, DType::boolean});
  cases.push_back({"logical_not", {}, {Shape{2, 5}}, {bit}, DType::boolean});
  return cases;
}

// MXNet's linalg ops (la_op): products with every transpose/axis/side flag, and the
// factorization and solves on symmetric positive definite inputs (kSpd; their triangles are
// well conditioned too).
inline std::vector<Case> linalg_cases() {
  std::vector<Case> cases;
  cases.push_back({"_linalg_gemm2", {}, {Shape{3, 4}, Shape{4, 5}}});
  cases.push_back({"linalg_gemm2", {{"transpose_a", "True"}, {"alpha", "2"}}, {Shape{2, 4, 3}, Shape{2, 4, 5}}});
  cases.push_back({"_linalg_gemm2", {{"transpose_b", "True"}}, {Shape{2, 1, 3, 4}, Shape{2, 1, 5, 4}}});
  cases.push_back({"_linalg_gemm2", {{"axis", "1"}, {"transpose_a", "True"}, {"transpose_b", "True"}},
                   {Shape{2, 4, 3, 5}, Shape{2, 6, 3, 4}}});
  cases.push_back({"_linalg_gemm", {{"alpha", "0.5"}, {"beta", "-2"}}, {Shape{2, 3, 4}, Shape{2, 4, 2}, Shape{2, 3, 2}}});
  cases.push_back({"_linalg_gemm", {{"transpose_a", "True"}, {"axis", "0"}}, {Shape{4, 3}, Shape{4, 2}, Shape{3, 2}}});
  for (const char* lower : {"True", "False"}) {
    cases.push_back({"_linalg_potrf", {{"lower", lower}}, {Shape{4, 4}}, {kSpd}});
    cases.push_back({"_linalg_potrf", {{"lower", lower}}, {Shape{2, 3, 3, 3}}, {kSpd}});
    cases.push_back({"_linalg_potri", {{"lower", lower}}, {Shape{2, 4, 4}}, {kSpd}});
    for (const char* tr : {"False", "True"})
      for (const char* right : {"False", "True"}) {
        Shape b = std::string(right) == "True" ? Shape{2, 5, 3} : Shape{2, 3, 5};
        for (const char* op : {"_linalg_trsm", "_linalg_trmm"})
          cases.push_back({op, {{"lower", lower}, {"transpose", tr}, {"rightside", right}, {"alpha", "1.5"}},
                           {Shape{2, 3, 3}, b}, {kSpd, kAny}});
      }
  }
  cases.push_back({"_linalg_trsm", {}, {Shape{4, 4}, Shape{4, 1}}, {kSpd, kAny}});
  cases.push_back({"_linalg_syrk", {}, {Shape{3, 4}}});
  cases.push_back({"_linalg_syrk", {{"transpose", "True"}, {"alpha", "0.5"}}, {Shape{2, 3, 4}}});
  cases.push_back({"_linalg_sumlogdiag", {}, {Shape{3, 3}}, {kSpd}});
  cases.push_back({"_linalg_sumlogdiag", {}, {Shape{2, 3, 4, 4}}, {kSpd}});
  for (const char* k : {"0", "1", "-2"}) {
    cases.push_back({"_linalg_extractdiag", {{"offset", k}}, {Shape{2, 4, 4}}});
    cases.push_back({"_linalg_makediag", {{"offset", k}}, {Shape{2, 3}}});
  }
  cases.push_back({"_linalg_makediag", {}, {Shape{4}}});
  cases.push_back({"_linalg_extractdiag", {}, {Shape{3, 3}}});
  return cases;
}

inline std::vector<Case> library_cases() {
  std::vector<Case> cases;
  cases.push_back({"FullyConnected", {{"num_hidden", "7"}}, {Shape{3, 5}, Shape{7, 5}, Shape{7}}});
  cases.push_back({"FullyConnected", {{"num_hidden", "4"}, {"no_bias", "True"}}, {Shape{2, 3, 5}, Shape{4, 15}}});
  cases.push_back({"FullyConnected", {{"num_hidden", "4"}, {"flatten", "False"}}, {Shape{2, 3, 5}, Shape{4, 5}, Shape{4}}});
  cases.push_back({"dot", {}, {Shape{3, 4}, Shape{4, 5}}});
  cases.push_back({"dot", {{"transpose_a", "True"}, {"transpose_b", "True"}}, {Shape{4, 3}, Shape{5, 4}}});
  cases.push_back({"batch_dot", {}, {Shape{2, 3, 4}, Shape{2, 4, 5}}});
  cases.push_back({"batch_dot", {{"transpose_b", "True"}}, {Shape{2, 3, 4}, Shape{2, 5, 4}}});
  cases.push_back({"batch_dot", {{"transpose_a", "True"}}, {Shape{2, 4, 3}, Shape{2, 4, 5}}});
  cases.push_back({"Convolution", {{"kernel", "(3, 3)"}, {"num_filter", "4"}}, {Shape{2, 3, 6, 6}, Shape{4, 3, 3, 3}, Shape{4}}});
  cases.push_back({"Convolution",
                   {{"kernel", "(3, 3)"}, {"num_filter", "4"}, {"stride", "(2, 2)"}, {"pad", "(1, 1)"}, {"dilate", "(2, 1)"},
                    {"num_group", "2"}, {"no_bias", "True"}},
                   {Shape{1, 4, 7, 8}, Shape{4, 2, 3, 3}}});
  cases.push_back({"Convolution", {{"kernel", "(1, 1)"}, {"num_filter", "5"}}, {Shape{2, 3, 4, 4}, Shape{5, 3, 1, 1}, Shape{5}}});
  cases.push_back({"Convolution", {{"kernel", "(3,)"}, {"num_filter", "2"}, {"pad", "(1,)"}}, {Shape{2, 3, 9}, Shape{2, 3, 3}, Shape{2}}});
  for (const char* type : {"max", "avg", "sum"})
    for (const char* conv : {"valid", "full"}) {
      cases.push_back({"Pooling", {{"kernel", "(3, 3)"}, {"stride", "(2, 2)"}, {"pool_type", type}, {"pooling_convention", conv}},
                       {Shape{2, 3, 8, 7}}});
      cases.push_back({"Pooling", {{"kernel", "(3, 3)"}, {"stride", "(2, 2)"}, {"pad", "(1, 1)"}, {"pool_type", type},
                                   {"pooling_convention", conv}}, {Shape{1, 2, 7, 7}}});
    }
  cases.push_back({"Pooling", {{"kernel", "(2, 2)"}, {"pad", "(1, 1)"}, {"pool_type", "avg"}, {"count_include_pad", "False"}},
                   {Shape{1, 2, 5, 5}}});
  cases.push_back({"Pooling", {{"global_pool", "True"}, {"pool_type", "avg"}, {"kernel", "(1, 1)"}}, {Shape{2, 3, 5, 4}}});
  cases.push_back({"Pooling", {{"global_pool", "True"}, {"pool_type", "max"}}, {Shape{2, 3, 5, 4}}});
  cases.push_back({"Pooling", {{"kernel", "(3,)"}, {"pool_type", "max"}}, {Shape{2, 3, 9}}});
  return cases;
}

// The nn_resize family (UpSampling, Crop, BilinearResize2D, AdaptiveAvgPooling2D).
inline std::vector<Case> resize_cases() {
  std::vector<Case> cases;
  cases.push_back({"UpSampling", {{"scale", "2"}, {"sample_type", "nearest"}, {"num_args", "1"}}, {Shape{2, 3, 4, 5}}});
  cases.push_back({"UpSampling", {{"scale", "3"}, {"sample_type", "nearest"}, {"num_args", "1"}}, {Shape{1, 2, 3, 2}}});
  // Several inputs reach the output size by their own factor: 4x4 * 2 = 8x8 = 2x2 * 4.
  cases.push_back({"UpSampling", {{"scale", "2"}, {"sample_type", "nearest"}, {"num_args", "3"}},
                   {Shape{2, 3, 4, 4}, Shape{2, 2, 2, 2}, Shape{2, 1, 8, 8}}});
  cases.push_back({"UpSampling", {{"scale", "2"}, {"sample_type", "nearest"}, {"num_args", "2"}, {"multi_input_mode", "sum"}},
                   {Shape{1, 3, 4, 3}, Shape{1, 3, 8, 6}}});
  for (const char* s : {"2", "3", "4"})
    cases.push_back({"UpSampling", {{"scale", s}, {"sample_type", "bilinear"}, {"num_args", "2"}, {"num_filter", "3"}},
                     {Shape{2, 3, 4, 5}, Shape{3, 1, 2 * std::stoi(s) - std::stoi(s) % 2, 2 * std::stoi(s) - std::stoi(s) % 2}}});
  cases.push_back({"Crop", {{"num_args", "1"}, {"h_w", "(3, 4)"}, {"offset", "(1, 2)"}}, {Shape{2, 3, 5, 7}}});
  cases.push_back({"Crop", {{"num_args", "2"}, {"center_crop", "True"}}, {Shape{2, 3, 6, 7}, Shape{1, 1, 3, 4}}});
  for (const char* align : {"True", "False"}) {
    cases.push_back({"_contrib_BilinearResize2D", {{"height", "7"}, {"width", "9"}, {"align_corners", align}}, {Shape{2, 3, 4, 5}}});
    cases.push_back({"_contrib_BilinearResize2D", {{"height", "3"}, {"width", "2"}, {"align_corners", align}}, {Shape{1, 2, 7, 6}}});
    cases.push_back({"_contrib_BilinearResize2D", {{"mode", "like"}, {"align_corners", align}}, {Shape{1, 2, 5, 5}, Shape{1, 1, 8, 1}}});
  }
  cases.push_back({"_contrib_BilinearResize2D", {{"scale_height", "1.5"}, {"scale_width", "0.5"}}, {Shape{1, 2, 4, 6}}});
  cases.push_back({"_contrib_BilinearResize2D", {{"mode", "to_odd_up"}}, {Shape{1, 2, 4, 5}}});
  cases.push_back({"_contrib_AdaptiveAvgPooling2D", {{"output_size", "(3, 2)"}}, {Shape{2, 3, 7, 5}}});
  cases.push_back({"_contrib_AdaptiveAvgPooling2D", {{"output_size", "(4,)"}}, {Shape{1, 2, 10, 9}}});
  cases.push_back({"_contrib_AdaptiveAvgPooling2D", {}, {Shape{2, 2, 3, 4}}});
  cases.push_back({"_contrib_AdaptiveAvgPooling2D", {{"output_size", "(5, 6)"}}, {Shape{1, 1, 3, 4}}});  // upsampling windows
  return cases;
}

}  // namespace hgc::test
