// Seeded uniform(-1, 1) floats for the runtime library tests' operands.
#pragma once
#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "hgc/base/tensor.h"

namespace hgc::test {

inline std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> v(n);
  for (float& x : v) x = u(g);
  return v;
}

// A float32 tensor of `shape` filled by random_floats.
inline HostTensor random_tensor(std::vector<int64_t> shape, uint32_t seed) {
  HostTensor t(DType::f32, shape);
  std::vector<float> v = random_floats(static_cast<size_t>(t.numel()), seed);
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}

inline bool same_bits(const HostTensor& a, const HostTensor& b) {
  return a.shape() == b.shape() && std::equal(a.data<float>(), a.data<float>() + a.numel(), b.data<float>());
}

}  // namespace hgc::test
