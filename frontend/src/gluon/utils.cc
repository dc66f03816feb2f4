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

std::vector<NDArray> split_data(const NDArray& data, int num_slice, int batch_axis, bool even_split) {
  if (!data.defined()) fail("gluon", "split_data: undefined array");
  if (batch_axis < 0 || batch_axis >= data.ndim())
    fail("gluon", "split_data: batch_axis ", batch_axis, " outside the array's ", data.ndim(), " axes");
  int64_t size = data.shape()[batch_axis];
  if (num_slice < 1) fail("gluon", "split_data: num_slice must be >= 1, got ", num_slice);
  if (size < num_slice)
    fail("gluon", "split_data: too many slices for the data: ", num_slice, " slices of ", size, " rows on axis ",
         batch_axis, "; use a batch size >= the number of contexts");
  if (even_split && size % num_slice != 0)
    fail("gluon", "split_data: ", size, " rows on axis ", batch_axis, " cannot be evenly split into ", num_slice, " slices; use a batch size that is a multiple or "
         "even_split=false");
  int64_t step = size / num_slice;
  std::vector<NDArray> out;
  for (int i = 0; i < num_slice; ++i) {
    int64_t b = i * step, e = i + 1 == num_slice ? size : (i + 1) * step;
    out.push_back(batch_axis == 0 ? data.slice(b, e) : data.slice_axis(batch_axis, b, e));
  }
  return out;
}

std::vector<NDArray> split_and_load(const NDArray& data, const std::vector<Context>& ctx_list, int batch_axis,
                                    bool even_split) {
  if (ctx_list.empty()) fail("gluon", "split_and_load: empty context list");
  if (ctx_list.size() == 1) return {data.as_in_context(ctx_list[0])};
  std::vector<NDArray> parts = split_data(data, static_cast<int>(ctx_list.size()), batch_axis, even_split);
  for (size_t i = 0; i < parts.size(); ++i) parts[i] = parts[i].as_in_context(ctx_list[i]);
  return parts;
}

}  // namespace hgc::gluon::utils
