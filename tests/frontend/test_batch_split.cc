// Issue 16: a hybridized forward whose ops all work row by row runs as one chunk of batch rows
// per thread (CachedGraph::run_split): the same values as the whole call on one thread, no
// extra compile (a chunk size costs a plan), and graphs that mix rows (training Dropout) or
// batches too small to share stay whole.
#include <doctest/doctest.h>

#include "hgc/hgc.h"
#include "hgc/runtime/thread_pool.h"
#include "support/nd_close.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {

std::shared_ptr<nn::HybridSequential> wide_mlp(bool dropout) {
  nd::random::seed(3);
  auto net = std::make_shared<nn::HybridSequential>();
  net->emplace<nn::Dense>(nn::DenseOptions(512).in_units(256).activation("relu"));
  if (dropout) net->emplace<nn::Dropout>(0.5);
  net->emplace<nn::Dense>(nn::DenseOptions(256).in_units(512).activation("tanh"));
  net->emplace<nn::Dense>(nn::DenseOptions(10).in_units(256));
  net->initialize(init::Xavier());
  return net;
}

}  // namespace

TEST_CASE("batch split: a row-wise forward runs in row chunks across the pool, equal to the whole call") {
  const bool threads = ThreadPool::global().size() > 1;
  if (!threads) MESSAGE("one thread in the pool: every call runs whole (the values are still checked)");
  auto net = wide_mlp(false), fixed = wide_mlp(false);
  net->hybridize();
  fixed->hybridize(true, HybridizeOptions().static_shapes());
  for (int64_t n : {64, 63, 8, 64}) {
    CAPTURE(n);
    nd::random::seed(100 + n);
    NDArray x = nd::random::uniform(-1, 1, {n, 256});
    NDArray split = (*net)(x), whole, reference = (*fixed)(x);
    {
      ThreadPool::Serial one;  // the whole call on this thread
      whole = (*net)(x);
    }
    test::check_close(split, whole, 1e-5);
    test::check_close(split, reference, 1e-5);
  }
  auto s = net->cache_stats();
  CHECK(s.forward_compiles == 1);  // chunk sizes reuse the kernels
  CHECK(net->compile_count() == 1);
  // Sizes planned: 64, 63 and 8 whole, plus the chunks of 64 (32) and of 63 (31, 32) with
  // two threads; batch 8 is under the chunk grain and runs whole.
  if (threads) CHECK(s.sizes >= 4);
}

TEST_CASE("batch split: training forwards with Dropout draw one mask per call and run whole") {
  if (ThreadPool::global().size() < 2) MESSAGE("one thread in the pool: nothing to split");
  auto net = wide_mlp(true);
  net->hybridize();
  nd::random::seed(5);
  NDArray x = nd::random::uniform(-1, 1, {64, 256});
  {
    auto rec = autograd::record();
    NDArray y = (*net)(x);
    CHECK(y.shape() == std::vector<int64_t>{64, 10});
  }
  // The probe size is the only other plan; a split would have planned chunk sizes.
  CHECK(net->cache_stats().sizes == 0);
  // Predict mode (Dropout is the identity) splits again, and equals the whole call.
  NDArray a = (*net)(x), b;
  {
    ThreadPool::Serial one;
    b = (*net)(x);
  }
  test::check_close(a, b, 1e-5);
}
