// Shape/dtype rules of ir/ops/init.cc, checked against MXNet 1.9 semantics
// (InitShape / RangeShape / InitEyeShape in src/operator/tensor/init_op.h).
#include <doctest/doctest.h>

#include <string>

#include "hgc/base/error.h"
#include "hgc/ir/graph.h"
#include "hgc/ir/infer.h"
#include "hgc/ir/op.h"
#include "support/op_test.h"

using namespace hgc;
using hgc::test::infer_op;

namespace {
const OpDef& op(const std::string& name) { return OpRegistry::global().get(name); }
}  // namespace

TEST_CASE("_zeros / _ones / _full: shape and dtype attributes") {
  for (const char* name : {"_zeros", "_ones", "_full"}) {
    CAPTURE(name);
    const OpDef& d = op(name);
    CHECK(d.has(kSource));
    CHECK(d.input_names(AttrView(d, {}, "t")).empty());
    CHECK(std::get<std::string>(*d.attr_spec("dtype")->default_value) == "float32");
    CHECK(std::get<std::string>(*d.attr_spec("ctx")->default_value).empty());
    std::map<std::string, std::string> a{{"shape", "(2, 3)"}};
    if (std::string(name) == "_full") a["value"] = "7";
    auto r = infer_op(name, a, {});
    CHECK(r.out[0].str() == "(2, 3)");
    CHECK(r.out_types[0] == DType::f32);
    a["dtype"] = "int32";
    CHECK(infer_op(name, a, {}).out_types[0] == DType::i32);
  }
  CHECK_FALSE(op("_full").attr_spec("value")->default_value.has_value());
}

TEST_CASE("_zeros: legacy 0 dims and empty shapes are unknown") {
  // MXNet 1.x (non-numpy mode) converts 0 to an unknown dim, so a consumer may fill it.
  auto r = infer_op("_zeros", {{"shape", "(0, 4)"}}, {}, {}, false);
  CHECK(r.out[0].str() == "(?, 4)");
  r = infer_op("_zeros", {}, {}, {}, false);
  CHECK_FALSE(r.out[0].rank_known());
  CHECK_THROWS_WITH_AS(infer_op("_zeros", {{"shape", "(0, 4)"}}, {}),
                       doctest::Contains("(_zeros)"), Error);
  CHECK_THROWS_WITH_AS(infer_op("_ones", {{"shape", "(-2, 4)"}}, {}),
                       doctest::Contains("(_ones)"), Error);
}

TEST_CASE("_zeros: a consumer completes a legacy 0 dim") {
  // begin_state = _zeros(shape=(0, 4)); out = begin_state + data, as in MXNet RNN exports.
  Graph g;
  int data = g.add_variable("data");
  int z = g.add_node("_zeros", "state", {}, {{"shape", std::vector<int64_t>{0, 4}}});
  int add = g.add_node("elemwise_add", "sum", {{z, 0}, {data, 0}});
  InferOptions o;
  o.shapes["data"] = Shape{3, 4};
  infer(g, o);
  CHECK(g.nodes[z].out_shapes[0].str() == "(3, 4)");
  CHECK(g.nodes[add].out_shapes[0].str() == "(3, 4)");
  CHECK(g.nodes[z].out_dtypes[0] == DType::f32);
}

TEST_CASE("_arange length = ceil((stop - start) / step) * repeat") {
  auto len = [](const std::map<std::string, std::string>& a) {
    return infer_op("_arange", a, {}).out[0].str();
  };
  CHECK(len({{"start", "0"}, {"stop", "5"}}) == "(5,)");
  CHECK(len({{"start", "0"}, {"stop", "5"}, {"step", "2"}}) == "(3,)");
  CHECK(len({{"start", "1.5"}, {"stop", "2.6"}, {"step", "0.5"}}) == "(3,)");
  CHECK(len({{"start", "5"}}) == "(5,)");  // stop None: [0, start)
  CHECK(len({{"start", "0"}, {"stop", "3"}, {"repeat", "2"}}) == "(6,)");
  CHECK(len({{"start", "5"}, {"stop", "0"}, {"step", "-1"}}) == "(5,)");
  auto r = infer_op("_arange", {{"start", "0"}, {"stop", "4"}, {"dtype", "int64"}}, {});
  CHECK(r.out_types[0] == DType::i64);
  CHECK(op("_arange").has(kSource));
  CHECK(std::get<double>(*op("_arange").attr_spec("step")->default_value) == 1.0);
  CHECK_FALSE(op("_arange").attr_spec("start")->default_value.has_value());

  // infer_range with no stop leaves the length to the consumers.
  r = infer_op("_arange", {{"start", "0"}, {"infer_range", "True"}}, {}, {}, false);
  CHECK_FALSE(r.out[0].known());

  CHECK_THROWS_WITH_AS(infer_op("_arange", {{"start", "3"}, {"stop", "1"}}, {}),
                       doctest::Contains("(_arange)"), Error);
  CHECK_THROWS_AS(infer_op("_arange", {{"start", "0"}, {"stop", "3"}, {"step", "0"}}, {}),
                  Error);
  CHECK_THROWS_AS(infer_op("_arange", {{"start", "0"}, {"stop", "3"}, {"repeat", "0"}}, {}),
                  Error);
}

TEST_CASE("_eye") {
  CHECK(infer_op("_eye", {{"N", "3"}}, {}).out[0].str() == "(3, 3)");
  auto r = infer_op("_eye", {{"N", "3"}, {"M", "5"}, {"k", "1"}, {"dtype", "float64"}}, {});
  CHECK(r.out[0].str() == "(3, 5)");
  CHECK(r.out_types[0] == DType::f64);
  CHECK_THROWS_WITH_AS(infer_op("_eye", {{"N", "-1"}}, {}), doctest::Contains("(_eye)"), Error);
  CHECK_THROWS_AS(infer_op("_eye", {}, {}), Error);  // N is required
}

TEST_CASE("zeros_like / ones_like") {
  for (const char* name : {"zeros_like", "ones_like"}) {
    CAPTURE(name);
    CHECK_FALSE(op(name).has(kSource));
    auto r = infer_op(name, {}, {{4, 2}}, {DType::i8});
    CHECK(r.out[0].str() == "(4, 2)");
    CHECK(r.out_types[0] == DType::i8);
  }
}

TEST_CASE("one_hot appends depth; dtype from the attribute") {
  const OpDef& d = op("one_hot");
  CHECK(d.input_names(AttrView(d, {}, "t")) == Names{"indices"});
  CHECK(std::get<double>(*d.attr_spec("on_value")->default_value) == 1.0);
  CHECK(std::get<double>(*d.attr_spec("off_value")->default_value) == 0.0);
  auto r = infer_op("one_hot", {{"depth", "5"}}, {{2, 3}}, {DType::i32});
  CHECK(r.out[0].str() == "(2, 3, 5)");
  CHECK(r.in_types[0] == DType::i32);  // indices keep their own dtype
  CHECK(r.out_types[0] == DType::f32);
  r = infer_op("one_hot", {{"depth", "4"}, {"dtype", "int64"}}, {{6}}, {DType::f32});
  CHECK(r.out[0].str() == "(6, 4)");
  CHECK(r.out_types[0] == DType::i64);
  CHECK_THROWS_WITH_AS(infer_op("one_hot", {{"depth", "-1"}}, {{2}}),
                       doctest::Contains("(one_hot)"), Error);
  CHECK_THROWS_AS(infer_op("one_hot", {}, {{2}}), Error);  // depth is required
}
