// IDX reading (zlib for the .gz files), ArrayDataset and DataLoader. Batches are gathered
// with one nd::take per field (a compiled kernel), not per-sample copies.
#include "hgc/frontend/gluon/data/data.h"

#include <zlib.h>

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <cstring>
#include <numeric>
#include <random>

#include "hgc/base/error.h"
#include "nd/detail.h"

namespace hgc::gluon::data {

namespace {

std::string read_all(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");  // reads plain files unchanged too
  if (!f) fail("data", "cannot open IDX file '", path, "'");
  std::string out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, n);
  int err = 0;
  const char* msg = gzerror(f, &err);
  std::string emsg = err < 0 ? msg : "";
  gzclose(f);
  if (n < 0 || !emsg.empty()) fail("data", "IDX file '", path, "': read error (", emsg, "); is the gzip data truncated?");
  return out;
}

uint32_t be32(const std::string& s, size_t off) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data() + off);
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

}  // namespace

NDArray read_idx(const std::string& path) {
  std::string b = read_all(path);
  if (b.size() < 4 || b[0] != 0 || b[1] != 0) fail("data", "'", path, "' is not an IDX file (bad magic number)");
  DType dt;
  size_t esize;
  switch (static_cast<unsigned char>(b[2])) {
    case 0x08: dt = DType::u8, esize = 1; break;
    case 0x09: dt = DType::i8, esize = 1; break;
    case 0x0B: dt = DType::i16, esize = 2; break;
    case 0x0C: dt = DType::i32, esize = 4; break;
    case 0x0D: dt = DType::f32, esize = 4; break;
    case 0x0E: dt = DType::f64, esize = 8; break;
    default: fail("data", "'", path, "': unknown IDX element type 0x", std::to_string(int(b[2])));
  }
  int rank = static_cast<unsigned char>(b[3]);
  if (b.size() < 4 + 4 * size_t(rank)) fail("data", "'", path, "': truncated IDX header");
  std::vector<int64_t> shape;
  size_t n = 1;
  for (int i = 0; i < rank; ++i) {
    shape.push_back(be32(b, 4 + 4 * i));
    n *= shape.back();
  }
  size_t off = 4 + 4 * size_t(rank);
  if (b.size() != off + n * esize)
    fail("data", "'", path, "': ", b.size() - off, " data bytes, but the header's shape ", nd_detail::shape_str(shape),
         " needs ", n * esize);
  NDArray x = nd::zeros(shape.empty() ? std::vector<int64_t>{1} : shape, dt);
  auto* dst = static_cast<unsigned char*>(x.data_ptr());
  const auto* src = reinterpret_cast<const unsigned char*>(b.data() + off);
  for (size_t i = 0; i < n; ++i)  // IDX is big-endian; this host is little-endian
    for (size_t k = 0; k < esize; ++k) dst[i * esize + k] = src[i * esize + (esize - 1 - k)];
  return x;
}

std::vector<NDArray> default_batchify_fn(const std::vector<std::vector<NDArray>>& samples) {
  std::vector<std::vector<NDArray>> fields;
  for (const auto& s : samples) {
    if (fields.empty()) fields.resize(s.size());
    if (s.size() != fields.size())
      fail("data", "batchify: samples with ", fields.size(), " and ", s.size(), " fields in one batch");
    for (size_t f = 0; f < s.size(); ++f) fields[f].push_back(s[f]);
  }
  std::vector<NDArray> out;
  for (auto& f : fields) {
    // Shape (1,) is how a sample holds a scalar (a label; x[i] of a 1-D array): those join
    // into (B,), as Gluon's batchify turns numpy scalars into a 1-D array.
    bool scalars = true;
    for (const NDArray& a : f) scalars = scalars && a.shape() == std::vector<int64_t>{1};
    out.push_back(scalars ? nd::concat(f, 0) : nd::stack(f, 0));
  }
  return out;
}

std::vector<NDArray> Dataset::batch(const std::vector<int64_t>& indices) const {
  std::vector<std::vector<NDArray>> samples;
  for (int64_t i : indices) samples.push_back(get(i));
  return default_batchify_fn(samples);
}

ArrayDataset::ArrayDataset(std::vector<NDArray> arrays) : arrays_(std::move(arrays)) {
  if (arrays_.empty()) fail("data", "ArrayDataset needs at least one array");
  n_ = arrays_[0].shape().at(0);
  for (size_t i = 1; i < arrays_.size(); ++i)
    if (arrays_[i].shape().at(0) != n_)
      fail("data", "ArrayDataset: array ", i, " has ", arrays_[i].shape()[0], " rows but array 0 has ", n_);
}

std::vector<NDArray> ArrayDataset::get(int64_t i) const {
  std::vector<NDArray> r;
  for (const NDArray& a : arrays_) r.push_back(a[i]);
  return r;
}

std::vector<NDArray> ArrayDataset::batch(const std::vector<int64_t>& indices) const {
  // Consecutive indices (no shuffle): a view, no copy at all.
  bool run = !indices.empty();
  for (size_t k = 1; run && k < indices.size(); ++k) run = indices[k] == indices[k - 1] + 1;
  std::vector<NDArray> r;
  if (run) {
    for (const NDArray& a : arrays_) r.push_back(a.slice(indices.front(), indices.back() + 1));
    return r;
  }
  std::vector<float> idx(indices.begin(), indices.end());
  NDArray ix = nd::array(idx, {static_cast<int64_t>(idx.size())});
  for (const NDArray& a : arrays_) r.push_back(nd::take(a, ix, 0));
  return r;
}

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions opts)
    : ds_(std::move(dataset)), opts_(std::move(opts)) {
  if (!ds_) fail("data", "DataLoader needs a dataset");
  if (opts_.batch_size_ < 1) fail("data", "DataLoader: batch_size must be >= 1, got ", opts_.batch_size_);
  if (opts_.num_workers_ < 0 || opts_.prefetch_ < 0)
    fail("data", "DataLoader: num_workers and prefetch must be >= 0, got ", opts_.num_workers_, " and ", opts_.prefetch_);
  const std::string& l = opts_.last_batch_;
  if (l != "keep" && l != "discard" && l != "rollover")
    fail("data", "DataLoader: last_batch '", l, "' is not keep, discard or rollover");
  if (opts_.batch_sampler_ && (opts_.shuffle_ || opts_.sampler_))
    fail("data", "DataLoader: batch_sampler is exclusive with shuffle and sampler (as in Gluon)");
  if (opts_.sampler_ && opts_.shuffle_) fail("data", "DataLoader: sampler and shuffle are exclusive (as in Gluon)");
  if (opts_.num_parts_ < 1 || opts_.part_index_ < 0 || opts_.part_index_ >= opts_.num_parts_)
    fail("data", "DataLoader: shard part_index ", opts_.part_index_, " is not in [0, num_parts ", opts_.num_parts_, ")");
  if (opts_.batch_sampler_ && opts_.num_parts_ > 1)
    fail("data", "DataLoader: batch_sampler is exclusive with shard (its batches are final; shard the sampler "
         "under it, or use sampler= with shard)");
}

size_t DataLoader::num_batches() const {
  if (!batches_.empty() || epoch_ > 0) return batches_.size();
  if (opts_.batch_sampler_) return static_cast<size_t>(opts_.batch_sampler_->length());
  int64_t n = (opts_.sampler_ ? opts_.sampler_->length() : ds_->size()) / opts_.num_parts_, b = opts_.batch_size_;
  return opts_.last_batch_ == "keep" ? (n + b - 1) / b : n / b;
}

DataLoader::iterator DataLoader::start_epoch() {
  prefetch_.reset();  // the last epoch's workers stop
  if (opts_.num_workers_ > 0 && !batches_.empty()) {
    int depth = opts_.prefetch_ > 0 ? opts_.prefetch_ : 2 * opts_.num_workers_;
    prefetch_ = std::make_shared<Prefetcher>(*this, opts_.num_workers_, depth);
  }
  return iterator(this, 0);
}

DataLoader::iterator DataLoader::begin() {
  if (opts_.batch_sampler_) {
    batches_ = opts_.batch_sampler_->epoch();
    ++epoch_;
    for (const auto& b : batches_)
      for (int64_t i : b)
        if (i < 0 || i >= ds_->size()) fail("data", "DataLoader: sampler index ", i, " outside the dataset of ", ds_->size());
    return start_epoch();
  }
  std::vector<int64_t> order(ds_->size());
  std::iota(order.begin(), order.end(), 0);
  if (opts_.sampler_) {
    order = opts_.sampler_->epoch();
    for (int64_t i : order)
      if (i < 0 || i >= ds_->size()) fail("data", "DataLoader: sampler index ", i, " outside the dataset of ", ds_->size());
  } else if (opts_.shuffle_) {
    std::mt19937_64 gen(opts_.seed_ + epoch_);
    std::shuffle(order.begin(), order.end(), gen);
  }
  ++epoch_;
  if (opts_.num_parts_ > 1) {
    size_t parts = static_cast<size_t>(opts_.num_parts_), each = order.size() / parts;
    std::vector<int64_t> mine(each);
    for (size_t k = 0; k < each; ++k) mine[k] = order[k * parts + static_cast<size_t>(opts_.part_index_)];
    order = std::move(mine);
  }
  order.insert(order.begin(), leftover_.begin(), leftover_.end());
  leftover_.clear();
  batches_.clear();
  size_t b = static_cast<size_t>(opts_.batch_size_);
  for (size_t s = 0; s < order.size(); s += b) {
    std::vector<int64_t> chunk(order.begin() + s, order.begin() + std::min(order.size(), s + b));
    if (chunk.size() < b && opts_.last_batch_ != "keep") {
      if (opts_.last_batch_ == "rollover") leftover_ = chunk;
      break;
    }
    batches_.push_back(std::move(chunk));
  }
  return start_epoch();
}

std::vector<NDArray> DataLoader::make_batch(const std::vector<int64_t>& idx) const {
  if (opts_.batchify_fn_) {
    std::vector<std::vector<NDArray>> samples;
    for (int64_t i : idx) samples.push_back(ds_->get(i));
    return opts_.batchify_fn_(samples);
  }
  return ds_->batch(idx);
}

// One epoch's workers: each takes the next batch number, at most `depth` ahead of the
// consumer, makes it, and files it under its number; get(k) waits for batch k. A worker's
// error is rethrown by get() for its batch. Destruction stops the workers after the batch
// each is making.
class DataLoader::Prefetcher {
 public:
  Prefetcher(const DataLoader& l, int workers, int depth) : loader_(l), batches_(l.batches_), depth_(depth) {
    for (int w = 0; w < workers; ++w) threads_.emplace_back([this] { work(); });
  }
  ~Prefetcher() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  std::vector<NDArray> get(size_t k) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return ready_.count(k) || errors_.count(k); });
    consumed_ = std::max(consumed_, k + 1);
    cv_.notify_all();
    if (auto e = errors_.find(k); e != errors_.end()) std::rethrow_exception(e->second);
    std::vector<NDArray> b = std::move(ready_.at(k));
    ready_.erase(k);
    return b;
  }

 private:
  void work() {
    for (;;) {
      size_t k;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || next_ >= batches_.size() || next_ < consumed_ + depth_; });
        if (stop_ || next_ >= batches_.size()) return;
        k = next_++;
      }
      std::vector<NDArray> b;
      std::exception_ptr err;
      try {
        b = loader_.make_batch(batches_[k]);
      } catch (...) {
        err = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (err) errors_[k] = err;
        else ready_[k] = std::move(b);
      }
      cv_.notify_all();
    }
  }
  const DataLoader& loader_;
  const std::vector<std::vector<int64_t>> batches_;  // this epoch's, whatever begin() does next
  const size_t depth_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t next_ = 0, consumed_ = 0;
  std::map<size_t, std::vector<NDArray>> ready_;
  std::map<size_t, std::exception_ptr> errors_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

void DataLoader::iterator::load() {
  if (!loader_ || pos_ >= loader_->batches_.size()) {
    batch_.clear();
    return;
  }
  batch_ = loader_->prefetch_ ? loader_->prefetch_->get(pos_) : loader_->make_batch(loader_->batches_[pos_]);
}

DataLoader::iterator& DataLoader::iterator::operator++() {
  ++pos_;
  load();
  return *this;
}

}  // namespace hgc::gluon::data
