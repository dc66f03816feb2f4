// Everything of the Gluon-style frontend in one include.
//
//   #include "hgc/frontend/gluon.h"
//   using namespace hgc;  using namespace hgc::gluon;
//   auto net = std::make_shared<nn::HybridSequential>();
//   { auto s = net->name_scope(); net->emplace<nn::Dense>(nn::DenseOptions(2)); }
//   net->initialize();  net->hybridize();  NDArray y = (*net)(nd::ones({1, 4}));
#pragma once
#include "hgc/frontend/block.h"
#include "hgc/frontend/autograd.h"
#include "hgc/frontend/data.h"
#include "hgc/frontend/initializer.h"
#include "hgc/frontend/loss.h"
#include "hgc/frontend/lr_scheduler.h"
#include "hgc/frontend/metric.h"
#include "hgc/frontend/ndarray.h"
#include "hgc/frontend/nn.h"
#include "hgc/frontend/nn_activations.h"
#include "hgc/frontend/nn_attention.h"
#include "hgc/frontend/nn_conv.h"
#include "hgc/frontend/nn_norm.h"
#include "hgc/frontend/op.h"
#include "hgc/frontend/optimizer.h"
#include "hgc/frontend/parameter.h"
#include "hgc/frontend/progress.h"
#include "hgc/frontend/rnn.h"
#include "hgc/frontend/sequential.h"
#include "hgc/frontend/symbol.h"
#include "hgc/frontend/symbol_block.h"
#include "hgc/frontend/train_mode.h"
#include "hgc/frontend/transforms.h"
#include "hgc/frontend/utils.h"
