// Shape/dtype rules, defaults, aliases and attribute errors of the detection family
// (MXNet 1.9 contrib MultiBoxPrior/Target/Detection, box_nms, box_iou).
#include <doctest/doctest.h>

#include "hgc/ir/op.h"
#include "ir/nn_movement_test_util.h"

using namespace hgc;
using hgc::test::infer_error;
using hgc::test::infer_op;
using hgc::test::names_node;

namespace {
AttrValue default_of(const std::string& o, const std::string& a) {
  return *OpRegistry::global().get(o).attr_spec(a)->default_value;
}
using V = std::vector<double>;
}  // namespace

TEST_CASE("_contrib_MultiBoxPrior: (1, H*W*(sizes+ratios-1), 4), MXNet's defaults and checks") {
  auto r = infer_op("_contrib_MultiBoxPrior", {{"sizes", "(0.5, 0.25)"}, {"ratios", "(1, 2, 0.5)"}}, {{2, 3, 2, 2}});
  CHECK(r.out[0] == Shape{1, 16, 4});
  CHECK(infer_op("_contrib_MultiBoxPrior", {}, {{1, 8, 5, 7}}).out[0] == Shape{1, 35, 4});
  CHECK(OpRegistry::global().get("MultiBoxPrior").name == "_contrib_MultiBoxPrior");
  CHECK(default_of("_contrib_MultiBoxPrior", "sizes") == AttrValue(V{1.0}));
  CHECK(default_of("_contrib_MultiBoxPrior", "steps") == AttrValue(V{-1.0, -1.0}));
  CHECK(default_of("_contrib_MultiBoxPrior", "offsets") == AttrValue(V{0.5, 0.5}));
  CHECK(default_of("_contrib_MultiBoxPrior", "clip") == AttrValue(false));
  const std::string op = "_contrib_MultiBoxPrior";
  CHECK(names_node(infer_error(op, {}, {{2, 3, 4}}), op, "4-D"));
  CHECK(names_node(infer_error(op, {{"ratios", "(1, 0)"}}, {{1, 1, 2, 2}}), op, "ratios must be > 0"));
  CHECK(names_node(infer_error(op, {{"sizes", "(-0.5,)"}}, {{1, 1, 2, 2}}), op, "sizes must be > 0"));
  CHECK(names_node(infer_error(op, {{"steps", "(0.5,)"}}, {{1, 1, 2, 2}}), op, "steps must have 2 elements"));
  CHECK(names_node(infer_error(op, {{"offsets", "(0.5, 1.5)"}}, {{1, 1, 2, 2}}), op, "offsets must lie in [0, 1]"));
  CHECK(names_node(infer_error(op, {{"steps", "(0.5, -1)"}}, {{1, 1, 2, 2}}), op, "step"));
  CHECK(names_node(infer_error(op, {}, {{1, 1, 2, 2}}, {DType::i32}), op, "floating-point"));
}

TEST_CASE("_contrib_MultiBoxTarget: three outputs (B, 4A), (B, 4A), (B, A); shape checks name the input") {
  const std::string op = "_contrib_MultiBoxTarget";
  auto r = infer_op(op, {}, {{1, 10, 4}, {3, 2, 5}, {3, 2, 10}});
  REQUIRE(r.out.size() == 3);
  CHECK(r.out[0] == Shape{3, 40});
  CHECK(r.out[1] == Shape{3, 40});
  CHECK(r.out[2] == Shape{3, 10});
  CHECK(default_of(op, "overlap_threshold") == AttrValue(0.5));
  CHECK(default_of(op, "ignore_label") == AttrValue(-1.0));
  CHECK(default_of(op, "negative_mining_ratio") == AttrValue(-1.0));
  CHECK(default_of(op, "negative_mining_thresh") == AttrValue(0.5));
  CHECK(default_of(op, "minimum_negative_samples") == AttrValue(int64_t(0)));
  CHECK(default_of(op, "variances") == AttrValue(V{0.1, 0.1, 0.2, 0.2}));
  CHECK(OpRegistry::global().get("MultiBoxTarget").name == op);
  CHECK(names_node(infer_error(op, {}, {{2, 10, 4}, {3, 2, 5}, {3, 2, 10}}), op, "anchor must be (1, num_anchors, 4)"));
  CHECK(names_node(infer_error(op, {}, {{1, 10, 4}, {3, 2, 4}, {3, 2, 10}}), op, "label must be"));
  CHECK(names_node(infer_error(op, {}, {{1, 10, 4}, {3, 2, 5}, {3, 2, 9}}), op, "cls_pred must be"));
  CHECK(names_node(infer_error(op, {{"variances", "(0.1, 0.1, 0.2)"}}, {{1, 10, 4}, {3, 2, 5}, {3, 2, 10}}), op,
                   "variances must have 4 elements"));
}

TEST_CASE("_contrib_MultiBoxDetection: (B, A, 6), MXNet's defaults and checks") {
  const std::string op = "_contrib_MultiBoxDetection";
  CHECK(infer_op(op, {}, {{2, 3, 10}, {2, 40}, {1, 10, 4}}).out[0] == Shape{2, 10, 6});
  CHECK(default_of(op, "clip") == AttrValue(true));
  CHECK(default_of(op, "threshold") == AttrValue(0.01));
  CHECK(default_of(op, "background_id") == AttrValue(int64_t(0)));
  CHECK(default_of(op, "nms_threshold") == AttrValue(0.5));
  CHECK(default_of(op, "force_suppress") == AttrValue(false));
  CHECK(default_of(op, "nms_topk") == AttrValue(int64_t(-1)));
  CHECK(names_node(infer_error(op, {}, {{2, 3, 10}, {2, 36}, {1, 10, 4}}), op, "loc_pred must be"));
  CHECK(names_node(infer_error(op, {}, {{2, 3, 9}, {2, 40}, {1, 10, 4}}), op, "cls_prob must be"));
  CHECK(names_node(infer_error(op, {{"variances", "(1, 1)"}}, {{2, 3, 10}, {2, 40}, {1, 10, 4}}), op, "variances"));
}

TEST_CASE("_contrib_box_nms: same shape plus a hidden record; column checks as MXNet's") {
  const std::string op = "_contrib_box_nms";
  const OpDef& d = OpRegistry::global().get(op);
  CHECK(OpRegistry::global().get("_contrib_box_non_maximum_suppression").name == op);
  CHECK(OpRegistry::global().get("box_nms").name == op);
  AttrMap none;
  AttrView v(d, none, "x");
  CHECK(d.num_outputs(v) == 2);
  CHECK(d.num_visible_outputs(v) == 1);
  auto r = infer_op(op, {}, {{2, 3, 7, 6}});
  CHECK(r.out[0] == Shape{2, 3, 7, 6});
  CHECK(r.out[1] == Shape{2, 3, 7, 1});
  CHECK(default_of(op, "overlap_thresh") == AttrValue(0.5));
  CHECK(default_of(op, "valid_thresh") == AttrValue(0.0));
  CHECK(default_of(op, "topk") == AttrValue(int64_t(-1)));
  CHECK(default_of(op, "coord_start") == AttrValue(int64_t(2)));
  CHECK(default_of(op, "score_index") == AttrValue(int64_t(1)));
  CHECK(default_of(op, "id_index") == AttrValue(int64_t(-1)));
  CHECK(default_of(op, "background_id") == AttrValue(int64_t(-1)));
  CHECK(default_of(op, "in_format") == AttrValue(std::string("corner")));
  CHECK(names_node(infer_error(op, {}, {{6}}), op, "rank >= 2"));
  CHECK(names_node(infer_error(op, {{"id_index", "0"}}, {{4, 5}}), op, "less than 6"));
  CHECK(names_node(infer_error(op, {{"score_index", "3"}}, {{4, 6}}), op, "overlaps the coordinates"));
  CHECK(names_node(infer_error(op, {{"coord_start", "3"}}, {{4, 6}}), op, "out of range"));
  CHECK(names_node(infer_error(op, {{"id_index", "1"}}, {{4, 6}}), op, "id_index and score_index"));
  CHECK_THROWS_AS(infer_op(op, {{"in_format", "xywh"}}, {{4, 6}}), Error);  // not an enum choice
}

TEST_CASE("_contrib_box_iou: lhs[:-1] + rhs[:-1]") {
  const std::string op = "_contrib_box_iou";
  CHECK(infer_op(op, {}, {{2, 3, 4}, {5, 4}}).out[0] == Shape{2, 3, 5});
  CHECK(names_node(infer_error(op, {}, {{2, 3}, {5, 4}}), op, "lhs must be (..., 4)"));
  CHECK(names_node(infer_error(op, {}, {{2, 4}, {4}}), op, "rhs must be (..., 4)"));
}
