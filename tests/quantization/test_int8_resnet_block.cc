// A GluonCV-style int8 ResNet block, written as MXNet 1.9's quantization emits it (built here,
// no downloads), against the float32 graph it quantizes:
//
//   data -> quantize_v2 -> conv0 (+BN+ReLU, uint8) -> quantized_pooling max 3x3/2 -> pool0
//   pool0 -> conv1 (+BN+ReLU) -> conv2 (+BN, with_sum(pool0) + ReLU)            (uint8)
//   pool0 -> conv3 1x1 (+BN, int8)
//   quantized_elemwise_add(conv2, conv3) -> quantized_act relu -> quantized_concat(., pool0)
//   -> quantized_pooling global avg -> quantized_flatten -> _sg_mkldnn_fully_connected
//      (int8 weights + ranges, uncalibrated int32) -> dequantize
//
// The ranges are calibrated as MXNet's naive mode does (min/max of the float32 tensors). The
// per-element error bound is carried through the graph from the quantization steps (see
// each stage below).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "hgc/base/files.h"
#include "hgc/compiler/compile.h"
#include "hgc/ir/infer.h"
#include "hgc/ir/json_io.h"
#include "int8_graphs.h"
#include "reference/reference.h"
#include "support/paths.h"
#include "support/shell.h"

using namespace hgc;

namespace {

// MXNet symbol JSON, node by node.
struct Json {
  std::vector<std::string> nodes;
  int var(const std::string& name) {
    nodes.push_back(R"({"op": "null", "name": ")" + name + R"(", "inputs": []})");
    return static_cast<int>(nodes.size()) - 1;
  }
  int op(const std::string& op, const std::string& name, const std::string& attrs, const std::vector<std::pair<int, int>>& ins,
         const std::string& sub = "") {
    std::string list;
    for (const auto& [n, k] : ins) list += (list.empty() ? "[" : ", [") + std::to_string(n) + ", " + std::to_string(k) + ", 0]";
    nodes.push_back(R"({"op": ")" + op + R"(", "name": ")" + name + R"(", "attrs": {)" + attrs + R"(}, "inputs": [)" + list + "]" +
                    (sub.empty() ? "" : R"(, "subgraphs": [)" + sub + "]") + "}");
    return static_cast<int>(nodes.size()) - 1;
  }
  std::string str(const std::vector<int>& heads) const {
    std::string j = R"({"nodes": [)", h;
    for (size_t i = 0; i < nodes.size(); ++i) j += (i ? ",\n" : "") + nodes[i];
    for (int n : heads) h += (h.empty() ? "[" : ", [") + std::to_string(n) + ", 0, 0]";
    return j + R"(], "arg_nodes": [], "heads": [)" + h + R"(], "attrs": {"mxnet_version": ["int", 10901]}})";
  }
};

struct Conv {
  std::string name;
  int64_t C, O, k, pad;
  bool relu, sum;  // ReLU after BN (no sum) or after the sum
};

std::string conv_attrs(const Conv& c) {
  auto pair = [](int64_t v) { return "(" + std::to_string(v) + ", " + std::to_string(v) + ")"; };
  return R"("kernel": ")" + pair(c.k) + R"(", "pad": ")" + pair(c.pad) + R"(", "num_filter": ")" + std::to_string(c.O) +
         R"(", "no_bias": "True")";
}

// The float ops of one conv block; returns the node of its output.
int float_conv(Json& j, const Conv& c, int in, int sum) {
  int w = j.var(c.name + "_weight");
  int y = j.op("Convolution", c.name + "_fwd", conv_attrs(c), {{in, 0}, {w, 0}});
  std::vector<std::pair<int, int>> bn{{y, 0}};
  for (const char* p : {"_gamma", "_beta", "_running_mean", "_running_var"}) bn.push_back({j.var(c.name + "_bn" + p), 0});
  y = j.op("BatchNorm", c.name + "_bn_fwd", R"("eps": "1e-05", "fix_gamma": "False")", bn);
  if (c.sum) y = j.op("elemwise_add", c.name + "_add", "", {{y, 0}, {sum, 0}});
  if (c.relu) y = j.op("Activation", c.name + "_relu", R"("act_type": "relu")", {{y, 0}});
  return y;
}

// The `_sg_mkldnn_conv` node of one conv block (its subgraph is the float block).
int int8_conv(Json& j, const Conv& c, int in, int sum, double lo, double hi) {
  Json sub;
  int sd = sub.var("data"), ss = c.sum ? sub.var("sum") : -1;
  int head = float_conv(sub, c, sd, ss);
  std::vector<std::pair<int, int>> ins{{in, 0}, {j.var(c.name + "_weight"), 0}};
  for (const char* p : {"_gamma", "_beta", "_running_mean", "_running_var"}) ins.push_back({j.var(c.name + "_bn" + p), 0});
  if (c.sum) ins.push_back({sum, 0});
  ins.insert(ins.end(), {{in, 1}, {in, 2}});
  if (c.sum) ins.insert(ins.end(), {{sum, 1}, {sum, 2}});
  std::string a = R"("quantized": "true", "with_bn": "true", "with_act": ")" + std::string(c.relu && !c.sum ? "true" : "false") +
                  R"(", "with_sum": ")" + (c.sum ? "true" : "false") + R"(", "with_postsum_act": ")" + (c.sum && c.relu ? "true" : "false") +
                  R"(", "min_calib_range": ")" + test::fmt(lo) + R"(", "max_calib_range": ")" + test::fmt(hi) + "\"";
  return j.op("_sg_mkldnn_conv", "quantized_sg_mkldnn_" + c.name, a, ins, sub.str({head}));
}

const Conv kConv0{"conv0", 3, 4, 3, 1, true, false}, kConv1{"conv1", 4, 4, 3, 1, true, false},
    kConv2{"conv2", 4, 4, 3, 1, true, true}, kConv3{"conv3", 4, 4, 1, 0, false, false};
const char* kPool0 = R"J("kernel": "(3, 3)", "stride": "(2, 2)", "pad": "(1, 1)", "pool_type": "max")J";
const char* kPool1 = R"J("kernel": "(1, 1)", "global_pool": "True", "pool_type": "avg")J";

// Float heads, in this order: conv0, pool0, conv1, conv2, conv3, add, relu, concat, gpool, flat, fc.
std::string float_graph() {
  Json j;
  int x = j.var("data");
  int c0 = float_conv(j, kConv0, x, -1);
  int p0 = j.op("Pooling", "pool0", kPool0, {{c0, 0}});
  int c1 = float_conv(j, kConv1, p0, -1);
  int c2 = float_conv(j, kConv2, c1, p0);
  int c3 = float_conv(j, kConv3, p0, -1);
  int add = j.op("elemwise_add", "add0", "", {{c2, 0}, {c3, 0}});
  int relu = j.op("Activation", "relu0", R"("act_type": "relu")", {{add, 0}});
  int cat = j.op("Concat", "cat0", R"("num_args": "2", "dim": "1")", {{relu, 0}, {p0, 0}});
  int gp = j.op("Pooling", "pool1", kPool1, {{cat, 0}});
  int fl = j.op("Flatten", "flat0", "", {{gp, 0}});
  int fc = j.op("FullyConnected", "fc0", R"("num_hidden": "5")", {{fl, 0}, {j.var("fc0_weight_f"), 0}, {j.var("fc0_bias_f"), 0}});
  return j.str({c0, p0, c1, c2, c3, add, relu, cat, gp, fl, fc});
}

// The ranges the int8 graph is calibrated with.
struct Calib {
  double x, r0, r1, r2, r3, add;  // |data|, conv0, conv1, conv2 (>= 0), conv3, add (symmetric)
};

std::string int8_graph(const Calib& k) {
  Json j;
  int x = j.var("data");
  int q = j.op("_contrib_quantize_v2", "data_quantize",
               R"("out_type": "int8", "min_calib_range": ")" + test::fmt(-k.x) + R"(", "max_calib_range": ")" + test::fmt(k.x) + "\"",
               {{x, 0}});
  int c0 = int8_conv(j, kConv0, q, -1, 0, k.r0);
  int p0 = j.op("_contrib_quantized_pooling", "quantized_pool0", kPool0, {{c0, 0}, {c0, 1}, {c0, 2}});
  int c1 = int8_conv(j, kConv1, p0, -1, 0, k.r1);
  int c2 = int8_conv(j, kConv2, c1, p0, 0, k.r2);
  int c3 = int8_conv(j, kConv3, p0, -1, -k.r3, k.r3);
  int add = j.op("_contrib_quantized_elemwise_add", "quantized_add0",
                 R"("min_calib_range": ")" + test::fmt(-k.add) + R"(", "max_calib_range": ")" + test::fmt(k.add) + "\"",
                 {{c2, 0}, {c3, 0}, {c2, 1}, {c2, 2}, {c3, 1}, {c3, 2}});
  int relu = j.op("_contrib_quantized_act", "quantized_relu0", R"("act_type": "relu")", {{add, 0}, {add, 1}, {add, 2}});
  int cat = j.op("_contrib_quantized_concat", "quantized_cat0", R"("num_args": "2", "dim": "1")",
                 {{relu, 0}, {p0, 0}, {relu, 1}, {relu, 2}, {p0, 1}, {p0, 2}});
  int gp = j.op("_contrib_quantized_pooling", "quantized_pool1", kPool1, {{cat, 0}, {cat, 1}, {cat, 2}});
  int fl = j.op("_contrib_quantized_flatten", "quantized_flat0", "", {{gp, 0}, {gp, 1}, {gp, 2}});
  Json sub;
  int sd = sub.var("data"), sw = sub.var("fc0_weight"), sb = sub.var("fc0_bias");
  int sf = sub.op("FullyConnected", "fc0", R"("num_hidden": "5")", {{sd, 0}, {sw, 0}, {sb, 0}});
  std::vector<std::pair<int, int>> ins{{fl, 0}, {j.var("fc0_weight"), 0}, {j.var("fc0_bias"), 0}, {fl, 1}, {fl, 2}};
  for (const char* r : {"fc0_weight_min", "fc0_weight_max", "fc0_bias_min", "fc0_bias_max"}) ins.push_back({j.var(r), 0});
  int fc = j.op("_sg_mkldnn_fully_connected", "quantized_sg_mkldnn_fully_connected_0", R"("quantized": "True")", ins,
                sub.str({sf}));
  int dq = j.op("_contrib_dequantize", "quantized_sg_mkldnn_fully_connected_0_dequantize", "",
                {{fc, 0}, {fc, 1}, {fc, 2}});
  // Probes: every int8 value dequantized, as further heads in the order of float_graph().
  std::vector<int> heads{dq};
  for (int v : {q, c0, p0, c1, c2, c3, add, relu, cat, gp})
    heads.push_back(j.op("_contrib_dequantize", "probe" + std::to_string(v), "", {{v, 0}, {v, 1}, {v, 2}}));
  return j.str(heads);
}

Graph loaded(const std::string& json, const std::map<std::string, HostTensor>& all, std::map<std::string, HostTensor>& vars) {
  Graph g = load_json(json, "resnet-block");
  vars.clear();
  for (const Node& n : g.nodes)
    if (n.is_variable()) vars[n.name] = all.at(n.name);
  InferOptions io;
  for (const auto& [k, v] : vars) io.shapes[k] = Shape(v.shape()), io.dtypes[k] = v.dtype();
  infer(g, io);
  return g;
}

double absmax(const HostTensor& t) {
  double m = 0;
  for (int64_t i = 0; i < t.numel(); ++i) m = std::max(m, std::fabs(static_cast<double>(t.data<float>()[i])));
  return m;
}

// The error one `_sg_mkldnn_conv` adds before its output is rounded, element by element: with
// the input x (float32 graph), its error e (|int8 value - x|), the input step dx, the folded
// weights w and their step dw_o = max|w_o| / 127.5, the int8 product moves by at most
// sum |w| e + (|x| + e) dw_o / 2 over the window, and the int32 bias by dx dw_o / 2.
std::vector<double> conv_error(const Conv& c, const HostTensor& x, const std::vector<double>& e, double dx,
                               const std::map<std::string, HostTensor>& all) {
  const int64_t N = x.shape()[0], H = x.shape()[2], per = c.C * c.k * c.k;
  std::vector<double> w(all.at(c.name + "_weight").data<float>(), all.at(c.name + "_weight").data<float>() + c.O * per);
  for (int64_t o = 0; o < c.O; ++o) {  // BatchNorm folded in (fix_gamma=False, eps 1e-5)
    double a = all.at(c.name + "_bn_gamma").data<float>()[o] / std::sqrt(all.at(c.name + "_bn_running_var").data<float>()[o] + 1e-5);
    for (int64_t k = 0; k < per; ++k) w[o * per + k] *= a;
  }
  std::vector<double> out(static_cast<size_t>(N * c.O * H * H));
  for (int64_t o = 0; o < c.O; ++o) {
    double dw = 0;
    for (int64_t k = 0; k < per; ++k) dw = std::max(dw, std::fabs(w[o * per + k]) / 127.5);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t oh = 0; oh < H; ++oh)
        for (int64_t ow = 0; ow < H; ++ow) {
          double b = dx * dw / 2;
          for (int64_t ci = 0; ci < c.C; ++ci)
            for (int64_t kh = 0; kh < c.k; ++kh)
              for (int64_t kw = 0; kw < c.k; ++kw) {
                int64_t ih = oh - c.pad + kh, iw = ow - c.pad + kw;
                if (ih < 0 || ih >= H || iw < 0 || iw >= H) continue;
                size_t xi = static_cast<size_t>(((n * c.C + ci) * H + ih) * H + iw);
                double wv = std::fabs(w[((o * c.C + ci) * c.k + kh) * c.k + kw]);
                b += wv * e[xi] + (std::fabs(x.data<float>()[xi]) + e[xi]) * dw / 2;
              }
          out[static_cast<size_t>(((n * c.O + o) * H + oh) * H + ow)] = b;
        }
  }
  return out;
}

void add(std::vector<double>& e, const std::vector<double>& f) {
  for (size_t i = 0; i < e.size(); ++i) e[i] += f[i];
}
void add(std::vector<double>& e, double d) {
  for (double& v : e) v += d;
}

}  // namespace

TEST_CASE("int8: a GluonCV-style quantized ResNet block (pooling, sum, add, relu, concat, flatten, int8 FC) matches float32") {
  std::mt19937 rng(2026);
  std::map<std::string, HostTensor> all;
  all["data"] = test::random_tensor({2, 3, 8, 8}, rng, -1, 1);
  for (const Conv& c : {kConv0, kConv1, kConv2, kConv3}) {
    all[c.name + "_weight"] = test::random_tensor({c.O, c.C, c.k, c.k}, rng, -0.5, 0.5);
    all[c.name + "_bn_gamma"] = test::random_tensor({c.O}, rng, 0.5, 1.5);
    all[c.name + "_bn_beta"] = test::random_tensor({c.O}, rng, -0.2, 0.4);
    all[c.name + "_bn_running_mean"] = test::random_tensor({c.O}, rng, -0.2, 0.2);
    all[c.name + "_bn_running_var"] = test::random_tensor({c.O}, rng, 0.5, 1.5);
  }
  // The FC weights as MXNet stores them (int8 with their ranges); the float32 model holds
  // their exact values q * r / 127.5, so the FC adds no weight rounding of its own.
  HostTensor w8(DType::i8, {5, 8}), b8(DType::i8, {5}), wf(DType::f32, {5, 8}), bf(DType::f32, {5});
  std::uniform_int_distribution<int> q(-127, 127);
  const float wr = 0.6f, br = 0.3f;
  for (int64_t i = 0; i < 40; ++i) w8.data<int8_t>()[i] = static_cast<int8_t>(q(rng)), wf.data<float>()[i] = w8.data<int8_t>()[i] * wr / 127.5f;
  for (int64_t i = 0; i < 5; ++i) b8.data<int8_t>()[i] = static_cast<int8_t>(q(rng)), bf.data<float>()[i] = b8.data<int8_t>()[i] * br / 127.5f;
  all["fc0_weight"] = w8, all["fc0_bias"] = b8, all["fc0_weight_f"] = wf, all["fc0_bias_f"] = bf;
  auto scalar = [](float v) {
    HostTensor t(DType::f32, {1});
    t.data<float>()[0] = v;
    return t;
  };
  all["fc0_weight_min"] = scalar(-wr), all["fc0_weight_max"] = scalar(wr);
  all["fc0_bias_min"] = scalar(-br), all["fc0_bias_max"] = scalar(br);

  std::map<std::string, HostTensor> fvars, qvars;
  Graph fg = loaded(float_graph(), all, fvars);
  std::vector<HostTensor> f = ref::evaluate(fg, fvars);
  enum { C0, P0, C1, C2, C3, ADD, RELU, CAT, GP, FL, FC };
  const HostTensor& xin = all["data"];
  // Naive calibration. The add's range also covers its uint8 input, which MXNet first
  // reorders into int8 at the output's steps (and would clip).
  Calib k{absmax(xin), absmax(f[C0]), absmax(f[C1]), absmax(f[C2]), absmax(f[C3]), std::max(absmax(f[ADD]), absmax(f[C2]))};
  const std::string json = int8_graph(k);
  Graph qg = loaded(json, all, qvars);
  CHECK(qg.nodes[static_cast<size_t>(qg.find("quantized_pool0"))].out_dtypes[0] == DType::u8);
  CHECK(qg.nodes[static_cast<size_t>(qg.find("quantized_add0"))].out_dtypes[0] == DType::i8);
  CHECK(qg.nodes[static_cast<size_t>(qg.find("quantized_cat0"))].out_dtypes[0] == DType::i8);
  CHECK(qg.nodes[static_cast<size_t>(qg.find("quantized_sg_mkldnn_fully_connected_0"))].out_dtypes[0] == DType::i32);
  HostTensor got = compile(qg)->run(qvars)[0], ref8 = ref::evaluate(qg, qvars)[0];
  const HostTensor& want = f[FC];
  REQUIRE(got.shape() == want.shape());

  // The bound, stage by stage (steps: int8 r / 127.5, uint8 r / 255.5; a rounded output
  // moves by half a step, saturation never by more since the ranges cover the float values).
  const double s0 = k.r0 / 255.5, s1 = k.r1 / 255.5, s2 = k.r2 / 255.5, s3 = k.r3 / 127.5, sa = k.add / 127.5;
  std::vector<double> e(static_cast<size_t>(xin.numel()), k.x / 127.5 / 2);  // quantize_v2
  std::vector<double> e0 = conv_error(kConv0, xin, e, k.x / 127.5, all);
  add(e0, s0 / 2);
  std::vector<double> ep(static_cast<size_t>(f[P0].numel()));  // max pooling: the window's worst
  for (int64_t nc = 0; nc < 8; ++nc)
    for (int64_t oh = 0; oh < 4; ++oh)
      for (int64_t ow = 0; ow < 4; ++ow) {
        double m = 0;
        for (int64_t h = 2 * oh - 1; h <= 2 * oh + 1; ++h)
          for (int64_t w = 2 * ow - 1; w <= 2 * ow + 1; ++w)
            if (h >= 0 && h < 8 && w >= 0 && w < 8) m = std::max(m, e0[static_cast<size_t>((nc * 8 + h) * 8 + w)]);
        ep[static_cast<size_t>((nc * 4 + oh) * 4 + ow)] = m;
      }
  std::vector<double> e1 = conv_error(kConv1, f[P0], ep, s0, all);
  add(e1, s1 / 2);
  std::vector<double> e2 = conv_error(kConv2, f[C1], e1, s1, all);  // + the sum input's error
  add(e2, ep), add(e2, s2 / 2);
  std::vector<double> e3 = conv_error(kConv3, f[P0], ep, s0, all);
  add(e3, s3 / 2);
  std::vector<double> eadd = e2;  // uint8 + int8: the uint8 reorder and the sum round once each
  add(eadd, e3), add(eadd, sa);
  const double scat = std::max(k.add, k.r0) / 127.5;  // relu (exact), then concat rescales
  std::vector<double> ecat;
  for (int64_t n = 0; n < 2; ++n) {
    for (int64_t i = 0; i < 64; ++i) ecat.push_back(eadd[static_cast<size_t>(n * 64 + i)] + scat / 2);
    for (int64_t i = 0; i < 64; ++i) ecat.push_back(ep[static_cast<size_t>(n * 64 + i)] + scat / 2);
  }
  std::vector<double> eg(16, scat / 2);  // global average: the mean error, rounded once
  for (int64_t c = 0; c < 16; ++c)
    for (int64_t i = 0; i < 16; ++i) eg[static_cast<size_t>(c)] += ecat[static_cast<size_t>(c * 16 + i)] / 16;
  // FC (exact weights): sum |w| e + the int32 bias rounding; MXNet's int32 range then
  // dequantizes with 127 where the data and weights were scaled by 127.5, a factor
  // (127.5 / 127)^2 on the whole output.
  const double ratio = (127.5 / 127) * (127.5 / 127);
  std::vector<double> bound(10);
  int64_t bad_float = 0, bad_ref = 0;
  double worst = 0;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t o = 0; o < 5; ++o) {
      double b = scat * (wr / 127.5) / 2;
      for (int64_t i = 0; i < 8; ++i) b += std::fabs(wf.data<float>()[o * 8 + i]) * eg[static_cast<size_t>(n * 8 + i)];
      const size_t i = static_cast<size_t>(n * 5 + o);
      const double y = want.data<float>()[i];
      bound[i] = ratio * b + std::fabs(y) * (ratio - 1) + 1e-4 * (std::fabs(y) + 1);
      const double g = got.data<float>()[i], r = ref8.data<float>()[i];
      bad_float += std::fabs(g - y) > bound[i];
      bad_ref += std::fabs(g - r) > bound[i] / 4;
      worst = std::max(worst, std::fabs(g - y) / bound[i]);
      INFO("out ", i, ": int8 ", g, " reference int8 ", r, " float32 ", y, " bound ", bound[i]);
      CHECK(std::fabs(g - y) <= bound[i]);
    }
  double max_err = 0, max_y = 0;
  for (int64_t i = 0; i < want.numel(); ++i)
    max_err = std::max(max_err, std::fabs(static_cast<double>(got.data<float>()[i] - want.data<float>()[i]))),
    max_y = std::max(max_y, std::fabs(static_cast<double>(want.data<float>()[i])));
  MESSAGE("int8 ResNet block: max |int8 - float32| = ", max_err, " of max |y| = ", max_y, "; worst error / bound = ", worst);
  INFO("worst |int8 - float32| / bound = ", worst);
  CHECK(bad_float == 0);
  CHECK(bad_ref == 0);
  CHECK(worst > 0.005);  // the bound is not vacuous

  // Stage by stage with the errors the int8 graph really has at each stage's input (its
  // dequantized values against float32): each stage stays within the bound its own
  // quantization steps give, which is much tighter than the worst case carried above.
  std::vector<HostTensor> probes = compile(qg)->run(qvars);
  REQUIRE(probes.size() == 11);
  auto err = [&](int probe, const HostTensor& fl) {
    const HostTensor& p = probes[static_cast<size_t>(probe)];
    REQUIRE(p.numel() == fl.numel());
    std::vector<double> m(static_cast<size_t>(p.numel()));
    for (int64_t i = 0; i < p.numel(); ++i) m[static_cast<size_t>(i)] = std::fabs(p.data<float>()[i] - fl.data<float>()[i]);
    return m;
  };
  auto stage = [&](const char* what, const std::vector<double>& m, const std::vector<double>& b, const HostTensor& fl) {
    double w = 0;
    int64_t bad = 0;
    for (size_t i = 0; i < m.size(); ++i) {
      const double lim = b[i] + 1e-5 * (std::fabs(fl.data<float>()[i]) + 1);
      bad += m[i] > lim;
      w = std::max(w, m[i] / lim);
    }
    INFO(what, ": worst error / bound = ", w);
    CHECK(bad == 0);
    return w;
  };
  std::vector<double> mq = err(1, xin), m0 = err(2, f[C0]), mp = err(3, f[P0]), m1 = err(4, f[C1]), m2 = err(5, f[C2]),
                      m3 = err(6, f[C3]), madd = err(7, f[ADD]), mrelu = err(8, f[RELU]), mcat = err(9, f[CAT]), mg = err(10, f[GP]);
  stage("quantize_v2", mq, std::vector<double>(mq.size(), k.x / 127.5 / 2), xin);
  std::vector<double> b = conv_error(kConv0, xin, mq, k.x / 127.5, all);
  add(b, s0 / 2);
  stage("conv0", m0, b, f[C0]);
  std::vector<double> bp(mp.size());
  for (int64_t nc = 0; nc < 8; ++nc)
    for (int64_t oh = 0; oh < 4; ++oh)
      for (int64_t ow = 0; ow < 4; ++ow)
        for (int64_t h = std::max<int64_t>(2 * oh - 1, 0); h <= std::min<int64_t>(2 * oh + 1, 7); ++h)
          for (int64_t w = std::max<int64_t>(2 * ow - 1, 0); w <= std::min<int64_t>(2 * ow + 1, 7); ++w)
            bp[static_cast<size_t>((nc * 4 + oh) * 4 + ow)] =
                std::max(bp[static_cast<size_t>((nc * 4 + oh) * 4 + ow)], m0[static_cast<size_t>((nc * 8 + h) * 8 + w)]);
  stage("max pooling", mp, bp, f[P0]);
  b = conv_error(kConv1, f[P0], mp, s0, all);
  add(b, s1 / 2);
  stage("conv1", m1, b, f[C1]);
  b = conv_error(kConv2, f[C1], m1, s1, all);
  add(b, mp), add(b, s2 / 2);
  stage("conv2 with sum", m2, b, f[C2]);
  b = conv_error(kConv3, f[P0], mp, s0, all);
  add(b, s3 / 2);
  stage("conv3", m3, b, f[C3]);
  b = m2;
  add(b, m3), add(b, sa);
  stage("elemwise_add", madd, b, f[ADD]);
  stage("relu", mrelu, madd, f[RELU]);
  b.clear();
  for (int64_t n = 0; n < 2; ++n) {
    for (int64_t i = 0; i < 64; ++i) b.push_back(mrelu[static_cast<size_t>(n * 64 + i)] + scat / 2);
    for (int64_t i = 0; i < 64; ++i) b.push_back(mp[static_cast<size_t>(n * 64 + i)] + scat / 2);
  }
  stage("concat", mcat, b, f[CAT]);
  b.assign(16, scat / 2);
  for (int64_t c = 0; c < 16; ++c)
    for (int64_t i = 0; i < 16; ++i) b[static_cast<size_t>(c)] += mcat[static_cast<size_t>(c * 16 + i)] / 16;
  const double wg = stage("global avg pooling", mg, b, f[GP]);
  double wfc = 0;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t o = 0; o < 5; ++o) {
      double e = scat * (wr / 127.5) / 2;
      for (int64_t i = 0; i < 8; ++i) e += std::fabs(wf.data<float>()[o * 8 + i]) * mg[static_cast<size_t>(n * 8 + i)];
      const size_t i = static_cast<size_t>(n * 5 + o);
      const double y = want.data<float>()[i], lim = ratio * e + std::fabs(y) * (ratio - 1) + 1e-4 * (std::fabs(y) + 1);
      CHECK(std::fabs(got.data<float>()[i] - y) <= lim);
      wfc = std::max(wfc, std::fabs(got.data<float>()[i] - y) / lim);
    }
  MESSAGE("stage bounds used: global avg pooling ", wg, ", FC ", wfc);
  CHECK(wg > 0.1);  // a stage that only rounds uses most of its bound
  CHECK(wfc > 0.1);

  // The same file through `hgc dump` / `hgc run`.
  std::string path = test::temp_dir() + "/resnet_block_int8-symbol.json";
  write_file_atomic(path, json, "test");
  test::Shell d = test::hgc_tool("dump " + path + " --shape data=2x3x8x8");
  CHECK(d.code == 0);
  CHECK(d.out.find("_contrib_quantized_concat") != std::string::npos);
  test::Shell r = test::hgc_tool("run " + path + " --input data=2x3x8x8:random");
  INFO(r.out);
  CHECK(r.out.find("output 0: (2, 5) float32") != std::string::npos);
}
