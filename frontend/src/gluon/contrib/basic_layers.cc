// gluon.contrib.nn layers: reshapes and transposes (registered ops) for the pixel shuffles.
#include "hgc/frontend/gluon/contrib/basic_layers.h"

#include "hgc/base/error.h"

namespace hgc::gluon::contrib::nn {
namespace {
void check_factors(const char* who, std::initializer_list<int64_t> fs) {
  for (int64_t f : fs)
    if (f < 1) fail("gluon", who, ": factors must be >= 1, got ", f);
}
int64_t channels_out(const std::string& who, const NDArray& x, size_t rank, int64_t prod) {
  if (x.ndim() != int64_t(rank)) fail("gluon", who, ": input must be ", rank, "-D, got ", x.ndim(), "-D");
  if (x.shape()[1] % prod)
    fail("gluon", who, ": ", x.shape()[1], " channels are not a multiple of the factor product ", prod);
  return x.shape()[1] / prod;
}
}  // namespace

NDArray Concurrent::forward(const NDArray& x) {
  std::vector<NDArray> outs;
  for (const auto& [_, c] : children()) outs.push_back((*c)(x));
  if (outs.empty()) fail("gluon", "Concurrent '", name(), "' has no children");
  return outs.size() == 1 ? outs[0] : nd::concat(outs, axis_);
}

PixelShuffle1D::PixelShuffle1D(int64_t factor, BlockArgs args) : HybridBlock("pixelshuffle1d", std::move(args)), f_(factor) {
  check_factors("PixelShuffle1D", {f_});
}
NDArray PixelShuffle1D::hybrid_forward(const NDArray& x) {
  int64_t c = channels_out("PixelShuffle1D '" + name() + "'", x, 3, f_), w = x.shape()[2];
  return x.reshape({0, c, f_, w}).transpose({0, 1, 3, 2}).reshape({0, c, w * f_});
}

PixelShuffle2D::PixelShuffle2D(std::array<int64_t, 2> factor, BlockArgs args)
    : HybridBlock("pixelshuffle2d", std::move(args)), f_(factor) {
  check_factors("PixelShuffle2D", {f_[0], f_[1]});
}
NDArray PixelShuffle2D::hybrid_forward(const NDArray& x) {
  int64_t c = channels_out("PixelShuffle2D '" + name() + "'", x, 4, f_[0] * f_[1]), h = x.shape()[2], w = x.shape()[3];
  return x.reshape({0, c, f_[0], f_[1], h, w}).transpose({0, 1, 4, 2, 5, 3}).reshape({0, c, h * f_[0], w * f_[1]});
}

PixelShuffle3D::PixelShuffle3D(std::array<int64_t, 3> factor, BlockArgs args)
    : HybridBlock("pixelshuffle3d", std::move(args)), f_(factor) {
  check_factors("PixelShuffle3D", {f_[0], f_[1], f_[2]});
}
NDArray PixelShuffle3D::hybrid_forward(const NDArray& x) {
  int64_t c = channels_out("PixelShuffle3D '" + name() + "'", x, 5, f_[0] * f_[1] * f_[2]);
  int64_t d = x.shape()[2], h = x.shape()[3], w = x.shape()[4];
  return x.reshape({0, c, f_[0], f_[1], f_[2], d, h, w})
      .transpose({0, 1, 5, 2, 6, 3, 7, 4})
      .reshape({0, c, d * f_[0], h * f_[1], w * f_[2]});
}

}  // namespace hgc::gluon::contrib::nn
