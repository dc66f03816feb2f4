// Samplers (gluon.data.sampler): the order in which a DataLoader visits a dataset.
//
//   using namespace hgc::gluon::data;
//   SequentialSampler seq(5);                          // 0 1 2 3 4
//   RandomSampler rnd(5, /*seed=*/1);                  // a new permutation per epoch()
//   BatchSampler bs(std::make_shared<SequentialSampler>(10), 3, "keep");
//   for (auto& b : bs.epoch()) ...                      // {0,1,2} {3,4,5} {6,7,8} {9}
//   DataLoader loader(ds, DataLoaderOptions().batch_sampler(std::make_shared<BatchSampler>(...)));
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hgc::gluon::data {

// One epoch's sample indices per call of epoch() (Gluon's __iter__); length() is len().
class Sampler {
 public:
  virtual ~Sampler() = default;
  virtual std::vector<int64_t> epoch() = 0;
  virtual int64_t length() const = 0;
};

// 0, 1, ..., length - 1 (gluon.data.SequentialSampler(length, start=0): start, ..., start+length-1).
class SequentialSampler : public Sampler {
 public:
  explicit SequentialSampler(int64_t length, int64_t start = 0);
  std::vector<int64_t> epoch() override;
  int64_t length() const override { return length_; }

 private:
  int64_t length_, start_;
};

// A fresh uniform permutation of 0..length-1 per epoch, from mt19937_64(seed + epoch number)
// (Gluon's RandomSampler draws from numpy's global state; here the seed is explicit).
class RandomSampler : public Sampler {
 public:
  explicit RandomSampler(int64_t length, uint64_t seed = 0);
  std::vector<int64_t> epoch() override;
  int64_t length() const override { return length_; }

 private:
  int64_t length_;
  uint64_t seed_, epochs_ = 0;
};

// Groups another sampler's indices into batches (gluon.data.BatchSampler): last_batch "keep"
// (a short last batch), "discard" (dropped) or "rollover" (carried to the next epoch's front).
class BatchSampler {
 public:
  BatchSampler(std::shared_ptr<Sampler> sampler, int64_t batch_size, std::string last_batch = "keep");
  std::vector<std::vector<int64_t>> epoch();
  // Batches in the next epoch (len()).
  int64_t length() const;
  int64_t batch_size() const { return batch_size_; }

 private:
  std::shared_ptr<Sampler> sampler_;
  int64_t batch_size_;
  std::string last_batch_;
  std::vector<int64_t> leftover_;
};

}  // namespace hgc::gluon::data
