// Training-mode Dropout and BatchNorm (frontend-internal), shared by the nn layers and by
// SymbolBlock's replay of Dropout / BatchNorm op nodes. Both run on arrays (imperatively),
// or on values traced for compile (TraceGraph::for_compile): there the Dropout mask becomes
// a random input of the graph and BatchNorm's new running statistics parameter updates,
// so a compiled training forward computes exactly what the imperative one does.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "hgc/frontend/nd/ndarray.h"
#include "hgc/frontend/gluon/parameter.h"

namespace hgc::gluon::nn::detail {

// x * mask, mask 0 or 1/(1-rate) per element, one value shared along `axes`; rate in (0, 1).
// `who` names the block in errors.
NDArray dropout_train(const NDArray& x, double rate, const std::vector<int64_t>& axes, const std::string& who);

struct BatchNormTrain {
  int axis = 1;
  double eps = 1e-5, momentum = 0.9;
  bool scale = true;  // multiply by gamma (MXNet's fix_gamma=False)
};
// Normalizes with the batch statistics and moves the running statistics:
// running = momentum * running + (1 - momentum) * batch (biased variance).
NDArray batch_norm_train(const NDArray& x, const NDArray& gamma, const NDArray& beta,
                         const std::shared_ptr<Parameter>& running_mean, const std::shared_ptr<Parameter>& running_var,
                         const BatchNormTrain& o, const std::string& who);

}  // namespace hgc::gluon::nn::detail
