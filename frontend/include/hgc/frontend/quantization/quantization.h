// int8 post-training quantization, as MXNet 1.9's mx.contrib.quantization.quantize_net:
// calibrate a float32 model on sample batches, then rewrite its graph into the oneDNN int8
// form GluonCV's *_int8 models use (`_contrib_quantize_v2` -> `_sg_mkldnn_conv` /
// `_sg_mkldnn_fully_connected` with fused BatchNorm/ReLU -> `_contrib_dequantize`).
//
//   net->hybridize();  (*net)(batch);                 // a float32 model with a traced graph
//   auto q = quantization::quantize_net(*net, calib_batches,
//                                       quantization::QuantizeOptions().calib_mode("entropy"));
//   NDArray y = (*q.block)(x);                        // runs the int8 graph (a SymbolBlock)
//   q.export_model("lenet-quantized", 0);             // MXNet's quantized symbol + params
//   auto back = gluon::SymbolBlock::imports("lenet-quantized-symbol.json", {"data"},
//                                           "lenet-quantized-0000.params");
//
// Quantized: Convolution (2-D, NCHW, optionally followed by predict-mode BatchNorm and/or ReLU)
// and FullyConnected (optionally followed by ReLU), each unless its name is excluded. Other
// ops run in float32 between a `_contrib_dequantize` and the next `_contrib_quantize_v2`.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hgc/frontend/gluon/symbol_block.h"
#include "hgc/frontend/nd/ndarray.h"
#include "hgc/ir/graph.h"

namespace hgc::quantization {

struct QuantizeOptions {
  // MXNet's names and defaults: quantized_dtype "auto" (uint8 where the calibrated range is
  // non-negative, else int8), "int8" or "uint8"; calib_mode "naive" (min/max of the
  // calibration data) or "entropy" (the KL-divergence threshold over 8001-bin histograms).
  std::string quantized_dtype_ = "auto";
  std::string calib_mode_ = "naive";
  std::vector<std::string> exclude_layers_;  // node names (e.g. "lenet0_conv0_fwd") kept in float32
  std::vector<std::string> exclude_operators_;  // "Convolution" / "FullyConnected"
  QuantizeOptions& quantized_dtype(std::string v) { quantized_dtype_ = std::move(v); return *this; }
  QuantizeOptions& calib_mode(std::string v) { calib_mode_ = std::move(v); return *this; }
  QuantizeOptions& exclude_layers(std::vector<std::string> v) { exclude_layers_ = std::move(v); return *this; }
  QuantizeOptions& exclude_operators(std::vector<std::string> v) { exclude_operators_ = std::move(v); return *this; }
};

struct QuantizedNet {
  Graph graph;                                 // the int8 graph (one input, "data")
  std::map<std::string, HostTensor> params;    // float32 weights and BatchNorm statistics, by name
  std::map<std::string, std::pair<float, float>> ranges;  // calibrated range of each quantized value
  std::shared_ptr<gluon::SymbolBlock> block;   // runs `graph` with `params`
  // `path`-symbol.json and `path`-%04d.params in MXNet's format (arg:/aux: names).
  void export_model(const std::string& path, int epoch = 0) const;
};

// `net` must have been hybridized and run (its last predict-mode graph is quantized);
// `calib_data` are input batches in the shape the net takes. Throws hgc::Error("quantization")
// for an unknown mode or dtype, an empty calibration set or a net without a graph.
QuantizedNet quantize_net(gluon::HybridBlock& net, const std::vector<NDArray>& calib_data,
                          const QuantizeOptions& opts = {});

// The KL-divergence threshold of a histogram over [-th, th] (MXNet's calibrate_entropy with
// num_quantized_bins = 255, or 511 for non-negative data): the |x| above which values clip.
float entropy_threshold(const std::vector<double>& hist, float th, bool non_negative);

}  // namespace hgc::quantization
