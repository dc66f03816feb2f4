// Each op-family file registers its ops here; registry.cc calls them all once.
#pragma once
#include <string>

#include "hgc/ir/graph.h"
#include "hgc/ir/op.h"

namespace hgc::ops {
void register_elementwise(OpRegistry& r);  // unary math, elemwise_*, _*_scalar, where, clip, Cast
void register_broadcast(OpRegistry& r);    // broadcast_* binary, broadcast_axis/_to/_like
void register_reduce(OpRegistry& r);       // sum/mean/max/min/prod/argmax/norm, softmax family
void register_movement(OpRegistry& r);     // Reshape, transpose, slice*, Concat, split, take, ...
void register_init(OpRegistry& r);         // _zeros, _ones, _full, _arange, *_like
void register_nn(OpRegistry& r);           // FC, Conv, Pooling, norms, Dropout, Embedding, losses
void register_ordering(OpRegistry& r);      // topk, sort, argsort
void register_random(OpRegistry& r);         // _random_*, _random_*_like, _sample_* (seeded in-kernel)
void register_detection(OpRegistry& r);     // _contrib_MultiBoxPrior/Target/Detection, box_nms, box_iou
void register_linalg(OpRegistry& r);        // _linalg_gemm/gemm2/potrf/potri/trmm/trsm/syrk/sumlogdiag/extractdiag/makediag
void register_rnn(OpRegistry& r);          // fused RNN
void register_fused(OpRegistry& r);
void register_quantization(OpRegistry& r);  // _contrib_quantize_v2/dequantize/requantize, _sg_mkldnn_conv/fully_connected, _contrib_quantized_*
// quantization.cc: a `_sg_mkldnn_*` node takes its inner ops' attributes from its subgraph
// (on load), and the JSON writer leaves those out.
void hoist_subgraph_attrs(Node& n, const std::string& where);
bool is_hoisted_attr(const Node& n, const std::string& key);        // _hgc_fused: a kernel group made by the fusion pass
}  // namespace hgc::ops
