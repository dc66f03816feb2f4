// _backward_Pooling: the compiled gather lowering equals the reference's scatter (MXNet's
// unpool loops) over max/avg/sum, valid/full/same, padding, strides unlike the kernel, global
// pooling and 1-D/3-D windows, on inputs with and without tied maxima; hand-worked values for
// the first-max tie rule and count_include_pad; errors for mismatched shapes.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "hgc/compiler/imperative.h"
#include "hgc/base/error.h"
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
