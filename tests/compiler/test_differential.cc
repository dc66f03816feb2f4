// Differential tests: every lowered op, compiled through MLIR/LLVM (or its library call),
// equals the naive reference evaluator on random inputs over a spread of shapes, including
// broadcasting edge cases, size-1 and empty dims. Tolerance: |a - b| <= atol + rtol * |b|
// with rtol = 1e-4 and atol = 1e-5 (float32 kernels vs double-precision reference; GEMM
// sums of up to a few hundred terms stay well inside it).
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "hgc/compiler/compile.h"
#include "hgc/compiler/imperative.h"
#include "hgc/base/error.h"
#include "hgc/ir/infer.h"
#include "reference/reference.h"
#include "support/op_cases.h"

using namespace hgc;

namespace {

using test::Case;
using test::kAny;

// Element i of an integer tensor, as a double.
double int_at(const HostTensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::i32: return t.data<int32_t>()[i];
    case DType::i64: return static_cast<double>(t.data<int64_t>()[i]);
    case DType::i8: return t.data<int8_t>()[i];
    case DType::u8:
    case DType::boolean: return t.data<uint8_t>()[i];
    case DType::f64: return t.data<double>()[i];
    default: FAIL("unexpected dtype " << dtype_name(t.dtype())); return 0;
  }
}

void check_close(const HostTensor& got, const HostTensor& want, const std::string& what) {
  REQUIRE_MESSAGE(got.shape() == want.shape(), what);
  REQUIRE_MESSAGE(got.dtype() == want.dtype(), what);
  if (got.dtype() != DType::f32) {  // integer (and float64) kernels: exact
    for (int64_t i = 0; i < got.numel(); ++i) {
      INFO(what, ": element ", i);
      CHECK(int_at(got, i) == int_at(want, i));
    }
    return;
  }
  double rtol = 1e-4, atol = 1e-5, worst = 0;
  int64_t bad = -1;
  for (int64_t i = 0; i < got.numel(); ++i) {
    double a = got.data<float>()[i], b = want.data<float>()[i];
    if (std::isnan(b) && std::isnan(a)) continue;
    double err = std::fabs(a - b) - (atol + rtol * std::fabs(b));
    if (!(err <= 0) && (bad < 0 || err > worst)) worst = err, bad = i;
  }
  CHECK_MESSAGE(bad < 0, what << ": element " << bad << " is " << (bad >= 0 ? got.data<float>()[bad] : 0.f)
                              << ", reference " << (bad >= 0 ? want.data<float>()[bad] : 0.f));
}

// Runs the case both as a compiled one-op graph and through the imperative road.
void run_case(const Case& c, std::mt19937& rng) {
  test::CaseGraph cg = test::case_graph(c, rng);
  Graph& g = cg.g;
  const std::map<std::string, HostTensor>& vars = cg.vars;
  const std::vector<HostTensor>& inputs = cg.inputs;
  std::vector<HostTensor> want = ref::evaluate(g, vars);
  std::vector<HostTensor> got = compile(g)->run(vars);
  std::string what = c.op + " " + (c.shapes.empty() ? std::string("()") : c.shapes[0].str());
  for (size_t k = 0; k < want.size(); ++k) check_close(got[k], want[k], what + " output " + std::to_string(k));
  std::vector<HostTensor> imp = invoke(c.op, c.attrs, inputs);
  for (size_t k = 0; k < want.size(); ++k) check_close(imp[k], want[k], what + " (imperative) output " + std::to_string(k));
}

void run_all(const std::vector<Case>& cases) {
  std::mt19937 rng(42);
  test::each_case(cases, [&](const Case& c) { run_case(c, rng); });
}

}  // namespace

TEST_CASE("differential: unary math and activations") { run_all(test::unary_cases()); }

TEST_CASE("differential: binary, broadcast and scalar ops") { run_all(test::binary_cases()); }

TEST_CASE("differential: reductions, softmax family and norms") { run_all(test::reduction_cases()); }

TEST_CASE("differential: movement, gathers and sources") { run_all(test::movement_cases()); }

TEST_CASE("differential: GEMM library calls, convolution and pooling") { run_all(test::library_cases()); }

TEST_CASE("differential: UpSampling, Crop, BilinearResize2D, AdaptiveAvgPooling2D") { run_all(test::resize_cases()); }

TEST_CASE("differential: linalg ops (gemm, gemm2, potrf, potri, trsm, trmm, syrk, diagonals)") { run_all(test::linalg_cases()); }

TEST_CASE("differential: integer arithmetic (int32, int64, int8, uint8; bool logic) is exact") { run_all(test::int_cases()); }

TEST_CASE("differential: arithmetic on bool tensors is rejected naming the op and dtype") {
  std::mt19937 rng(7);
  test::CaseGraph cg = test::case_graph({"elemwise_add", {}, {Shape{4}, Shape{4}}, {test::Gen{0, 2, true}, test::Gen{0, 2, true}}, DType::boolean}, rng);
  CHECK_THROWS_WITH_AS(compile(cg.g), doctest::Contains("add has no integer form (dtype bool)"), Error);
}

// CPU-only library calls (no GPU lowering), so they stay out of test::library_cases().
TEST_CASE("differential: Deconvolution, im2col, col2im and the convolution gradient ops") {
  using Attrs = std::map<std::string, std::string>;
  std::vector<Case> cases;
  cases.push_back({"Deconvolution",
                   {{"kernel", "(3, 3)"}, {"num_filter", "4"}, {"stride", "(2, 2)"}, {"pad", "(1, 1)"}, {"adj", "(1, 0)"},
                    {"no_bias", "False"}},
                   {Shape{2, 3, 4, 5}, Shape{3, 4, 3, 3}, Shape{4}}});
  cases.push_back({"Deconvolution",
                   {{"kernel", "(2, 3)"}, {"num_filter", "4"}, {"num_group", "2"}, {"dilate", "(2, 1)"}, {"stride", "(1, 2)"}},
                   {Shape{1, 4, 3, 4}, Shape{4, 2, 2, 3}}});
  cases.push_back({"Deconvolution", {{"kernel", "(3, 3)"}, {"num_filter", "2"}, {"stride", "(2, 2)"}, {"target_shape", "(8, 7)"}},
                   {Shape{1, 2, 4, 4}, Shape{2, 2, 3, 3}}});
  cases.push_back({"Deconvolution", {{"kernel", "(3,)"}, {"num_filter", "2"}, {"stride", "(2,)"}, {"pad", "(1,)"}},
                   {Shape{2, 3, 5}, Shape{3, 2, 3}}});
  // Blocks: (7 + 2 - 3) / 2 + 1 = 4 rows, (8 + 2 - 5) / 1 + 1 = 6 columns.
  Attrs win{{"kernel", "(3, 3)"}, {"stride", "(2, 1)"}, {"pad", "(1, 1)"}, {"dilate", "(1, 2)"}};
  cases.push_back({"im2col", win, {Shape{2, 3, 7, 8}}});
  win["output_size"] = "(7, 8)";
  cases.push_back({"col2im", win, {Shape{2, 27, 24}}});
  cases.push_back({"im2col", {{"kernel", "(3,)"}, {"stride", "(2,)"}, {"pad", "(1,)"}}, {Shape{1, 2, 9}}});
  cases.push_back({"col2im", {{"kernel", "(3,)"}, {"stride", "(2,)"}, {"pad", "(1,)"}, {"output_size", "(9,)"}},
                   {Shape{1, 6, 5}}});
  cases.push_back({"im2col", {{"kernel", "(1, 1)"}}, {Shape{2, 3, 4, 5}}});
  // 18 images of 72 x 900 columns run as two chunks (16 + 2) of side-by-side columns.
  cases.push_back({"Convolution", {{"kernel", "(3, 3)"}, {"num_filter", "4"}}, {Shape{18, 8, 32, 32}, Shape{4, 8, 3, 3}, Shape{4}}});
  // Convolution's gradient ops: (ograd, weight) -> dx and (ograd, data) -> dw.
  Attrs cg{{"kernel", "(3, 3)"}, {"stride", "(2, 2)"}, {"pad", "(1, 1)"}, {"dilate", "(2, 1)"}, {"num_group", "2"}};
  cases.push_back({"_hgc_conv_weight_grad", cg, {Shape{1, 4, 3, 4}, Shape{1, 4, 7, 8}}});
  Attrs cgd = cg;
  cgd["output_size"] = "(7, 8)";
  cases.push_back({"_hgc_conv_data_grad", cgd, {Shape{1, 4, 3, 4}, Shape{4, 2, 3, 3}}});
  // dW sums 16200 products per element: positive inputs keep float rounding relative to the
  // result (mixed signs cancel it down to where 1e-5 absolute is a rounding-order lottery).
  cases.push_back({"_hgc_conv_weight_grad", {{"kernel", "(3, 3)"}}, {Shape{18, 4, 30, 30}, Shape{18, 8, 32, 32}},
                   {test::kPos, test::kPos}});
  cases.push_back({"_hgc_conv_data_grad", {{"kernel", "(3, 3)"}, {"output_size", "(32, 32)"}},
                   {Shape{18, 4, 30, 30}, Shape{4, 8, 3, 3}}});
  cases.push_back({"_hgc_conv_weight_grad", {{"kernel", "(3,)"}, {"pad", "(1,)"}}, {Shape{2, 2, 9}, Shape{2, 3, 9}}});
  cases.push_back({"_hgc_conv_data_grad", {{"kernel", "(3,)"}, {"pad", "(1,)"}, {"output_size", "(9,)"}},
                   {Shape{2, 2, 9}, Shape{2, 3, 3}}});
  run_all(cases);
}
