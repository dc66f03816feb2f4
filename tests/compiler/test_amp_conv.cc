// bfloat16 convolutions (issue 20, speed): where oneDNN's bfloat16 primitive is slower than the
// float32 convolution (LeNet's backward-weights), bf16_convolution runs the call on operands
// widened to float32 and rounds the result once (runtime/src/library_bf16.cc, measured per
// shape). That path must compute what the primitive computes: the same float32 sums, rounded
// once, so the two agree to a bfloat16 rounding step in every direction, bias included.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

// The runtime's private bfloat16 library calls (no public header: AMP graphs reach them).
#include "../../runtime/src/library_bf16.h"

using namespace hgc;
using lib::bf16_t;

namespace {

bf16_t to_bf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  return static_cast<bf16_t>((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);
}

float to_f32(bf16_t v) {
  uint32_t x = static_cast<uint32_t>(v) << 16;
  float f;
  std::memcpy(&f, &x, sizeof f);
  return f;
}

std::vector<bf16_t> random_bf16(int64_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<bf16_t> v(static_cast<size_t>(n));
  for (auto& e : v) e = to_bf16(u(rng));
  return v;
}

// Largest |a - b| over the largest |b|.
double worst_rel(const std::vector<bf16_t>& a, const std::vector<bf16_t>& b) {
  double w = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double x = to_f32(a[i]), y = to_f32(b[i]);
    w = std::max(w, std::fabs(x - y)), scale = std::max(scale, std::fabs(y));
  }
  return w / scale;
}

struct ConvImplGuard {
  lib::ConvImpl was = lib::conv_impl();
  ~ConvImplGuard() { lib::set_conv_impl(was); }
};

}  // namespace

TEST_CASE("amp conv: the widened float32 path equals oneDNN's bfloat16 primitive to a rounding step") {
  ConvImplGuard guard;
  lib::set_conv_impl(lib::ConvImpl::OneDNN);  // bf16_convolution then runs the primitive, never the widened path
  lib::ConvShape s;
  s.nsp = 2, s.N = 4, s.C = 3, s.O = 6, s.groups = 1;
  for (int d = 0; d < 2; ++d) s.in[d] = 9, s.k[d] = 3, s.stride[d] = 1, s.pad[d] = 1, s.dilate[d] = 1, s.out[d] = 9;
  REQUIRE(lib::onednn_conv_supported(lib::ConvDirection::Forward, s, true));
  const int64_t nx = s.N * s.C * 81, ny = s.N * s.O * 81, nw = s.O * s.C * 9;
  std::mt19937 rng(7);
  auto x = random_bf16(nx, rng), w = random_bf16(nw, rng), dy = random_bf16(ny, rng), b = random_bf16(s.O, rng);
  struct Case {
    lib::ConvDirection dir;
    const bf16_t *a, *b, *bias;
    int64_t n;
    const char* what;
  } cases[] = {{lib::ConvDirection::Forward, x.data(), w.data(), b.data(), ny, "forward with bias"},
               {lib::ConvDirection::Forward, x.data(), w.data(), nullptr, ny, "forward"},
               {lib::ConvDirection::DataGrad, dy.data(), w.data(), nullptr, nx, "data grad"},
               {lib::ConvDirection::WeightGrad, dy.data(), x.data(), nullptr, nw, "weight grad"}};
  for (const Case& c : cases) {
    CAPTURE(c.what);
    std::vector<bf16_t> prim(static_cast<size_t>(c.n), 0xFFFF), wide(static_cast<size_t>(c.n), 0xFFFF);
    lib::bf16_convolution(c.dir, s, c.a, c.b, c.bias, prim.data());
    lib::bf16_convolution_widened(c.dir, s, c.a, c.b, c.bias, wide.data());
    // Both sum the same products in float32 (in different orders) and round once.
    CHECK(worst_rel(wide, prim) <= 1.0 / 128);
    int64_t differ = 0;
    for (size_t i = 0; i < wide.size(); ++i) differ += wide[i] != prim[i];
    CHECK(differ * 10 <= c.n);  // most elements round to the same bfloat16
  }
}
