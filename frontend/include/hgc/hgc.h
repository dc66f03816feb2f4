// The whole public C++ API of hgc in one include: NDArray and imperative ops, autograd,
// symbols, Gluon blocks/layers/losses/Trainer/data/metrics, optimizers and schedules,
// initializers, and the compile options a hybridized block or an AOT build takes.
//
//   #include <hgc/hgc.h>
//   using namespace hgc;  using namespace hgc::gluon;
//   auto net = std::make_shared<nn::HybridSequential>();
//   { auto s = net->name_scope(); net->emplace<nn::Dense>(nn::DenseOptions(2)); }
//   net->initialize();  net->hybridize();  NDArray y = (*net)(nd::ones({1, 4}));
#pragma once
#include "hgc/version.h"
#include "hgc/frontend/nd/context.h"
#include "hgc/frontend/nd/ndarray.h"
#include "hgc/frontend/nd/op.h"
#include "hgc/frontend/nd/array_ops.h"
#include "hgc/frontend/nd/linalg.h"
#include "hgc/frontend/autograd/autograd.h"
#include "hgc/frontend/autograd/train_mode.h"
#include "hgc/frontend/symbol/symbol.h"
#include "hgc/frontend/init/initializer.h"
#include "hgc/frontend/gluon/block.h"
#include "hgc/frontend/gluon/parameter.h"
#include "hgc/frontend/gluon/symbol_block.h"
#include "hgc/frontend/gluon/loss.h"
#include "hgc/frontend/gluon/trainer.h"
#include "hgc/frontend/amp/amp.h"
#include "hgc/frontend/gluon/checkpoint.h"
#include "hgc/frontend/gluon/utils.h"
#include "hgc/frontend/gluon/progress.h"
#include "hgc/frontend/gluon/nn/sequential.h"
#include "hgc/frontend/gluon/nn/basic_layers.h"
#include "hgc/frontend/gluon/nn/activations.h"
#include "hgc/frontend/gluon/nn/conv_layers.h"
#include "hgc/frontend/gluon/nn/pool_layers.h"
#include "hgc/frontend/gluon/nn/norm_layers.h"
#include "hgc/frontend/gluon/nn/attention.h"
#include "hgc/frontend/gluon/rnn/rnn.h"
#include "hgc/frontend/gluon/rnn/rnn_wrappers.h"
#include "hgc/frontend/gluon/data/data.h"
#include "hgc/frontend/gluon/data/sampler.h"
#include "hgc/frontend/gluon/data/vision/transforms.h"
#include "hgc/frontend/gluon/data/vision/datasets.h"
#include "hgc/frontend/optim/optimizer.h"
#include "hgc/frontend/optim/lr_scheduler.h"
#include "hgc/frontend/metric/metric.h"
#include "hgc/compiler/compile.h"
