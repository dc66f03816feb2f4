// clip_global_norm: one sum of squares per array (a compiled reduction), one scalar read for
// the total, one in-place scale per array.
#include "hgc/frontend/gluon/utils.h"

#include <algorithm>
#include <cmath>

#include "hgc/base/error.h"

namespace hgc::gluon::utils {

double clip_global_norm(const std::vector<NDArray>& arrays, double max_norm) {
  if (arrays.empty()) fail("clip_global_norm", "needs at least one array");
  if (!(max_norm > 0)) fail("clip_global_norm", "max_norm must be positive, got ", max_norm);
  NDArray total;
  for (size_t i = 0; i < arrays.size(); ++i) {
    if (!arrays[i].defined()) fail("clip_global_norm", "array ", i, " is empty (default-constructed)");
    NDArray sq = nd::sum(nd::square(arrays[i].astype(DType::f64)));
    total = total.defined() ? total + sq : sq;
  }
  double norm = std::sqrt(total.asscalar<double>());
  double scale = std::min(1.0, max_norm / (norm + 1e-8));
  if (scale < 1)
    for (NDArray a : arrays) a *= scale;
  return norm;
}

}  // namespace hgc::gluon::utils
