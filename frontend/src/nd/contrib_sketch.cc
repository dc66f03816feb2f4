// nd.contrib.count_sketch: one _contrib_count_sketch op (kernel, reference and gradient rule
// in the nn family).
#include "hgc/frontend/nd/contrib_sketch.h"

#include "nd/detail.h"

namespace hgc::nd::contrib {

NDArray count_sketch(const NDArray& data, const NDArray& h, const NDArray& s, int64_t out_dim,
                     int64_t processing_batch_size) {
  return nd_detail::call("_contrib_count_sketch", {{"out_dim", out_dim}, {"processing_batch_size", processing_batch_size}},
                         {data, h, s});
}

}  // namespace hgc::nd::contrib
