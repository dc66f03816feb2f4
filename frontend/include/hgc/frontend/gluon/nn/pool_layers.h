// The 1-D (NCW) and 3-D (NCDHW) pooling layers of gluon.nn over the Pooling op (its lowering
// takes 1 to 3 window dims); the 2-D ones are in conv_layers.h.
//
//   auto pool = std::make_shared<nn::MaxPool1D>(nn::PoolOptions({2}));        // (N, C, W) -> (N, C, W / 2)
//   auto gap = std::make_shared<nn::GlobalAvgPool3D>();                       // (N, C, D, H, W) -> (N, C, 1, 1, 1)
#pragma once
#include <string>
#include <vector>

#include "hgc/frontend/gluon/block.h"

namespace hgc::gluon::nn {

// pool_size, strides (empty: pool_size) and padding, one entry per spatial dim.
struct PoolOptions {
  explicit PoolOptions(std::vector<int64_t> pool_size) : pool_size_(std::move(pool_size)) {}
  std::vector<int64_t> pool_size_, strides_, padding_;
  bool ceil_mode_ = false, count_include_pad_ = true;
  PoolOptions& strides(std::vector<int64_t> s) { strides_ = std::move(s); return *this; }
  PoolOptions& padding(std::vector<int64_t> p) { padding_ = std::move(p); return *this; }
  PoolOptions& ceil_mode(bool c) { ceil_mode_ = c; return *this; }
  PoolOptions& count_include_pad(bool c) { count_include_pad_ = c; return *this; }
};

// Pooling over `dims` spatial dims (1 or 3); the classes below fix the type and dims.
class PoolND : public HybridBlock {
 public:
  PoolND(int dims, std::string pool_type, bool global, PoolOptions opts, BlockArgs args = {});
  NDArray hybrid_forward(const NDArray& x) override;
  std::string repr() const override;

 private:
  int dims_;
  std::string type_;
  bool global_;
  PoolOptions opts_;
};

#define HGC_POOL(Name, dims, type, dflt)                                                                      \
  class Name : public PoolND {                                                                                \
   public:                                                                                                    \
    explicit Name(PoolOptions o = PoolOptions(dflt), BlockArgs a = {}) : PoolND(dims, type, false, std::move(o), std::move(a)) {} \
  };
#define HGC_GLOBAL_POOL(Name, dims, type, dflt)                                                             \
  class Name : public PoolND {                                                                              \
   public:                                                                                                  \
    explicit Name(BlockArgs a = {}) : PoolND(dims, type, true, PoolOptions(dflt), std::move(a)) {}          \
  };
HGC_POOL(MaxPool1D, 1, "max", std::vector<int64_t>({2}))
HGC_POOL(AvgPool1D, 1, "avg", std::vector<int64_t>({2}))
HGC_POOL(MaxPool3D, 3, "max", std::vector<int64_t>({2, 2, 2}))
HGC_POOL(AvgPool3D, 3, "avg", std::vector<int64_t>({2, 2, 2}))
HGC_GLOBAL_POOL(GlobalMaxPool1D, 1, "max", std::vector<int64_t>({1}))
HGC_GLOBAL_POOL(GlobalAvgPool1D, 1, "avg", std::vector<int64_t>({1}))
HGC_GLOBAL_POOL(GlobalMaxPool3D, 3, "max", std::vector<int64_t>({1, 1, 1}))
HGC_GLOBAL_POOL(GlobalAvgPool3D, 3, "avg", std::vector<int64_t>({1, 1, 1}))
#undef HGC_POOL
#undef HGC_GLOBAL_POOL

}  // namespace hgc::gluon::nn
