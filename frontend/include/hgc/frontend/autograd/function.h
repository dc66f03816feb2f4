// autograd::Function: MXNet's mx.autograd.Function — an operation whose forward and
// backward the user writes (with NDArray ops or anything else), taped as one node.
//
//   struct Sigmoid : autograd::Function {
//     std::vector<NDArray> forward(const std::vector<NDArray>& in) override {
//       NDArray y = 1.0 / (1.0 + nd::exp(-in[0]));
//       save_for_backward({y});
//       return {y};
//     }
//     std::vector<NDArray> backward(const std::vector<NDArray>& dy) override {
//       NDArray y = saved_tensors()[0];
//       return {dy[0] * y * (1.0 - y)};
//     }
//   };
//   auto f = std::make_shared<Sigmoid>();
//   { auto r = autograd::record(); y = (*f)(x); }  y.backward();
//
// forward runs with recording paused (its ops are not taped); backward gets one gradient
// per output (zeros where the head does not depend on it) and returns one per input
// (an undefined NDArray: none). As in MXNet, one Function object serves one call: a second
// call replaces what save_for_backward kept. The tape keeps a Function held by a shared_ptr
// alive until backward; one on the stack must outlive the backward pass.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "hgc/frontend/nd/ndarray.h"

namespace hgc::autograd {

class Function : public std::enable_shared_from_this<Function> {
 public:
  virtual ~Function() = default;
  virtual std::vector<NDArray> forward(const std::vector<NDArray>& inputs) = 0;
  virtual std::vector<NDArray> backward(const std::vector<NDArray>& output_grads) = 0;

  std::vector<NDArray> operator()(const std::vector<NDArray>& inputs);
  NDArray operator()(const NDArray& x);  // one input, one output

  void save_for_backward(std::vector<NDArray> values) { saved_ = std::move(values); }
  const std::vector<NDArray>& saved_tensors() const { return saved_; }
  // The name the tape and its errors use (the C++ type by default).
  virtual std::string name() const;

 private:
  std::vector<NDArray> saved_;
};

}  // namespace hgc::autograd
