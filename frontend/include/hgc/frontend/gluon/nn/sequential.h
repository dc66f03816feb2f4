// Sequential and HybridSequential: children called in order (gluon.nn.Sequential).
//
//   auto net = std::make_shared<nn::HybridSequential>();
//   {
//     auto scope = net->name_scope();      // names: hybridsequential0_dense0_weight, ...
//     net->add(std::make_shared<nn::Dense>(nn::DenseOptions(256).activation("relu")));
//     net->emplace<nn::Dense>(nn::DenseOptions(2));
//   }
//   std::cout << *net;   // HybridSequential(\n  (0): Dense(None -> 256, Activation(relu))\n ...)
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "hgc/frontend/gluon/block.h"

namespace hgc::gluon::nn {

class Sequential : public Block {
 public:
  explicit Sequential(BlockArgs args = {}) : Block("sequential", std::move(args)) {}
  Sequential& add(std::shared_ptr<Block> b) {
    register_child(std::move(b));
    return *this;
  }
  template <class B, class... A>
  std::shared_ptr<B> emplace(A&&... args) {
    return register_child(std::make_shared<B>(std::forward<A>(args)...));
  }
  std::shared_ptr<Block> operator[](size_t i) const { return children().at(i).second; }
  size_t size() const { return children().size(); }
  std::vector<NDArray> forward_multi(const std::vector<NDArray>& xs) override;
};

class HybridSequential : public HybridBlock {
 public:
  explicit HybridSequential(BlockArgs args = {}) : HybridBlock("hybridsequential", std::move(args)) {}
  // Only hybrid blocks, as in Gluon.
  HybridSequential& add(std::shared_ptr<HybridBlock> b) {
    register_child(std::move(b));
    return *this;
  }
  template <class B, class... A>
  std::shared_ptr<B> emplace(A&&... args) {
    return register_child(std::make_shared<B>(std::forward<A>(args)...));
  }
  std::shared_ptr<Block> operator[](size_t i) const { return children().at(i).second; }
  size_t size() const { return children().size(); }
  std::vector<NDArray> hybrid_forward_multi(const std::vector<NDArray>& xs) override;
};

// Runs every child on the same input and concatenates their outputs along `axis`.
class HybridConcurrent : public HybridBlock {
 public:
  explicit HybridConcurrent(int axis = -1, BlockArgs args = {}) : HybridBlock("hybridconcurrent", std::move(args)), axis_(axis) {}
  HybridConcurrent& add(std::shared_ptr<HybridBlock> b) {
    register_child(std::move(b));
    return *this;
  }
  template <class B, class... A>
  std::shared_ptr<B> emplace(A&&... args) {
    return register_child(std::make_shared<B>(std::forward<A>(args)...));
  }
  NDArray hybrid_forward(const NDArray& x) override;

 private:
  int axis_;
};

// A function as a hybrid block (gluon.nn.HybridLambda): `fn` must use NDArray ops only.
class HybridLambda : public HybridBlock {
 public:
  explicit HybridLambda(std::function<NDArray(const NDArray&)> fn, std::string label = "<lambda>", BlockArgs args = {})
      : HybridBlock("hybridlambda", std::move(args)), fn_(std::move(fn)), label_(std::move(label)) {}
  NDArray hybrid_forward(const NDArray& x) override { return fn_(x); }
  std::string repr() const override { return "HybridLambda(" + label_ + ")"; }

 private:
  std::function<NDArray(const NDArray&)> fn_;
  std::string label_;
};

}  // namespace hgc::gluon::nn
