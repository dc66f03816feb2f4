// slice (with None entries), slice_axis, slice_like, take, pick, gather_nd. Expected shapes
// follow the examples in MXNet's operator docs.
#include <doctest/doctest.h>

#include "hgc/ir/op.h"
#include "ir/nn_movement_test_util.h"

using namespace hgc;
using hgc::test::infer_error;
using hgc::test::infer_op;
using hgc::test::names_node;

namespace {
constexpr int64_t X = Shape::kUnknownDim;
Shape slice(const Shape& in, const std::string& b, const std::string& e,
            const std::string& s = "()") {
  return infer_op("slice", {{"begin", b}, {"end", e}, {"step", s}}, {in}, {}, false).out[0];
}
}  // namespace

TEST_CASE("slice with None, negative indices and steps") {
  // MXNet docs: x is 3x4
  CHECK(slice({3, 4}, "(0, 1)", "(2, 4)") == Shape{2, 3});
  CHECK(slice({3, 4}, "(None, 0)", "(None, 3)", "(-1, 2)") == Shape{3, 2});
  CHECK(slice({5}, "(-2,)", "(None,)") == Shape{2});
  CHECK(slice({5}, "(1,)", "(100,)") == Shape{4});  // end is clipped
  CHECK(slice({5}, "(3,)", "(1,)") == Shape{0});    // empty
  CHECK(slice({5}, "(None,)", "(None,)", "(-1,)") == Shape{5});
  CHECK(slice({5}, "(None,)", "(None,)", "(2,)") == Shape{3});
  CHECK(slice({5}, "[4]", "[0]", "[-2]") == Shape{2});
  CHECK(slice({5, 6, 7}, "(1,)", "(3,)") == Shape{2, 6, 7});  // trailing axes untouched
  CHECK(slice(Shape{X, 6}, "(0, 1)", "(2, 3)") == Shape{X, 2});
  // -1 is an index, None is "to the end": the two must stay distinct.
  CHECK(slice({5}, "(0,)", "(-1,)") == Shape{4});
  CHECK(slice({5}, "(0,)", "(None,)") == Shape{5});
  CHECK(OpRegistry::global().find("crop") == &OpRegistry::global().get("slice"));

  auto e = [](const std::string& b, const std::string& en, const std::string& s, const Shape& in) {
    return infer_error("slice", {{"begin", b}, {"end", en}, {"step", s}}, {in});
  };
  CHECK(names_node(e("(0,)", "(2,)", "(0,)", {5}), "slice", "0 entry"));
  CHECK(names_node(e("(0, 1)", "(2,)", "()", {5, 5}), "slice", "same length"));
  CHECK(names_node(e("(0, 0, 0)", "(1, 1, 1)", "()", {5, 5}), "slice", "more entries"));
  CHECK(names_node(e("(a,)", "(1,)", "()", {5}), "slice", "not a tuple"));
}

TEST_CASE("slice_axis and slice_like") {
  CHECK(infer_op("slice_axis", {{"axis", "1"}, {"begin", "1"}, {"end", "3"}}, {{3, 4}}).out[0] ==
        Shape{3, 2});
  CHECK(infer_op("slice_axis", {{"axis", "0"}, {"begin", "1"}, {"end", "None"}}, {{3, 4}}).out[0] ==
        Shape{2, 4});
  CHECK(
      infer_op("slice_axis", {{"axis", "-1"}, {"begin", "-1"}, {"end", "None"}}, {{3, 4}}).out[0] ==
      Shape{3, 1});
  CHECK_THROWS_AS(infer_op("slice_axis", {{"axis", "0"}, {"begin", "0"}}, {{3, 4}}), Error);
  CHECK(
      names_node(infer_error("slice_axis", {{"axis", "0"}, {"begin", "2"}, {"end", "1"}}, {{3, 4}}),
                 "slice_axis", "not a valid range"));
  CHECK(
      names_node(infer_error("slice_axis", {{"axis", "2"}, {"begin", "0"}, {"end", "1"}}, {{3, 4}}),
                 "slice_axis", "axis=2"));

  CHECK(infer_op("slice_like", {}, {{3, 4}, {2, 3}}).out[0] == Shape{2, 3});
  CHECK(infer_op("slice_like", {{"axes", "(0,)"}}, {{3, 4}, {2, 3}}).out[0] == Shape{2, 4});
  CHECK(infer_op("slice_like", {{"axes", "(-1,)"}}, {{3, 4}, {2, 3}}).out[0] == Shape{3, 3});
  auto t = infer_op("slice_like", {}, {{3, 4}, {2, 3}}, {DType::f32, DType::i32});
  CHECK(t.in_types[1] == DType::i32);
  CHECK(names_node(infer_error("slice_like", {}, {{3, 4}, {4, 3}}), "slice_like", "exceeds"));
  CHECK(names_node(infer_error("slice_like", {}, {{3, 4}, {3}}), "slice_like", "same rank"));
}

TEST_CASE("take and pick keep the index dtype") {
  auto t = infer_op("take", {}, {{5, 4}, {2, 3}}, {DType::f16, DType::i32});
  CHECK(t.out[0] == Shape{2, 3, 4});
  CHECK(t.out_types[0] == DType::f16);
  CHECK(t.in_types[1] == DType::i32);
  CHECK(infer_op("take", {{"axis", "1"}}, {{5, 4}, {2, 3}}).out[0] == Shape{5, 2, 3});
  CHECK(infer_op("take", {{"axis", "-1"}, {"mode", "wrap"}}, {{5, 4}, {7}}).out[0] == Shape{5, 7});
  CHECK(names_node(infer_error("take", {{"axis", "2"}}, {{5, 4}, {3}}), "take", "axis=2"));
  CHECK_THROWS_AS(infer_op("take", {{"mode", "nearest"}}, {{5, 4}, {3}}), Error);

  auto p = infer_op("pick", {}, {{3, 4}, {3}}, {DType::f32, DType::i64});
  CHECK(p.out[0] == Shape{3});
  CHECK(p.in_types[1] == DType::i64);
  auto k = infer_op("pick", {{"axis", "1"}, {"keepdims", "True"}}, {{3, 4}, Shape()});
  CHECK(k.out[0] == Shape{3, 1});
  CHECK(k.in[1] == Shape{3});
  CHECK(infer_op("pick", {{"axis", "0"}}, {{3, 4}, {1, 4}}).out[0] == Shape{4});
  CHECK(OpRegistry::global().find("choose_element_0index") == &OpRegistry::global().get("pick"));
  CHECK(names_node(infer_error("pick", {{"axis", "None"}}, {{3, 4}, {3}}), "pick", "None"));
  CHECK(names_node(infer_error("pick", {}, {{3, 4}, {4}}), "pick", "index"));
}

TEST_CASE("gather_nd") {
  // indices (M, Y...) index the first M dims: out = Y... + data.shape[M:]
  CHECK(infer_op("gather_nd", {}, {{3, 4, 5}, {2, 6}}).out[0] == Shape{6, 5});
  CHECK(infer_op("gather_nd", {}, {{3, 4, 5}, {3, 2, 2}}).out[0] == Shape{2, 2});
  CHECK(infer_op("gather_nd", {}, {{3, 4}, {1, 7}}, {DType::f64, DType::i32}).out_types[0] ==
        DType::f64);
  CHECK(names_node(infer_error("gather_nd", {}, {{3, 4}, {3, 2}}), "gather_nd", "more dims"));
  CHECK(names_node(infer_error("gather_nd", {}, {{3, 4}, {2}}), "gather_nd", "rank >= 2"));
}
