// .params (MXNet NDArray list/dict files) and .npy, for tools and standalone executables.
//
//   ParamList p = load_params("model-0000.params");   // legacy, V1, V2 and V3 arrays
//   for (auto& [name, t] : p) std::cout << name << " " << t.describe();   // "arg:fc1_weight"
//   save_params("copy.params", p);                       // V2 arrays
//   HostTensor x = load_npy("in.npy");  save_npy("out.npy", x);
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "hgc/base/tensor.h"

namespace hgc {

// In file order. Names are empty for the list form (nd.save of a list).
using ParamList = std::vector<std::pair<std::string, HostTensor>>;

ParamList load_params(const std::string& path);
// `origin` names the source in errors.
ParamList load_params_bytes(const std::string& bytes, const std::string& origin);
std::string save_params_bytes(const ParamList& params);
// Writes through a temporary file, so a failure leaves an existing file untouched.
void save_params(const std::string& path, const ParamList& params);

// "arg:fc1_weight" -> "fc1_weight"; other names unchanged.
std::string strip_param_prefix(const std::string& name);

HostTensor load_npy(const std::string& path);
HostTensor load_npy_bytes(const std::string& bytes, const std::string& origin);
std::string save_npy_bytes(const HostTensor& t);
void save_npy(const std::string& path, const HostTensor& t);

}  // namespace hgc
