// Shape/dtype rules of ir/ops/elementwise.cc, checked against MXNet 1.9 semantics.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "hgc/base/error.h"
#include "hgc/ir/op.h"
#include "support/op_test.h"

using namespace hgc;
using hgc::test::infer_op;

namespace {

const OpDef& op(const std::string& name) { return OpRegistry::global().get(name); }

const std::vector<std::string> kUnaryNames = {
    "exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "rsqrt", "cbrt", "rcbrt",
    "square", "abs", "negative", "reciprocal", "sign", "floor", "ceil", "round", "rint",
    "fix", "trunc", "sigmoid", "tanh", "relu", "softsign", "erf", "erfinv", "gamma",
    "gammaln", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh",
    "arccosh", "arctanh", "degrees", "radians", "logical_not", "identity", "_copy",
    "BlockGrad", "stop_gradient", "make_loss", "hard_sigmoid", "_contrib_div_sqrt_dim", "_hgc_digamma"};

const std::vector<std::string> kScalarNames = {
    "_plus_scalar", "_PlusScalar", "_minus_scalar", "_MinusScalar", "_rminus_scalar",
    "_RMinusScalar", "_mul_scalar", "_MulScalar", "_div_scalar", "_DivScalar",
    "_rdiv_scalar", "_RDivScalar", "_mod_scalar", "_rmod_scalar", "_power_scalar",
    "_PowerScalar", "_rpower_scalar", "_RPowerScalar", "_maximum_scalar", "_MaximumScalar",
    "_minimum_scalar", "_MinimumScalar", "_hypot_scalar", "_equal_scalar",
    "_not_equal_scalar", "_greater_scalar", "_greater_equal_scalar", "_lesser_scalar",
    "_lesser_equal_scalar", "_logical_and_scalar", "_logical_or_scalar",
    "_logical_xor_scalar"};

}  // namespace

TEST_CASE("unary math ops keep shape and dtype and may run in place") {
  for (const std::string& name : kUnaryNames) {
    CAPTURE(name);
    const OpDef& d = op(name);
    CHECK(d.has(kElementwise | kInplace));
    auto r = infer_op(name, {}, {{2, 3}}, {DType::f16});
    CHECK(r.out[0].str() == "(2, 3)");
    CHECK(r.out_types[0] == DType::f16);
  }
}

TEST_CASE("unary aliases resolve to MXNet's primary names") {
  CHECK(op("identity").name == "_copy");
  CHECK(op("stop_gradient").name == "BlockGrad");
  CHECK(op("cast").name == "Cast");
  CHECK(op("ElementWiseSum").name == "add_n");
  CHECK(op("make_loss").has(kLoss));
  CHECK_FALSE(op("relu").has(kLoss));
}

TEST_CASE("hard_sigmoid defaults follow HardSigmoidParam") {
  const OpDef& d = op("hard_sigmoid");
  CHECK(std::get<double>(*d.attr_spec("alpha")->default_value) == doctest::Approx(0.2));
  CHECK(std::get<double>(*d.attr_spec("beta")->default_value) == doctest::Approx(0.5));
  auto r = infer_op("hard_sigmoid", {{"alpha", "0.1"}}, {{4}});
  CHECK(r.out[0].str() == "(4,)");
}

TEST_CASE("elemwise binaries need equal shapes") {
  for (const char* name :
       {"elemwise_add", "_add", "_plus", "_Plus", "elemwise_sub", "_sub", "_minus", "_Minus",
        "elemwise_mul", "_mul", "_Mul", "elemwise_div", "_div", "_Div", "_power", "_Maximum",
        "_equal", "_Greater_Equal", "_logical_xor"}) {
    CAPTURE(name);
    CHECK(op(name).has(kElementwise | kInplace));
    auto r = infer_op(name, {}, {{2, 3}, {2, 3}});
    CHECK(r.out[0].str() == "(2, 3)");
  }
  CHECK(op("_plus").input_names(AttrView(op("_plus"), {}, "t")) == Names{"lhs", "rhs"});
  // The error names the node and the op as the file spelled it.
  CHECK_THROWS_WITH_AS(infer_op("_plus", {}, {{2, 3}, {3, 2}}),
                       doctest::Contains("node 'test_op' (_plus)"), Error);
  CHECK_THROWS_AS(infer_op("elemwise_mul", {}, {{2, 3}, {2, 3}}, {DType::f32, DType::i32}),
                  Error);
}

TEST_CASE("elemwise binaries complete an unknown operand") {
  auto r = infer_op("elemwise_add", {}, {{2, 3}, Shape()});
  CHECK(r.in[1].str() == "(2, 3)");
  r = infer_op("elemwise_sub", {}, {{2, Shape::kUnknownDim}, {Shape::kUnknownDim, 5}});
  CHECK(r.out[0].str() == "(2, 5)");
  CHECK(r.in[0].str() == "(2, 5)");
  CHECK(r.in[1].str() == "(2, 5)");
}

TEST_CASE("add_n / ElementWiseSum is variadic on num_args") {
  auto r = infer_op("ElementWiseSum", {{"num_args", "3"}}, {{4, 5}, {4, 5}, Shape()});
  CHECK(r.out[0].str() == "(4, 5)");
  CHECK(r.in[2].str() == "(4, 5)");
  const OpDef& d = op("add_n");
  CHECK(d.variadic);
  AttrMap a{{"num_args", int64_t(2)}};
  CHECK(d.input_names(AttrView(d, a, "t")) == Names{"arg0", "arg1"});
  CHECK_THROWS_WITH_AS(infer_op("add_n", {{"num_args", "2"}}, {{4, 5}, {5, 4}}),
                       doctest::Contains("(add_n)"), Error);
  CHECK_THROWS_AS(infer_op("add_n", {{"num_args", "0"}}, {}), Error);
}

TEST_CASE("scalar ops: defaults, shape and NumpyBinaryScalarType dtypes") {
  for (const std::string& name : kScalarNames) {
    CAPTURE(name);
    const OpDef& d = op(name);
    CHECK(d.has(kElementwise | kInplace));
    CHECK(std::get<double>(*d.attr_spec("scalar")->default_value) == 1.0);
    CHECK(std::get<bool>(*d.attr_spec("is_int")->default_value) == true);
    auto r = infer_op(name, {{"scalar", "0.5"}, {"is_int", "False"}}, {{3, 1, 2}});
    CHECK(r.out[0].str() == "(3, 1, 2)");
    CHECK(r.out_types[0] == DType::f32);
  }
  // Old files omit is_int: True, so an int tensor stays int.
  CHECK(infer_op("_mul_scalar", {{"scalar", "2"}}, {{3}}, {DType::i32}).out_types[0] ==
        DType::i32);
  // An int tensor with a float scalar promotes to float64.
  CHECK(infer_op("_mul_scalar", {{"scalar", "2.5"}, {"is_int", "0"}}, {{3}}, {DType::i32})
            .out_types[0] == DType::f64);
  // bool tensors: int64 for an int scalar, float64 for a float one.
  CHECK(infer_op("_plus_scalar", {}, {{3}}, {DType::boolean}).out_types[0] == DType::i64);
  CHECK(infer_op("_plus_scalar", {{"is_int", "False"}}, {{3}}, {DType::boolean})
            .out_types[0] == DType::f64);
  CHECK(infer_op("_greater_scalar", {}, {{3}}, {DType::f16}).out_types[0] == DType::f16);
  CHECK_THROWS_WITH_AS(infer_op("_plus_scalar", {{"scalar", "abc"}}, {{3}}),
                       doctest::Contains("abc"), Error);
}

TEST_CASE("clip requires a_min and a_max") {
  const OpDef& d = op("clip");
  CHECK_FALSE(d.attr_spec("a_min")->default_value.has_value());
  CHECK_FALSE(d.attr_spec("a_max")->default_value.has_value());
  auto r = infer_op("clip", {{"a_min", "-1"}, {"a_max", "1"}}, {{2, 2}}, {DType::f64});
  CHECK(r.out[0].str() == "(2, 2)");
  CHECK(r.out_types[0] == DType::f64);
}

TEST_CASE("Cast takes its output dtype from the attribute") {
  auto r = infer_op("Cast", {{"dtype", "float16"}}, {{2, 3}}, {DType::i32});
  CHECK(r.out[0].str() == "(2, 3)");
  CHECK(r.in_types[0] == DType::i32);
  CHECK(r.out_types[0] == DType::f16);
  CHECK(infer_op("cast", {{"dtype", "int64"}}, {{2}}).out_types[0] == DType::i64);
  CHECK_FALSE(op("Cast").has(kInplace));
  CHECK_THROWS_WITH_AS(infer_op("Cast", {}, {{2}}), doctest::Contains("dtype"), Error);
  CHECK_THROWS_AS(infer_op("Cast", {{"dtype", "float99"}}, {{2}}), Error);
}

TEST_CASE("where: same-shape or 1-D row condition; dtype from x") {
  auto r = infer_op("where", {}, {{2, 3}, {2, 3}, {2, 3}}, {DType::i32, DType::f16, DType::f16});
  CHECK(r.out[0].str() == "(2, 3)");
  CHECK(r.out_types[0] == DType::f16);
  CHECK(r.in_types[0] == DType::i32);  // the condition's dtype stays free

  // MXNet's WhereOpShape also accepts a 1-D condition of length x.shape[0].
  r = infer_op("where", {}, {{2}, {2, 3}, Shape()});
  CHECK(r.out[0].str() == "(2, 3)");
  CHECK(r.in[2].str() == "(2, 3)");

  // A same-rank condition completes x and y.
  r = infer_op("where", {}, {{2, 3}, {Shape::kUnknownDim, 3}, {2, Shape::kUnknownDim}});
  CHECK(r.out[0].str() == "(2, 3)");

  CHECK_THROWS_WITH_AS(infer_op("where", {}, {{3}, {2, 3}, {2, 3}}),
                       doctest::Contains("(where)"), Error);
  CHECK_THROWS_AS(infer_op("where", {}, {{2, 3, 1}, {2, 3}, {2, 3}}), Error);
  CHECK_THROWS_AS(infer_op("where", {}, {{2, 3}, {2, 3}, {2, 4}}), Error);
  CHECK_THROWS_AS(
      infer_op("where", {}, {{2, 3}, {2, 3}, {2, 3}}, {DType::f32, DType::f32, DType::i32}),
      Error);
  CHECK(op("where").input_names(AttrView(op("where"), {}, "t")) ==
        Names{"condition", "x", "y"});
}
