// DataLoader num_workers / prefetch: batches made on background threads come out in the same
// order and with the same values as without workers; the workers stay at most `prefetch`
// batches ahead; a worker's error surfaces at its batch; leaving an epoch early does not hang.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "hgc/base/error.h"
#include "hgc/hgc.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {

// Sample i is {[i, i^2], i % 3}; records which threads made samples and how many exist.
struct CountingDataset : data::Dataset {
  int64_t n = 0, fail_at = -1;
  mutable std::mutex mu;
  mutable std::set<std::thread::id> threads;
  mutable std::atomic<int64_t> made{0};
  explicit CountingDataset(int64_t n_) : n(n_) {}
  int64_t size() const override { return n; }
  std::vector<NDArray> get(int64_t i) const override {
    if (i == fail_at) fail("data", "sample ", i, " is unreadable");
    {
      std::lock_guard<std::mutex> lock(mu);
      threads.insert(std::this_thread::get_id());
    }
    ++made;
    float v = static_cast<float>(i);
    return {nd::array({v, v * v}), nd::array({static_cast<float>(i % 3)})};
  }
};

std::vector<std::vector<float>> epoch(data::DataLoader& l) {
  std::vector<std::vector<float>> out;
  for (const auto& b : l) {
    out.push_back(b[0].to_vector<float>());
    std::vector<float> y = b[1].to_vector<float>();
    out.back().insert(out.back().end(), y.begin(), y.end());
  }
  return out;
}

}  // namespace

TEST_CASE("DataLoader num_workers: the same batches in the same order as without workers") {
  auto ds = std::make_shared<CountingDataset>(103);
  auto opts = [](int workers) {
    return data::DataLoaderOptions(8).shuffle(true).seed(3).last_batch("keep").num_workers(workers);
  };
  data::DataLoader plain(ds, opts(0));
  auto want1 = epoch(plain), want2 = epoch(plain);  // two epochs: two shuffles
  CHECK(want1 != want2);
  for (int workers : {1, 2, 3}) {
    CAPTURE(workers);
    data::DataLoader l(ds, opts(workers));
    CHECK(epoch(l) == want1);
    CHECK(epoch(l) == want2);
  }
  // batchify_fn and a transform run on the workers too.
  auto tds = ds->transform_first([](const NDArray& x) { return x * 2.0; });
  auto bopts = data::DataLoaderOptions(5).batchify_fn(data::default_batchify_fn);
  data::DataLoader a(tds, bopts), b(tds, data::DataLoaderOptions(bopts).num_workers(2).prefetch(1));
  CHECK(epoch(a) == epoch(b));
  // The samples were made off the consumer's thread.
  ds->threads.clear();
  data::DataLoader w(ds, data::DataLoaderOptions(8).num_workers(2));
  epoch(w);
  CHECK(ds->threads.count(std::this_thread::get_id()) == 0);
  CHECK_THROWS_WITH_AS(data::DataLoader(ds, data::DataLoaderOptions(8).num_workers(-1)),
                       doctest::Contains("num_workers and prefetch must be >= 0"), Error);
}

TEST_CASE("DataLoader num_workers: at most `prefetch` batches ahead; errors at their batch; early exit") {
  auto ds = std::make_shared<CountingDataset>(200);
  {
    data::DataLoader l(ds, data::DataLoaderOptions(4).num_workers(2).prefetch(3));
    auto it = l.begin();  // batch 0 taken
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    // Batch 0 consumed, so batches 1..3 may be made, no more: 4 batches of 4 samples.
    CHECK(ds->made.load() <= 4 * 4);
    CHECK(ds->made.load() >= 2 * 4);
    ++it;
    CHECK((*it)[0].to_vector<float>()[0] == 4.0f);
  }  // leaving mid-epoch: the loader's workers stop
  ds->fail_at = 21;  // in batch 5 (samples 20..23)
  data::DataLoader l(ds, data::DataLoaderOptions(4).num_workers(3));
  int seen = 0;
  auto run = [&] {
    for (const auto& b : l) {
      CHECK(b[0].shape()[0] == 4);
      ++seen;
    }
  };
  CHECK_THROWS_WITH_AS(run(), doctest::Contains("sample 21 is unreadable"), Error);
  CHECK(seen == 5);
}
