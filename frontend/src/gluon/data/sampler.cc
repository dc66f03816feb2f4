// Samplers: plain index lists; the DataLoader turns each batch into one gather per field.
#include "hgc/frontend/gluon/data/sampler.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "hgc/base/error.h"

namespace hgc::gluon::data {

SequentialSampler::SequentialSampler(int64_t length, int64_t start) : length_(length), start_(start) {
  if (length < 0) fail("data", "SequentialSampler: length must be >= 0, got ", length);
}

std::vector<int64_t> SequentialSampler::epoch() {
  std::vector<int64_t> v(static_cast<size_t>(length_));
  std::iota(v.begin(), v.end(), start_);
  return v;
}

RandomSampler::RandomSampler(int64_t length, uint64_t seed) : length_(length), seed_(seed) {
  if (length < 0) fail("data", "RandomSampler: length must be >= 0, got ", length);
}

std::vector<int64_t> RandomSampler::epoch() {
  std::vector<int64_t> v(static_cast<size_t>(length_));
  std::iota(v.begin(), v.end(), 0);
  std::mt19937_64 gen(seed_ + epochs_++);
  std::shuffle(v.begin(), v.end(), gen);
  return v;
}

BatchSampler::BatchSampler(std::shared_ptr<Sampler> sampler, int64_t batch_size, std::string last_batch)
    : sampler_(std::move(sampler)), batch_size_(batch_size), last_batch_(std::move(last_batch)) {
  if (!sampler_) fail("data", "BatchSampler needs a sampler");
  if (batch_size_ < 1) fail("data", "BatchSampler: batch_size must be >= 1, got ", batch_size_);
  if (last_batch_ != "keep" && last_batch_ != "discard" && last_batch_ != "rollover")
    fail("data", "BatchSampler: last_batch '", last_batch_, "' is not keep, discard or rollover");
}

std::vector<std::vector<int64_t>> BatchSampler::epoch() {
  std::vector<int64_t> order = sampler_->epoch();
  order.insert(order.begin(), leftover_.begin(), leftover_.end());
  leftover_.clear();
  std::vector<std::vector<int64_t>> out;
  size_t b = static_cast<size_t>(batch_size_);
  for (size_t s = 0; s < order.size(); s += b) {
    std::vector<int64_t> chunk(order.begin() + s, order.begin() + std::min(order.size(), s + b));
    if (chunk.size() < b && last_batch_ != "keep") {
      if (last_batch_ == "rollover") leftover_ = chunk;
      break;
    }
    out.push_back(std::move(chunk));
  }
  return out;
}

int64_t BatchSampler::length() const {
  int64_t n = sampler_->length() + static_cast<int64_t>(leftover_.size());
  return last_batch_ == "keep" ? (n + batch_size_ - 1) / batch_size_ : n / batch_size_;
}

}  // namespace hgc::gluon::data
