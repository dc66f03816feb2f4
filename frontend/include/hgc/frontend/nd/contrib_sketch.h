// mx.nd.contrib.count_sketch: the count sketch of the last dim of `data` (2-D or 4-D) into
// `out_dim` buckets, out[..., h[i]] += s[i] * data[..., i], with h (1, d) bucket ids and s
// (1, d) signs (float arrays, as MXNet's). Multimodal compact bilinear pooling sketches two
// feature vectors this way and convolves the sketches (examples/book/vqa.cc).
//
//   NDArray h = nd::array(ids, {1, 64}), s = nd::array(signs, {1, 64});
//   NDArray y = nd::contrib::count_sketch(x, h, s, 256);   // x (N, 64) -> (N, 256)
#pragma once
#include "hgc/frontend/nd/ndarray.h"

namespace hgc::nd::contrib {

NDArray count_sketch(const NDArray& data, const NDArray& h, const NDArray& s, int64_t out_dim,
                     int64_t processing_batch_size = 32);

}  // namespace hgc::nd::contrib
