#include "raw_bounds.h"

#include <cblas.h>
#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <thread>

namespace hgc::bench {

namespace {

struct Gemm {
  bool ta, tb;
  int64_t M, N, K;
};

// A dense layer in -> out at batch B: forward y = x W^T, weight gradient dW = dy^T x, and
// (unless it is the first layer) the data gradient dx = dy W.
void layer(std::vector<Gemm>& g, int64_t B, int64_t in, int64_t out, bool train, bool first) {
  g.push_back({false, true, B, out, in});
  if (!train) return;
  g.push_back({true, false, out, in, B});
  if (!first) g.push_back({false, false, B, in, out});
}

std::vector<Gemm> mlp(int64_t B, const std::vector<int64_t>& widths, bool train) {
  std::vector<Gemm> g;
  for (size_t i = 0; i + 1 < widths.size(); ++i) layer(g, B, widths[i], widths[i + 1], train, i == 0);
  return g;
}

void set_openmp_threads(int n) {
  using SetThreads = void (*)(int);
  static SetThreads set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  if (set) set(n);
}

using Clock = std::chrono::steady_clock;

std::vector<double> time_batches(const std::function<void()>& fn, int inner, int runs, int warmup) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> r;
  for (int k = 0; k < runs; ++k) {
    auto t0 = Clock::now();
    for (int i = 0; i < inner; ++i) fn();
    r.push_back(std::chrono::duration<double>(Clock::now() - t0).count() / inner);
  }
  return r;
}

// Times one step of `gemms` (each on its own operands) through both libraries.
void gemm_rows(std::vector<RawFigure>& out, const std::string& w, const std::string& name, const std::vector<Gemm>& gs,
               int repeat, int inner, int runs, int threads) {
  struct Ops {
    std::vector<float> a, b, c;
  };
  std::vector<Ops> ops;
  for (const Gemm& g : gs)
    ops.push_back({std::vector<float>(g.M * g.K, 0.01f), std::vector<float>(g.K * g.N, 0.02f),
                   std::vector<float>(g.M * g.N)});
  for (const char* lib : {"onednn", "openblas"}) {
    const bool dnnl = std::string(lib) == "onednn";
    set_openmp_threads(threads);
    openblas_set_num_threads(threads);
    auto step = [&] {
      for (int r = 0; r < repeat; ++r)
        for (size_t i = 0; i < gs.size(); ++i) {
          const Gemm& g = gs[i];
          const int64_t lda = g.ta ? g.M : g.K, ldb = g.tb ? g.K : g.N;
          if (dnnl)
            dnnl_sgemm(g.ta ? 'T' : 'N', g.tb ? 'T' : 'N', g.M, g.N, g.K, 1.f, ops[i].a.data(), lda, ops[i].b.data(),
                       ldb, 0.f, ops[i].c.data(), g.N);
          else
            cblas_sgemm(CblasRowMajor, g.ta ? CblasTrans : CblasNoTrans, g.tb ? CblasTrans : CblasNoTrans, g.M, g.N,
                        g.K, 1.f, ops[i].a.data(), lda, ops[i].b.data(), ldb, 0.f, ops[i].c.data(), g.N);
        }
    };
    out.push_back({w, name, lib, time_batches(step, inner, runs, 2)});
  }
}

}  // namespace

std::vector<RawFigure> raw_bounds(bool quick, int runs, int threads) {
  if (threads < 1) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<RawFigure> out;
  // W1: the Straight Dope MLP's weights (512x256 + 256x128 + 128x2 floats, 641 KiB) read once
  // per forward, 1000 forwards; they stay in L2 between reads (one core's read rate).
  {
    std::vector<float> wts(512 * 256 + 256 * 128 + 128 * 2, 0.5f);
    volatile float sink = 0;
    auto read = [&] {
      for (int f = 0; f < 1000; ++f) {
        // 64 independent lanes: the loop over them vectorizes without reassociating a sum.
        float acc[64] = {};
        const float* p = wts.data();
        const size_t n = wts.size() / 64 * 64;
        for (size_t i = 0; i < n; i += 64)
          for (int j = 0; j < 64; ++j) acc[j] += p[i + j];
        float s = 0;
        for (float a : acc) s += a;
        sink = sink + s;
      }
    };
    out.push_back({"W1", "mlp512 b=1 x1000 fwd", "l2-read", time_batches(read, 1, runs, 2)});
  }
  gemm_rows(out, "W1b", "mlp512 b=64 x1000 fwd", mlp(64, {512, 256, 128, 2}, false), 1000, 1, runs, threads);
  gemm_rows(out, "W2", "mlp784 b=64 train step", mlp(64, {784, 256, 128, 10}, true), 1, quick ? 5 : 100, runs, threads);
  // Mult-VAE: the encoder 20108 -> 600 -> 400 (mu, logvar), the decoder 200 -> 600 -> 20108
  // with its data gradient into z.
  std::vector<Gemm> vae = mlp(500, {20108, 600, 400}, true);
  layer(vae, 500, 200, 600, true, false);
  layer(vae, 500, 600, 20108, true, false);
  gemm_rows(out, "W5d", "multivae b=500 train step, dense", vae, 1, 1, runs, threads);
  return out;
}

}  // namespace hgc::bench
