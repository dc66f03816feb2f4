// int8 inference ops (MXNet 1.9 names and oneDNN semantics): the compiled library calls
// against the reference evaluator, and a GluonCV-style quantized graph against the float32
// model it quantizes, within the error bound quantization allows (derived below).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "hgc/base/error.h"
#include "hgc/compiler/compile.h"
#include "hgc/ir/infer.h"
#include "hgc/ir/json_io.h"
#include "int8_graphs.h"
#include "reference/reference.h"
#include "support/paths.h"
#include "support/shell.h"
#include "hgc/base/files.h"

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

Graph loaded(const std::string& json, const std::map<std::string, HostTensor>& vars) {
  Graph g = load_json(json, "test");
  InferOptions io;
  for (const auto& [k, v] : vars) io.shapes[k] = Shape(v.shape()), io.dtypes[k] = v.dtype();
  infer(g, io);
  return g;
}

HostTensor one_graph(const std::string& op, const std::string& attrs, std::vector<HostTensor> ins, size_t out = 0,
                     bool compiled = true) {
  std::string nodes, list;
  std::map<std::string, HostTensor> vars;
  for (size_t i = 0; i < ins.size(); ++i) {
    nodes += R"({"op": "null", "name": "x)" + std::to_string(i) + R"(", "inputs": []}, )";
    list += (i ? ", [" : "[") + std::to_string(i) + ", 0, 0]";
    vars["x" + std::to_string(i)] = ins[i];
  }
  std::string json = R"({"nodes": [)" + nodes + R"({"op": ")" + op + R"(", "name": "q", "attrs": {)" + attrs +
                     R"(}, "inputs": [)" + list + R"(]}], "arg_nodes": [], "heads": [[)" + std::to_string(ins.size()) +
                     ", " + std::to_string(out) + ", 0]]}";
  Graph g = loaded(json, vars);
  return compiled ? compile(g)->run(vars)[0] : ref::evaluate(g, vars)[0];
}

HostTensor vec(std::vector<float> v) {
  HostTensor t(DType::f32, {static_cast<int64_t>(v.size())});
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}

template <typename T>
HostTensor ivec(DType dt, std::vector<T> v) {
  HostTensor t(dt, {static_cast<int64_t>(v.size())});
  std::copy(v.begin(), v.end(), t.data<T>());
  return t;
}

}  // namespace

TEST_CASE("int8: quantize_v2 / dequantize / requantize follow MXNet's oneDNN formulas") {
  HostTensor x = vec({0.5f, -1.0f, 1.0f, 2.0f, 0.002f, -0.0041f});
  for (bool compiled : {true, false}) {
    // int8, range [-1, 1]: scale 127.5, nearest even, saturated to [-128, 127].
    HostTensor q = one_graph("_contrib_quantize_v2", R"("min_calib_range": "-1", "max_calib_range": "1")", {x}, 0, compiled);
    REQUIRE(q.dtype() == DType::i8);
    std::vector<double> want{64, -128, 127, 127, 0, -1};
    for (int i = 0; i < 6; ++i) CHECK(at(q, i) == want[i]);
    CHECK(at(one_graph("_contrib_quantize_v2", R"("min_calib_range": "-0.5", "max_calib_range": "1")", {x}, 2, compiled), 0) == 1.0);
    CHECK(at(one_graph("_contrib_quantize_v2", R"("min_calib_range": "-0.5", "max_calib_range": "1")", {x}, 1, compiled), 0) == -1.0);
    // auto with a range starting at 0: uint8, scale 255.5 / 2.
    HostTensor u = one_graph("_contrib_quantize_v2", R"("out_type": "auto", "min_calib_range": "0", "max_calib_range": "2")", {x},
                             0, compiled);
    REQUIRE(u.dtype() == DType::u8);
    std::vector<double> uw{64, 0, 128, 255, 0, 0};  // 63.875 -> 64, 127.75 -> 128
    for (int i = 0; i < 6; ++i) CHECK(at(u, i) == uw[i]);
    // Uncalibrated: the data's own range (max |x| = 2).
    HostTensor d = one_graph("_contrib_quantize_v2", "", {x}, 0, compiled);
    CHECK(at(d, 3) == 127);  // 255 saturates
    CHECK(at(d, 0) == 32);   // 0.5 * 63.75 = 31.875
    // dequantize: q * r / 127.5 (int8), q * r / 255.5 (uint8), q * r / (2^31 - 1) (int32).
    HostTensor dq = one_graph("_contrib_dequantize", "", {ivec<int8_t>(DType::i8, {-128, 51, 127}), vec({-2}), vec({1})}, 0, compiled);
    CHECK(at(dq, 0) == doctest::Approx(-128 * 2 / 127.5));
    CHECK(at(dq, 1) == doctest::Approx(51 * 2 / 127.5));
    HostTensor du = one_graph("_contrib_dequantize", "", {ivec<uint8_t>(DType::u8, {255, 3}), vec({0}), vec({4})}, 0, compiled);
    CHECK(at(du, 0) == doctest::Approx(255 * 4 / 255.5));
    // requantize int32 -> int8 into a calibrated range: x * (r_in / (2^31-1)) * (127 / r_out).
    HostTensor r = one_graph("_contrib_requantize", R"("min_calib_range": "-3", "max_calib_range": "3")",
                             {ivec<int32_t>(DType::i32, {1 << 24, -(1 << 26), 1 << 30}), vec({-1000}), vec({1000})}, 0, compiled);
    REQUIRE(r.dtype() == DType::i8);
    for (int i = 0; i < 3; ++i) {
      double v = std::vector<double>{1 << 24, -(1 << 26), 1 << 30}[i] * (1000.0 / 2147483647.0) * (127.0 / 3.0);
      CHECK(at(r, i) == std::clamp(std::nearbyint(v), -128.0, 127.0));
    }
  }
  CHECK_THROWS_WITH_AS(one_graph("_contrib_dequantize", "", {vec({1}), vec({0}), vec({1})}),
                       doctest::Contains("takes int8, uint8 or int32, got float32"), Error);
}

namespace {

struct ConvCase {
  test::ConvSpec spec;
  std::map<std::string, HostTensor> vars;
  std::vector<double> folded_w, folded_b;  // BatchNorm folded in
};

ConvCase make_case(test::ConvSpec s, std::mt19937& rng, int64_t N = 2, int64_t H = 7) {
  ConvCase c;
  c.vars["data"] = test::random_tensor({N, s.C, H, H}, rng, -1, 1);
  c.vars["conv0_weight"] = test::random_tensor({s.O, s.C, s.k, s.k}, rng, -0.5, 0.5);
  if (s.bias) c.vars["conv0_bias"] = test::random_tensor({s.O}, rng, -0.3, 0.3);
  if (s.bn) {
    c.vars["bn0_gamma"] = test::random_tensor({s.O}, rng, 0.5, 1.5);
    c.vars["bn0_beta"] = test::random_tensor({s.O}, rng, -0.2, 0.2);
    c.vars["bn0_running_mean"] = test::random_tensor({s.O}, rng, -0.2, 0.2);
    c.vars["bn0_running_var"] = test::random_tensor({s.O}, rng, 0.5, 1.5);
  }
  const HostTensor& x = c.vars["data"];
  s.data_min = *std::min_element(x.data<float>(), x.data<float>() + x.numel());
  s.data_max = *std::max_element(x.data<float>(), x.data<float>() + x.numel());
  int64_t per = s.C * s.k * s.k;
  c.folded_w.assign(c.vars["conv0_weight"].data<float>(), c.vars["conv0_weight"].data<float>() + s.O * per);
  c.folded_b.assign(s.O, 0.0);
  for (int64_t o = 0; o < s.O; ++o) {
    double b = s.bias ? c.vars["conv0_bias"].data<float>()[o] : 0.0;
    if (s.bn) {
      double a = c.vars["bn0_gamma"].data<float>()[o] / std::sqrt(c.vars["bn0_running_var"].data<float>()[o] + 1e-5);
      b = c.vars["bn0_beta"].data<float>()[o] + a * (b - c.vars["bn0_running_mean"].data<float>()[o]);
      for (int64_t k = 0; k < per; ++k) c.folded_w[o * per + k] *= a;
    }
    c.folded_b[o] = b;
  }
  // Calibrate the output as naive calibration does: the float32 model's range on this data.
  Graph f = loaded(test::float_conv_json(s), c.vars);
  HostTensor y = ref::evaluate(f, c.vars)[0];
  s.out_min = *std::min_element(y.data<float>(), y.data<float>() + y.numel());
  s.out_max = *std::max_element(y.data<float>(), y.data<float>() + y.numel());
  c.spec = s;
  return c;
}

// |y_float - y_int8| per output element. With data step dx = r_x / 127.5 (zero-centred int8)
// and the weight step of channel o dw_o = r_w,o / 127.5, quantizing x and w moves each product
// by at most |w| dx/2 + (|x| + dx/2) dw_o/2; the int32 bias moves by dx dw_o / 2 at most
// (its step is 1 / (s_x s_w)); the output rounds to its own step dy = r_y / 255.5 (uint8
// after ReLU) and ReLU is 1-Lipschitz. No clipping happens: the calibrated ranges cover the
// data. A float32 slack of 1e-5 (|y| + 1) covers accumulation order.
std::vector<double> error_bound(const ConvCase& c, const HostTensor& y) {
  const test::ConvSpec& s = c.spec;
  const HostTensor& x = c.vars.at("data");
  const int64_t N = x.shape()[0], H = x.shape()[2], OH = y.shape()[2], per = s.C * s.k * s.k;
  const double dx = std::max(std::fabs(s.data_min), std::fabs(s.data_max)) / 127.5;
  const double dy = std::max(std::fabs(s.out_min), std::fabs(s.out_max)) / (s.act ? 255.5 : 127.5);
  std::vector<double> bound(static_cast<size_t>(y.numel()));
  for (int64_t o = 0; o < s.O; ++o) {
    double rw = 0;
    for (int64_t k = 0; k < per; ++k) rw = std::max(rw, std::fabs(c.folded_w[o * per + k]));
    const double dw = rw / 127.5;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OH; ++ow) {
          double b = dx * dw / 2 + dy / 2;
          for (int64_t ci = 0; ci < s.C; ++ci)
            for (int64_t kh = 0; kh < s.k; ++kh)
              for (int64_t kw = 0; kw < s.k; ++kw) {
                int64_t ih = oh * s.stride - s.pad + kh, iw = ow * s.stride - s.pad + kw;
                if (ih < 0 || ih >= H || iw < 0 || iw >= H) continue;
                double xv = std::fabs(x.data<float>()[((n * s.C + ci) * H + ih) * H + iw]);
                double wv = std::fabs(c.folded_w[((o * s.C + ci) * s.k + kh) * s.k + kw]);
                b += wv * dx / 2 + (xv + dx / 2) * dw / 2;
              }
          size_t i = static_cast<size_t>(((n * s.O + o) * OH + oh) * OH + ow);
          bound[i] = b + 1e-5 * (std::fabs(y.data<float>()[i]) + 1);
        }
  }
  return bound;
}

void check_against_float(const ConvCase& c) {
  Graph q = loaded(test::int8_conv_json(c.spec), c.vars);
  Graph f = loaded(test::float_conv_json(c.spec), c.vars);
  HostTensor got = compile(q)->run(c.vars)[0];
  HostTensor ref8 = ref::evaluate(q, c.vars)[0];
  HostTensor want = ref::evaluate(f, c.vars)[0];
  REQUIRE(got.shape() == want.shape());
  // The oneDNN primitive and the reference agree to one output step (a rounding tie may
  // fall either way between float32 and double scaling).
  const double dy = std::max(std::fabs(c.spec.out_min), std::fabs(c.spec.out_max)) / (c.spec.act ? 255.5 : 127.5);
  std::vector<double> bound = error_bound(c, want);
  int64_t bad_ref = 0, bad_float = 0, exact = 0;
  double worst = 0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    double g = got.data<float>()[i], r = ref8.data<float>()[i], w = want.data<float>()[i];
    if (std::fabs(g - r) > dy * 1.0001 + 1e-7) ++bad_ref;
    if (g == r) ++exact;
    if (std::fabs(g - w) > bound[i]) ++bad_float;
    worst = std::max(worst, std::fabs(g - w) / bound[i]);
  }
  INFO("worst |int8 - float32| / bound = ", worst, "; equal to the int8 reference: ", exact, " of ", got.numel());
  CHECK(bad_ref == 0);
  CHECK(exact >= got.numel() * 95 / 100);
  CHECK(bad_float == 0);
  CHECK(worst > 0.01);  // the bound is not vacuous: quantization error shows up in it
}

}  // namespace

TEST_CASE("int8: a GluonCV-style quantized conv+BN+ReLU graph matches float32 within the quantization bound") {
  std::mt19937 rng(11);
  test::ConvSpec s;
  check_against_float(make_case(s, rng));
  SUBCASE("with a conv bias, no BatchNorm, stride 2") {
    test::ConvSpec b;
    b.bn = false, b.bias = true, b.stride = 2, b.O = 8;
    check_against_float(make_case(b, rng, 3, 9));
  }
  SUBCASE("uint8 data (non-negative inputs)") {
    ConvCase c = make_case(s, rng);
    HostTensor& x = c.vars["data"];
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = std::fabs(x.data<float>()[i]);
    c.spec.data_min = 0, c.spec.out_type = "uint8";
    Graph q = loaded(test::int8_conv_json(c.spec), c.vars);
    CHECK(q.nodes[1].out_dtypes[0] == DType::u8);
    HostTensor got = compile(q)->run(c.vars)[0], ref8 = ref::evaluate(q, c.vars)[0];
    double dy = c.spec.out_max / 255.5;
    for (int64_t i = 0; i < got.numel(); ++i) CHECK(std::fabs(got.data<float>()[i] - ref8.data<float>()[i]) <= dy * 1.0001);
  }
}

TEST_CASE("int8: a float _sg_mkldnn_conv (quantized=false) is the fused float32 conv+BN+ReLU") {
  std::mt19937 rng(5);
  ConvCase c = make_case(test::ConvSpec{}, rng);
  Graph g = loaded(test::int8_conv_json(c.spec, false), c.vars);
  Graph f = loaded(test::float_conv_json(c.spec), c.vars);
  HostTensor got = compile(g)->run(c.vars)[0], want = ref::evaluate(f, c.vars)[0], ref = ref::evaluate(g, c.vars)[0];
  for (int64_t i = 0; i < got.numel(); ++i) {
    CHECK(got.data<float>()[i] == doctest::Approx(want.data<float>()[i]).epsilon(1e-4).scale(1));
    CHECK(ref.data<float>()[i] == doctest::Approx(want.data<float>()[i]).epsilon(1e-5).scale(1));
  }
}

TEST_CASE("int8: the subgraph JSON round-trips and the inner attributes stay inside it") {
  std::mt19937 rng(3);
  ConvCase c = make_case(test::ConvSpec{}, rng);
  Graph g = load_json(test::int8_conv_json(c.spec), "gluoncv-int8");
  const Node& conv = g.nodes[g.find("quantized_sg_mkldnn_conv_bn_act_0")];
  REQUIRE(conv.subgraphs.size() == 1);
  CHECK(conv.attr_view().i("num_filter") == 4);  // hoisted from the inner Convolution
  CHECK(conv.attr_view().b("no_bias"));
  CHECK(conv.attr_view().f("eps") == doctest::Approx(1e-5));
  std::string text = save_json(g);
  CHECK(text.find("\"num_filter\": \"4\"") != std::string::npos);  // inside the subgraph only
  CHECK(text.find("\"with_bn\": \"True\"") != std::string::npos);
  Graph again = load_json(text, "again");
  CHECK(save_json(again) == text);
  InferOptions io;
  io.shapes["data"] = Shape(c.vars["data"].shape());
  infer(again, io);
  HostTensor a = compile(again)->run(c.vars)[0];
  Graph g2 = loaded(test::int8_conv_json(c.spec), c.vars);
  HostTensor b = compile(g2)->run(c.vars)[0];
  for (int64_t i = 0; i < a.numel(); ++i) CHECK(a.data<float>()[i] == b.data<float>()[i]);
  // A subgraph op hgc does not fuse is refused by name.
  std::string bad = test::int8_conv_json(c.spec);
  const std::string act = R"("Activation", "name": "relu0_fwd", "attrs": {"act_type": "relu"})";
  bad.replace(bad.find(act), act.size(), R"("Flatten", "name": "relu0_fwd")");
  CHECK_THROWS_WITH_AS(load_json(bad, "bad"), doctest::Contains("subgraph op Flatten"), Error);
}

TEST_CASE("int8: _sg_mkldnn_fully_connected (channel-wise, float output and requantized ReLU output)") {
  std::mt19937 rng(9);
  std::map<std::string, HostTensor> vars{{"x", test::random_tensor({5, 12}, rng, -1, 1)},
                                         {"w", test::random_tensor({6, 12}, rng, -0.5, 0.5)},
                                         {"b", test::random_tensor({6}, rng, -0.2, 0.2)}};
  const std::string sub =
      R"({"nodes": [{"op": "null", "name": "data", "inputs": []}, {"op": "null", "name": "w", "inputs": []},
          {"op": "null", "name": "b", "inputs": []},
          {"op": "FullyConnected", "name": "fc", "attrs": {"num_hidden": "6"}, "inputs": [[0, 0, 0], [1, 0, 0], [2, 0, 0]]},
          {"op": "Activation", "name": "relu", "attrs": {"act_type": "relu"}, "inputs": [[3, 0, 0]]}],
          "arg_nodes": [0, 1, 2], "heads": [[4, 0, 0]]})";
  auto graph = [&](const std::string& extra, bool float_out) {
    return R"({"nodes": [{"op": "null", "name": "x", "inputs": []},
      {"op": "_contrib_quantize_v2", "name": "xq", "attrs": {"min_calib_range": "-1", "max_calib_range": "1"}, "inputs": [[0, 0, 0]]},
      {"op": "null", "name": "w", "inputs": []}, {"op": "null", "name": "b", "inputs": []},
      {"op": "_sg_mkldnn_fully_connected", "name": "fcq", "attrs": {"quantized": "True", "with_eltwise": "True",
       "channel_wise_quantize": "True")" + extra + R"(}, "inputs": [[1, 0, 0], [2, 0, 0], [3, 0, 0], [1, 1, 0], [1, 2, 0]],
       "subgraphs": [)" + sub + R"(]})" +
           (float_out ? std::string("], \"heads\": [[4, 0, 0]]}")
                      : std::string(R"(, {"op": "_contrib_dequantize", "name": "dq", "inputs": [[4, 0, 0], [4, 1, 0], [4, 2, 0]]}],
                       "heads": [[5, 0, 0]]})"));
  };
  Graph fl = loaded(graph(R"(, "enable_float_output": "True")", true), vars);
  Graph rq = loaded(graph(R"(, "min_calib_range": "0", "max_calib_range": "3")", false), vars);
  CHECK(rq.nodes[4].out_dtypes[0] == DType::u8);
  for (Graph* g : {&fl, &rq}) {
    HostTensor got = compile(*g)->run(vars)[0], want = ref::evaluate(*g, vars)[0];
    double step = g == &rq ? 3 / 255.5 : 1e-5;
    for (int64_t i = 0; i < got.numel(); ++i) {
      // float32 relu(x w^T + b), and its quantized form within the quantization bound.
      double y = vars["b"].data<float>()[i % 6];
      for (int k = 0; k < 12; ++k) y += vars["x"].data<float>()[i / 6 * 12 + k] * vars["w"].data<float>()[i % 6 * 12 + k];
      y = std::max(0.0, y);
      CHECK(std::fabs(got.data<float>()[i] - want.data<float>()[i]) <= step * 1.0001 + 1e-6);
      CHECK(std::fabs(got.data<float>()[i] - y) <= 0.05);
    }
  }
}

TEST_CASE("int8: hgc dump and hgc run load a GluonCV-style quantized symbol file") {
  test::ConvSpec s;
  s.out_max = 2.5;
  std::string path = test::temp_dir() + "/q_int8-symbol.json";
  write_file_atomic(path, test::int8_conv_json(s), "test");
  test::Shell d = test::hgc_tool("dump " + path + " --shape data=1x3x8x8");
  CHECK(d.code == 0);
  CHECK(d.out.find("_sg_mkldnn_conv(%data_quantize, %conv0_weight") != std::string::npos);
  CHECK(d.out.find("(1, 4, 8, 8) uint8") != std::string::npos);
  CHECK(d.out.find("members: Convolution(conv0_fwd) BatchNorm(bn0_fwd) Activation(relu0_fwd)") != std::string::npos);
  CHECK(d.out.find("aux") != std::string::npos);  // the BatchNorm statistics are aux states
  test::Shell r = test::hgc_tool("run " + path + " --input data=1x3x8x8:random");
  CHECK(r.code == 0);
  CHECK(r.out.find("output 0: (1, 4, 8, 8) float32") != std::string::npos);
}

TEST_CASE("int8: changed weights are requantized (the prepared int8 weights are not stale)") {
  std::mt19937 rng(21);
  ConvCase c = make_case(test::ConvSpec{}, rng);
  Graph q = loaded(test::int8_conv_json(c.spec), c.vars);
  auto exe = compile(q);
  HostTensor first = exe->run(c.vars)[0];
  HostTensor& w = c.vars["conv0_weight"];
  for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] *= (i % 3 == 0) ? -0.5f : 0.75f;  // in place
  HostTensor got = exe->run(c.vars)[0], want = ref::evaluate(q, c.vars)[0];
  const double dy = c.spec.out_max / 255.5;
  int64_t changed = 0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    CHECK(std::fabs(got.data<float>()[i] - want.data<float>()[i]) <= dy * 1.0001);
    changed += got.data<float>()[i] != first.data<float>()[i];
  }
  CHECK(changed > got.numel() / 4);
}
