// The runtime's convolution and its two gradients on both implementations (oneDNN's
// primitives and im2col + sgemm, library.h ConvImpl) against a direct loop over the
// definition, over groups, strides, padding, dilation, 1-D and 2-D, with and without bias;
// Auto's choice gives the same values; concurrent calls of one cached primitive.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "hgc/runtime/library.h"
#include "support/random_vec.h"

using namespace hgc;

namespace {

using test::random_floats;

struct Case {
  std::string name;
  lib::ConvShape s;
};

// Spatial dims given as {h, w} (1-D: {w} with nsp 1); out follows MXNet's formula.
Case make(std::string name, int nsp, int64_t n, int64_t c, int64_t o, int64_t groups, std::vector<int64_t> in,
          std::vector<int64_t> k, std::vector<int64_t> stride, std::vector<int64_t> pad, std::vector<int64_t> dilate) {
  lib::ConvShape s{};
  s.nsp = nsp, s.N = n, s.C = c, s.O = o, s.groups = groups;
  for (int d = 0; d < 2; ++d) {
    bool used = d < nsp;
    s.in[d] = used ? in[d] : 1, s.k[d] = used ? k[d] : 1, s.stride[d] = used ? stride[d] : 1;
    s.pad[d] = used ? pad[d] : 0, s.dilate[d] = used ? dilate[d] : 1;
    s.out[d] = (s.in[d] + 2 * s.pad[d] - s.dilate[d] * (s.k[d] - 1) - 1) / s.stride[d] + 1;
  }
  return {std::move(name), s};
}

struct Sizes {
  int64_t in_sp, out_sp, taps;
};
Sizes sizes(const lib::ConvShape& s) {
  Sizes z{1, 1, 1};
  for (int d = 0; d < s.nsp; ++d) z.in_sp *= s.in[d], z.out_sp *= s.out[d], z.taps *= s.k[d];
  return z;
}

// Calls fn(n, o, c, x_index, w_index, y_index) for every product term of the convolution:
// y[n, o, out] += w[o, c, tap] * x[n, g*cg + c, in] where the tap reads inside the input.
template <class F>
void for_terms(const lib::ConvShape& s, F&& fn) {
  Sizes z = sizes(s);
  int64_t cg = s.C / s.groups, og = s.O / s.groups;
  int64_t OH = s.nsp == 2 ? s.out[0] : 1, OW = s.out[s.nsp - 1], KH = s.nsp == 2 ? s.k[0] : 1, KW = s.k[s.nsp - 1];
  int64_t H = s.nsp == 2 ? s.in[0] : 1, W = s.in[s.nsp - 1];
  auto sp = [&](int i, int64_t two, int64_t one) { return s.nsp == 2 ? (i == 0 ? two : one) : one; };
  int64_t SH = sp(0, s.stride[0], 1), SW = s.stride[s.nsp - 1], PH = sp(0, s.pad[0], 0), PW = s.pad[s.nsp - 1];
  int64_t DH = sp(0, s.dilate[0], 1), DW = s.dilate[s.nsp - 1];
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t o = 0; o < s.O; ++o)
      for (int64_t c = 0; c < cg; ++c)
        for (int64_t kh = 0; kh < KH; ++kh)
          for (int64_t kw = 0; kw < KW; ++kw)
            for (int64_t oh = 0; oh < OH; ++oh)
              for (int64_t ow = 0; ow < OW; ++ow) {
                int64_t ih = oh * SH - PH + kh * DH, iw = ow * SW - PW + kw * DW;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                int64_t ci = (o / og) * cg + c;
                fn((n * s.C + ci) * z.in_sp + ih * W + iw, (o * cg + c) * z.taps + kh * KW + kw,
                   (n * s.O + o) * z.out_sp + oh * OW + ow);
              }
}

void check_close(const std::vector<float>& got, const std::vector<double>& want, const std::string& what) {
  INFO(what);
  REQUIRE(got.size() == want.size());
  double scale = 1e-3;
  for (double v : want) scale = std::max(scale, std::fabs(v));
  int64_t bad = 0;
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    double err = std::fabs(got[i] - want[i]);
    worst = std::max(worst, err);
    bad += err > 1e-5 * scale + 1e-6 * std::fabs(want[i]);
  }
  INFO("worst error " << worst << " (scale " << scale << ")");
  CHECK(bad == 0);
}

// Forward, data grad and weight grad of `s` with the current implementation vs the loops.
void check_all(const Case& cs, bool bias, const std::string& impl) {
  const lib::ConvShape& s = cs.s;
  Sizes z = sizes(s);
  size_t nx = s.N * s.C * z.in_sp, nw = s.O * (s.C / s.groups) * z.taps, ny = s.N * s.O * z.out_sp;
  std::vector<float> x = random_floats(nx, 1), w = random_floats(nw, 2), b = random_floats(s.O, 3), dy = random_floats(ny, 4);
  std::vector<double> y_ref(ny, 0.0), dx_ref(nx, 0.0), dw_ref(nw, 0.0);
  for_terms(s, [&](int64_t xi, int64_t wi, int64_t yi) {
    y_ref[yi] += double(w[wi]) * x[xi];
    dx_ref[xi] += double(w[wi]) * dy[yi];
    dw_ref[wi] += double(dy[yi]) * x[xi];
  });
  if (bias)
    for (size_t i = 0; i < ny; ++i) y_ref[i] += b[(i / z.out_sp) % s.O];
  std::vector<float> ws(lib::convolution_workspace(s));
  // Outputs start as garbage: every direction must overwrite, not accumulate.
  std::vector<float> y(ny, 9.f), dx(nx, 9.f), dw(nw, 9.f);
  std::string what = cs.name + (bias ? " +bias" : "") + " on " + impl;
  lib::convolution(s, x.data(), w.data(), bias ? b.data() : nullptr, y.data(), ws.data());
  check_close(y, y_ref, what + ": forward");
  lib::conv_data_grad(s, dy.data(), w.data(), dx.data(), ws.data());
  check_close(dx, dx_ref, what + ": data grad");
  lib::conv_weight_grad(s, dy.data(), x.data(), dw.data(), ws.data());
  check_close(dw, dw_ref, what + ": weight grad");
}

std::vector<Case> cases() {
  return {
      make("lenet conv1", 2, 4, 1, 20, 1, {28, 28}, {5, 5}, {1, 1}, {0, 0}, {1, 1}),
      make("lenet conv2", 2, 3, 20, 50, 1, {12, 12}, {5, 5}, {1, 1}, {0, 0}, {1, 1}),
      make("stride 2 pad 1 3x3", 2, 2, 16, 32, 1, {9, 10}, {3, 3}, {2, 2}, {1, 1}, {1, 1}),
      make("uneven stride/pad/dilate", 2, 2, 3, 5, 1, {11, 8}, {3, 2}, {2, 1}, {1, 2}, {1, 3}),
      make("groups 2", 2, 2, 6, 4, 2, {7, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1}),
      make("depthwise", 2, 2, 8, 8, 8, {6, 6}, {3, 3}, {1, 1}, {1, 1}, {2, 2}),
      make("1-D", 1, 3, 4, 6, 1, {17}, {3}, {2}, {1}, {2}),
      make("1-D groups 3", 1, 2, 6, 9, 3, {12}, {4}, {1}, {2}, {1}),
      make("stride leaves the last input column unread", 2, 2, 3, 4, 1, {6, 6}, {2, 2}, {3, 3}, {0, 0}, {1, 1}),
  };
}

// Restores the process-wide setting whatever the test does.
struct ImplScope {
  lib::ConvImpl saved = lib::conv_impl();
  explicit ImplScope(lib::ConvImpl impl) { lib::set_conv_impl(impl); }
  ~ImplScope() { lib::set_conv_impl(saved); }
};

}  // namespace

TEST_CASE("runtime convolution on oneDNN: forward, data grad and weight grad equal the direct loops") {
  for (auto impl : {lib::ConvImpl::OneDNN, lib::ConvImpl::OneDNNChannelsLast}) {
    ImplScope scope(impl);
    const char* name = impl == lib::ConvImpl::OneDNN ? "oneDNN" : "oneDNN channels-last";
    for (const Case& c : cases()) {
      for (auto dir : {lib::ConvDirection::Forward, lib::ConvDirection::DataGrad, lib::ConvDirection::WeightGrad}) {
        INFO(c.name << " direction " << static_cast<int>(dir));
        CHECK(lib::onednn_conv_supported(dir, c.s));  // else this test would only check im2col
      }
      CHECK(lib::onednn_conv_supported(lib::ConvDirection::Forward, c.s, true));
      check_all(c, false, name);
      check_all(c, true, name);
    }
  }
}

TEST_CASE("runtime convolution on im2col + sgemm and on Auto's choice: the same values") {
  for (auto impl : {lib::ConvImpl::Im2col, lib::ConvImpl::Auto}) {
    ImplScope scope(impl);
    for (const Case& c : cases()) {
      check_all(c, true, impl == lib::ConvImpl::Auto ? "Auto (first call measures)" : "im2col");
      check_all(c, true, impl == lib::ConvImpl::Auto ? "Auto (decided)" : "im2col again");
    }
  }
}

TEST_CASE("runtime convolution: a zero batch on every setting, and concurrent calls of one primitive") {
  // oneDNN 2.6 accepted every shape tried (zero batch, padding past the kernel, strides that
  // skip input columns, so a negative right padding), so no test forces its rejection path.
  Case c = make("batch 0", 2, 0, 3, 4, 1, {5, 5}, {3, 3}, {1, 1}, {0, 0}, {1, 1});
  const char* names[] = {"Auto", "im2col", "oneDNN", "oneDNN channels-last"};
  for (auto impl : {lib::ConvImpl::OneDNN, lib::ConvImpl::OneDNNChannelsLast, lib::ConvImpl::Im2col,
                    lib::ConvImpl::Auto}) {
    ImplScope scope(impl);
    check_all(c, true, names[static_cast<int>(impl)]);  // dw = 0: no image contributes
  }
  // Each thread runs the cached primitive with its own stream and scratch buffers.
  ImplScope scope(lib::ConvImpl::OneDNNChannelsLast);
  Case big = make("concurrent", 2, 8, 20, 50, 1, {12, 12}, {5, 5}, {1, 1}, {0, 0}, {1, 1});
  const lib::ConvShape& s = big.s;
  std::vector<float> x = random_floats(8 * 20 * 144, 5), w = random_floats(50 * 20 * 25, 6), want(8 * 50 * 64);
  std::vector<float> ws(lib::convolution_workspace(s));
  lib::convolution(s, x.data(), w.data(), nullptr, want.data(), ws.data());
  std::vector<std::vector<float>> got(4, std::vector<float>(want.size()));
  std::vector<std::thread> threads;
  for (auto& g : got)
    threads.emplace_back([&s, &x, &w, &g] {
      std::vector<float> own_ws(lib::convolution_workspace(s));
      for (int r = 0; r < 20; ++r) lib::convolution(s, x.data(), w.data(), nullptr, g.data(), own_ws.data());
    });
  for (auto& t : threads) t.join();
  for (auto& g : got) CHECK(g == want);
}

TEST_CASE("runtime convolution on Auto: a new batch size reuses the layer's decision and equals the direct loops") {
  // Auto decides at a layer's first batch size; other sizes run that decision (oneDNN: the
  // first size's primitive on slices of its batch, a batch-1 primitive on the rest).
  ImplScope scope(lib::ConvImpl::Auto);
  std::vector<Case> cs = cases();
  cs.push_back(make("resnet-like 3x3", 2, 4, 32, 32, 1, {14, 14}, {3, 3}, {1, 1}, {1, 1}, {1, 1}));
  for (Case c : cs) {
    c.s.in[0] += 1;  // a layer no other test case decided yet
    c.s.out[0] = (c.s.in[0] + 2 * c.s.pad[0] - c.s.dilate[0] * (c.s.k[0] - 1) - 1) / c.s.stride[0] + 1;
    for (int64_t n : {c.s.N, int64_t(3), int64_t(9), int64_t(1)}) {
      Case at = c;
      at.s.N = n;
      check_all(at, true, "Auto at batch " + std::to_string(n));
    }
  }
}
