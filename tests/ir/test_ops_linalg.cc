// The linalg family's shape and dtype rules (MXNet 1.9 la_op.h: LaMatrixMultMacOpShape,
// LaTriangMatrixMultOpShape, LaSyrkShape, LaReduceShape<2>, LaDiagTrianShape).
#include <doctest/doctest.h>

#include "hgc/ir/op.h"
#include "ir/nn_movement_test_util.h"

using namespace hgc;
using hgc::test::infer_error;
using hgc::test::infer_op;
using hgc::test::names_node;

TEST_CASE("linalg: records, aliases, attribute defaults") {
  for (const char* n : {"gemm", "gemm2", "potrf", "potri", "trmm", "trsm", "syrk", "sumlogdiag", "extractdiag", "makediag"}) {
    const OpDef& d = OpRegistry::global().get(std::string("_linalg_") + n);
    CHECK(d.family == "linalg");
    CHECK(OpRegistry::global().find(std::string("linalg_") + n) == &d);
  }
  auto dflt = [](const std::string& op, const std::string& attr) {
    return format_attr(*OpRegistry::global().get(op).attr_spec(attr)->default_value);
  };
  CHECK(dflt("_linalg_gemm", "alpha") == "1.0");
  CHECK(dflt("_linalg_gemm", "beta") == "1.0");
  CHECK(dflt("_linalg_gemm2", "axis") == "-2");
  CHECK(dflt("_linalg_trsm", "lower") == "True");
  CHECK(dflt("_linalg_trsm", "rightside") == "False");
  CHECK(dflt("_linalg_potrf", "lower") == "True");
  CHECK(dflt("_linalg_makediag", "offset") == "0");
}

TEST_CASE("linalg: gemm and gemm2 shapes, transposes and the row axis") {
  CHECK(infer_op("_linalg_gemm2", {}, {{2, 3}, {3, 4}}).out[0] == Shape{2, 4});
  CHECK(infer_op("_linalg_gemm2", {{"transpose_a", "True"}, {"transpose_b", "True"}}, {{5, 3, 2}, {5, 4, 3}}).out[0] ==
        Shape{5, 2, 4});
  // axis=1 of a 4-D tensor: rows on dim 1, columns last; dims 0 and 2 are batch dims.
  CHECK(infer_op("_linalg_gemm2", {{"axis", "1"}}, {{2, 3, 4, 5}, {2, 5, 4, 6}}).out[0] == Shape{2, 3, 4, 6});
  auto r = infer_op("_linalg_gemm", {}, {{2, 3, 4}, {2, 4, 5}, Shape()});
  CHECK(r.out[0] == Shape{2, 3, 5});
  CHECK(r.in[2] == Shape{2, 3, 5});  // C takes the output's shape
  CHECK(names_node(infer_error("_linalg_gemm2", {}, {{2, 3}, {4, 5}}), "_linalg_gemm2", "incompatible"));
  CHECK(names_node(infer_error("_linalg_gemm2", {}, {{2, 2, 3}, {3, 3, 4}}), "_linalg_gemm2", "batch dims"));
  CHECK(names_node(infer_error("_linalg_gemm2", {{"axis", "-1"}}, {{2, 3}, {3, 4}}), "_linalg_gemm2", "row axis"));
  CHECK(names_node(infer_error("_linalg_gemm", {}, {{2, 3}, {3, 4}, {2, 5}}), "_linalg_gemm", "C"));
}

TEST_CASE("linalg: triangular, Cholesky, syrk and diagonal shapes") {
  CHECK(infer_op("_linalg_potrf", {}, {{4, 3, 3}}).out[0] == Shape{4, 3, 3});
  CHECK(infer_op("_linalg_potri", {{"lower", "False"}}, {{3, 3}}).out[0] == Shape{3, 3});
  CHECK(names_node(infer_error("_linalg_potrf", {}, {{3, 4}}), "_linalg_potrf", "square"));
  CHECK(names_node(infer_error("_linalg_potrf", {}, {{3}}), "_linalg_potrf", "rank >= 2"));
  CHECK(infer_op("_linalg_trsm", {}, {{2, 3, 3}, {2, 3, 5}}).out[0] == Shape{2, 3, 5});
  CHECK(infer_op("_linalg_trmm", {{"rightside", "True"}}, {{2, 3, 3}, {2, 5, 3}}).out[0] == Shape{2, 5, 3});
  CHECK(names_node(infer_error("_linalg_trsm", {{"rightside", "True"}}, {{3, 3}, {3, 5}}), "_linalg_trsm", "incompatible"));
  CHECK(names_node(infer_error("_linalg_trmm", {}, {{2, 3, 3}, {4, 3, 5}}), "_linalg_trmm", "batch dims"));
  CHECK(infer_op("_linalg_syrk", {}, {{2, 3, 5}}).out[0] == Shape{2, 3, 3});
  CHECK(infer_op("_linalg_syrk", {{"transpose", "True"}}, {{2, 3, 5}}).out[0] == Shape{2, 5, 5});
  CHECK(infer_op("_linalg_sumlogdiag", {}, {{3, 3}}).out[0] == Shape{1});
  CHECK(infer_op("_linalg_sumlogdiag", {}, {{2, 4, 3, 3}}).out[0] == Shape{2, 4});
  CHECK(infer_op("_linalg_extractdiag", {{"offset", "-1"}}, {{2, 4, 4}}).out[0] == Shape{2, 3});
  CHECK(names_node(infer_error("_linalg_extractdiag", {{"offset", "4"}}, {{4, 4}}), "_linalg_extractdiag", "offset"));
  CHECK(infer_op("_linalg_makediag", {{"offset", "2"}}, {{2, 3}}).out[0] == Shape{2, 5, 5});
  CHECK(infer_op("_linalg_makediag", {}, {{3}}).out[0] == Shape{3, 3});
}

TEST_CASE("linalg: float32 and float64 only, as MXNet") {
  CHECK(infer_op("_linalg_potrf", {}, {{3, 3}}, {DType::f64}).out_types[0] == DType::f64);
  CHECK(names_node(infer_error("_linalg_potrf", {}, {{3, 3}}, {DType::i32}), "_linalg_potrf", "float32 and float64"));
  CHECK(names_node(infer_error("_linalg_gemm2", {}, {{2, 3}, {3, 4}}, {DType::f32, DType::f64}), "_linalg_gemm2",
                   "disagree"));
}
