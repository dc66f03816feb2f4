// gluon.contrib.nn: Concurrent / HybridConcurrent (children on one input, outputs joined),
// Identity, PixelShuffle1D/2D/3D (sub-pixel upsampling) and SparseEmbedding.
//
//   using namespace hgc::gluon;
//   auto up = std::make_shared<contrib::nn::PixelShuffle2D>(std::array<int64_t, 2>{2, 2});
//   NDArray y = (*up)(nd::zeros({1, 8, 3, 3}));   // (1, 2, 6, 6)
#pragma once
#include <array>
#include <memory>

#include "hgc/frontend/gluon/nn/norm_layers.h"
#include "hgc/frontend/gluon/nn/sequential.h"

namespace hgc::gluon::contrib::nn {

using gluon::nn::HybridConcurrent;

// The non-hybrid Concurrent: children may be any Block.
class Concurrent : public Block {
 public:
  explicit Concurrent(int axis = -1, BlockArgs args = {}) : Block("concurrent", std::move(args)), axis_(axis) {}
  Concurrent& add(std::shared_ptr<Block> b) {
    register_child(std::move(b));
    return *this;
  }
  NDArray forward(const NDArray& x) override;

 private:
  int axis_;
};

// Returns its input.
class Identity : public HybridBlock {
 public:
  explicit Identity(BlockArgs args = {}) : HybridBlock("identity", std::move(args)) {}
  NDArray hybrid_forward(const NDArray& x) override { return x; }
  std::string repr() const override { return "Identity"; }
};

// (N, C * f, W) -> (N, C, W * f).
class PixelShuffle1D : public HybridBlock {
 public:
  explicit PixelShuffle1D(int64_t factor, BlockArgs args = {});
  NDArray hybrid_forward(const NDArray& x) override;

 private:
  int64_t f_;
};

// (N, C * f1 * f2, H, W) -> (N, C, H * f1, W * f2).
class PixelShuffle2D : public HybridBlock {
 public:
  explicit PixelShuffle2D(std::array<int64_t, 2> factor, BlockArgs args = {});
  explicit PixelShuffle2D(int64_t factor, BlockArgs args = {}) : PixelShuffle2D({factor, factor}, std::move(args)) {}
  NDArray hybrid_forward(const NDArray& x) override;

 private:
  std::array<int64_t, 2> f_;
};

// (N, C * f1 * f2 * f3, D, H, W) -> (N, C, D * f1, H * f2, W * f3).
class PixelShuffle3D : public HybridBlock {
 public:
  explicit PixelShuffle3D(std::array<int64_t, 3> factor, BlockArgs args = {});
  explicit PixelShuffle3D(int64_t factor, BlockArgs args = {})
      : PixelShuffle3D({factor, factor, factor}, std::move(args)) {}
  NDArray hybrid_forward(const NDArray& x) override;

 private:
  std::array<int64_t, 3> f_;
};

// An Embedding whose gradient MXNet keeps row_sparse; hgc has no sparse storage, so the
// weight's gradient is dense (the same values, stored in full).
class SparseEmbedding : public gluon::nn::Embedding {
 public:
  SparseEmbedding(int64_t input_dim, int64_t output_dim, DType dtype = DType::f32, BlockArgs args = {})
      : gluon::nn::Embedding(input_dim, output_dim, dtype, std::move(args)) {}
};

}  // namespace hgc::gluon::contrib::nn
