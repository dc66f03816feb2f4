// _backward_Pooling: the compiled gather lowering equals the reference's scatter (MXNet's
// unpool loops) over max/avg/sum, valid/full/same, padding, strides unlike the kernel, global
// pooling and 1-D/3-D windows, on inputs with and without tied maxima; hand-worked values for
// the first-max tie rule and count_include_pad; errors for mismatched shapes. The fast paths
// (unpadded windows read tap by tap; windows tiling the input seen as (N, C, O, K, ...)):
// taken where they apply (no window reduction, no floordiv), refused elsewhere.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "hgc/base/error.h"
#include "hgc/compiler/compile.h"
#include "hgc/compiler/imperative.h"
#include "hgc/ir/infer.h"
#include "hgc/ir/json_io.h"
#include "reference/ref_test_util.h"

using namespace hgc;
using hgc::test::check_close;
using hgc::test::ref_op;
using hgc::test::tensor;
using hgc::test::values;

namespace {

using Attrs = std::map<std::string, std::string>;

HostTensor random(const std::vector<int64_t>& shape, std::mt19937& rng, bool ints) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::uniform_real_distribution<double> u(-2, 2);
  std::vector<double> v(n);
  for (double& x : v) x = ints ? std::floor(u(rng)) : u(rng);  // few distinct values: many ties
  return tensor(shape, v);
}

// y = Pooling(x) and dx = _backward_Pooling(og, x, y), compiled vs reference.
void check_case(const Attrs& a, const std::vector<int64_t>& xshape, std::mt19937& rng, bool ints) {
  CAPTURE(xshape.size());
  HostTensor x = random(xshape, rng, ints);
  HostTensor y = invoke("Pooling", a, {x})[0];
  // A `full` window can lie wholly in the padding: max gives -inf there (as MXNet's lowest).
  std::vector<double> yv = values(y), yr = values(ref_op("Pooling", a, {x})[0]);
  for (size_t i = 0; i < yv.size(); ++i) {
    if (std::isinf(yr[i])) CHECK(yv[i] == yr[i]);
    else CHECK(yv[i] == doctest::Approx(yr[i]).epsilon(1e-5).scale(1.0));
  }
  HostTensor og = random(y.shape(), rng, false);
  HostTensor got = invoke("_backward_Pooling", a, {og, x, y})[0];
  std::vector<HostTensor> want = ref_op("_backward_Pooling", a, {og, x, y});
  REQUIRE(got.shape() == x.shape());
  check_close(values(got), values(want[0]), 1e-4);
}

}  // namespace

TEST_CASE("_backward_Pooling: compiled gather == reference over windows, conventions and ties") {
  std::mt19937 rng(5);
  for (const char* type : {"max", "avg", "sum"}) {
    CAPTURE(std::string(type));
    for (bool ints : {false, true}) {
      CAPTURE(ints);
      for (const char* conv : {"valid", "full"}) {
        CAPTURE(std::string(conv));
        check_case({{"kernel", "(2, 2)"}, {"stride", "(2, 2)"}, {"pool_type", type}, {"pooling_convention", conv}},
                   {2, 3, 6, 7}, rng, ints);
        check_case({{"kernel", "(3, 3)"}, {"stride", "(2, 2)"}, {"pad", "(1, 1)"}, {"pool_type", type},
                    {"pooling_convention", conv}},
                   {1, 2, 7, 8}, rng, ints);
        check_case({{"kernel", "(2, 3)"}, {"stride", "(3, 1)"}, {"pad", "(1, 0)"}, {"pool_type", type},
                    {"pooling_convention", conv}},
                   {2, 2, 8, 5}, rng, ints);
      }
      check_case({{"kernel", "(3, 2)"}, {"pad", "(1, 1)"}, {"pool_type", type}, {"count_include_pad", "False"}},
                 {1, 2, 5, 5}, rng, ints);
      check_case({{"global_pool", "True"}, {"pool_type", type}}, {2, 3, 4, 5}, rng, ints);
      check_case({{"kernel", "(3,)"}, {"stride", "(2,)"}, {"pool_type", type}}, {2, 3, 9}, rng, ints);
      check_case({{"kernel", "(2, 2, 2)"}, {"pool_type", type}}, {1, 2, 3, 4, 3}, rng, ints);
      check_case({{"kernel", "(3,)"}, {"stride", "(2,)"}, {"pool_type", type}, {"pooling_convention", "same"}},
                 {1, 2, 7}, rng, ints);
    }
  }
}

TEST_CASE("_backward_Pooling: max gives each window's gradient to its first maximum (MXNet)") {
  // One 2x2 window with the maximum 3 twice: only the first (row-major) gets the gradient.
  HostTensor x = tensor({1, 1, 2, 2}, {1, 3, 3, 2});
  Attrs a{{"kernel", "(2, 2)"}, {"pool_type", "max"}};
  HostTensor y = invoke("Pooling", a, {x})[0];
  HostTensor og = tensor({1, 1, 1, 1}, {5});
  check_close(values(invoke("_backward_Pooling", a, {og, x, y})[0]), {0, 5, 0, 0});
  check_close(values(ref_op("_backward_Pooling", a, {og, x, y})[0]), {0, 5, 0, 0});
  // Overlapping windows (stride 1) add up where they share the maximum.
  HostTensor x1 = tensor({1, 1, 4}, {0, 4, 1, 2});
  Attrs b{{"kernel", "(2,)"}, {"pool_type", "max"}};
  HostTensor y1 = invoke("Pooling", b, {x1})[0];  // [4, 4, 2]
  check_close(values(invoke("_backward_Pooling", b, {tensor({1, 1, 3}, {1, 10, 100}), x1, y1})[0]), {0, 11, 0, 100});
}

TEST_CASE("_backward_Pooling: avg divides by MXNet's window area, with or without the padding") {
  // 1-D, kernel 3, pad 1, input 4: windows [-1, 2), [0, 3)... stride 1, outputs 4.
  HostTensor x = tensor({1, 1, 4}, {1, 2, 3, 4});
  HostTensor og = tensor({1, 1, 4}, {6, 6, 6, 6});
  Attrs a{{"kernel", "(3,)"}, {"pad", "(1,)"}, {"pool_type", "avg"}};
  HostTensor y = invoke("Pooling", a, {x})[0];
  // count_include_pad: every window has area 3, so each tap passes 2; x[0] is in 2 windows.
  check_close(values(invoke("_backward_Pooling", a, {og, x, y})[0]), {4, 6, 6, 4});
  a["count_include_pad"] = "False";
  y = invoke("Pooling", a, {x})[0];
  // The edge windows hold 2 real elements: 3 each from them, 2 from the inner ones.
  check_close(values(invoke("_backward_Pooling", a, {og, x, y})[0]), {3 + 2, 3 + 2 + 2, 2 + 2 + 3, 2 + 3});
}

TEST_CASE("_backward_Pooling: shapes are inferred and checked") {
  HostTensor x = tensor({1, 1, 4, 4}, std::vector<double>(16, 1.0));
  Attrs a{{"kernel", "(2, 2)"}, {"stride", "(2, 2)"}};
  HostTensor y = invoke("Pooling", a, {x})[0];
  HostTensor wrong = tensor({1, 1, 3, 3}, std::vector<double>(9, 1.0));
  CHECK_THROWS_AS(invoke("_backward_Pooling", a, {wrong, x, y}), Error);
  CHECK_THROWS_AS(invoke("_backward_Pooling", a, {y, x, wrong}), Error);
  CHECK_THROWS_AS(invoke("_backward_Pooling", {{"kernel", "(2, 2)"}, {"pool_type", "lp"}, {"p_value", "2"}}, {y, x, y}),
                  Error);
}

namespace {

// The MLIR of one op applied to variables x0, x1, ... of the given shapes.
std::string op_mlir(const std::string& op, const Attrs& a, const std::vector<std::vector<int64_t>>& shapes) {
  std::string nodes, inputs, attrs;
  for (size_t i = 0; i < shapes.size(); ++i) {
    nodes += R"({"op": "null", "name": "x)" + std::to_string(i) + R"(", "inputs": []},)";
    inputs += (i ? "," : "") + std::string("[") + std::to_string(i) + ",0,0]";
  }
  for (auto& [k, v] : a) attrs += (attrs.empty() ? "" : ", ") + ("\"" + k + "\": \"" + v + "\"");
  Graph g = load_json(R"({"nodes": [)" + nodes + R"({"op": ")" + op + R"(", "name": "p", "attrs": {)" + attrs +
                      R"(}, "inputs": [)" + inputs + R"(]}], "heads": [[)" + std::to_string(shapes.size()) +
                      R"(,0,0]], "attrs": {"mxnet_version": ["int", 10500]}})");
  std::map<std::string, Shape> in;
  for (size_t i = 0; i < shapes.size(); ++i) in["x" + std::to_string(i)] = Shape(shapes[i]);
  infer(g, {in, {}, true});
  return emit_mlir(g);
}

bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

}  // namespace

TEST_CASE("Pooling fast paths: compiled == reference on their shapes, ties and odd sizes") {
  std::mt19937 rng(11);
  for (bool ints : {false, true}) {
    CAPTURE(ints);
    for (const char* type : {"max", "avg", "sum"}) {
      CAPTURE(std::string(type));
      // Tiling windows (both fast paths), odd sizes that leave a remainder (forward fast,
      // backward general), 1-D, 3-D, 16 taps, 25 taps (refused), overlapping unpadded windows.
      check_case({{"kernel", "(2, 2)"}, {"stride", "(2, 2)"}, {"pool_type", type}}, {2, 3, 8, 10}, rng, ints);
      check_case({{"kernel", "(2, 2)"}, {"stride", "(2, 2)"}, {"pool_type", type}}, {2, 3, 7, 9}, rng, ints);
      check_case({{"kernel", "(3, 3)"}, {"stride", "(3, 3)"}, {"pool_type", type}}, {1, 2, 9, 12}, rng, ints);
      check_case({{"kernel", "(2,)"}, {"stride", "(2,)"}, {"pool_type", type}}, {2, 3, 10}, rng, ints);
      check_case({{"kernel", "(2, 2, 2)"}, {"stride", "(2, 2, 2)"}, {"pool_type", type}}, {1, 2, 4, 4, 6}, rng, ints);
      check_case({{"kernel", "(4, 4)"}, {"stride", "(4, 4)"}, {"pool_type", type}}, {1, 2, 8, 12}, rng, ints);
      check_case({{"kernel", "(5, 5)"}, {"stride", "(5, 5)"}, {"pool_type", type}}, {1, 2, 10, 10}, rng, ints);
      check_case({{"kernel", "(3, 3)"}, {"stride", "(1, 1)"}, {"pool_type", type}}, {1, 2, 6, 7}, rng, ints);
      check_case({{"kernel", "(2, 3)"}, {"stride", "(2, 3)"}, {"pool_type", type}, {"pooling_convention", "full"}},
                 {1, 2, 6, 9}, rng, ints);
    }
  }
  // Ties inside one tiled 2x2 window, hand-worked: the first maximum (row-major) takes it all.
  HostTensor x = tensor({1, 1, 2, 4}, {7, 7, 1, 2, 7, 0, 2, 2});
  Attrs a{{"kernel", "(2, 2)"}, {"stride", "(2, 2)"}, {"pool_type", "max"}};
  HostTensor y = invoke("Pooling", a, {x})[0];
  check_close(values(y), {7, 2});
  check_close(values(invoke("_backward_Pooling", a, {tensor({1, 1, 1, 2}, {3, 5}), x, y})[0]), {3, 0, 0, 5, 0, 0, 0, 0});
}

TEST_CASE("Pooling fast paths are taken where they apply and refused elsewhere") {
  Attrs a{{"kernel", "(2, 2)"}, {"stride", "(2, 2)"}, {"pool_type", "max"}};
  // Forward: one all-parallel generic, taps by their own maps.
  std::string fwd = op_mlir("Pooling", a, {{4, 6, 24, 24}});
  CHECK_FALSE(has(fwd, "reduction"));
  CHECK_FALSE(has(fwd, "floordiv"));
  // Backward on tiling windows: first-max taps and the gradient pass, no floordiv/mod, no
  // window loop, no gathers.
  std::string bwd = op_mlir("_backward_Pooling", a, {{4, 6, 12, 12}, {4, 6, 24, 24}, {4, 6, 12, 12}});
  CHECK_FALSE(has(bwd, "reduction"));
  CHECK_FALSE(has(bwd, "floordiv"));
  CHECK_FALSE(has(bwd, "remsi"));
  CHECK_FALSE(has(bwd, "tensor.extract "));
  CHECK(has(bwd, "tensor.expand_shape"));
  // Padding: both keep the window reduction (the padded copy is read tap by tap).
  Attrs p{{"kernel", "(2, 2)"}, {"stride", "(2, 2)"}, {"pad", "(1, 1)"}, {"pool_type", "max"}};
  CHECK(has(op_mlir("Pooling", p, {{1, 2, 6, 6}}), "reduction"));
  // An odd size leaves input rows outside every window: the backward takes the general gather.
  std::string odd = op_mlir("_backward_Pooling", a, {{1, 2, 3, 3}, {1, 2, 7, 7}, {1, 2, 3, 3}});
  CHECK(has(odd, "tensor.extract "));
  CHECK_FALSE(has(op_mlir("Pooling", a, {{1, 2, 7, 7}}), "reduction"));
  // More taps than the fast path names: the window reduction.
  CHECK(has(op_mlir("Pooling", {{"kernel", "(5, 5)"}, {"stride", "(5, 5)"}, {"pool_type", "max"}}, {{1, 2, 10, 10}}),
            "reduction"));
}
