// Helpers shared by the two BST models (not part of the public API).
#pragma once
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "hgc/hgc.h"
#include "hgc/base/error.h"

namespace hgc::models {

// Fills a parameter with a fixed table (the positional encodings and the causal mask, which
// the seeds compute once as constants).
class TableInit : public gluon::Initializer {
 public:
  TableInit(std::vector<float> values, std::string what) : values_(std::move(values)), what_(std::move(what)) {}
  void init_weight(const std::string& name, NDArray& arr) const override {
    if (arr.size() != static_cast<int64_t>(values_.size()))
      fail("models", name, ": the ", what_, " table has ", values_.size(), " values but the parameter ", arr.size());
    arr.assign(nd::array(values_, arr.shape()));
  }
  std::string dumps() const override { return "[\"constant\", {\"table\": \"" + what_ + "\"}]"; }
  std::shared_ptr<gluon::Initializer> clone() const override { return std::make_shared<TableInit>(*this); }

 private:
  std::vector<float> values_;
  std::string what_;
};

inline std::string shape_text(const std::vector<int64_t>& s) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << (s.size() == 1 ? ",)" : ")");
  return os.str();
}

// Ids must be whole numbers in [0, n): an Embedding would otherwise clip them silently.
// Traced inputs (the block called inside another's trace) have no values to check.
inline void check_ids(const NDArray& ids, int64_t n, const char* block, const char* what) {
  if (ids.is_symbolic()) return;
  auto v = ids.astype(DType::f32).to_vector<float>();
  for (size_t i = 0; i < v.size(); ++i)
    if (!(v[i] >= 0 && v[i] < n && std::floor(v[i]) == v[i]))
      fail("models", block, ": ", what, " must be whole numbers in [0, ", n, "), found ", v[i], " at flat index ", i);
}

}  // namespace hgc::models

#include <filesystem>
#include <map>

namespace hgc::models {

// Writes every parameter of `net` as <dir>/param.<structural name>.npy (save_parameters'
// names: "encoder.stack0.lnorm_1.gamma") and each of `arrays` as <dir>/<key>.npy, for
// bench/parity/bst_parity.py.
inline void dump_npy(const std::string& dir, const gluon::Block& net, const std::map<std::string, NDArray>& arrays) {
  std::filesystem::create_directories(dir);
  net.save_parameters(dir + "/params.params");
  for (const auto& [name, v] : nd::load_dict(dir + "/params.params")) nd::save_npy(dir + "/param." + name + ".npy", v);
  for (const auto& [k, v] : arrays) nd::save_npy(dir + "/" + k + ".npy", v);
}

}  // namespace hgc::models
