// Shape/dtype rules of ir/ops/reduce.cc, checked against MXNet 1.9 semantics
// (ReduceAxesShapeImpl / ReduceAxisShapeImpl in src/operator/tensor/broadcast_reduce_op.h).
#include <doctest/doctest.h>

#include <string>

#include "hgc/base/error.h"
#include "hgc/ir/op.h"
#include "support/op_test.h"

using namespace hgc;
using hgc::test::infer_op;

namespace {
const OpDef& op(const std::string& name) { return OpRegistry::global().get(name); }
std::string out0(const std::string& name, const std::map<std::string, std::string>& attrs,
                 const Shape& in) {
  return infer_op(name, attrs, {in}).out[0].str();
}
}  // namespace

TEST_CASE("sum family: axis / keepdims / exclude") {
  for (const char* name : {"sum", "sum_axis", "mean", "max", "max_axis", "min", "min_axis",
                           "prod", "nansum", "nanprod"}) {
    CAPTURE(name);
    CHECK(op(name).has(kReduce));
    Shape x{2, 3, 4};
    // Legacy MXNet: reducing everything gives (1,), not a 0-d scalar.
    CHECK(out0(name, {}, x) == "(1,)");
    CHECK(out0(name, {{"axis", "()"}}, x) == "(1,)");
    CHECK(out0(name, {{"keepdims", "True"}}, x) == "(1, 1, 1)");
    CHECK(out0(name, {{"axis", "1"}}, x) == "(2, 4)");
    CHECK(out0(name, {{"axis", "(0, 2)"}}, x) == "(3,)");
    CHECK(out0(name, {{"axis", "(-1,)"}, {"keepdims", "1"}}, x) == "(2, 3, 1)");
    CHECK(out0(name, {{"axis", "(0, 1, 2)"}}, x) == "(1,)");
    CHECK(out0(name, {{"axis", "1"}, {"exclude", "True"}}, x) == "(3,)");
    CHECK(out0(name, {{"axis", "1"}, {"exclude", "True"}, {"keepdims", "True"}}, x) ==
          "(1, 3, 1)");
  }
  CHECK(op("sum_axis").name == "sum");
  const OpDef& d = op("sum");
  CHECK(std::holds_alternative<std::monostate>(*d.attr_spec("axis")->default_value));
  CHECK(std::get<bool>(*d.attr_spec("keepdims")->default_value) == false);
  CHECK(std::get<bool>(*d.attr_spec("exclude")->default_value) == false);
}

TEST_CASE("reductions: dtypes, unknown dims and errors") {
  auto r = infer_op("mean", {{"axis", "0"}}, {{5, 7}}, {DType::f16});
  CHECK(r.out_types[0] == DType::f16);
  r = infer_op("sum", {{"axis", "1"}}, {{Shape::kUnknownDim, 7}}, {}, false);
  CHECK(r.out[0].str() == "(?,)");

  CHECK_THROWS_WITH_AS(infer_op("sum", {{"axis", "3"}}, {{2, 3}}),
                       doctest::Contains("node 'test_op' (sum)"), Error);
  CHECK_THROWS_WITH_AS(infer_op("max", {{"axis", "(1, -1)"}}, {{2, 3}}),
                       doctest::Contains("duplicates"), Error);
  CHECK_THROWS_AS(infer_op("mean", {{"axis", "-3"}}, {{2, 3}}), Error);
}

TEST_CASE("norm") {
  const OpDef& d = op("norm");
  CHECK(std::get<int64_t>(*d.attr_spec("ord")->default_value) == 2);
  CHECK(d.has(kReduce));
  auto r = infer_op("norm", {}, {{4, 5}}, {DType::f64});
  CHECK(r.out[0].str() == "(1,)");
  CHECK(r.out_types[0] == DType::f64);
  CHECK(out0("norm", {{"axis", "1"}}, {4, 5}) == "(4,)");
  CHECK(out0("norm", {{"axis", "(0, 1)"}, {"keepdims", "True"}, {"ord", "1"}}, {4, 5}) ==
        "(1, 1)");
  r = infer_op("norm", {{"out_dtype", "float16"}}, {{4, 5}}, {DType::f32});
  CHECK(r.out_types[0] == DType::f16);
  CHECK(r.in_types[0] == DType::f32);
  CHECK_THROWS_WITH_AS(infer_op("norm", {{"ord", "3"}}, {{4, 5}}),
                       doctest::Contains("(norm)"), Error);
  CHECK_THROWS_AS(infer_op("norm", {{"out_dtype", "bool"}}, {{4, 5}}), Error);
}

TEST_CASE("argmax / argmin / argmax_channel") {
  for (const char* name : {"argmax", "argmin"}) {
    CAPTURE(name);
    CHECK(op(name).has(kReduce));
    CHECK(out0(name, {{"axis", "1"}}, {2, 3, 4}) == "(2, 4)");
    CHECK(out0(name, {{"axis", "-1"}, {"keepdims", "True"}}, {2, 3, 4}) == "(2, 3, 1)");
    CHECK(out0(name, {}, {2, 3, 4}) == "(1,)");  // axis=None: global
    CHECK(out0(name, {{"keepdims", "True"}}, {2, 3}) == "(1, 1)");
    CHECK(out0(name, {{"axis", "0"}}, {6}) == "(1,)");
    CHECK(out0(name, {{"axis", "0"}}, {6, 1}) == "(1,)");
    // MXNet 1.x returns indices in the input's dtype (ElemwiseType<1, 1>).
    CHECK(infer_op(name, {{"axis", "0"}}, {{3}}, {DType::f32}).out_types[0] == DType::f32);
    CHECK(infer_op(name, {{"axis", "0"}}, {{3}}, {DType::f16}).out_types[0] == DType::f16);
    CHECK_THROWS_WITH_AS(infer_op(name, {{"axis", "2"}}, {{2, 3}}),
                         doctest::Contains((std::string("(") + name + ")").c_str()), Error);
  }
  CHECK(out0("argmax_channel", {}, {2, 5}) == "(2,)");
  CHECK(out0("argmax_channel", {}, {2, 5, 3}) == "(2, 3)");
  CHECK_THROWS_AS(infer_op("argmax_channel", {}, {Shape::scalar()}), Error);
}

TEST_CASE("softmax family") {
  for (const char* name : {"softmax", "log_softmax", "softmin"}) {
    CAPTURE(name);
    const OpDef& d = op(name);
    CHECK(std::get<int64_t>(*d.attr_spec("axis")->default_value) == -1);
    CHECK(std::holds_alternative<std::monostate>(*d.attr_spec("temperature")->default_value));
    CHECK(std::holds_alternative<std::monostate>(*d.attr_spec("dtype")->default_value));
    CHECK(std::get<bool>(*d.attr_spec("use_length")->default_value) == false);
    auto r = infer_op(name, {{"axis", "1"}, {"temperature", "2.0"}}, {{2, 3, 4}}, {DType::f16});
    CHECK(r.out[0].str() == "(2, 3, 4)");
    CHECK(r.out_types[0] == DType::f16);
    r = infer_op(name, {{"dtype", "float64"}}, {{2, 3}}, {DType::f32});
    CHECK(r.out_types[0] == DType::f64);
    CHECK(r.in_types[0] == DType::f32);
    CHECK_THROWS_WITH_AS(infer_op(name, {{"axis", "2"}}, {{2, 3}}),
                         doctest::Contains((std::string("(") + name + ")").c_str()), Error);
    CHECK_THROWS_AS(infer_op(name, {{"dtype", "int32"}}, {{2, 3}}), Error);
  }
  // log_softmax/softmin keep one input even with use_length (MXNet 1.9).
  const OpDef& ls = op("log_softmax");
  AttrMap with_len{{"use_length", true}};
  CHECK(ls.input_names(AttrView(ls, with_len, "t")) == Names{"data"});
}

TEST_CASE("softmax with use_length takes a length input") {
  const OpDef& d = op("softmax");
  AttrMap with_len{{"use_length", true}};
  CHECK(d.input_names(AttrView(d, {}, "t")) == Names{"data"});
  CHECK(d.input_names(AttrView(d, with_len, "t")) == Names{"data", "length"});
  // length has data's shape without the softmax axis; its dtype stays free.
  auto r = infer_op("softmax", {{"use_length", "True"}}, {{2, 3, 4}, Shape()},
                    {DType::f32, DType::i32});
  CHECK(r.in[1].str() == "(2, 3)");
  CHECK(r.in_types[1] == DType::i32);
  CHECK(r.out_types[0] == DType::f32);
  r = infer_op("softmax", {{"use_length", "True"}, {"axis", "1"}}, {{2, 3, 4}, Shape()});
  CHECK(r.in[1].str() == "(2, 4)");
  CHECK_THROWS_AS(infer_op("softmax", {{"use_length", "True"}}, {{2, 3, 4}, {3}}), Error);
}

TEST_CASE("SoftmaxActivation") {
  const OpDef& d = op("SoftmaxActivation");
  CHECK(std::get<std::string>(*d.attr_spec("mode")->default_value) == "instance");
  CHECK(out0("SoftmaxActivation", {}, {2, 5}) == "(2, 5)");
  CHECK(out0("SoftmaxActivation", {{"mode", "channel"}}, {2, 5, 3}) == "(2, 5, 3)");
  CHECK_THROWS_WITH_AS(infer_op("SoftmaxActivation", {{"mode", "channel"}}, {{2, 5}}),
                       doctest::Contains("(SoftmaxActivation)"), Error);
  CHECK_THROWS_AS(infer_op("SoftmaxActivation", {{"mode", "spatial"}}, {{2, 5}}), Error);
}
