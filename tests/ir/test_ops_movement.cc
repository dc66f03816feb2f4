// Reshape (every special value, from MXNet's Reshape docs), permutations, rank changes, joins,
// splits and repetition.
#include <doctest/doctest.h>

#include "hgc/ir/op.h"
#include "ir/nn_movement_test_util.h"

using namespace hgc;
using hgc::test::infer_error;
using hgc::test::infer_op;
using hgc::test::names_node;
using hgc::test::run_rule;

namespace {
constexpr int64_t X = Shape::kUnknownDim;
const Shape U = Shape();
Shape reshape(const Shape& in, const std::string& shape, bool reverse = false) {
  return infer_op("Reshape", {{"shape", shape}, {"reverse", reverse ? "True" : "False"}}, {in}, {},
                  false)
      .out[0];
}
}  // namespace

TEST_CASE("Reshape special values (MXNet docs examples)") {
  // 0 copies a dim
  CHECK(reshape({2, 3, 4}, "(4, 0, 2)") == Shape{4, 3, 2});
  CHECK(reshape({2, 3, 4}, "(2, 0, 0)") == Shape{2, 3, 4});
  // -1 infers one dim
  CHECK(reshape({2, 3, 4}, "(6, 1, -1)") == Shape{6, 1, 4});
  CHECK(reshape({2, 3, 4}, "(3, -1, 8)") == Shape{3, 1, 8});
  CHECK(reshape({2, 3, 4}, "(-1,)") == Shape{24});
  // -2 copies the remaining dims
  CHECK(reshape({2, 3, 4}, "(-2,)") == Shape{2, 3, 4});
  CHECK(reshape({2, 3, 4}, "(2, -2)") == Shape{2, 3, 4});
  CHECK(reshape({2, 3, 4}, "(-2, 1, 1)") == Shape{2, 3, 4, 1, 1});
  // -3 merges two dims
  CHECK(reshape({2, 3, 4}, "(-3, 4)") == Shape{6, 4});
  CHECK(reshape({2, 3, 4, 5}, "(-3, -3)") == Shape{6, 20});
  CHECK(reshape({2, 3, 4}, "(0, -3)") == Shape{2, 12});
  CHECK(reshape({2, 3, 4}, "(-3, -2)") == Shape{6, 4});
  // -4 splits one dim into the next two (one may be -1)
  CHECK(reshape({2, 3, 4}, "(-4, 1, 2, -2)") == Shape{1, 2, 3, 4});
  CHECK(reshape({2, 3, 4}, "(2, -4, -1, 3, -2)") == Shape{2, 1, 3, 4});
  // reverse matches the special values right to left
  CHECK(reshape({10, 5, 4}, "(-1, 0)") == Shape{40, 5});
  CHECK(reshape({10, 5, 4}, "(-1, 0)", true) == Shape{50, 4});
  // BERT's head split/merge: (B, L, H*D) -> (B, L, H, D) -> (B*H, L, D)-style reshapes
  CHECK(reshape({1, 384, 768}, "(0, 0, -4, 12, -1)") == Shape{1, 384, 12, 64});
  CHECK(reshape({1, 12, 384, 64}, "(-1, 0, 0)", true) == Shape{12, 384, 64});
  CHECK(reshape({12, 384, 64}, "(-1, 12, 0, 0)", true) == Shape{1, 12, 384, 64});
  // With reverse the whole spec is reversed, so -4 comes after the two dims it splits into,
  // and they are matched right to left as well.
  CHECK(reshape({2, 768}, "(0, -1, 12, -4)", true) == Shape{2, 64, 12});
  CHECK(reshape({1, 384, 12, 64}, "(0, 0, -3)") == Shape{1, 384, 768});
}

TEST_CASE("Reshape: unknown dims, legacy target_shape, errors") {
  // As in MXNet, -1 stays unknown unless the whole input shape is known.
  CHECK(reshape(Shape{X, 3, 4}, "(0, -1)") == Shape{X, X});
  CHECK(reshape(Shape{X, 3, 4}, "(-1, 4)") == Shape{X, 4});
  // A plain target needs no input shape; one unknown input dim follows from the size.
  auto b = infer_op("Reshape", {{"shape", "(6, 4)"}}, {Shape{2, X, 4}});
  CHECK(b.in[0] == Shape{2, 3, 4});
  CHECK(infer_op("reshape", {{"shape", "(3, 2)"}}, {U}, {}, false).out[0] == Shape{3, 2});
  CHECK(infer_op("Reshape", {{"target_shape", "(0, 4)"}}, {{2, 3, 4}}).out[0] == Shape{6, 4});
  CHECK(infer_op("Reshape", {{"target_shape", "(0, 0, 4)"}, {"keep_highest", "True"}}, {{2, 3, 4}})
            .out[0] == Shape{2, 3, 4});
  CHECK(names_node(infer_error("Reshape", {{"target_shape", "(0, 0, 4)"}}, {{2, 3, 4}}), "Reshape",
                   "only one 0"));
  CHECK(OpRegistry::global().get("Reshape").has(kInjective));

  auto e = [](const std::string& shape, const Shape& in) {
    return infer_error("Reshape", {{"shape", shape}}, {in});
  };
  CHECK(names_node(e("(5, -1)", {2, 3, 4}), "Reshape", "cannot reshape"));
  CHECK(names_node(e("(-1, -1)", {2, 3, 4}), "Reshape", "one dim can be -1"));
  CHECK(names_node(e("(0, 0, 0, 0)", {2, 3, 4}), "Reshape", "runs past"));
  CHECK(names_node(e("(-4, 5, -1, -2)", {2, 3, 4}), "Reshape", "cannot split"));
  CHECK(names_node(e("(-4, -1, -1, -2)", {2, 3, 4}), "Reshape", "both be -1"));
  CHECK(names_node(e("(5, 5)", {2, 3, 4}), "Reshape", "cannot reshape"));
  CHECK(names_node(e("(-5, 1)", {2, 3, 4}), "Reshape", "invalid value"));
}

TEST_CASE("transpose and SwapAxis") {
  CHECK(infer_op("transpose", {}, {{2, 3, 4}}).out[0] == Shape{4, 3, 2});
  CHECK(infer_op("transpose", {{"axes", "(0, 2, 1, 3)"}}, {{1, 384, 12, 64}}).out[0] ==
        Shape{1, 12, 384, 64});
  CHECK(infer_op("transpose", {{"axes", "(1, 0)"}}, {Shape{X, 3}}, {}, false).out[0] ==
        Shape{3, X});
  // The input follows from a known output.
  auto [in, out] =
      run_rule("transpose", {{"axes", std::vector<int64_t>{2, 0, 1}}}, {Shape()}, {{4, 2, 3}});
  CHECK(in[0] == Shape{2, 3, 4});
  CHECK(names_node(infer_error("transpose", {{"axes", "(0, 0, 1)"}}, {{2, 3, 4}}), "transpose",
                   "permutation"));
  CHECK(
      names_node(infer_error("transpose", {{"axes", "(1, 0)"}}, {{2, 3, 4}}), "transpose", "rank"));

  CHECK(infer_op("SwapAxis", {{"dim1", "0"}, {"dim2", "2"}}, {{2, 3, 4}}).out[0] == Shape{4, 3, 2});
  CHECK(infer_op("swapaxes", {{"dim1", "1"}, {"dim2", "-1"}}, {{2, 3, 4}}).out[0] ==
        Shape{2, 4, 3});
  CHECK(infer_op("SwapAxis", {}, {{2, 3}}).out[0] == Shape{2, 3});
  CHECK(names_node(infer_error("SwapAxis", {{"dim2", "3"}}, {{2, 3}}), "SwapAxis", "dim2"));
}

TEST_CASE("expand_dims and squeeze") {
  CHECK(infer_op("expand_dims", {{"axis", "0"}}, {{2, 3}}).out[0] == Shape{1, 2, 3});
  CHECK(infer_op("expand_dims", {{"axis", "2"}}, {{2, 3}}).out[0] == Shape{2, 3, 1});
  CHECK(infer_op("expand_dims", {{"axis", "-1"}}, {{2, 3}}).out[0] == Shape{2, 3, 1});
  CHECK(infer_op("expand_dims", {{"axis", "-3"}}, {{2, 3}}).out[0] == Shape{1, 2, 3});
  CHECK(names_node(infer_error("expand_dims", {{"axis", "3"}}, {{2, 3}}), "expand_dims", "axis=3"));
  CHECK(names_node(infer_error("expand_dims", {{"axis", "-4"}}, {{2, 3}}), "expand_dims", "axis"));
  CHECK_THROWS_AS(infer_op("expand_dims", {}, {{2, 3}}), Error);  // axis is required
  CHECK(run_rule("expand_dims", {{"axis", int64_t(1)}}, {Shape()}, {{2, 1, 3}}).first[0] ==
        Shape{2, 3});

  CHECK(infer_op("squeeze", {}, {{1, 3, 1, 4}}).out[0] == Shape{3, 4});
  CHECK(infer_op("squeeze", {{"axis", "(2,)"}}, {{1, 3, 1, 4}}).out[0] == Shape{1, 3, 4});
  CHECK(infer_op("squeeze", {{"axis", "(0, -2)"}}, {{1, 3, 1, 4}}).out[0] == Shape{3, 4});
  CHECK(infer_op("squeeze", {}, {{1, 1}}).out[0] == Shape{1});  // MXNet 1.x keeps one dim
  CHECK(names_node(infer_error("squeeze", {{"axis", "(1,)"}}, {{1, 3}}), "squeeze", "size 3"));
}

TEST_CASE("Concat") {
  CHECK(infer_op("Concat", {{"num_args", "3"}}, {{2, 1}, {2, 4}, {2, 3}}).out[0] == Shape{2, 8});
  CHECK(infer_op("concat", {{"num_args", "2"}, {"dim", "0"}}, {{2, 3}, {3, 3}}).out[0] ==
        Shape{5, 3});
  CHECK(infer_op("Concat", {{"num_args", "2"}, {"dim", "-1"}}, {{2, 3}, {2, 5}}).out[0] ==
        Shape{2, 8});
  // Off-axis dims flow between inputs.
  auto p = infer_op("Concat", {{"num_args", "2"}}, {{2, 3}, Shape{X, 4}});
  CHECK(p.in[1] == Shape{2, 4});
  CHECK(OpRegistry::global().get("Concat").variadic);
  // With the output known (from a consumer), one input's unknown axis size is the remainder.
  auto [in, out] =
      run_rule("Concat", {{"num_args", int64_t(3)}}, {{2, 3}, Shape{2, X}, {2, 1}}, {{2, 8}});
  CHECK(in[1] == Shape{2, 4});
  CHECK(names_node(infer_error("Concat", {{"num_args", "2"}}, {{2, 3}, {3, 3}}), "Concat",
                   "disagree"));
  CHECK(names_node(infer_error("Concat", {{"num_args", "2"}}, {{2, 3}, {2, 3, 1}}), "Concat",
                   "rank"));
  CHECK(names_node(infer_error("Concat", {{"num_args", "2"}, {"dim", "2"}}, {{2, 3}, {2, 3}}),
                   "Concat", "dim=2"));
}

TEST_CASE("stack and SliceChannel") {
  CHECK(infer_op("stack", {{"num_args", "3"}}, {{2, 3}, {2, 3}, {2, 3}}).out[0] == Shape{3, 2, 3});
  CHECK(infer_op("stack", {{"num_args", "2"}, {"axis", "-1"}}, {{2, 3}, {2, 3}}).out[0] ==
        Shape{2, 3, 2});
  CHECK(infer_op("stack", {{"num_args", "2"}}, {{2, 3}, U}).in[1] == Shape{2, 3});
  CHECK(names_node(infer_error("stack", {{"num_args", "2"}}, {{2, 3}, {3, 3}}), "stack", "differ"));

  auto s = infer_op("SliceChannel", {{"num_outputs", "3"}}, {{2, 6, 4}});
  REQUIRE(s.out.size() == 3);
  for (const Shape& o : s.out) CHECK(o == Shape{2, 2, 4});
  auto q =
      infer_op("split", {{"num_outputs", "2"}, {"axis", "0"}, {"squeeze_axis", "True"}}, {{2, 5}});
  CHECK(q.out[1] == Shape{5});
  const OpDef& sc = OpRegistry::global().get("SliceChannel");
  AttrMap two = {{"num_outputs", int64_t(2)}};
  CHECK(sc.output_names(AttrView(sc, two, "x")) == Names{"output0", "output1"});
  CHECK(names_node(infer_error("SliceChannel", {{"num_outputs", "4"}}, {{2, 6}}), "SliceChannel",
                   "equal parts"));
  CHECK(names_node(infer_error("split", {{"num_outputs", "2"}, {"squeeze_axis", "True"}}, {{2, 6}}),
                   "split", "squeeze_axis"));
}

TEST_CASE("tile, repeat, reverse, depth_to_space, space_to_depth") {
  CHECK(infer_op("tile", {{"reps", "(2, 3)"}}, {{2, 2}}).out[0] == Shape{4, 6});
  CHECK(infer_op("tile", {{"reps", "(2,)"}}, {{2, 2}}).out[0] == Shape{2, 4});
  CHECK(infer_op("tile", {{"reps", "(2, 1, 3)"}}, {{2, 2}}).out[0] == Shape{2, 2, 6});
  CHECK(names_node(infer_error("tile", {{"reps", "(-1,)"}}, {{2}}), "tile", "negative"));

  CHECK(infer_op("repeat", {{"repeats", "2"}}, {{2, 3}}).out[0] == Shape{12});
  CHECK(infer_op("repeat", {{"repeats", "2"}, {"axis", "1"}}, {{2, 3}}).out[0] == Shape{2, 6});
  CHECK(infer_op("repeat", {{"repeats", "2"}, {"axis", "-2"}}, {{2, 3}}).out[0] == Shape{4, 3});
  CHECK(names_node(infer_error("repeat", {{"repeats", "2"}, {"axis", "2"}}, {{2, 3}}), "repeat",
                   "axis"));

  CHECK(infer_op("reverse", {{"axis", "(0,)"}}, {{2, 3}}).out[0] == Shape{2, 3});
  CHECK(infer_op("flip", {{"axis", "(0, 1)"}}, {{2, 3}}).out[0] == Shape{2, 3});
  CHECK(names_node(infer_error("reverse", {{"axis", "(2,)"}}, {{2, 3}}), "reverse", "axis"));

  CHECK(infer_op("depth_to_space", {{"block_size", "2"}}, {{1, 8, 3, 3}}).out[0] ==
        Shape{1, 2, 6, 6});
  CHECK(infer_op("space_to_depth", {{"block_size", "2"}}, {{1, 2, 6, 6}}).out[0] ==
        Shape{1, 8, 3, 3});
  CHECK(names_node(infer_error("depth_to_space", {{"block_size", "2"}}, {{1, 6, 3, 3}}),
                   "depth_to_space", "divisible"));
  CHECK(names_node(infer_error("space_to_depth", {{"block_size", "2"}}, {{1, 2, 5, 6}}),
                   "space_to_depth", "divisible"));
}

TEST_CASE("shape_array and size_array are int64") {
  auto s = infer_op("shape_array", {}, {{2, 3, 4}}, {DType::f16});
  CHECK(s.out[0] == Shape{3});
  CHECK(s.out_types[0] == DType::i64);
  CHECK(s.in_types[0] == DType::f16);
  auto z = infer_op("size_array", {}, {{2, 3}});
  CHECK(z.out[0] == Shape{1});
  CHECK(z.out_types[0] == DType::i64);
}
