// Embedding and normalization layers (gluon.nn.basic_layers): Embedding, LayerNorm,
// BatchNorm (running statistics updated in training mode, used in predict mode).
//
//   auto emb = std::make_shared<nn::Embedding>(10000, 64);     // (N, T) ids -> (N, T, 64)
//   auto bn = std::make_shared<nn::BatchNorm>();                // in_channels deferred
//   { gluon::TrainMode t; (*bn)(x); }                           // batch stats; running stats move
//   (*bn)(x);                                                   // predict: running stats
#pragma once
#include <memory>

#include "hgc/frontend/gluon/block.h"

namespace hgc::gluon::nn {

class Embedding : public HybridBlock {
 public:
  Embedding(int64_t input_dim, int64_t output_dim, DType dtype = DType::f32, BlockArgs args = {});
  NDArray hybrid_forward(const NDArray& x) override;
  std::string repr() const override;
  std::shared_ptr<Parameter> weight;

 private:
  int64_t input_dim_, output_dim_;
  DType dtype_;
};

struct NormOptions {
  int axis_ = -1;  // LayerNorm default; BatchNormOptions sets 1
  double epsilon_ = 1e-5, momentum_ = 0.9;
  bool center_ = true, scale_ = true, use_global_stats_ = false;
  int64_t in_channels_ = 0;
  NormOptions& axis(int a) { axis_ = a; return *this; }
  NormOptions& epsilon(double e) { epsilon_ = e; return *this; }
  NormOptions& momentum(double m) { momentum_ = m; return *this; }
  NormOptions& center(bool c) { center_ = c; return *this; }
  NormOptions& scale(bool s) { scale_ = s; return *this; }
  NormOptions& use_global_stats(bool u) { use_global_stats_ = u; return *this; }
  NormOptions& in_channels(int64_t c) { in_channels_ = c; return *this; }
};
inline NormOptions BatchNormOptions() { return NormOptions().axis(1); }

class LayerNorm : public HybridBlock {
 public:
  explicit LayerNorm(NormOptions opts = NormOptions(), BlockArgs args = {});
  NDArray hybrid_forward(const NDArray& x) override;
  std::string repr() const override;
  std::shared_ptr<Parameter> gamma, beta;

 private:
  NormOptions opts_;
};

class BatchNorm : public HybridBlock {
 public:
  explicit BatchNorm(NormOptions opts = BatchNormOptions(), BlockArgs args = {});
  NDArray hybrid_forward(const NDArray& x) override;
  std::string repr() const override;
  std::shared_ptr<Parameter> gamma, beta, running_mean, running_var;

 protected:
  // For layers that are a BatchNorm with other batch statistics (contrib SyncBatchNorm).
  BatchNorm(const std::string& hint, NormOptions opts, BlockArgs args);
  const NormOptions& options() const { return opts_; }

 private:
  NDArray train_forward(const NDArray& x);
  NormOptions opts_;
};

}  // namespace hgc::gluon::nn
