// Automatic mixed precision, as MXNet's mxnet.contrib.amp (bfloat16 on the CPU):
//
//   amp::init("bfloat16");                          // blocks hybridized from now on use AMP
//   auto net = make_lenet();  net->initialize();
//   amp::convert_hybrid_block(net, "bfloat16");     // or one block: hybridized with AMP
//   Trainer trainer(net->collect_params(), "sgd", {{"learning_rate", 0.1}});
//   // train as usual: parameters and their gradients stay float32 (master weights)
//
// The conversion is the graph pass passes/amp.h run inside compile (CompileOptions::amp): a
// hybridized block's forward, its training forward and its gradient graph all get it, so
// FullyConnected, Convolution and their gradient GEMMs run through oneDNN's bfloat16
// kernels while softmax, norms, losses and reductions stay float32. Imperative (not
// hybridized) calls are not converted.
#pragma once
#include <memory>
#include <string>

#include "hgc/base/dtype.h"

namespace hgc::gluon {
class Block;
}

namespace hgc::amp {

// Makes `target_dtype` ("bfloat16"; "float16" is accepted as MXNet does) the default
// mixed-precision type of every block hybridized afterwards (HybridizeOptions with no
// CompileOptions::amp of their own). Throws hgc::Error("[amp] ...") for other names.
void init(const std::string& target_dtype = "bfloat16");
// Undoes init() (blocks hybridized afterwards compile in float32).
void reset();
// The type init() set; DType::unknown when none.
DType default_target();

// Hybridizes `net` (keeping its other hybridize options) with mixed precision in
// `target_dtype`; returns `net`. Its compiled graphs are dropped and rebuilt on the next call.
std::shared_ptr<gluon::Block> convert_hybrid_block(std::shared_ptr<gluon::Block> net,
                                                   const std::string& target_dtype = "bfloat16");

}  // namespace hgc::amp
