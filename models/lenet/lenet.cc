#include "lenet.h"

namespace hgc::models {

using namespace gluon;

std::shared_ptr<nn::HybridSequential> lenet(bool batch_norm, int64_t num_fc, int64_t num_outputs) {
  auto net = std::make_shared<nn::HybridSequential>();
  auto scope = net->name_scope();
  // Conv/Dense + relu, or + BatchNorm + relu as separate layers (the book's order).
  auto with_act = [&](auto layer) {
    net->add(layer);
    if (batch_norm) {
      net->emplace<nn::BatchNorm>(nn::BatchNormOptions().axis(1).center(true).scale(true));
      net->emplace<nn::Activation>("relu");
    }
  };
  std::string act = batch_norm ? "" : "relu";
  with_act(std::make_shared<nn::Conv2D>(nn::Conv2DOptions(20, {5, 5}).activation(act)));
  net->emplace<nn::MaxPool2D>(nn::Pool2DOptions({2, 2}).strides({2, 2}));
  with_act(std::make_shared<nn::Conv2D>(nn::Conv2DOptions(50, {5, 5}).activation(act)));
  net->emplace<nn::MaxPool2D>(nn::Pool2DOptions({2, 2}).strides({2, 2}));
  net->emplace<nn::Flatten>();
  with_act(std::make_shared<nn::Dense>(nn::DenseOptions(num_fc).activation(act)));
  net->emplace<nn::Dense>(nn::DenseOptions(num_outputs));
  return net;
}

}  // namespace hgc::models
