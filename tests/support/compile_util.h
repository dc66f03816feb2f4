// Helpers of the `hgc compile` tests (tests/tools/test_compile*.cc): seeded parameters and
// inputs, and the comparison against `hgc run`.
#pragma once
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "hgc/ir/infer.h"
#include "hgc/ir/json_io.h"
#include "hgc/runtime/tensor_io.h"
#include "support/paths.h"

namespace hgc::test {

inline std::string fresh_dir(const std::string& name) {
  std::filesystem::path d = std::filesystem::path(temp_dir()) / name;
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d.string();
}

// Inferred graph of `model` for data of `shape`.
inline Graph inferred(const std::string& model, const std::vector<int64_t>& shape) {
  Graph g = load_json_file(model);
  InferOptions io;
  io.shapes["data"] = Shape(shape);
  infer(g, io);
  return g;
}

// Seeded parameters and aux states of `g` (variances positive), by variable name.
inline std::map<std::string, HostTensor> random_params(const Graph& g, unsigned seed) {
  std::mt19937 rng(seed);
  std::map<std::string, HostTensor> p;
  for (int id : g.variable_ids()) {
    if (g.role(id) == VarRole::Input) continue;
    const Node& v = g.nodes[id];
    bool var = g.role(id) == VarRole::AuxState && v.name.find("var") != std::string::npos;
    std::uniform_real_distribution<float> u(var ? 0.5f : -0.1f, var ? 1.5f : 0.1f);
    HostTensor t(DType::f32, v.out_shapes[0].dims());
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
    p[v.name] = t;
  }
  return p;
}

inline void write_params(const Graph& g, const std::map<std::string, HostTensor>& p, const std::string& path) {
  ParamList list;
  for (const auto& [name, t] : p) list.push_back({(g.role(g.find(name)) == VarRole::AuxState ? "aux:" : "arg:") + name, t});
  save_params(path, list);
}

inline HostTensor random_input(const std::vector<int64_t>& shape, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  HostTensor t(DType::f32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

// max |a - b| relative to max(1, max |b|): the program's kernels are built for x86-64-v3,
// the JIT's for the host, so float sums may be ordered differently.
inline double rel_diff(const HostTensor& a, const HostTensor& b) {
  REQUIRE(a.shape() == b.shape());
  double d = 0, m = 1;
  for (int64_t i = 0; i < a.numel(); ++i) {
    d = std::max(d, std::fabs(double(a.data<float>()[i]) - b.data<float>()[i]));
    m = std::max(m, std::fabs(double(b.data<float>()[i])));
  }
  return d / m;
}

inline double median_ms(const std::string& out) {
  std::smatch m;
  static const std::regex re("median latency over [0-9]+ runs: ([0-9.]+) ms");
  return std::regex_search(out, m, re) ? std::stod(m[1]) : -1;
}

inline std::string dims_arg(const std::vector<int64_t>& s) {
  std::string r;
  for (size_t k = 0; k < s.size(); ++k) r += (k ? "x" : "") + std::to_string(s[k]);
  return r;
}

}  // namespace hgc::test
