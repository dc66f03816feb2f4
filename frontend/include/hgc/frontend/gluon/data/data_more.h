// More of gluon.data: SimpleDataset (a list of samples), FilterSampler, MXNet's RecordIO
// files (MXIndexedRecordIO: a .rec of records plus a .idx of "key\toffset" lines) and
// RecordFileDataset over them.
//
//   using namespace hgc::gluon::data;
//   { MXIndexedRecordIO w("d.idx", "d.rec", "w"); w.write_idx(0, "first"); w.write_idx(1, "second"); }
//   auto ds = std::make_shared<RecordFileDataset>("d.rec");
//   std::string r = ds->record(1);                          // "second"; get(1): {its bytes as u8}
//   FilterSampler even([](const std::vector<NDArray>& s) { return s[1].asscalar<float>() > 0; }, labels_ds);
#pragma once
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hgc/frontend/gluon/data/data.h"

namespace hgc::gluon::data {

// A dataset over samples held in memory (each sample its list of fields).
class SimpleDataset : public Dataset {
 public:
  explicit SimpleDataset(std::vector<std::vector<NDArray>> samples) : samples_(std::move(samples)) {}
  int64_t size() const override { return int64_t(samples_.size()); }
  std::vector<NDArray> get(int64_t i) const override;

 private:
  std::vector<std::vector<NDArray>> samples_;
};

// The indices of the samples for which fn(sample) is true, in order (decided once, at
// construction, as Gluon's FilterSampler does).
class FilterSampler : public Sampler {
 public:
  FilterSampler(std::function<bool(const std::vector<NDArray>&)> fn, std::shared_ptr<const Dataset> dataset);
  std::vector<int64_t> epoch() override { return indices_; }
  int64_t length() const override { return int64_t(indices_.size()); }

 private:
  std::vector<int64_t> indices_;
};

// dmlc RecordIO: each record is the magic 0xced7230a, a word (cflag << 29 | length), the bytes
// and zero padding to 4 bytes. A payload holding the magic at a 4-byte-aligned offset is split
// there into parts (cflag 1 first, 2 middle, 3 last) and joined again on reading, as dmlc does.
class MXRecordIO {
 public:
  // flag "r" reads, "w" writes (truncating).
  MXRecordIO(std::string uri, std::string flag);
  void write(const std::string& record);
  // The next record; false at the end of the file.
  bool read(std::string& record);
  // Byte position of the next record (what the .idx stores).
  int64_t tell();
  void seek(int64_t pos);
  void close();
  const std::string& uri() const { return uri_; }

 private:
  std::string uri_, flag_;
  std::fstream f_;
};

// A RecordIO file with an index: write_idx(key, record) appends "key\toffset" to idx_path.
class MXIndexedRecordIO {
 public:
  MXIndexedRecordIO(std::string idx_path, std::string uri, std::string flag);
  ~MXIndexedRecordIO();
  void write_idx(int64_t key, const std::string& record);
  std::string read_idx(int64_t key);
  // Keys in file order.
  const std::vector<int64_t>& keys() const { return keys_; }
  void close();

 private:
  std::string idx_path_, flag_;
  MXRecordIO rec_;
  std::vector<int64_t> keys_;
  std::map<int64_t, int64_t> offsets_;
  std::ofstream idx_out_;
};

// Gluon's RecordFileDataset: the records of a .rec file, through its .idx (same path with
// the extension replaced). get(i): {the record's bytes as a u8 array}.
class RecordFileDataset : public Dataset {
 public:
  explicit RecordFileDataset(const std::string& filename);
  int64_t size() const override { return int64_t(rec_->keys().size()); }
  std::vector<NDArray> get(int64_t i) const override;
  std::string record(int64_t i) const;

 private:
  std::shared_ptr<MXIndexedRecordIO> rec_;
};

}  // namespace hgc::gluon::data
