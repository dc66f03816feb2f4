// Seeded uniform(-1, 1) floats for the runtime library tests' operands.
#pragma once
#include <cstdint>
#include <random>
#include <vector>

namespace hgc::test {

inline std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> v(n);
  for (float& x : v) x = u(g);
  return v;
}

}  // namespace hgc::test
