// The runtime's im2col/col2im: a large (thread-split) case against plain loops, the adjoint
// identity <im2col(x), c> == <x, col2im(c)>, and check_library on their parameters.
#include <doctest/doctest.h>

#include <random>

#include "hgc/base/error.h"
#include "hgc/runtime/executable.h"
#include "hgc/runtime/library.h"
#include "support/random_vec.h"
#include "hgc/runtime/library_call.h"

using namespace hgc;

namespace {

using test::random_floats;

lib::ConvShape shape2d(int64_t n, int64_t c, int64_t h, int64_t w) {
  lib::ConvShape s{};
  s.nsp = 2, s.N = n, s.C = c, s.O = c, s.groups = 1;
  s.in[0] = h, s.in[1] = w, s.k[0] = 3, s.k[1] = 2, s.stride[0] = 2, s.stride[1] = 1;
  s.pad[0] = 1, s.pad[1] = 2, s.dilate[0] = 1, s.dilate[1] = 3;
  for (int d = 0; d < 2; ++d) s.out[d] = (s.in[d] + 2 * s.pad[d] - s.dilate[d] * (s.k[d] - 1) - 1) / s.stride[d] + 1;
  return s;
}

}  // namespace

TEST_CASE("runtime im2col/col2im: plain loops, the adjoint identity, thread-split sizes") {
  for (auto s : {shape2d(1, 2, 5, 6), shape2d(4, 16, 33, 30)}) {  // the second is split over the pool
    int64_t in = s.in[0] * s.in[1], taps = s.k[0] * s.k[1], out = s.out[0] * s.out[1];
    std::vector<float> x = random_floats(s.N * s.C * in, 1), col(s.N * s.C * taps * out, 7.f);
    lib::im2col(s, x.data(), col.data());
    int64_t bad = 0;
    for (int64_t p = 0; p < s.N * s.C; ++p)
      for (int64_t kh = 0; kh < s.k[0]; ++kh)
        for (int64_t kw = 0; kw < s.k[1]; ++kw)
          for (int64_t oh = 0; oh < s.out[0]; ++oh)
            for (int64_t ow = 0; ow < s.out[1]; ++ow) {
              int64_t ih = oh * s.stride[0] - s.pad[0] + kh * s.dilate[0];
              int64_t iw = ow * s.stride[1] - s.pad[1] + kw * s.dilate[1];
              float want = ih >= 0 && ih < s.in[0] && iw >= 0 && iw < s.in[1] ? x[p * in + ih * s.in[1] + iw] : 0.f;
              bad += col[((p * taps) + kh * s.k[1] + kw) * out + oh * s.out[1] + ow] != want;
            }
    CHECK(bad == 0);
    std::vector<float> c = random_floats(col.size(), 2), back(x.size(), 5.f);
    lib::col2im(s, c.data(), back.data());  // overwrites, does not accumulate into `back`
    double lhs = 0, rhs = 0;
    for (size_t i = 0; i < col.size(); ++i) lhs += double(col[i]) * c[i];
    for (size_t i = 0; i < x.size(); ++i) rhs += double(x[i]) * back[i];
    CHECK(lhs == doctest::Approx(rhs).epsilon(1e-5));
  }
}

TEST_CASE("runtime check_library: im2col/col2im parameters against their buffers") {
  // x (1, 2, 4, 4), 2x2 kernel: col (1, 8, 9).
  BufferInfo x{"x", {1, 2, 4, 4}}, col{"col", {1, 8, 9}}, small{"small", {1, 8, 8}};
  std::vector<int64_t> p{2, 1, 2, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1};
  check_library({"im2col", p, {}}, {&x, &col});
  check_library({"col2im", p, {}}, {&col, &x});
  CHECK_THROWS_AS(check_library({"im2col", p, {}}, {&x, &small}), Error);
  CHECK_THROWS_AS(check_library({"col2im", p, {}}, {&x, &col}), Error);  // operands swapped
  std::vector<int64_t> three = p;
  three[0] = 3;
  CHECK_THROWS_AS(check_library({"im2col", three, {}}, {&x, &col}), Error);
  std::vector<int64_t> zero_stride = p;
  zero_stride[9] = 0;
  CHECK_THROWS_AS(check_library({"im2col", zero_stride, {}}, {&x, &col}), Error);
  CHECK_THROWS_AS(check_library({"im2col", std::vector<int64_t>(14, 1), {}}, {&x, &col}), Error);
}
