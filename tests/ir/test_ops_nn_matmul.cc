// dot and batch_dot (MXNet 1.x dot-inl.h DotShape / BatchDotShape).
#include <doctest/doctest.h>

#include "hgc/ir/op.h"
#include "ir/nn_movement_test_util.h"

using namespace hgc;
using hgc::test::infer_error;
using hgc::test::infer_op;
using hgc::test::names_node;

namespace {
constexpr int64_t X = Shape::kUnknownDim;
}

TEST_CASE("dot contracts lhs's last axis with rhs's first axis") {
  CHECK(OpRegistry::global().get("dot").has(kGemm));
  CHECK(infer_op("dot", {}, {{2, 3}, {3, 4}}).out[0] == Shape{2, 4});
  CHECK(infer_op("dot", {{"transpose_a", "True"}}, {{3, 2}, {3, 4}}).out[0] == Shape{2, 4});
  CHECK(infer_op("dot", {{"transpose_b", "True"}}, {{2, 3}, {4, 3}}).out[0] == Shape{2, 4});
  CHECK(infer_op("dot", {{"transpose_a", "True"}, {"transpose_b", "True"}}, {{3, 2}, {4, 3}})
            .out[0] == Shape{2, 4});
  // N-D: out = lhs.shape[:-1] + rhs.shape[1:]
  CHECK(infer_op("dot", {}, {{2, 3, 4}, {4, 5, 6}}).out[0] == Shape{2, 3, 5, 6});
  // transpose_a on N-D contracts lhs's first axis: out = lhs.shape[1:] + rhs.shape[1:]
  CHECK(infer_op("dot", {{"transpose_a", "True"}}, {{4, 2, 3}, {4, 5}}).out[0] == Shape{2, 3, 5});
  CHECK(infer_op("dot", {}, {{3}, {3}}).out[0] == Shape{1});
  CHECK(infer_op("dot", {}, {{3}, {3, 4}}).out[0] == Shape{4});
  CHECK(infer_op("dot", {}, {{2, 3}, {3}}).out[0] == Shape{2});
  // A deferred contraction dim is taken from the other side.
  CHECK(infer_op("dot", {}, {{2, 3}, Shape{X, 4}}).in[1] == Shape{3, 4});

  CHECK(names_node(infer_error("dot", {}, {{2, 3}, {4, 5}}), "dot", "contraction"));
  CHECK(names_node(infer_error("dot", {{"transpose_a", "True"}}, {{3}, {3}}), "dot", "vectors"));
}

TEST_CASE("batch_dot") {
  CHECK(OpRegistry::global().get("batch_dot").has(kGemm));
  CHECK(infer_op("batch_dot", {}, {{8, 2, 3}, {8, 3, 4}}).out[0] == Shape{8, 2, 4});
  CHECK(infer_op("batch_dot", {{"transpose_a", "True"}}, {{8, 3, 2}, {8, 3, 4}}).out[0] ==
        Shape{8, 2, 4});
  CHECK(infer_op("batch_dot", {{"transpose_b", "True"}}, {{8, 2, 3}, {8, 4, 3}}).out[0] ==
        Shape{8, 2, 4});
  // BERT's attention scores: (B*heads, L, d) x (B*heads, L, d)^T
  CHECK(infer_op("batch_dot", {{"transpose_b", "True"}}, {{12, 384, 64}, {12, 384, 64}}).out[0] ==
        Shape{12, 384, 384});
  CHECK(infer_op("batch_dot", {}, {{2, 5, 2, 3}, {2, 5, 3, 4}}).out[0] == Shape{2, 5, 2, 4});
  CHECK(infer_op("batch_dot", {}, {Shape{X, 2, 3}, {8, 3, 4}}).in[0] == Shape{8, 2, 3});

  CHECK(
      names_node(infer_error("batch_dot", {}, {{8, 2, 3}, {8, 4, 4}}), "batch_dot", "contraction"));
  CHECK(names_node(infer_error("batch_dot", {}, {{8, 2, 3}, {7, 3, 4}}), "batch_dot", "batch"));
  CHECK(names_node(infer_error("batch_dot", {}, {{2, 3}, {3, 4}}), "batch_dot", "rank >= 3"));
}
