#include <doctest/doctest.h>

#include <cmath>

#include "hgc/base/attrs.h"
#include "hgc/base/error.h"
#include "hgc/ir/op.h"
#include "hgc/ir/shape.h"

using namespace hgc;

TEST_CASE("int tuples accept every MXNet spelling") {
  auto k = AttrSpec::int_tuple("kernel");
  using V = std::vector<int64_t>;
  CHECK(std::get<V>(parse_attr(k, "(3, 3)")) == V{3, 3});
  CHECK(std::get<V>(parse_attr(k, "(3,3)")) == V{3, 3});
  CHECK(std::get<V>(parse_attr(k, "[3, 3]")) == V{3, 3});
  CHECK(std::get<V>(parse_attr(k, "(3,)")) == V{3});
  CHECK(std::get<V>(parse_attr(k, "()")).empty());
  CHECK(std::get<V>(parse_attr(k, "(-1)")) == V{-1});
  CHECK(std::get<V>(parse_attr(k, "(0, -1, -2, -3, -4)")) == V{0, -1, -2, -3, -4});
  CHECK(std::get<V>(parse_attr(k, "5")) == V{5});
  CHECK(std::get<V>(parse_attr(k, "(2L, 3L)")) == V{2, 3});  // Python 2 longs
  CHECK_THROWS_AS(parse_attr(k, "(3, x)"), Error);
  CHECK_THROWS_AS(parse_attr(k, "(3, 3"), Error);
  CHECK_THROWS_AS(parse_attr(k, "(3,,3)"), Error);
}

TEST_CASE("booleans, None, numbers and enums") {
  auto b = AttrSpec::boolean("flatten");
  for (const char* t : {"True", "true", "TRUE", "1"}) CHECK(std::get<bool>(parse_attr(b, t)));
  for (const char* t : {"False", "false", "0"}) CHECK_FALSE(std::get<bool>(parse_attr(b, t)));
  CHECK_THROWS_WITH_AS(parse_attr(b, "yes"), doctest::Contains("'yes'"), Error);

  auto axis = AttrSpec::integer("axis").opt();
  CHECK(std::holds_alternative<std::monostate>(parse_attr(axis, "None")));
  CHECK(std::get<int64_t>(parse_attr(axis, "-1")) == -1);
  CHECK_THROWS_AS(parse_attr(AttrSpec::integer("axis"), "None"), Error);  // not nullable

  auto eps = AttrSpec::real("eps");
  CHECK(std::get<double>(parse_attr(eps, "1e-05")) == doctest::Approx(1e-5));
  CHECK(std::isinf(std::get<double>(parse_attr(eps, "-inf"))));
  CHECK_THROWS_AS(parse_attr(eps, "1e-5x"), Error);

  auto act = AttrSpec::one_of("act_type", {"relu", "tanh"});
  CHECK(std::get<std::string>(parse_attr(act, "relu")) == "relu");
  CHECK_THROWS_WITH_AS(parse_attr(act, "gelu"), doctest::Contains("relu, tanh"), Error);

  auto dt = AttrSpec::dtype("dtype");
  CHECK(std::get<std::string>(parse_attr(dt, "float16")) == "float16");
  CHECK(std::get<std::string>(parse_attr(dt, "4")) == "int32");  // numeric codes too
  CHECK_THROWS_AS(parse_attr(dt, "float128"), Error);
}

TEST_CASE("format_attr writes Python's str() spelling and round-trips") {
  CHECK(format_attr(AttrValue{std::vector<int64_t>{3, 3}}) == "(3, 3)");
  CHECK(format_attr(AttrValue{std::vector<int64_t>{3}}) == "(3,)");
  CHECK(format_attr(AttrValue{std::vector<int64_t>{}}) == "()");
  CHECK(format_attr(AttrValue{true}) == "True");
  CHECK(format_attr(AttrValue{std::monostate{}}) == "None");
  CHECK(format_attr(AttrValue{1e-5}) == "1e-05");
  CHECK(format_attr(AttrValue{0.001}) == "0.001");
  CHECK(format_attr(AttrValue{1.0}) == "1.0");
  CHECK(format_attr(AttrValue{0.1}) == "0.1");
  CHECK(format_attr(AttrValue{int64_t(-4)}) == "-4");
  auto eps = AttrSpec::real("eps");
  for (double d : {1e-5, 0.1, 2.5e-7, 123456.789, 1.0 / 3})
    CHECK(std::get<double>(parse_attr(eps, format_attr(AttrValue{d}))) == d);
}

TEST_CASE("AttrView fills defaults from the op record and names the node on errors") {
  const OpDef& fc = OpRegistry::global().get("FullyConnected");
  AttrMap m{{"num_hidden", int64_t(8)}};
  AttrView v(fc, m, "node 'fc' (FullyConnected)");
  CHECK(v.i("num_hidden") == 8);
  CHECK(v.b("flatten") == true);
  CHECK(v.b("no_bias") == false);
  CHECK_THROWS_WITH_AS(v.i("nope"), doctest::Contains("node 'fc'"), Error);
  AttrMap empty;
  AttrView w(fc, empty, "node 'fc2' (FullyConnected)");
  CHECK_THROWS_WITH_AS(w.i("num_hidden"), doctest::Contains("required attribute 'num_hidden'"), Error);
}

TEST_CASE("shapes: merge, broadcast, printing") {
  Shape s{256, Shape::kUnknownDim};
  CHECK_FALSE(s.known());
  CHECK(s.str() == "(256, ?)");
  CHECK(Shape::merge(s, Shape{256, 512}));
  CHECK(s == Shape{256, 512});
  CHECK_FALSE(Shape::merge(s, Shape{256, 3}));
  CHECK_FALSE(Shape::merge(s, Shape{256}));
  CHECK(Shape{3}.str() == "(3,)");
  CHECK(Shape::unknown().str() == "?");
  CHECK(Shape{2, 3, 4}.str_x() == "2x3x4");
  CHECK(*rules::broadcast(Shape{2, 1, 4}, Shape{3, 1}) == Shape{2, 3, 4});
  CHECK_FALSE(rules::broadcast(Shape{2, 3}, Shape{4}).has_value());
  CHECK(normalize_axis(-1, 3, "t") == 2);
  CHECK_THROWS_AS(normalize_axis(3, 3, "t"), Error);
}
