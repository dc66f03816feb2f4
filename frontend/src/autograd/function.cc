// autograd::Function: the user's forward runs untaped; when an input needs a gradient, its
// outputs become one custom tape node whose backward calls the user's backward (the same
// mechanism a hybridized block's compiled call uses).
#include "hgc/frontend/autograd/function.h"

#include <typeinfo>

#include "autograd/tape.h"
#include "hgc/base/error.h"
#include "hgc/frontend/autograd/autograd.h"
#include "hgc/frontend/nd/array_ops.h"
#include "nd/detail.h"

#include <cxxabi.h>
#include <cstdlib>

namespace hgc::autograd {

std::string Function::name() const {
  int status = 0;
  char* s = abi::__cxa_demangle(typeid(*this).name(), nullptr, nullptr, &status);
  std::string n = status == 0 && s ? s : typeid(*this).name();
  std::free(s);
  return n;
}

std::vector<NDArray> Function::operator()(const std::vector<NDArray>& inputs) {
  for (size_t i = 0; i < inputs.size(); ++i)
    if (!inputs[i].defined()) fail("autograd", "Function '", name(), "': input ", i, " is an empty NDArray");
  std::vector<NDArray> outs;
  {
    Scope paused(false, is_training());
    outs = forward(inputs);
  }
  for (size_t i = 0; i < outs.size(); ++i) {
    if (!outs[i].defined()) fail("autograd", "Function '", name(), "': forward returned an empty NDArray as output ", i);
    outs[i] = outs[i].detach();
  }
  if (!is_recording() || !tape::needs_grad(inputs)) return outs;
  // Held by a shared_ptr: the tape keeps the Function (and what it saved) alive.
  std::shared_ptr<Function> keep = weak_from_this().lock();
  Function* self = this;
  std::vector<NDArray> out_values = outs;
  size_t n_in = inputs.size();
  std::vector<std::vector<int64_t>> in_shapes;
  for (const NDArray& x : inputs) in_shapes.push_back(x.shape());
  tape::record_custom(name(), inputs, outs,
                      [keep, self, out_values, n_in, in_shapes](const std::vector<NDArray>& og) {
                        std::vector<NDArray> dy(og.size());
                        for (size_t i = 0; i < og.size(); ++i)
                          dy[i] = og[i].defined() ? og[i] : nd::zeros_like(out_values[i]);
                        std::vector<NDArray> dx;
                        {
                          Scope paused(false, is_training());
                          dx = self->backward(dy);
                        }
                        if (dx.size() != n_in)
                          fail("autograd", "Function '", self->name(), "': backward returned ", dx.size(),
                               " gradients for ", n_in, " inputs");
                        for (size_t i = 0; i < n_in; ++i)
                          if (dx[i].defined() && dx[i].shape() != in_shapes[i])
                            fail("autograd", "Function '", self->name(), "': backward gave input ", i,
                                 " a gradient of shape ", nd_detail::shape_str(dx[i].shape()), " for an input of shape ",
                                 nd_detail::shape_str(in_shapes[i]));
                        return dx;
                      });
  return outs;
}

NDArray Function::operator()(const NDArray& x) {
  std::vector<NDArray> out = (*this)(std::vector<NDArray>{x});
  if (out.size() != 1) fail("autograd", "Function '", name(), "': called with one input, forward gave ", out.size(), " outputs");
  return out[0];
}

}  // namespace hgc::autograd
