// Issue 19: traced gradients that used to bake the batch size (the mean rule's count, the
// sparse SoftmaxCrossEntropyLoss reshapes, slice_axis' zero padding). Each block, trained
// hybridized at two batch sizes, compiles once per direction and equals the imperative run,
// values and gradients.
#include <doctest/doctest.h>

#include <filesystem>

#include "support/dynamic_util.h"
#include "hgc/hgc.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {

using test::fresh_cache;
using test::max_diff;

NDArray batch_of(const std::vector<int64_t>& shape, uint64_t seed) {
  nd::random::seed(seed);
  return nd::random::uniform(-1, 1, shape);
}

// (value, d value / d input) of `blk` on `x`, under record (hybridized or not).
std::pair<NDArray, NDArray> run(Block& blk, const NDArray& x) {
  NDArray xi = x.copy();
  xi.attach_grad();
  NDArray y;
  {
    auto rec = autograd::record();
    y = blk(xi);
  }
  y.backward();
  return {y, xi.grad()};
}

// W5's loss shape: the mean over the batch of a per-row sum.
struct MeanLoss : HybridBlock {
  MeanLoss() : HybridBlock("meanloss") {}
  NDArray hybrid_forward(const NDArray& x) override {
    return nd::mean(nd::sum(nd::square(x), {1})) + nd::mean(nd::tanh(x), {0}).sum();
  }
};

// MultiVAE's encoder split: two slices of one axis side by side.
struct SplitProduct : HybridBlock {
  SplitProduct() : HybridBlock("splitproduct") {}
  NDArray hybrid_forward(const NDArray& x) override {
    return x.slice_axis(1, 0, 3) * nd::exp(x.slice_axis(1, 3, 6)) + x.slice_axis(1, 1, 2);
  }
};

void check_two_sizes(const std::function<std::shared_ptr<HybridBlock>()>& make, int64_t cols, const std::string& tag,
                     bool forward_mean) {
  auto dyn = make(), ref = make();
  dyn->hybridize(true, HybridizeOptions().compile_options(fresh_cache(tag)));
  for (int64_t n : {12, 12, 5, 12, 5}) {
    NDArray x = batch_of({n, cols}, 40 + n);
    auto [y1, g1] = run(*dyn, x);
    auto [y2, g2] = run(*ref, x);
    CHECK(max_diff(y1, y2) < 1e-6);
    CHECK(max_diff(g1, g2) < 1e-6);
  }
  auto s = dyn->cache_stats();
  // A forward mean over the batch axis still specializes its kernel per size (the plan's
  // symbolic_ok), so the forward may compile once more; the gradient graph must not.
  CHECK(s.forward_compiles <= (forward_mean ? 2 : 1));
  CHECK(s.backward_compiles == 1);
}

}  // namespace

TEST_CASE("dynamic batch: a mean over the batch has a symbolic gradient, one compile per direction") {
  check_two_sizes([] { return std::make_shared<MeanLoss>(); }, 7, "mean", true);
}

TEST_CASE("dynamic batch: slice_axis gradients pad with traced zeros, one compile per direction") {
  check_two_sizes([] { return std::make_shared<SplitProduct>(); }, 6, "slice", false);
}

TEST_CASE("dynamic batch: SoftmaxCrossEntropyLoss (sparse, dense, (n,1) labels) compiles once per direction") {
  for (int mode = 0; mode < 3; ++mode) {
    CAPTURE(mode);
    loss::SoftmaxCrossEntropyLoss dyn(loss::LossOptions().sparse_label(mode != 1)),
        ref(loss::LossOptions().sparse_label(mode != 1));
    dyn.hybridize(true, HybridizeOptions().compile_options(fresh_cache("ce" + std::to_string(mode))));
    for (int64_t n : {16, 16, 9, 16, 9}) {
      NDArray pred = batch_of({n, 5}, 70 + n);
      pred.attach_grad();
      nd::random::seed(n);
      NDArray cls = nd::floor(nd::random::uniform(0, 5, {n}));
      NDArray label = mode == 0 ? cls : mode == 1 ? nd::softmax(batch_of({n, 5}, 90 + n)) : cls.reshape({n, 1});
      NDArray l1, l2, g1;
      {
        auto rec = autograd::record();
        l1 = dyn(pred, label);
      }
      l1.backward();
      g1 = pred.grad().copy();
      {
        auto rec = autograd::record();
        l2 = ref(pred, label);
      }
      l2.backward();
      CHECK(max_diff(l1, l2) < 1e-6);
      CHECK(max_diff(g1, pred.grad()) < 1e-6);
    }
    auto s = dyn.cache_stats();
    CHECK(s.forward_compiles == 1);
    CHECK(s.backward_compiles == 1);
  }
}
