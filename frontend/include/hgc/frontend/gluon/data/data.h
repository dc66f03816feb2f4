// Data loading (gluon.data): datasets, a batching DataLoader, and the IDX reader for
// MNIST-format files (plain or gzip'd, as Debian's dataset-fashion-mnist installs them).
//
//   using namespace hgc::gluon::data;
//   NDArray images = read_idx("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");  // u8 (60000, 28, 28)
//   NDArray labels = read_idx(".../train-labels-idx1-ubyte.gz");                                  // u8 (60000,)
//   auto ds = std::make_shared<ArrayDataset>(std::vector<NDArray>{x, y});
//   DataLoader loader(ds, DataLoaderOptions(64).shuffle(true).seed(1).last_batch("discard"));
//   for (const std::vector<NDArray>& batch : loader) { ... batch[0], batch[1] ... }
//   auto t = ds->transform_first(transforms::ToTensor());          // Dataset.transform_first
//   DataLoader l2(t, DataLoaderOptions(8).batchify_fn(my_batchify)); // per-sample lists in
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hgc/frontend/gluon/data/sampler.h"
#include "hgc/frontend/nd/ndarray.h"

namespace hgc::gluon::data {

// An IDX file (magic 0x0000TTNN: type, rank; big-endian dims; row-major data) as an NDArray
// of its element type (u8, i8, i16, i32, f32, f64). gzip'd files are recognised by content.
NDArray read_idx(const std::string& path);

class Dataset : public std::enable_shared_from_this<Dataset> {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // The fields of sample i (e.g. {image, label}).
  virtual std::vector<NDArray> get(int64_t i) const = 0;
  // The fields of several samples, each stacked along a new axis 0 (datasets override this
  // with one gather per field).
  virtual std::vector<NDArray> batch(const std::vector<int64_t>& indices) const;

  // Gluon's Dataset.transform_first(fn): a dataset whose field 0 goes through fn (per sample
  // in get(), once per batch with a leading batch axis in batch()). The dataset must be held
  // by a shared_ptr (it stays alive inside the result).
  std::shared_ptr<Dataset> transform_first(std::function<NDArray(const NDArray&)> fn) const;
  // Gluon's Dataset.transform(fn): every sample's fields through fn (fn(image, label) in
  // Python; here the field list). batch() applies fn to each sample and stacks the results.
  std::shared_ptr<Dataset> transform(std::function<std::vector<NDArray>(const std::vector<NDArray>&)> fn) const;
};

// Gluon's default_batchify_fn: each field of the samples stacked along a new axis 0; fields
// of shape (1,) (a sample's scalars, e.g. labels) join into shape (B,).
std::vector<NDArray> default_batchify_fn(const std::vector<std::vector<NDArray>>& samples);
using BatchifyFn = std::function<std::vector<NDArray>(const std::vector<std::vector<NDArray>>&)>;

// gluon.data.ArrayDataset: sample i is row i of every array (all of one length).
class ArrayDataset : public Dataset {
 public:
  explicit ArrayDataset(std::vector<NDArray> arrays);
  int64_t size() const override { return n_; }
  std::vector<NDArray> get(int64_t i) const override;
  std::vector<NDArray> batch(const std::vector<int64_t>& indices) const override;  // nd::take per array

 private:
  std::vector<NDArray> arrays_;
  int64_t n_ = 0;
};

struct DataLoaderOptions {
  explicit DataLoaderOptions(int64_t batch_size = 1) : batch_size_(batch_size) {}
  int64_t batch_size_;
  bool shuffle_ = false;
  uint64_t seed_ = 0;
  std::string last_batch_ = "keep";  // keep | discard | rollover
  // Gluon's sampler= (replaces shuffle) and batch_sampler= (replaces batch_size, shuffle,
  // sampler and last_batch).
  std::shared_ptr<Sampler> sampler_;
  std::shared_ptr<BatchSampler> batch_sampler_;
  // Set: batches are the samples' get() results through this (Gluon's batchify_fn); unset:
  // Dataset::batch (one gather per field).
  BatchifyFn batchify_fn_;
  // Data-parallel sharding (MXNet's SplitSampler num_parts / part_index): every epoch's order
  // (shuffled with the seed common to all ranks, or the sampler's, which must then give every
  // rank the same order) is dealt out round-robin, part_index taking samples part_index,
  // part_index + num_parts, ...; each part gets floor(size / num_parts) samples, so every
  // rank runs the same number of batches. Batch k of the parts together holds exactly batch k
  // of one unsharded loader with num_parts times the batch size. Exclusive with batch_sampler
  // (its batches are final).
  int64_t num_parts_ = 1, part_index_ = 0;
  // MXNet's num_workers / prefetch: with workers, batches are made on that many background
  // threads, at most `prefetch` (default 2 * num_workers) ahead of the consumer, and handed
  // out in order, so preparing batch k+1 overlaps the training step on batch k. The dataset
  // (its get/batch and transforms) is then called from several threads at once; random
  // transforms draw from the global generator in whatever order the workers run.
  int num_workers_ = 0, prefetch_ = 0;
  DataLoaderOptions& num_workers(int n) { num_workers_ = n; return *this; }
  DataLoaderOptions& prefetch(int n) { prefetch_ = n; return *this; }
  DataLoaderOptions& batch_size(int64_t b) { batch_size_ = b; return *this; }
  DataLoaderOptions& shard(int64_t num_parts, int64_t part_index) {
    num_parts_ = num_parts;
    part_index_ = part_index;
    return *this;
  }
  DataLoaderOptions& shuffle(bool s) { shuffle_ = s; return *this; }
  DataLoaderOptions& seed(uint64_t s) { seed_ = s; return *this; }
  DataLoaderOptions& last_batch(std::string l) { last_batch_ = std::move(l); return *this; }
  DataLoaderOptions& sampler(std::shared_ptr<Sampler> s) { sampler_ = std::move(s); return *this; }
  DataLoaderOptions& batch_sampler(std::shared_ptr<BatchSampler> b) { batch_sampler_ = std::move(b); return *this; }
  DataLoaderOptions& batchify_fn(BatchifyFn f) { batchify_fn_ = std::move(f); return *this; }
};

// Batches of a dataset, one epoch per iteration (begin() starts an epoch: a new shuffle, and
// with rollover the previous epoch's leftover samples first).
class DataLoader {
 public:
  DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions opts);
  class iterator {
   public:
    const std::vector<NDArray>& operator*() const { return batch_; }
    const std::vector<NDArray>* operator->() const { return &batch_; }
    iterator& operator++();
    bool operator==(const iterator& o) const { return pos_ == o.pos_; }
    bool operator!=(const iterator& o) const { return pos_ != o.pos_; }

   private:
    friend class DataLoader;
    iterator(DataLoader* l, size_t pos) : loader_(l), pos_(pos) { load(); }
    void load();
    DataLoader* loader_;
    size_t pos_;  // batch number; == batches: end
    std::vector<NDArray> batch_;
  };
  iterator begin();
  iterator end() { return iterator(nullptr, batches_.size()); }
  // Batches in the epoch begin() last started (before the first begin(): the next one's).
  size_t num_batches() const;

 private:
  std::shared_ptr<const Dataset> ds_;
  DataLoaderOptions opts_;
  uint64_t epoch_ = 0;
  std::vector<int64_t> leftover_;               // rollover: carried into the next epoch
  std::vector<std::vector<int64_t>> batches_;   // this epoch's sample indices per batch
  // The batch of samples `idx` (batchify_fn or Dataset::batch).
  std::vector<NDArray> make_batch(const std::vector<int64_t>& idx) const;
  class Prefetcher;  // num_workers > 0: this epoch's background workers (data.cc)
  iterator start_epoch();
  std::shared_ptr<Prefetcher> prefetch_;
};

}  // namespace hgc::gluon::data
