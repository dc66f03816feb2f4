// Helpers for the reference evaluator's tests: tensors from value lists, one-op graphs run
// through ref::evaluate, and element-wise comparisons.
//
//   auto out = ref_op("softmax", {{"temperature", "2"}}, {tensor({3}, {1, 2, 3})});
//   check_close(values(out[0]), {0.186324, 0.307196, 0.506480});
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "hgc/ir/infer.h"
#include "reference/reference.h"

namespace hgc::test {

// A tensor of `dtype` holding `v` (converted with a plain cast; v.size() must match).
inline HostTensor tensor(std::vector<int64_t> shape, const std::vector<double>& v, DType dtype = DType::f32) {
  HostTensor t(dtype, std::move(shape));
  REQUIRE(static_cast<int64_t>(v.size()) == t.numel());
  for (size_t i = 0; i < v.size(); ++i) {
    switch (dtype) {
      case DType::f32: t.data<float>()[i] = static_cast<float>(v[i]); break;
      case DType::f64: t.data<double>()[i] = v[i]; break;
      case DType::i32: t.data<int32_t>()[i] = static_cast<int32_t>(v[i]); break;
      case DType::i64: t.data<int64_t>()[i] = static_cast<int64_t>(v[i]); break;
      default: FAIL("tensor(): unsupported dtype in the test helper");
    }
  }
  return t;
}

// 0, 1, 2, ... in the given shape.
inline HostTensor iota(std::vector<int64_t> shape, double start = 0) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = start + static_cast<double>(i);
  return tensor(std::move(shape), v);
}

inline std::vector<double> values(const HostTensor& t) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  for (size_t i = 0; i < v.size(); ++i) {
    switch (t.dtype()) {
      case DType::f32: v[i] = t.data<float>()[i]; break;
      case DType::f64: v[i] = t.data<double>()[i]; break;
      case DType::i32: v[i] = t.data<int32_t>()[i]; break;
      case DType::i64: v[i] = t.data<int64_t>()[i]; break;
      default: FAIL("values(): unsupported dtype in the test helper");
    }
  }
  return v;
}

inline void check_close(const std::vector<double>& got, const std::vector<double>& want, double tol = 1e-5) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    CHECK(got[i] == doctest::Approx(want[i]).epsilon(tol).scale(1.0));
  }
}

// Builds a one-op graph whose inputs are variables named after the op's inputs, infers it
// with the given tensors' shapes and dtypes and evaluates every output (hidden included).
inline std::vector<HostTensor> ref_op(const std::string& op, const std::map<std::string, std::string>& attrs,
                                      const std::vector<HostTensor>& inputs) {
  const OpDef& def = OpRegistry::global().get(op);
  AttrMap typed;
  for (const auto& [k, v] : attrs) typed[k] = parse_attr(*def.attr_spec(k), v);
  Names names = def.input_names(AttrView(def, typed, "test"));
  REQUIRE(names.size() == inputs.size());
  Graph g;
  InferOptions o;
  std::map<std::string, HostTensor> vars;
  std::vector<ValueRef> in;
  for (size_t i = 0; i < inputs.size(); ++i) {
    in.push_back({g.add_variable(names[i]), 0});
    o.shapes[names[i]] = Shape(inputs[i].shape());
    o.dtypes[names[i]] = inputs[i].dtype();
    vars[names[i]] = inputs[i];
  }
  int id = g.add_node(op, "test_op", in, typed);
  infer(g, o);
  for (int k = 0; k < g.nodes[id].num_outputs(); ++k) g.heads.push_back({id, k});
  return ref::evaluate(g, vars);
}

}  // namespace hgc::test
