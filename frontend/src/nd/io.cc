// nd::save / nd::load (MXNet .params lists and dicts) and .npy files, over runtime's
// tensor_io. Loaded arrays own fresh buffers; saved views write only the bytes they see.
#include "hgc/base/error.h"
#include "hgc/runtime/tensor_io.h"
#include "nd/detail.h"

namespace hgc::nd {
namespace {

void check_defined(const NDArray& x, const std::string& what) {
  if (!x.defined()) fail("ndarray", what, ": cannot save an empty (default-constructed) NDArray");
}

}  // namespace

void save(const std::string& path, const std::vector<NDArray>& arrays) {
  ParamList p;
  for (size_t i = 0; i < arrays.size(); ++i) {
    check_defined(arrays[i], "save " + path + " [" + std::to_string(i) + "]");
    p.emplace_back("", arrays[i].tensor());
  }
  save_params(path, p);
}

void save(const std::string& path, std::initializer_list<NDArray> arrays) {
  save(path, std::vector<NDArray>(arrays));
}

void save(const std::string& path, const std::map<std::string, NDArray>& arrays) {
  ParamList p;
  for (const auto& [name, x] : arrays) {
    if (name.empty()) fail("ndarray", "save ", path, ": dict keys must not be empty (an empty name means a list)");
    check_defined(x, "save " + path + " ['" + name + "']");
    p.emplace_back(name, x.tensor());
  }
  save_params(path, p);
}

Loaded load(const std::string& path) {
  ParamList p = load_params(path);
  Loaded r;
  // MXNet writes names for every array of a dict and for none of a list.
  r.is_dict = !p.empty() && !p[0].first.empty();
  for (auto& [name, t] : p) {
    if (name.empty() == r.is_dict)
      fail("ndarray", "load ", path, ": some arrays are named and some are not; not an nd.save file");
    if (!r.is_dict) {
      r.list.emplace_back(std::move(t));
      continue;
    }
    std::string key = strip_param_prefix(name);  // "arg:fc1_weight" -> "fc1_weight"
    if (!r.dict.emplace(key, NDArray(std::move(t))).second)
      fail("ndarray", "load ", path, ": two arrays are named '", key, "' once the arg:/aux: prefixes are dropped");
  }
  return r;
}

std::vector<NDArray> load_list(const std::string& path) {
  std::vector<NDArray> r;
  for (auto& [name, t] : load_params(path)) r.emplace_back(std::move(t));
  return r;
}

std::map<std::string, NDArray> load_dict(const std::string& path) {
  Loaded l = load(path);
  if (!l.is_dict && !l.list.empty())
    fail("ndarray", "load_dict ", path, ": the file holds an unnamed list of ", l.list.size(),
         " arrays; use nd::load_list");
  return l.dict;
}

NDArray load_npy(const std::string& path) { return NDArray(hgc::load_npy(path)); }

void save_npy(const std::string& path, const NDArray& x) {
  check_defined(x, "save_npy " + path);
  hgc::save_npy(path, x.tensor());
}

}  // namespace hgc::nd
