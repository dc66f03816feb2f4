// Normalization layers: parameter shapes, hidden statistics outputs, BatchNorm aux states.
#include <doctest/doctest.h>

#include "hgc/ir/graph.h"
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
int visible(const std::string& o, AttrMap attrs) {
  return op(o).num_visible_outputs(AttrView(op(o), attrs, "x"));
}
const Shape U = Shape();
}  // namespace

TEST_CASE("LayerNorm") {
  auto r = infer_op("LayerNorm", {}, {{2, 5, 8}, U, U});
  CHECK(r.in[1] == Shape{8});
  CHECK(r.in[2] == Shape{8});
  REQUIRE(r.out.size() == 3);
  CHECK(r.out[0] == Shape{2, 5, 8});
  CHECK(r.out[1] == Shape{2, 5, 1});  // mean: the normalized axis reduced to 1
  CHECK(r.out[2] == Shape{2, 5, 1});  // std
  auto a = infer_op("LayerNorm", {{"axis", "1"}}, {{2, 5, 8}, U, U});
  CHECK(a.in[1] == Shape{5});
  CHECK(a.out[1] == Shape{2, 1, 8});
  CHECK(default_of("LayerNorm", "eps") == AttrValue(1e-5));
  CHECK(visible("LayerNorm", {}) == 1);
  CHECK(visible("LayerNorm", {{"output_mean_var", true}}) == 3);
  CHECK(op("LayerNorm").param_inputs == Names{"gamma", "beta"});
  CHECK(names_node(infer_error("LayerNorm", {{"axis", "3"}}, {{2, 5, 8}, U, U}), "LayerNorm",
                   "axis=3"));
  CHECK(names_node(infer_error("LayerNorm", {}, {{2, 5, 8}, {5}, U}), "LayerNorm", "gamma"));
}

TEST_CASE("BatchNorm: aux states, defaults, statistics dtype") {
  const OpDef& bn = op("BatchNorm");
  CHECK(bn.num_aux == 2);
  CHECK(bn.has(kAuxState));
  CHECK(bn.param_inputs == Names{"gamma", "beta"});
  CHECK(default_of("BatchNorm", "eps") == AttrValue(1e-3));
  CHECK(default_of("BatchNorm", "momentum") == AttrValue(0.9));
  CHECK(default_of("BatchNorm", "fix_gamma") == AttrValue(true));
  CHECK(default_of("BatchNorm", "use_global_stats") == AttrValue(false));
  CHECK(default_of("BatchNorm", "axis") == AttrValue(int64_t(1)));
  CHECK(default_of("BatchNorm", "min_calib_range") == AttrValue(std::monostate{}));
  CHECK(visible("BatchNorm", {}) == 1);
  CHECK(visible("BatchNorm", {{"output_mean_var", true}}) == 3);

  auto r = infer_op("BatchNorm", {}, {{2, 3, 4, 4}, U, U, U, U});
  for (int i = 1; i <= 4; ++i) CHECK(r.in[i] == Shape{3});
  CHECK(r.out[0] == Shape{2, 3, 4, 4});
  CHECK(r.out[1] == Shape{3});
  CHECK(r.out[2] == Shape{3});
  CHECK(infer_op("BatchNorm", {{"axis", "-1"}}, {{2, 3, 4, 5}, U, U, U, U}).in[3] == Shape{5});

  // float16 data keeps float32 parameters and statistics (MXNet's AccReal).
  auto h = infer_op("BatchNorm", {}, {{2, 3}, U, U, U, U}, {DType::f16});
  CHECK(h.out_types[0] == DType::f16);
  CHECK(h.in_types[1] == DType::f32);
  CHECK(h.in_types[4] == DType::f32);
  CHECK(h.out_types[1] == DType::f32);
  auto d = infer_op("BatchNorm", {}, {{2, 3}, U, U, U, U}, {DType::f64});
  CHECK(d.in_types[3] == DType::f64);

  // The graph sees moving_mean/moving_var as aux states.
  Graph g;
  std::vector<ValueRef> in;
  for (const char* n : {"data", "gamma", "beta", "mean", "var"})
    in.push_back({g.add_variable(n), 0});
  g.add_node("BatchNorm", "bn", in);
  CHECK(g.role(g.find("gamma")) == VarRole::Parameter);
  CHECK(g.role(g.find("mean")) == VarRole::AuxState);
  CHECK(g.role(g.find("data")) == VarRole::Input);

  CHECK(names_node(infer_error("BatchNorm", {{"axis", "4"}}, {{2, 3, 4, 4}, U, U, U, U}),
                   "BatchNorm", "axis"));
  CHECK(names_node(infer_error("BatchNorm", {}, {{2, 3, 4, 4}, U, U, {4}, U}), "BatchNorm",
                   "moving_mean"));
}

TEST_CASE("InstanceNorm, GroupNorm, L2Normalization") {
  auto i = infer_op("InstanceNorm", {}, {{2, 3, 5}, U, U});
  CHECK(i.in[1] == Shape{3});
  CHECK(i.out[1] == Shape{2, 3});
  CHECK(default_of("InstanceNorm", "eps") == AttrValue(1e-3));
  CHECK(visible("InstanceNorm", {}) == 1);

  // MXNet 1.x: one gamma/beta entry per group; statistics per (sample, group).
  auto g = infer_op("GroupNorm", {{"num_groups", "3"}}, {{2, 6, 5, 5}, U, U});
  CHECK(g.in[1] == Shape{3});
  CHECK(g.out[1] == Shape{2, 3});
  CHECK(g.out[0] == Shape{2, 6, 5, 5});
  CHECK(names_node(infer_error("GroupNorm", {{"num_groups", "4"}}, {{2, 6, 5}, U, U}), "GroupNorm",
                   "divisible"));

  auto l = infer_op("L2Normalization", {}, {{2, 3, 4, 5}});
  REQUIRE(l.out.size() == 2);
  CHECK(l.out[1] == Shape{2});
  CHECK(infer_op("L2Normalization", {{"mode", "channel"}}, {{2, 3, 4, 5}}).out[1] ==
        Shape{2, 1, 4, 5});
  CHECK(infer_op("L2Normalization", {{"mode", "spatial"}}, {{2, 3, 4, 5}}).out[1] == Shape{2, 3});
  CHECK(default_of("L2Normalization", "eps") == AttrValue(1e-10));
  CHECK(visible("L2Normalization", {}) == 1);
  CHECK(names_node(infer_error("L2Normalization", {{"mode", "channel"}}, {{2, 3}}),
                   "L2Normalization", "rank >= 3"));
}
