// Reference kernels of the random family: the generator of compiler/src/lower/random.cc
// written as plain loops (the same bits; the float transforms in the same compute type, so
// uniforms match exactly and normals within the libm/LLVM math difference).
#include <cmath>
#include <cstdint>

#include "reference/ref_kernels.h"

namespace hgc::ref {
namespace {

uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double unit(uint64_t key, uint64_t n) {
  uint64_t h = mix(key + (n + 1) * 0x9E3779B97F4A7C15ull);
  return (static_cast<double>(h >> 11) + 0.5) * 0x1.0p-53;
}

// p0/p1 give element i's parameters; `seed_in` is the seed input's index.
template <typename Params>
void draw(Ctx& c, bool normal, size_t seed_in, Params params) {
  // The seed travels through the evaluator as a double: seeds are below 2^53 (see nd::random).
  uint64_t key = mix(static_cast<uint64_t>(static_cast<int64_t>(c.in[seed_in].v[0])));
  bool f64 = c.out_dtypes[0] == DType::f64;
  for (int64_t i = 0; i < c.out[0].numel(); ++i) {
    auto [p0, p1] = params(i);
    auto n = static_cast<uint64_t>(i);
    double x;
    if (f64) {
      x = normal ? p0 + p1 * (std::sqrt(-2.0 * std::log(unit(key, 2 * n))) * std::cos(2 * M_PI * unit(key, 2 * n + 1)))
                 : p0 + (p1 - p0) * unit(key, n);
    } else {
      float a = static_cast<float>(p0), b = static_cast<float>(p1);
      if (normal) {
        float u1 = static_cast<float>(unit(key, 2 * n)), u2 = static_cast<float>(unit(key, 2 * n + 1));
        x = a + b * (std::sqrt(-2.0f * std::log(u1)) * std::cos(static_cast<float>(2 * M_PI) * u2));
      } else {
        x = a + (b - a) * static_cast<float>(unit(key, n));
      }
    }
    c.out[0].v[i] = x;
  }
}

}  // namespace

void add_random_kernels(KernelTable& t) {
  for (bool normal : {false, true}) {
    std::string n = normal ? "normal" : "uniform";
    const char* p0 = normal ? "loc" : "low";
    const char* p1 = normal ? "scale" : "high";
    t.add("_random_" + n, [=](Ctx& c) {
      double a = c.a.f(p0), b = c.a.f(p1);
      draw(c, normal, 0, [&](int64_t) { return std::pair{a, b}; });
    });
    t.add("_random_" + n + "_like", [=](Ctx& c) {
      double a = c.a.f(p0), b = c.a.f(p1);
      draw(c, normal, 1, [&](int64_t) { return std::pair{a, b}; });
    });
    // Output element i belongs to parameter element i / (samples per parameter).
    t.add("_sample_" + n, [=](Ctx& c) {
      int64_t np = c.in[0].numel(), per = np ? c.out[0].numel() / np : 1;
      draw(c, normal, 2, [&](int64_t i) { return std::pair{c.in[0].v[i / per], c.in[1].v[i / per]}; });
    });
  }
}

}  // namespace hgc::ref
