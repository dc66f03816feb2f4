// The seed book's LeNet-style CNN ("Convolutional neural networks in gluon"): Conv 20@5x5
// relu, maxpool 2, Conv 50@5x5 relu, maxpool 2, Dense 500 relu, Dense 10; and its BatchNorm
// variant ("Batch normalization in gluon"): BatchNorm(axis=1) before every relu.
//
//   auto net = models::lenet();                     // or models::lenet(true) with BatchNorm
//   net->initialize(gluon::init::Xavier());
//   NDArray logits = (*net)(images.reshape({-1, 1, 28, 28}));
#pragma once
#include <memory>

#include "hgc/hgc.h"

namespace hgc::models {

std::shared_ptr<gluon::nn::HybridSequential> lenet(bool batch_norm = false, int64_t num_fc = 500, int64_t num_outputs = 10);

}  // namespace hgc::models
