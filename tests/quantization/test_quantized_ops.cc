// The `_contrib_quantized_*` ops and `_sg_mkldnn_fully_connected` with int8 weights, value by
// value against MXNet 1.9's oneDNN formulas worked out by hand (src/operator/quantization/
// mkldnn/mkldnn_quantized_*.cc, subgraph/mkldnn/mkldnn_fc.cc): each case runs compiled and
// in the reference evaluator. Bad input fails with a named hgc::Error.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "hgc/base/error.h"
#include "hgc/compiler/compile.h"
#include "hgc/ir/infer.h"
#include "hgc/ir/json_io.h"
#include "reference/reference.h"

using namespace hgc;

namespace {

double at(const HostTensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::f32: return t.data<float>()[i];
    case DType::i8: return t.data<int8_t>()[i];
    case DType::u8: return t.data<uint8_t>()[i];
    case DType::i32: return t.data<int32_t>()[i];
    default: FAIL("unexpected dtype"); return 0;
  }
}

template <typename T>
HostTensor tensor(DType dt, std::vector<int64_t> shape, std::vector<T> v) {
  HostTensor t(dt, std::move(shape));
  REQUIRE(t.numel() == static_cast<int64_t>(v.size()));
  std::copy(v.begin(), v.end(), t.data<T>());
  return t;
}
HostTensor i8(std::vector<int64_t> s, std::vector<int8_t> v) { return tensor(DType::i8, std::move(s), std::move(v)); }
HostTensor u8(std::vector<int64_t> s, std::vector<uint8_t> v) { return tensor(DType::u8, std::move(s), std::move(v)); }
HostTensor f1(float v) { return tensor(DType::f32, {1}, std::vector<float>{v}); }

// One `op` node over variables x0..xn-1 (in the op's input order), as MXNet 1.9 writes it.
Graph one_op(const std::string& op, const std::string& attrs, const std::vector<HostTensor>& ins,
             std::map<std::string, HostTensor>& vars, int outs = 3) {
  std::string nodes, list;
  vars.clear();
  for (size_t i = 0; i < ins.size(); ++i) {
    nodes += R"({"op": "null", "name": "x)" + std::to_string(i) + R"(", "inputs": []}, )";
    list += (i ? ", [" : "[") + std::to_string(i) + ", 0, 0]";
    vars["x" + std::to_string(i)] = ins[i];
  }
  std::string heads;
  for (int k = 0; k < outs; ++k) heads += (k ? ", [" : "[") + std::to_string(ins.size()) + ", " + std::to_string(k) + ", 0]";
  Graph g = load_json(R"({"nodes": [)" + nodes + R"({"op": ")" + op + R"(", "name": "q", "attrs": {)" + attrs +
                          R"(}, "inputs": [)" + list + R"(]}], "arg_nodes": [], "heads": [)" + heads +
                          R"(], "attrs": {"mxnet_version": ["int", 10901]}})",
                      "test");
  InferOptions io;
  for (const auto& [k, v] : vars) io.shapes[k] = Shape(v.shape()), io.dtypes[k] = v.dtype();
  infer(g, io);
  return g;
}

// Runs the node compiled and in the reference evaluator; checks both give `want` (and the
// output dtype and range), returns the compiled outputs.
std::vector<HostTensor> check_op(const std::string& op, const std::string& attrs, const std::vector<HostTensor>& ins,
                                 DType dtype, const std::vector<double>& want, double lo, double hi) {
  std::map<std::string, HostTensor> vars;
  Graph g = one_op(op, attrs, ins, vars);
  std::vector<HostTensor> got = compile(g)->run(vars), ref = ref::evaluate(g, vars);
  for (const auto* r : {&got, &ref}) {
    INFO(op, " ", attrs, r == &got ? " (compiled)" : " (reference)");
    REQUIRE((*r)[0].dtype() == dtype);
    REQUIRE((*r)[0].numel() == static_cast<int64_t>(want.size()));
    for (size_t i = 0; i < want.size(); ++i) CHECK(at((*r)[0], static_cast<int64_t>(i)) == want[i]);
    CHECK(at((*r)[1], 0) == doctest::Approx(lo));
    CHECK(at((*r)[2], 0) == doctest::Approx(hi));
  }
  return got;
}

}  // namespace

TEST_CASE("int8: _contrib_quantized_pooling (max, avg with and without padding counted, global)") {
  // max 2x2 stride 2: each window's largest value; the range passes through.
  HostTensor x = i8({1, 1, 4, 4}, {1, -5, 3, 4, -128, 0, 7, -2, 9, 10, -11, 12, 13, -14, 15, 127});
  auto got = check_op("_contrib_quantized_pooling", R"J("kernel": "(2, 2)", "stride": "(2, 2)", "pool_type": "max")J",
                      {x, f1(-1.5f), f1(2)}, DType::i8, {1, 7, 13, 127}, -1.5, 2);
  CHECK(got[0].shape() == std::vector<int64_t>{1, 1, 2, 2});
  // avg 3x3 stride 2 pad 1 on uint8: MXNet's oneDNN pooling divides by the whole kernel (9)
  // by default; sums 122, 160, 240, 280 -> 13.56, 17.78, 26.67, 31.11 -> 14, 18, 27, 31.
  HostTensor u = u8({1, 1, 3, 3}, {12, 20, 30, 40, 50, 60, 70, 80, 90});
  const std::string avg = R"J("kernel": "(3, 3)", "stride": "(2, 2)", "pad": "(1, 1)", "pool_type": "avg")J";
  check_op("_contrib_quantized_pooling", avg, {u, f1(0), f1(3)}, DType::u8, {14, 18, 27, 31}, 0, 3);
  // count_include_pad=False: by the 4 positions inside; 122 / 4 = 30.5 rounds to even 30.
  check_op("_contrib_quantized_pooling", avg + R"(, "count_include_pad": "False")", {u, f1(0), f1(3)}, DType::u8,
           {30, 40, 60, 70}, 0, 3);
  // global avg over 2x2: 11 / 4 = 2.75 -> 3, -10 / 4 = -2.5 -> -2 (nearest even).
  got = check_op("_contrib_quantized_pooling", R"J("kernel": "(1, 1)", "global_pool": "True", "pool_type": "avg")J",
                 {i8({1, 2, 2, 2}, {1, 2, 3, 5, -1, -2, -3, -4}), f1(-1), f1(1)}, DType::i8, {3, -2}, -1, 1);
  CHECK(got[0].shape() == std::vector<int64_t>{1, 2, 1, 1});
}

TEST_CASE("int8: _contrib_quantized_flatten and _contrib_quantized_act (relu)") {
  auto got = check_op("_contrib_quantized_flatten", "", {i8({2, 3, 2}, {1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -128}), f1(-0.5f), f1(0.5f)},
                      DType::i8, {1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -128}, -0.5, 0.5);
  CHECK(got[0].shape() == std::vector<int64_t>{2, 6});
  check_op("_contrib_quantized_act", R"("act_type": "relu")", {i8({5}, {-5, 0, 7, -128, 127}), f1(-2), f1(2)}, DType::i8,
           {0, 0, 7, 0, 127}, -2, 2);
  // uint8 data stays uint8 (values above 127 survive).
  check_op("_contrib_quantized_act", R"("act_type": "relu")", {u8({2}, {200, 0}), f1(0), f1(2)}, DType::u8, {200, 0}, 0, 2);
}

TEST_CASE("int8: _contrib_quantized_elemwise_add (calibrated int8/uint8/mixed, uncalibrated int32)") {
  // int8 + int8 into [-3, 3]: scales 127.5 (|a| <= 1), 63.75 (|b| <= 2), 42.5 (out):
  // a / 3 + b * 2 / 3 -> 6.67, 33.33, -33.33.
  check_op("_contrib_quantized_elemwise_add", R"("min_calib_range": "-3", "max_calib_range": "3")",
           {i8({3}, {10, -20, 100}), i8({3}, {5, 60, -100}), f1(-1), f1(1), f1(-2), f1(2)}, DType::i8, {7, 33, -33}, -3, 3);
  // uint8 + uint8 into [0, 4] (uint8): a * 0.5 + b * 0.25 -> 191.25, 62.75.
  check_op("_contrib_quantized_elemwise_add", R"("min_calib_range": "0", "max_calib_range": "4")",
           {u8({2}, {255, 100}), u8({2}, {255, 51}), f1(0), f1(2), f1(0), f1(1)}, DType::u8, {191, 63}, 0, 4);
  // int8 + uint8 into [-2, 2] (int8 when the types differ): the uint8 input is first
  // reordered to int8 with 63.75 / 127.75 (200 -> 99.8 -> 100, 10 -> 4.99 -> 5), then added to
  // a * 0.5: 150 saturates to 127; -25 + 5 = -20.
  check_op("_contrib_quantized_elemwise_add", R"("min_calib_range": "-2", "max_calib_range": "2")",
           {i8({2}, {100, -50}), u8({2}, {200, 10}), f1(-1), f1(1), f1(0), f1(2)}, DType::i8, {127, -20}, -2, 2);
  // Uncalibrated: int32 in the range +-(|a| + |b|) = +-4, scales |a| 2^31 / (4 * 127.5) and
  // |b| 2^31 / (4 * 127.5).
  std::map<std::string, HostTensor> vars;
  Graph g = one_op("_contrib_quantized_elemwise_add", "",
                   {i8({2}, {10, -20}), i8({2}, {5, 60}), f1(-1), f1(1), f1(-3), f1(3)}, vars);
  for (const auto& r : {compile(g)->run(vars), ref::evaluate(g, vars)}) {
    REQUIRE(r[0].dtype() == DType::i32);
    CHECK(at(r[1], 0) == -4);
    CHECK(at(r[2], 0) == 4);
    const double step = 4.0 / 2147483648.0;  // one int32 level of the output
    CHECK(at(r[0], 0) * step == doctest::Approx(10 / 127.5 + 5 * 3 / 127.5).epsilon(1e-6));
    CHECK(at(r[0], 1) * step == doctest::Approx(-20 / 127.5 + 60 * 3 / 127.5).epsilon(1e-6));
  }
}

TEST_CASE("int8: _contrib_quantized_concat rescales every input to the widest range") {
  // int8 [-1, 1] and int8 [-2, 2] along dim 1: the output range is [-2, 2]; the first input
  // is rescaled by 63.75 / 127.5 (10 -> 5, -3 -> -1.5 -> -2, 7 -> 3.5 -> 4, 1 -> 0.5 -> 0),
  // the second copied.
  const std::string two = R"("num_args": "2", "dim": "1")";
  auto got = check_op("_contrib_quantized_concat", two,
                      {i8({2, 2}, {10, -3, 7, 1}), i8({2, 1}, {100, -100}), f1(-1), f1(1), f1(-2), f1(2)}, DType::i8,
                      {5, -2, 100, 4, 0, -100}, -2, 2);
  CHECK(got[0].shape() == std::vector<int64_t>{2, 3});
  // uint8 + uint8 stays uint8: [0, 1] into [0, 4] by 0.25.
  check_op("_contrib_quantized_concat", two, {u8({1, 1}, {200}), u8({1, 1}, {50}), f1(0), f1(1), f1(0), f1(4)}, DType::u8,
           {50, 50}, 0, 4);
  // int8 + uint8 is int8: the uint8 input by 127.5 / 255.5 (255 -> 127.25 -> 127).
  check_op("_contrib_quantized_concat", two, {i8({1, 1}, {-64}), u8({1, 1}, {255}), f1(-1), f1(1), f1(0), f1(1)},
           DType::i8, {-64, 127}, -1, 1);
}

namespace {

// x (2, 3) int8 in [-1, 1], weight (2, 3) int8 in [-0.5, 0.5], bias int8 in [-0.25, 0.25]:
// data scale 127.5, weight scale 255, bias scale 510; the int32 bias is b * 127.5 * 255 / 510
// = b * 63.75 (4080, -2040) and the accumulators are 7880, -5700, 1470, -18809.
const std::vector<double> kAcc{7880, -5700, 1470, -18809};

Graph fc_graph(const std::string& extra, std::map<std::string, HostTensor>& vars, float dmax = 1, float wmax = 0.5f,
               float bmax = 0.25f, int outs = 3) {
  std::vector<HostTensor> ins{i8({2, 3}, {10, -20, 30, 127, 0, -128}),
                              i8({2, 3}, {50, -60, 70, -127, 127, 5}),
                              i8({2}, {64, -32}),
                              f1(-dmax), f1(dmax), f1(-wmax), f1(wmax), f1(-bmax), f1(bmax)};
  return one_op("_sg_mkldnn_fully_connected", R"("quantized": "True", "num_hidden": "2")" + extra, ins, vars, outs);
}

}  // namespace

TEST_CASE("int8: _sg_mkldnn_fully_connected with int8 weights and ranges (channel_wise_quantize unset)") {
  SUBCASE("uncalibrated: the int32 accumulator, range (|d| / 127) (|w| / 127) (2^31 - 1)") {
    std::map<std::string, HostTensor> vars;
    Graph g = fc_graph("", vars);
    for (const auto& r : {compile(g)->run(vars), ref::evaluate(g, vars)}) {
      REQUIRE(r[0].dtype() == DType::i32);
      for (int i = 0; i < 4; ++i) CHECK(at(r[0], i) == kAcc[static_cast<size_t>(i)]);
      CHECK(at(r[2], 0) == doctest::Approx(0.5 / 127 / 127 * 2147483647.0));
      CHECK(at(r[1], 0) == doctest::Approx(-0.5 / 127 / 127 * 2147483647.0));
    }
  }
  SUBCASE("calibrated int8 output [-1, 1]: acc * 127.5 / (127.5 * 255)") {
    check_op("_sg_mkldnn_fully_connected", R"("quantized": "True", "num_hidden": "2", "min_calib_range": "-1", "max_calib_range": "1")",
             {i8({2, 3}, {10, -20, 30, 127, 0, -128}), i8({2, 3}, {50, -60, 70, -127, 127, 5}), i8({2}, {64, -32}), f1(-1), f1(1),
              f1(-0.5f), f1(0.5f), f1(-0.25f), f1(0.25f)},
             DType::i8, {31, -22, 6, -74}, -1, 1);
  }
  SUBCASE("fused ReLU into uint8 [0, 1] and float output") {
    check_op("_sg_mkldnn_fully_connected",
             R"("quantized": "True", "num_hidden": "2", "with_eltwise": "True", "min_calib_range": "0", "max_calib_range": "1")",
             {i8({2, 3}, {10, -20, 30, 127, 0, -128}), i8({2, 3}, {50, -60, 70, -127, 127, 5}), i8({2}, {64, -32}), f1(-1), f1(1),
              f1(-0.5f), f1(0.5f), f1(-0.25f), f1(0.25f)},
             DType::u8, {62, 0, 12, 0}, 0, 1);  // 7880 * 255.5 / 32512.5 = 61.92, 1470 -> 11.55
    std::map<std::string, HostTensor> vars;
    Graph g = fc_graph(R"(, "enable_float_output": "True")", vars, 1, 0.5f, 0.25f, 1);
    for (const auto& r : {compile(g)->run(vars), ref::evaluate(g, vars)}) {
      REQUIRE(r.size() == 1);
      for (int i = 0; i < 4; ++i) CHECK(at(r[0], i) == doctest::Approx(kAcc[static_cast<size_t>(i)] / 32512.5).epsilon(1e-6));
    }
  }
  SUBCASE("a bias that would pass INT_MAX / 2 scales the weights down instead (MXNet)") {
    // Data and weight ranges 1e-3, bias range 1: the bias rescale 127500^2 / 127.5 exceeds
    // 2^30 / 127.5, so the int8 weights are multiplied by 8421504 * 127.5 / 127500^2 and
    // rounded: 50 -> 3, -60 -> -4, 70 -> 5 ... The float output stays within a few percent.
    std::map<std::string, HostTensor> vars;
    Graph g = fc_graph(R"(, "enable_float_output": "True")", vars, 1e-3f, 1e-3f, 1.0f, 1);
    std::vector<HostTensor> got = compile(g)->run(vars), ref = ref::evaluate(g, vars);
    const float wr = 8421504.0f * 127.5f / 127500.0f / 127500.0f;
    const int w8[2][3] = {{50, -60, 70}, {-127, 127, 5}}, x8[2][3] = {{10, -20, 30}, {127, 0, -128}}, b8[2] = {64, -32};
    for (int m = 0; m < 2; ++m)
      for (int n = 0; n < 2; ++n) {
        double acc = std::round(b8[n] * 8421504.0f);
        for (int k = 0; k < 3; ++k) acc += x8[m][k] * std::round(w8[n][k] * wr);
        const double want = acc / 127500.0 / (127500.0 * wr);
        CHECK(at(got[0], m * 2 + n) == doctest::Approx(want).epsilon(1e-5));
        CHECK(at(ref[0], m * 2 + n) == doctest::Approx(want).epsilon(1e-5));
      }
  }
}

TEST_CASE("int8: malformed quantized nodes fail with a named error") {
  std::map<std::string, HostTensor> vars;
  HostTensor x = i8({1, 1, 2, 2}, {1, 2, 3, 4});
  // Missing ranges: the node lists data only.
  CHECK_THROWS_WITH_AS(one_op("_contrib_quantized_pooling", R"J("kernel": "(2, 2)")J", {x}, vars),
                       doctest::Contains("has 1 inputs, expected 3 (data, min_data, max_data)"), Error);
  CHECK_THROWS_WITH_AS(one_op("_contrib_quantized_elemwise_add", "", {x, x, f1(0), f1(1)}, vars),
                       doctest::Contains("expected 6 (lhs, rhs, lhs_min, lhs_max, rhs_min, rhs_max)"), Error);
  CHECK_THROWS_WITH_AS(one_op("_contrib_quantized_concat", R"("num_args": "2")", {x, x, f1(0), f1(1)}, vars),
                       doctest::Contains("expected 6 (arg0, arg1, arg0_min, arg0_max, arg1_min, arg1_max)"), Error);
  // Float data, unsupported modes.
  HostTensor xf = tensor(DType::f32, {1, 1, 2, 2}, std::vector<float>{1, 2, 3, 4});
  CHECK_THROWS_WITH_AS(one_op("_contrib_quantized_flatten", "", {xf, f1(0), f1(1)}, vars),
                       doctest::Contains("takes int8 or uint8 data, got float32"), Error);
  CHECK_THROWS_WITH_AS(one_op("_contrib_quantized_act", R"("act_type": "tanh")", {x, f1(0), f1(1)}, vars),
                       doctest::Contains("only act_type=relu"), Error);
  CHECK_THROWS_WITH_AS(one_op("_contrib_quantized_pooling", R"J("kernel": "(2, 2)", "pool_type": "sum")J", {x, f1(0), f1(1)}, vars),
                       doctest::Contains("only pool_type=max/avg"), Error);
  CHECK_THROWS_WITH_AS(one_op("_contrib_quantized_elemwise_add", "", {x, i8({1, 1, 1, 2}, {1, 2}), f1(0), f1(1), f1(0), f1(1)}, vars),
                       doctest::Contains("differ"), Error);
  // Float weights where channel_wise_quantize is unset (int8 weights with ranges expected).
  std::vector<HostTensor> fc{i8({1, 2}, {1, 2}), tensor(DType::f32, {1, 2}, std::vector<float>{0.5f, 0.5f}),
                             f1(-1), f1(1), f1(-1), f1(1)};
  Graph g = one_op("_sg_mkldnn_fully_connected", R"("quantized": "True", "num_hidden": "1", "no_bias": "True")", fc, vars);
  CHECK_THROWS_WITH_AS(compile(g), doctest::Contains("weight and bias must be int8"), Error);
}
