// SimpleDataset, FilterSampler and MXNet's RecordIO reader/writer (dmlc-core's
// recordio.{h,cc} format) with RecordFileDataset.
#include "hgc/frontend/gluon/data/data_more.h"

#include <cstring>
#include <filesystem>
#include <sstream>

#include "hgc/base/error.h"
#include "hgc/base/tensor.h"

namespace hgc::gluon::data {

std::vector<NDArray> SimpleDataset::get(int64_t i) const {
  if (i < 0 || i >= size()) fail("data", "SimpleDataset: sample ", i, " outside [0, ", size(), ")");
  return samples_[size_t(i)];
}

FilterSampler::FilterSampler(std::function<bool(const std::vector<NDArray>&)> fn, std::shared_ptr<const Dataset> dataset) {
  if (!fn || !dataset) fail("data", "FilterSampler needs a function and a dataset");
  for (int64_t i = 0; i < dataset->size(); ++i)
    if (fn(dataset->get(i))) indices_.push_back(i);
}

// ---- RecordIO ----
namespace {
constexpr uint32_t kMagic = 0xced7230a;
constexpr uint32_t kLenMask = (1u << 29) - 1;
uint32_t lrec(uint32_t cflag, uint32_t len) { return (cflag << 29) | len; }
}  // namespace

MXRecordIO::MXRecordIO(std::string uri, std::string flag) : uri_(std::move(uri)), flag_(std::move(flag)) {
  if (flag_ == "w") f_.open(uri_, std::ios::out | std::ios::binary | std::ios::trunc);
  else if (flag_ == "r") f_.open(uri_, std::ios::in | std::ios::binary);
  else fail("recordio", uri_, ": flag must be \"r\" or \"w\", got \"", flag_, "\"");
  if (!f_) fail("recordio", uri_, ": cannot open for ", flag_ == "w" ? "writing" : "reading");
}

void MXRecordIO::write(const std::string& record) {
  if (flag_ != "w") fail("recordio", uri_, ": opened for reading, cannot write");
  if (record.size() >= (1u << 29)) fail("recordio", uri_, ": a record must be < 2^29 bytes, got ", record.size());
  auto put_head = [&](uint32_t cflag, uint32_t len) {
    uint32_t h[2] = {kMagic, lrec(cflag, len)};
    f_.write(reinterpret_cast<const char*>(h), 8);
  };
  uint32_t len = uint32_t(record.size()), lower = len & ~3u, upper = (len + 3) & ~3u, dptr = 0;
  const char* b = record.data();
  for (uint32_t i = 0; i < lower; i += 4) {
    uint32_t w;
    std::memcpy(&w, b + i, 4);
    if (w != kMagic) continue;
    put_head(dptr == 0 ? 1 : 2, i - dptr);
    f_.write(b + dptr, i - dptr);
    dptr = i + 4;
  }
  put_head(dptr != 0 ? 3 : 0, len - dptr);
  f_.write(b + dptr, len - dptr);
  static const char zero[4] = {0, 0, 0, 0};
  f_.write(zero, upper - len);
  if (!f_) fail("recordio", uri_, ": write failed");
}

bool MXRecordIO::read(std::string& record) {
  if (flag_ != "r") fail("recordio", uri_, ": opened for writing, cannot read");
  record.clear();
  bool first = true;
  for (;;) {
    uint32_t h[2];
    f_.read(reinterpret_cast<char*>(h), 8);
    if (f_.gcount() == 0 && first) {
      f_.clear();
      return false;
    }
    if (f_.gcount() != 8) fail("recordio", uri_, ": truncated record header");
    if (h[0] != kMagic) fail("recordio", uri_, ": bad magic 0x", std::hex, h[0], " (not a RecordIO file, or a bad offset)");
    uint32_t cflag = h[1] >> 29, len = h[1] & kLenMask, pad = ((len + 3) & ~3u) - len;
    if ((cflag == 0 || cflag == 1) != first) fail("recordio", uri_, ": record parts out of order (cflag ", cflag, ")");
    std::string part(len, '\0');
    f_.read(part.data(), len);
    if (uint32_t(f_.gcount()) != len) fail("recordio", uri_, ": truncated record (", len, " bytes expected)");
    f_.ignore(pad);
    record += part;
    first = false;
    if (cflag == 0 || cflag == 3) return true;
    uint32_t m = kMagic;
    record.append(reinterpret_cast<const char*>(&m), 4);
  }
}

int64_t MXRecordIO::tell() { return flag_ == "w" ? int64_t(f_.tellp()) : int64_t(f_.tellg()); }
void MXRecordIO::seek(int64_t pos) {
  if (flag_ != "r") fail("recordio", uri_, ": seek needs a file opened for reading");
  f_.clear();
  f_.seekg(pos);
}
void MXRecordIO::close() {
  if (f_.is_open()) f_.close();
}

MXIndexedRecordIO::MXIndexedRecordIO(std::string idx_path, std::string uri, std::string flag)
    : idx_path_(std::move(idx_path)), flag_(flag), rec_(std::move(uri), flag) {
  if (flag_ == "w") {
    idx_out_.open(idx_path_, std::ios::out | std::ios::trunc);
    if (!idx_out_) fail("recordio", idx_path_, ": cannot open the index for writing");
    return;
  }
  std::ifstream in(idx_path_);
  if (!in) fail("recordio", idx_path_, ": cannot open the index");
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    std::istringstream ls(line);
    int64_t key, off;
    if (!(ls >> key >> off)) fail("recordio", idx_path_, ":", line_no, ": expected \"key<TAB>offset\", got \"", line, "\"");
    if (!offsets_.count(key)) keys_.push_back(key);
    offsets_[key] = off;
  }
}
MXIndexedRecordIO::~MXIndexedRecordIO() { close(); }

void MXIndexedRecordIO::write_idx(int64_t key, const std::string& record) {
  if (flag_ != "w") fail("recordio", idx_path_, ": opened for reading, cannot write");
  int64_t pos = rec_.tell();
  rec_.write(record);
  idx_out_ << key << '\t' << pos << '\n';
  if (!offsets_.count(key)) keys_.push_back(key);
  offsets_[key] = pos;
}
std::string MXIndexedRecordIO::read_idx(int64_t key) {
  auto it = offsets_.find(key);
  if (it == offsets_.end()) fail("recordio", idx_path_, ": no record with key ", key);
  rec_.seek(it->second);
  std::string r;
  if (!rec_.read(r)) fail("recordio", rec_.uri(), ": no record at offset ", it->second, " (key ", key, ")");
  return r;
}
void MXIndexedRecordIO::close() {
  rec_.close();
  if (idx_out_.is_open()) idx_out_.close();
}

RecordFileDataset::RecordFileDataset(const std::string& filename) {
  std::string idx = std::filesystem::path(filename).replace_extension(".idx").string();
  rec_ = std::make_shared<MXIndexedRecordIO>(idx, filename, "r");
}
std::string RecordFileDataset::record(int64_t i) const {
  if (i < 0 || i >= size()) fail("data", "RecordFileDataset: sample ", i, " outside [0, ", size(), ")");
  return rec_->read_idx(rec_->keys()[size_t(i)]);
}
std::vector<NDArray> RecordFileDataset::get(int64_t i) const {
  std::string r = record(i);
  HostTensor t(DType::u8, {int64_t(r.size())});
  if (!r.empty()) std::memcpy(t.raw(), r.data(), r.size());
  return {nd::array(t)};
}

}  // namespace hgc::gluon::data
