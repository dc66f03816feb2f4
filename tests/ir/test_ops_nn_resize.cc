// Shape rules, MXNet 1.9 attributes/defaults and named errors of the nn_resize family:
// UpSampling, Crop, _contrib_BilinearResize2D, _contrib_AdaptiveAvgPooling2D.
#include <doctest/doctest.h>

#include "hgc/ir/op.h"
#include "ir/nn_movement_test_util.h"

using namespace hgc;
using hgc::test::infer_error;
using hgc::test::infer_op;
using hgc::test::names_node;

namespace {
const OpDef& op(const std::string& n) { return OpRegistry::global().get(n); }
AttrValue default_of(const std::string& o, const std::string& a) { return *op(o).attr_spec(a)->default_value; }
const Shape U = Shape();
using A = std::map<std::string, std::string>;
}  // namespace

TEST_CASE("UpSampling: nearest concat/sum over several inputs, bilinear completes its weight") {
  A near{{"scale", "2"}, {"sample_type", "nearest"}, {"num_args", "1"}};
  CHECK(infer_op("UpSampling", near, {{2, 3, 4, 5}}).out[0] == Shape{2, 3, 8, 10});
  A two = near;
  two["num_args"] = "2";
  CHECK(infer_op("UpSampling", two, {{2, 3, 4, 4}, {2, 5, 2, 2}}).out[0] == Shape{2, 8, 8, 8});
  two["multi_input_mode"] = "sum";
  CHECK(infer_op("UpSampling", two, {{2, 3, 4, 4}, {2, 3, 8, 8}}).out[0] == Shape{2, 3, 8, 8});
  CHECK(names_node(infer_error("UpSampling", two, {{2, 3, 4, 4}, {2, 4, 8, 8}}), "UpSampling", "equal channel counts"));
  CHECK(names_node(infer_error("UpSampling", two, {{2, 3, 4, 4}, {2, 3, 3, 3}}), "UpSampling", "does not scale"));
  A bil{{"scale", "2"}, {"sample_type", "bilinear"}, {"num_args", "2"}, {"num_filter", "3"}};
  auto r = infer_op("UpSampling", bil, {{2, 3, 4, 5}, U});
  CHECK(r.out[0] == Shape{2, 3, 8, 10});
  CHECK(r.in[1] == Shape{3, 1, 4, 4});  // kernel 2 * scale - scale % 2
  bil["scale"] = "3";
  CHECK(infer_op("UpSampling", bil, {{1, 3, 2, 2}, U}).in[1] == Shape{3, 1, 5, 5});
  CHECK(op("UpSampling").input_names(AttrView(op("UpSampling"), {{"sample_type", std::string("bilinear")}, {"num_args", int64_t(2)}}, "x")) ==
        Names{"data", "weight"});
  CHECK(default_of("UpSampling", "num_filter") == AttrValue(int64_t(0)));
  CHECK(default_of("UpSampling", "multi_input_mode") == AttrValue(std::string("concat")));
  CHECK(default_of("UpSampling", "workspace") == AttrValue(int64_t(512)));
  // Bad attributes: named errors.
  bil["num_filter"] = "4";
  CHECK(names_node(infer_error("UpSampling", bil, {{1, 3, 2, 2}, U}), "UpSampling", "num_filter must equal the 3 channels"));
  bil["num_filter"] = "3";
  bil["num_args"] = "1";
  CHECK(hgc::test::has(infer_error("UpSampling", {{"scale", "2"}, {"sample_type", "bilinear"}, {"num_args", "1"}, {"num_filter", "3"}},
                                   {{1, 3, 2, 2}, U}), "num_args must be 2"));
  CHECK(names_node(infer_error("UpSampling", {{"scale", "0"}, {"sample_type", "nearest"}, {"num_args", "1"}}, {{1, 1, 2, 2}}),
                   "UpSampling", "scale must be >= 1"));
  CHECK(!infer_error("UpSampling", {{"scale", "2"}, {"sample_type", "cubic"}, {"num_args", "1"}}, {{1, 1, 2, 2}}).empty());
  CHECK(names_node(infer_error("UpSampling", near, {{2, 3, 4}}), "UpSampling", "4-D"));
  CHECK_THROWS_AS(infer_op("UpSampling", {{"sample_type", "nearest"}, {"num_args", "1"}}, {{1, 1, 2, 2}}), Error);  // scale required
}

TEST_CASE("Crop: h_w or crop_like, offset or center, checked against the data") {
  CHECK(infer_op("Crop", {{"num_args", "1"}, {"h_w", "(3, 4)"}}, {{2, 3, 5, 7}}).out[0] == Shape{2, 3, 3, 4});
  CHECK(infer_op("Crop", {{"num_args", "2"}, {"center_crop", "True"}}, {{2, 3, 6, 7}, {9, 9, 3, 4}}).out[0] ==
        Shape{2, 3, 3, 4});
  CHECK(default_of("Crop", "offset") == AttrValue(std::vector<int64_t>{0, 0}));
  CHECK(default_of("Crop", "h_w") == AttrValue(std::vector<int64_t>{0, 0}));
  CHECK(default_of("Crop", "center_crop") == AttrValue(false));
  CHECK(names_node(infer_error("Crop", {{"num_args", "1"}, {"h_w", "(6, 4)"}}, {{2, 3, 5, 7}}), "Crop", "larger than"));
  CHECK(names_node(infer_error("Crop", {{"num_args", "1"}}, {{2, 3, 5, 7}}), "Crop", "h_w"));  // (0, 0) default
  CHECK(names_node(infer_error("Crop", {{"num_args", "1"}, {"h_w", "(3, 4)"}, {"offset", "(3, 0)"}}, {{2, 3, 5, 7}}), "Crop",
                   "offset (3, 0)"));
  CHECK(names_node(infer_error("Crop", {{"num_args", "3"}}, {{2, 3, 5, 7}, {2, 3, 5, 7}, {2, 3, 5, 7}}), "Crop", "num_args"));
  CHECK(names_node(infer_error("Crop", {{"num_args", "2"}}, {{2, 3, 5, 7}, {2, 3}}), "Crop", "crop_like"));
}

TEST_CASE("_contrib_BilinearResize2D: MXNet 1.9's modes") {
  auto out = [](A a, Shape d, std::vector<Shape> more = {}) {
    std::vector<Shape> in{d};
    in.insert(in.end(), more.begin(), more.end());
    return infer_op("_contrib_BilinearResize2D", a, in).out[0];
  };
  CHECK(out({{"height", "7"}, {"width", "9"}}, {2, 3, 4, 5}) == Shape{2, 3, 7, 9});
  CHECK(out({{"scale_height", "1.5"}, {"scale_width", "0.5"}}, {1, 2, 4, 6}) == Shape{1, 2, 6, 3});
  CHECK(out({{"mode", "odd_scale"}, {"scale_height", "2"}, {"scale_width", "2"}}, {1, 2, 5, 4}) == Shape{1, 2, 9, 8});
  CHECK(out({{"mode", "like"}}, {1, 2, 5, 4}, {{3, 3, 8, 2}}) == Shape{1, 2, 8, 2});
  CHECK(out({{"mode", "to_even_down"}}, {1, 2, 5, 4}) == Shape{1, 2, 4, 4});
  CHECK(out({{"mode", "to_even_up"}}, {1, 2, 5, 4}) == Shape{1, 2, 6, 4});
  CHECK(out({{"mode", "to_odd_down"}}, {1, 2, 5, 4}) == Shape{1, 2, 5, 3});
  CHECK(out({{"mode", "to_odd_up"}}, {1, 2, 5, 4}) == Shape{1, 2, 5, 5});
  CHECK(op("BilinearResize2D").name == "_contrib_BilinearResize2D");
  CHECK(default_of("_contrib_BilinearResize2D", "align_corners") == AttrValue(true));  // MXNet 1.9's default
  CHECK(default_of("_contrib_BilinearResize2D", "mode") == AttrValue(std::string("size")));
  CHECK(default_of("_contrib_BilinearResize2D", "height") == AttrValue(int64_t(1)));
  CHECK(names_node(infer_error("_contrib_BilinearResize2D", {{"height", "0"}}, {{1, 2, 4, 4}}), "_contrib_BilinearResize2D",
                   "height and width must be >= 1"));
  CHECK(names_node(infer_error("_contrib_BilinearResize2D", {{"mode", "odd_scale"}}, {{1, 2, 4, 4}}),
                   "_contrib_BilinearResize2D", "needs scale_height"));
  CHECK(names_node(infer_error("_contrib_BilinearResize2D", {{"scale_height", "2"}}, {{1, 2, 4, 4}}),
                   "_contrib_BilinearResize2D", "needs scale_width"));
  CHECK(names_node(infer_error("_contrib_BilinearResize2D", {{"scale_height", "-1"}, {"scale_width", "1"}}, {{1, 2, 4, 4}}),
                   "_contrib_BilinearResize2D", "must be > 0"));
  CHECK(names_node(infer_error("_contrib_BilinearResize2D", {}, {{2, 4, 4}}), "_contrib_BilinearResize2D", "4-D"));
  CHECK(!infer_error("_contrib_BilinearResize2D", {{"mode", "area"}}, {{1, 2, 4, 4}}).empty());
}

TEST_CASE("_contrib_AdaptiveAvgPooling2D: output_size (), (s) or (h, w)") {
  CHECK(infer_op("_contrib_AdaptiveAvgPooling2D", {}, {{2, 3, 7, 5}}).out[0] == Shape{2, 3, 1, 1});
  CHECK(infer_op("_contrib_AdaptiveAvgPooling2D", {{"output_size", "(4,)"}}, {{2, 3, 7, 5}}).out[0] == Shape{2, 3, 4, 4});
  CHECK(infer_op("_contrib_AdaptiveAvgPooling2D", {{"output_size", "(3, 2)"}}, {{2, 3, 7, 5}}).out[0] == Shape{2, 3, 3, 2});
  CHECK(op("AdaptiveAvgPooling2D").name == "_contrib_AdaptiveAvgPooling2D");
  CHECK(names_node(infer_error("_contrib_AdaptiveAvgPooling2D", {{"output_size", "(1, 2, 3)"}}, {{2, 3, 7, 5}}),
                   "_contrib_AdaptiveAvgPooling2D", "0, 1 or 2 entries"));
  CHECK(names_node(infer_error("_contrib_AdaptiveAvgPooling2D", {{"output_size", "(0, 2)"}}, {{2, 3, 7, 5}}),
                   "_contrib_AdaptiveAvgPooling2D", ">= 1"));
  CHECK(names_node(infer_error("_contrib_AdaptiveAvgPooling2D", {}, {{3, 7, 5}}), "_contrib_AdaptiveAvgPooling2D", "4-D"));
}
