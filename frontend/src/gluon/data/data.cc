// IDX reading (zlib for the .gz files), ArrayDataset and DataLoader. Batches are gathered
// with one nd::take per field (a compiled kernel), not per-sample copies.
#include "hgc/frontend/gluon/data/data.h"

#include <zlib.h>

#include <algorithm>
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

std::vector<NDArray> Dataset::batch(const std::vector<int64_t>& indices) const {
  std::vector<std::vector<NDArray>> fields;
  for (int64_t i : indices) {
    std::vector<NDArray> s = get(i);
    if (fields.empty()) fields.resize(s.size());
    for (size_t f = 0; f < s.size(); ++f) fields[f].push_back(s[f]);
  }
  std::vector<NDArray> out;
  for (auto& f : fields) out.push_back(nd::stack(f, 0));
  return out;
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
  const std::string& l = opts_.last_batch_;
  if (l != "keep" && l != "discard" && l != "rollover")
    fail("data", "DataLoader: last_batch '", l, "' is not keep, discard or rollover");
  if (opts_.num_parts_ < 1 || opts_.part_index_ < 0 || opts_.part_index_ >= opts_.num_parts_)
    fail("data", "DataLoader: shard part_index ", opts_.part_index_, " is not in [0, num_parts ", opts_.num_parts_, ")");
}

size_t DataLoader::num_batches() const {
  if (!batches_.empty() || epoch_ > 0) return batches_.size();
  int64_t n = ds_->size() / opts_.num_parts_, b = opts_.batch_size_;
  return opts_.last_batch_ == "keep" ? (n + b - 1) / b : n / b;
}

DataLoader::iterator DataLoader::begin() {
  std::vector<int64_t> order(ds_->size());
  std::iota(order.begin(), order.end(), 0);
  if (opts_.shuffle_) {
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
  return iterator(this, 0);
}

void DataLoader::iterator::load() {
  if (!loader_ || pos_ >= loader_->batches_.size()) {
    batch_.clear();
    return;
  }
  batch_ = loader_->ds_->batch(loader_->batches_[pos_]);
}

DataLoader::iterator& DataLoader::iterator::operator++() {
  ++pos_;
  load();
  return *this;
}

}  // namespace hgc::gluon::data
