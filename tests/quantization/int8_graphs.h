// Small int8 graphs written as GluonCV's int8 symbol files spell them (a `_contrib_quantize_v2`
// in front, `_sg_mkldnn_conv` nodes with their inner Convolution/BatchNorm/Activation subgraph
// in the JSON `subgraphs` field, `_contrib_dequantize` behind), shared by the int8 tests.
#pragma once
#include <cmath>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "hgc/base/tensor.h"

namespace hgc::test {

inline std::string fmt(double v) {
  std::ostringstream o;
  o.precision(9);
  o << v;
  return o.str();
}

struct ConvSpec {
  int64_t C = 3, O = 4, k = 3, stride = 1, pad = 1;
  bool bn = true, act = true, bias = false;
  double data_min = -1, data_max = 1;  // calibration of the quantize_v2 in front
  double out_min = 0, out_max = 1;     // of the conv's output
  std::string out_type = "int8";       // the quantize_v2's
};

// The inner graph of a `_sg_mkldnn_conv`: Convolution [+ BatchNorm] [+ relu].
inline std::string conv_subgraph(const ConvSpec& s) {
  std::ostringstream j;
  std::vector<std::string> nodes;
  int conv_in = 0;
  nodes.push_back(R"({"op": "null", "name": "data", "inputs": []})");
  nodes.push_back(R"({"op": "null", "name": "conv0_weight", "inputs": []})");
  std::string conv_inputs = "[[0, 0, 0], [1, 0, 0]";
  if (s.bias) {
    nodes.push_back(R"({"op": "null", "name": "conv0_bias", "inputs": []})");
    conv_inputs += ", [2, 0, 0]";
  }
  conv_inputs += "]";
  conv_in = static_cast<int>(nodes.size());
  auto pair = [](int64_t v) { return "(" + std::to_string(v) + ", " + std::to_string(v) + ")"; };
  nodes.push_back("{\"op\": \"Convolution\", \"name\": \"conv0_fwd\", \"attrs\": {\"kernel\": \"" + pair(s.k) +
                  "\", \"no_bias\": \"" + (s.bias ? "False" : "True") + "\", \"num_filter\": \"" +
                  std::to_string(s.O) + "\", \"pad\": \"" + pair(s.pad) + "\", \"stride\": \"" + pair(s.stride) +
                  "\"}, \"inputs\": " + conv_inputs + "}");
  int last = conv_in;
  if (s.bn) {
    int b = static_cast<int>(nodes.size());
    for (const char* n : {"gamma", "beta", "running_mean", "running_var"})
      nodes.push_back(std::string(R"({"op": "null", "name": "bn0_)") + n + R"(", "inputs": []})");
    nodes.push_back(R"({"op": "BatchNorm", "name": "bn0_fwd", "attrs": {"eps": "1e-05", "fix_gamma": "False"}, "inputs": [[)" +
                    std::to_string(last) + ", 0, 0], [" + std::to_string(b) + ", 0, 0], [" + std::to_string(b + 1) +
                    ", 0, 0], [" + std::to_string(b + 2) + ", 0, 1], [" + std::to_string(b + 3) + ", 0, 1]]}");
    last = static_cast<int>(nodes.size()) - 1;
  }
  if (s.act) {
    nodes.push_back(R"({"op": "Activation", "name": "relu0_fwd", "attrs": {"act_type": "relu"}, "inputs": [[)" +
                    std::to_string(last) + ", 0, 0]]}");
    last = static_cast<int>(nodes.size()) - 1;
  }
  j << R"({"nodes": [)";
  for (size_t i = 0; i < nodes.size(); ++i) j << (i ? ", " : "") << nodes[i];
  j << R"(], "arg_nodes": [], "heads": [[)" << last << ", 0, 0]]}";
  return j.str();
}

// data -> _contrib_quantize_v2 -> _sg_mkldnn_conv (quantized) -> _contrib_dequantize, as in
// GluonCV's *_int8-symbol.json files. With quantized=false: one float `_sg_mkldnn_conv`.
inline std::string int8_conv_json(const ConvSpec& s, bool quantized = true) {
  std::vector<std::string> n;
  n.push_back(R"({"op": "null", "name": "data", "inputs": []})");
  int data = 0;
  if (quantized) {
    n.push_back(R"({"op": "_contrib_quantize_v2", "name": "data_quantize", "attrs": {"max_calib_range": ")" +
                fmt(s.data_max) + R"(", "min_calib_range": ")" + fmt(s.data_min) + R"(", "out_type": ")" + s.out_type +
                R"("}, "inputs": [[0, 0, 0]]})");
    data = 1;
  }
  std::vector<std::string> ins{"[" + std::to_string(data) + ", 0, 0]"};
  auto var = [&](const std::string& name) {
    n.push_back(R"({"op": "null", "name": ")" + name + R"(", "inputs": []})");
    ins.push_back("[" + std::to_string(n.size() - 1) + ", 0, 0]");
  };
  var("conv0_weight");
  if (s.bias) var("conv0_bias");
  if (s.bn)
    for (const char* b : {"bn0_gamma", "bn0_beta", "bn0_running_mean", "bn0_running_var"}) var(b);
  if (quantized) ins.insert(ins.end(), {"[1, 1, 0]", "[1, 2, 0]"});
  std::string attrs = std::string(R"("quantized": ")") + (quantized ? "true" : "false") + R"(", "with_act": ")" +
                      (s.act ? "true" : "false") + R"(", "with_bn": ")" + (s.bn ? "true" : "false") + R"(")";
  if (quantized)
    attrs += R"(, "max_calib_range": ")" + fmt(s.out_max) + R"(", "min_calib_range": ")" + fmt(s.out_min) + R"(")";
  std::string list;
  for (size_t i = 0; i < ins.size(); ++i) list += (i ? ", " : "") + ins[i];
  n.push_back(R"({"op": "_sg_mkldnn_conv", "name": "quantized_sg_mkldnn_conv_bn_act_0", "attrs": {)" + attrs +
              R"(}, "inputs": [)" + list + R"(], "subgraphs": [)" + conv_subgraph(s) + "]}");
  int conv = static_cast<int>(n.size()) - 1;
  int head = conv;
  if (quantized) {
    n.push_back(R"({"op": "_contrib_dequantize", "name": "quantized_sg_mkldnn_conv_bn_act_0_dequantize", "attrs": {"out_type": "float32"}, "inputs": [[)" +
                std::to_string(conv) + ", 0, 0], [" + std::to_string(conv) + ", 1, 0], [" + std::to_string(conv) +
                ", 2, 0]]}");
    head = conv + 1;
  }
  std::ostringstream j;
  j << R"({"nodes": [)";
  for (size_t i = 0; i < n.size(); ++i) j << (i ? ",\n" : "") << n[i];
  j << R"(], "arg_nodes": [], "heads": [[)" << head << R"(, 0, 0]], "attrs": {"mxnet_version": ["int", 10901]}})";
  return j.str();
}

// The same computation in float32 MXNet ops (Convolution, BatchNorm, Activation).
inline std::string float_conv_json(const ConvSpec& s) {
  std::string sub = conv_subgraph(s);
  return sub.substr(0, sub.size() - 1) + R"(, "attrs": {"mxnet_version": ["int", 10901]}})";
}

inline HostTensor random_tensor(std::vector<int64_t> shape, std::mt19937& rng, double lo, double hi) {
  HostTensor t(DType::f32, std::move(shape));
  std::uniform_real_distribution<float> u(static_cast<float>(lo), static_cast<float>(hi));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

}  // namespace hgc::test
