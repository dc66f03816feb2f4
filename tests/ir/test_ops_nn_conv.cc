// Convolution, Deconvolution, Pooling shape rules (formulas from MXNet's convolution.cc,
// deconvolution-inl.h and pooling.cc).
#include <doctest/doctest.h>

#include "hgc/ir/op.h"
#include "ir/nn_movement_test_util.h"

using namespace hgc;
using hgc::test::infer_error;
using hgc::test::infer_op;
using hgc::test::names_node;

namespace {
const OpDef& op(const std::string& n) { return OpRegistry::global().get(n); }
AttrValue default_of(const std::string& o, const std::string& a) {
  return *op(o).attr_spec(a)->default_value;
}
const Shape U = Shape();
constexpr int64_t X = Shape::kUnknownDim;
}  // namespace

TEST_CASE("Convolution 2-D: ResNet stem") {
  // out = (224 + 2*3 - 7) / 2 + 1 = 112
  auto r = infer_op(
      "Convolution",
      {{"kernel", "(7, 7)"}, {"stride", "(2, 2)"}, {"pad", "(3, 3)"}, {"num_filter", "64"}},
      {{1, 3, 224, 224}, U, U});
  CHECK(r.out[0] == Shape{1, 64, 112, 112});
  CHECK(r.in[1] == Shape{64, 3, 7, 7});
  CHECK(r.in[2] == Shape{64});
  CHECK(op("Convolution").param_inputs == Names{"weight", "bias"});
  CHECK(default_of("Convolution", "num_group") == AttrValue(int64_t(1)));
  CHECK(default_of("Convolution", "workspace") == AttrValue(int64_t(1024)));
  CHECK(default_of("Convolution", "no_bias") == AttrValue(false));
  CHECK(default_of("Convolution", "cudnn_tune") == AttrValue(std::monostate{}));
  CHECK(default_of("Convolution", "layout") == AttrValue(std::monostate{}));
}

TEST_CASE("Convolution variants") {
  SUBCASE("1-D") {
    auto r = infer_op("Convolution", {{"kernel", "(3,)"}, {"num_filter", "8"}}, {{2, 4, 10}, U, U});
    CHECK(r.out[0] == Shape{2, 8, 8});
    CHECK(r.in[1] == Shape{8, 4, 3});
  }
  SUBCASE("3-D") {
    auto r = infer_op("Convolution",
                      {{"kernel", "(3, 3, 3)"}, {"pad", "(1, 1, 1)"}, {"num_filter", "4"}},
                      {{1, 2, 8, 8, 8}, U, U});
    CHECK(r.out[0] == Shape{1, 4, 8, 8, 8});
    CHECK(r.in[1] == Shape{4, 2, 3, 3, 3});
  }
  SUBCASE("groups split the input channels") {
    auto r = infer_op(
        "Convolution",
        {{"kernel", "(3, 3)"}, {"num_filter", "4"}, {"num_group", "2"}, {"no_bias", "True"}},
        {{1, 8, 5, 5}, U});
    CHECK(r.in[1] == Shape{4, 4, 3, 3});
    CHECK(r.out[0] == Shape{1, 4, 3, 3});
  }
  SUBCASE("dilation enlarges the kernel") {
    // dilated kernel 2*(3-1)+1 = 5: (10 - 5) / 1 + 1 = 6
    auto r =
        infer_op("Convolution", {{"kernel", "(3, 3)"}, {"dilate", "(2, 2)"}, {"num_filter", "1"}},
                 {{1, 1, 10, 10}, U, U});
    CHECK(r.out[0] == Shape{1, 1, 6, 6});
  }
  SUBCASE("channel-last layouts put weight channels last") {
    auto r =
        infer_op("Convolution", {{"kernel", "(3, 3)"}, {"num_filter", "16"}, {"layout", "NHWC"}},
                 {{1, 32, 32, 4}, U, U});
    CHECK(r.out[0] == Shape{1, 30, 30, 16});
    CHECK(r.in[1] == Shape{16, 3, 3, 4});
    auto w = infer_op("Convolution", {{"kernel", "(3,)"}, {"num_filter", "8"}, {"layout", "NWC"}},
                      {{2, 10, 4}, U, U});
    CHECK(w.out[0] == Shape{2, 8, 8});
    CHECK(w.in[1] == Shape{8, 3, 4});
  }
  SUBCASE("deferred weight dims are completed") {
    auto r = infer_op("Convolution", {{"kernel", "(3, 3)"}, {"num_filter", "6"}},
                      {{2, 3, 8, 8}, Shape{6, X, 3, 3}, U});
    CHECK(r.in[1] == Shape{6, 3, 3, 3});
  }
  SUBCASE("batch and stride-1 spatial dims flow back from a known output (as in MXNet)") {
    auto [in, out] = hgc::test::run_rule(
        "Convolution", {{"kernel", std::vector<int64_t>{3, 3}}, {"num_filter", int64_t(6)}},
        {Shape{X, 3, X, X}, U, U}, {{2, 6, 6, 6}});
    CHECK(in[0] == Shape{2, 3, 8, 8});
    CHECK(in[1] == Shape{6, 3, 3, 3});
  }
  SUBCASE("an unknown batch dim stays unknown") {
    auto r = infer_op("Convolution", {{"kernel", "(3, 3)"}, {"num_filter", "6"}},
                      {Shape{X, 3, 8, 8}, U, U}, {}, false);
    CHECK(r.out[0] == Shape{X, 6, 6, 6});
  }
}

TEST_CASE("Convolution errors name the node") {
  std::map<std::string, std::string> a = {{"kernel", "(3, 3)"}, {"num_filter", "4"}};
  CHECK(names_node(infer_error("Convolution", a, {{1, 3, 2, 2}, U, U}), "Convolution", "exceeds"));
  CHECK(names_node(infer_error("Convolution", a, {{1, 3, 8}, U, U}), "Convolution", "rank 4"));
  auto g = a;
  g["num_group"] = "2";
  CHECK(names_node(infer_error("Convolution", g, {{1, 3, 8, 8}, U, U}), "Convolution",
                   "not divisible by num_group"));
  g["num_filter"] = "3";
  CHECK(names_node(infer_error("Convolution", g, {{1, 4, 8, 8}, U, U}), "Convolution",
                   "num_filter 3"));
  auto s = a;
  s["stride"] = "(1, 1, 1)";
  CHECK(names_node(infer_error("Convolution", s, {{1, 3, 8, 8}, U, U}), "Convolution", "stride"));
  auto l = a;
  l["layout"] = "NCW";
  CHECK(names_node(infer_error("Convolution", l, {{1, 3, 8, 8}, U, U}), "Convolution", "layout"));
  CHECK_THROWS_AS(infer_op("Convolution", {{"num_filter", "4"}}, {{1, 3, 8, 8}, U, U}), Error);
}

TEST_CASE("Deconvolution") {
  CHECK(default_of("Deconvolution", "no_bias") == AttrValue(true));
  CHECK(default_of("Deconvolution", "workspace") == AttrValue(int64_t(512)));
  // out = stride * (x - 1) + kernel - 2 * pad + adj = 2 * 4 + 3 = 11
  auto r =
      infer_op("Deconvolution", {{"kernel", "(3, 3)"}, {"stride", "(2, 2)"}, {"num_filter", "2"}},
               {{1, 4, 5, 5}, U});
  CHECK(r.out[0] == Shape{1, 2, 11, 11});
  CHECK(r.in[1] == Shape{4, 2, 3, 3});  // (C_in, num_filter / group, kh, kw)
  auto p = infer_op("Deconvolution",
                    {{"kernel", "(3, 3)"},
                     {"stride", "(2, 2)"},
                     {"pad", "(1, 1)"},
                     {"adj", "(1, 1)"},
                     {"num_filter", "2"},
                     {"no_bias", "False"}},
                    {{1, 4, 5, 5}, U, U});
  CHECK(p.out[0] == Shape{1, 2, 10, 10});
  CHECK(p.in[2] == Shape{2});
  auto t = infer_op("Deconvolution",
                    {{"kernel", "(4, 4)"},
                     {"stride", "(2, 2)"},
                     {"target_shape", "(10, 10)"},
                     {"num_filter", "2"}},
                    {{1, 4, 5, 5}, U});
  CHECK(t.out[0] == Shape{1, 2, 10, 10});
  CHECK(names_node(
      infer_error("Deconvolution", {{"kernel", "(3,)"}, {"adj", "(2,)"}, {"num_filter", "2"}},
                  {{1, 4, 5}, U}),
      "Deconvolution", "adj"));
}

TEST_CASE("Pooling conventions") {
  CHECK(default_of("Pooling", "pool_type") == AttrValue(std::string("max")));
  CHECK(default_of("Pooling", "pooling_convention") == AttrValue(std::string("valid")));
  CHECK(default_of("Pooling", "global_pool") == AttrValue(false));
  CHECK(default_of("Pooling", "count_include_pad") == AttrValue(std::monostate{}));
  std::map<std::string, std::string> a = {{"kernel", "(3, 3)"}, {"stride", "(2, 2)"}};
  // valid: floor((224 - 3) / 2) + 1 = 111
  CHECK(infer_op("Pooling", a, {{1, 3, 224, 224}}).out[0] == Shape{1, 3, 111, 111});
  // full: ceil((111 - 3) / 2) + 1 = 55 (SqueezeNet's pool1)
  a["pooling_convention"] = "full";
  CHECK(infer_op("Pooling", a, {{1, 96, 111, 111}}).out[0] == Shape{1, 96, 55, 55});
  CHECK(infer_op("Pooling", a, {{1, 3, 224, 224}}).out[0] == Shape{1, 3, 112, 112});
  // same: ceil(10 / 2) = 5
  CHECK(infer_op("Pooling",
                 {{"kernel", "(3,)"}, {"stride", "(2,)"}, {"pooling_convention", "same"}},
                 {{1, 3, 10}})
            .out[0] == Shape{1, 3, 5});
  // padding and stride default to 0 and 1
  CHECK(infer_op("Pooling", {{"kernel", "(2, 2)"}, {"pad", "(1, 1)"}, {"pool_type", "avg"}},
                 {{2, 4, 6, 6}})
            .out[0] == Shape{2, 4, 7, 7});
  CHECK(infer_op("Pooling", {{"kernel", "(2, 2, 2)"}, {"stride", "(2, 2, 2)"}}, {{1, 2, 8, 8, 8}})
            .out[0] == Shape{1, 2, 4, 4, 4});
}

TEST_CASE("Pooling: global, layouts, errors") {
  CHECK(infer_op("Pooling", {{"global_pool", "True"}, {"pool_type", "avg"}}, {{2, 512, 7, 7}})
            .out[0] == Shape{2, 512, 1, 1});
  // global_pool ignores a kernel that is present
  CHECK(
      infer_op("Pooling", {{"global_pool", "True"}, {"kernel", "(7, 7)"}}, {{2, 8, 3, 3}}).out[0] ==
      Shape{2, 8, 1, 1});
  CHECK(infer_op("Pooling", {{"global_pool", "True"}, {"layout", "NHWC"}}, {{2, 7, 7, 8}}).out[0] ==
        Shape{2, 1, 1, 8});
  CHECK(
      infer_op("Pooling", {{"kernel", "(2,)"}, {"stride", "(2,)"}, {"layout", "NWC"}}, {{2, 8, 3}})
          .out[0] == Shape{2, 4, 3});
  CHECK(names_node(infer_error("Pooling", {}, {{1, 3, 8, 8}}), "Pooling", "kernel is required"));
  CHECK(names_node(infer_error("Pooling", {{"kernel", "(5, 5)"}}, {{1, 3, 4, 4}}), "Pooling",
                   "exceeds"));
  CHECK(names_node(
      infer_error("Pooling", {{"kernel", "(2, 2)"}, {"pool_type", "lp"}}, {{1, 3, 4, 4}}),
      "Pooling", "p_value"));
  CHECK(names_node(infer_error("Pooling", {{"kernel", "(2, 2)"}}, {{3, 4}}), "Pooling", "rank 3"));
  CHECK(names_node(infer_error("Pooling", {{"kernel", "(2,)"}}, {{1, 3, 4, 4}}), "Pooling",
                   "kernel"));
}
