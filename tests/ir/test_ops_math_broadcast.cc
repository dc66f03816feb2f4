// Shape/dtype rules of ir/ops/broadcast.cc, checked against MXNet 1.9 semantics.
#include <doctest/doctest.h>

#include <string>

#include "hgc/base/error.h"
#include "hgc/ir/op.h"
#include "support/op_test.h"

using namespace hgc;
using hgc::test::infer_op;

namespace {
const OpDef& op(const std::string& name) { return OpRegistry::global().get(name); }
constexpr int64_t U = Shape::kUnknownDim;
}  // namespace

TEST_CASE("broadcast binaries follow numpy broadcasting") {
  for (const char* name :
       {"broadcast_add", "broadcast_plus", "broadcast_sub", "broadcast_minus", "broadcast_mul",
        "broadcast_div", "broadcast_mod", "broadcast_power", "broadcast_maximum",
        "broadcast_minimum", "broadcast_hypot", "broadcast_equal", "broadcast_not_equal",
        "broadcast_greater", "broadcast_greater_equal", "broadcast_lesser",
        "broadcast_lesser_equal", "broadcast_logical_and", "broadcast_logical_or",
        "broadcast_logical_xor"}) {
    CAPTURE(name);
    const OpDef& d = op(name);
    CHECK(d.has(kBroadcast));
    CHECK(d.input_names(AttrView(d, {}, "t")) == Names{"lhs", "rhs"});
    auto r = infer_op(name, {}, {{2, 1, 3}, {4, 1}});
    CHECK(r.out[0].str() == "(2, 4, 3)");
  }
  CHECK(op("broadcast_plus").name == "broadcast_add");
  CHECK(op("broadcast_minus").name == "broadcast_sub");
}

TEST_CASE("broadcast binaries: errors, unknown dims and dtypes") {
  CHECK_THROWS_WITH_AS(infer_op("broadcast_add", {}, {{2, 3}, {4, 3}}),
                       doctest::Contains("node 'test_op' (broadcast_add)"), Error);
  CHECK_THROWS_AS(infer_op("broadcast_mul", {}, {{2, 3}, {2, 3}}, {DType::f32, DType::i32}),
                  Error);
  // An unknown dim against 3 must be 1 or 3: the output is 3 either way.
  auto r = infer_op("broadcast_mul", {}, {{U, 3}, {1, 3}}, {}, false);
  CHECK(r.out[0].str() == "(?, 3)");
  r = infer_op("broadcast_mul", {}, {{U, 3}, {5, 3}}, {}, false);
  CHECK(r.out[0].str() == "(5, 3)");
  // Comparisons keep the input dtype, as MXNet 1.x does (no bool outputs).
  r = infer_op("broadcast_greater", {}, {{2, 3}, {3}}, {DType::i32, DType::i32});
  CHECK(r.out_types[0] == DType::i32);
  CHECK(r.out[0].str() == "(2, 3)");
}

TEST_CASE("broadcast_axis / broadcast_axes") {
  auto r = infer_op("broadcast_axis", {{"axis", "1"}, {"size", "4"}}, {{2, 1, 3}});
  CHECK(r.out[0].str() == "(2, 4, 3)");
  r = infer_op("broadcast_axes", {{"axis", "(0, -1)"}, {"size", "(5, 6)"}}, {{1, 2, 1}});
  CHECK(r.out[0].str() == "(5, 2, 6)");
  // Default: nothing to broadcast.
  r = infer_op("broadcast_axis", {}, {{2, 3}});
  CHECK(r.out[0].str() == "(2, 3)");
  // The broadcast axis must be 1, so an unknown input dim there is completed.
  r = infer_op("broadcast_axis", {{"axis", "(1,)"}, {"size", "(7,)"}}, {{2, U}});
  CHECK(r.in[0].str() == "(2, 1)");
  CHECK(r.out[0].str() == "(2, 7)");
  CHECK(op("broadcast_axis").has(kInjective));

  CHECK_THROWS_WITH_AS(infer_op("broadcast_axis", {{"axis", "1"}, {"size", "4"}}, {{2, 3}}),
                       doctest::Contains("(broadcast_axis)"), Error);
  CHECK_THROWS_AS(infer_op("broadcast_axis", {{"axis", "(0, 1)"}, {"size", "4"}}, {{1, 1}}),
                  Error);
  CHECK_THROWS_AS(infer_op("broadcast_axis", {{"axis", "2"}, {"size", "4"}}, {{1, 1}}), Error);
}

TEST_CASE("broadcast_to: 0 keeps the input dim") {
  auto r = infer_op("broadcast_to", {{"shape", "(4, 0)"}}, {{1, 3}}, {DType::f16});
  CHECK(r.out[0].str() == "(4, 3)");
  CHECK(r.out_types[0] == DType::f16);
  r = infer_op("broadcast_to", {{"shape", "(2, 5, 3)"}}, {{2, 1, 3}});
  CHECK(r.out[0].str() == "(2, 5, 3)");
  CHECK_THROWS_WITH_AS(infer_op("broadcast_to", {{"shape", "(4, 3)"}}, {{2, 3}}),
                       doctest::Contains("(broadcast_to)"), Error);
  CHECK_THROWS_AS(infer_op("broadcast_to", {{"shape", "(2, 4, 3)"}}, {{4, 3}}), Error);
}

TEST_CASE("broadcast_like") {
  auto r = infer_op("broadcast_like", {}, {{1, 3}, {4, 3}}, {DType::f16, DType::i32});
  CHECK(r.out[0].str() == "(4, 3)");
  CHECK(r.out_types[0] == DType::f16);  // lhs's dtype; rhs only lends its shape
  CHECK(r.in_types[1] == DType::i32);

  r = infer_op("broadcast_like", {{"lhs_axes", "(0,)"}, {"rhs_axes", "(-1,)"}}, {{1, 3}, {5, 6}});
  CHECK(r.out[0].str() == "(6, 3)");
  const OpDef& d = op("broadcast_like");
  CHECK(std::holds_alternative<std::monostate>(*d.attr_spec("lhs_axes")->default_value));

  CHECK_THROWS_WITH_AS(infer_op("broadcast_like", {}, {{2, 3}, {4, 3}}),
                       doctest::Contains("(broadcast_like)"), Error);
  CHECK_THROWS_AS(infer_op("broadcast_like", {}, {{3}, {4, 3}}), Error);
  CHECK_THROWS_AS(
      infer_op("broadcast_like", {{"lhs_axes", "(1,)"}, {"rhs_axes", "(0,)"}}, {{1, 3}, {5, 6}}),
      Error);
  CHECK_THROWS_AS(
      infer_op("broadcast_like", {{"lhs_axes", "(0, 1)"}, {"rhs_axes", "(0,)"}}, {{1, 1}, {5, 6}}),
      Error);
}
