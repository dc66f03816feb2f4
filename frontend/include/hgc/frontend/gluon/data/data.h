// Data loading (gluon.data): datasets, a batching DataLoader, and the IDX reader for
// MNIST-format files (plain or gzip'd, as Debian's dataset-fashion-mnist installs them).
//
//   using namespace hgc::gluon::data;
//   NDArray images = read_idx("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");  // u8 (60000, 28, 28)
//   NDArray labels = read_idx(".../train-labels-idx1-ubyte.gz");                                  // u8 (60000,)
//   auto ds = std::make_shared<ArrayDataset>(std::vector<NDArray>{x, y});
//   DataLoader loader(ds, DataLoaderOptions(64).shuffle(true).seed(1).last_batch("discard"));
//   for (const std::vector<NDArray>& batch : loader) { ... batch[0], batch[1] ... }
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hgc/frontend/nd/ndarray.h"

namespace hgc::gluon::data {

// An IDX file (magic 0x0000TTNN: type, rank; big-endian dims; row-major data) as an NDArray
// of its element type (u8, i8, i16, i32, f32, f64). gzip'd files are recognised by content.
NDArray read_idx(const std::string& path);

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // The fields of sample i (e.g. {image, label}).
  virtual std::vector<NDArray> get(int64_t i) const = 0;
  // The fields of several samples, each stacked along a new axis 0 (datasets override this
  // with one gather per field).
  virtual std::vector<NDArray> batch(const std::vector<int64_t>& indices) const;
};

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
  // Data-parallel sharding (MXNet's SplitSampler num_parts / part_index): every epoch's order
  // (shuffled with the seed common to all ranks) is dealt out round-robin, part_index taking
  // samples part_index, part_index + num_parts, ...; each part gets floor(size / num_parts)
  // samples, so every rank runs the same number of batches. Batch k of the parts together
  // holds exactly batch k of one unsharded loader with num_parts times the batch size.
  int64_t num_parts_ = 1, part_index_ = 0;
  DataLoaderOptions& batch_size(int64_t b) { batch_size_ = b; return *this; }
  DataLoaderOptions& shard(int64_t num_parts, int64_t part_index) {
    num_parts_ = num_parts;
    part_index_ = part_index;
    return *this;
  }
  DataLoaderOptions& shuffle(bool s) { shuffle_ = s; return *this; }
  DataLoaderOptions& seed(uint64_t s) { seed_ = s; return *this; }
  DataLoaderOptions& last_batch(std::string l) { last_batch_ = std::move(l); return *this; }
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
};

}  // namespace hgc::gluon::data
