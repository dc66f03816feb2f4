// Issue 16's W1b scaling question as a micro-benchmark: the Straight Dope MLP's forward at
// batch 64 (64x512 -> Dense(256, relu) -> Dense(128, relu) -> Dense(2)), 1000 forwards, on
// 1 thread and on 2, through each way the runtime could run its GEMMs:
//   sgemm      oneDNN's dnnl_sgemm (packs the weight matrix on every call), bias seeded, relu after
//   prim       a oneDNN matmul primitive whose weights were reordered ONCE to its preferred
//              blocked layout (format_tag::any), bias and relu fused as its attributes
//   openblas   cblas_sgemm on OpenBLAS's own threads
// and on 2 threads as row blocks or column blocks of each layer's C (a barrier per layer), or
// as the whole forward split by rows (one region per forward, no barrier between layers).
// Configurations alternate within each round, so load drifts hit all of them alike.
//
//   hgc_bench_gemm_scaling [--rounds N] [--forwards N]
#include <cblas.h>
#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <immintrin.h>
#include <map>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using dnnl::memory;

void set_omp(int n) {
  using Fn = void (*)(int);
  static Fn f = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  if (f) f(n);
}

// Caller + one spinning worker: a part handed over costs well under a microsecond.
class Pair {
 public:
  Pair() : worker_([this] { loop(); }) {}
  ~Pair() {
    stop_ = true;
    epoch_.fetch_add(1);
    worker_.join();
  }
  void run(const std::function<void(int)>& fn) {
    fn_ = &fn;
    done_.store(false, std::memory_order_relaxed);
    epoch_.fetch_add(1, std::memory_order_release);
    fn(0);
    while (!done_.load(std::memory_order_acquire)) _mm_pause();
  }

 private:
  void loop() {
    set_omp(1);
    uint64_t seen = 0;
    for (;;) {
      while (epoch_.load(std::memory_order_acquire) == seen) _mm_pause();
      seen = epoch_.load();
      if (stop_) return;
      (*fn_)(1);
      done_.store(true, std::memory_order_release);
    }
  }
  std::atomic<uint64_t> epoch_{0};
  std::atomic<bool> done_{true};
  std::atomic<bool> stop_{false};
  const std::function<void(int)>* fn_ = nullptr;
  std::thread worker_;
};

struct Layer {
  int64_t K, N;
  bool relu;
  std::vector<float> w, b;  // w [N, K] (Gluon's Dense weight), b [N]
};

// y[M,N] = x[M,K] . w^T + b (relu) by dnnl_sgemm on rows [i0,i1) and columns [j0,j1).
void sgemm_block(const Layer& L, const float* x, float* y, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  const int64_t N = L.N, K = L.K;
  for (int64_t i = i0; i < i1; ++i) std::memcpy(y + i * N + j0, L.b.data() + j0, sizeof(float) * (j1 - j0));
  dnnl_sgemm('N', 'T', i1 - i0, j1 - j0, K, 1.f, x + i0 * K, K, L.w.data() + j0 * K, K, 1.f, y + i0 * N + j0, N);
  if (L.relu)
    for (int64_t i = i0; i < i1; ++i)
      for (int64_t j = j0; j < j1; ++j) y[i * N + j] = std::max(y[i * N + j], 0.f);
}

void openblas_layer(const Layer& L, const float* x, float* y, int64_t M) {
  const int64_t N = L.N, K = L.K;
  for (int64_t i = 0; i < M; ++i) std::memcpy(y + i * N, L.b.data(), sizeof(float) * N);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.f, x, K, L.w.data(), K, 1.f, y, N);
  if (L.relu)
    for (int64_t i = 0; i < M * N; ++i) y[i] = std::max(y[i], 0.f);
}

const dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

// A matmul primitive for rows [i0,i1) x columns [j0,j1) of one layer, its weights (that
// column block of w^T) reordered once into the layout the primitive chose.
struct Prim {
  dnnl::matmul prim;
  memory::desc src, dst;
  memory wts, bias;
  int64_t i0, j0, K, N;
  Prim(const Layer& L, int64_t rows, int64_t i0_, int64_t j0, int64_t j1, bool fuse)
      : i0(i0_), j0(j0), K(L.K), N(L.N) {
    const int64_t n = j1 - j0;
    src = memory::desc({rows, K}, memory::data_type::f32, memory::dims{K, 1});
    dst = memory::desc({rows, n}, memory::data_type::f32, memory::dims{N, 1});
    memory::desc wuser({K, n}, memory::data_type::f32, memory::dims{1, K});  // w^T's columns j0..
    memory::desc wany({K, n}, memory::data_type::f32, memory::format_tag::any);
    memory::desc bd({1, n}, memory::data_type::f32, memory::format_tag::ab);
    dnnl::primitive_attr attr;
    if (fuse && L.relu) {
      dnnl::post_ops po;
      po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
      attr.set_post_ops(po);
    }
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, wany, bd, dst), attr, engine());
    prim = dnnl::matmul(pd);
    wts = memory(pd.weights_desc(), engine());
    memory user(wuser, engine(), const_cast<float*>(L.w.data() + j0 * K));
    dnnl::stream s(engine());
    dnnl::reorder(user, wts).execute(s, user, wts);
    s.wait();
    bias = memory(bd, engine(), const_cast<float*>(L.b.data() + j0));
  }
  void run(const float* x, float* y) const {
    thread_local dnnl::stream s(engine());
    memory xm(src, engine(), const_cast<float*>(x + i0 * K)), ym(dst, engine(), y + i0 * N + j0);
    prim.execute(s, {{DNNL_ARG_SRC, xm}, {DNNL_ARG_WEIGHTS, wts}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, ym}});
  }
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Peak multiply-add rate of one thread (8 independent 16-wide FMA chains), GFLOP/s: run on
// both threads at once it tells whether the two are separate cores.
[[gnu::target("avx512f")]] double fma_rate(double seconds) {
  __m512 a[8];
  for (int i = 0; i < 8; ++i) a[i] = _mm512_set1_ps(1.f + i * 1e-7f);
  const __m512 m = _mm512_set1_ps(0.9999999f), c = _mm512_set1_ps(1e-7f);
  int64_t iters = 0;
  auto t0 = Clock::now();
  double el = 0;
  do {
    for (int r = 0; r < 100000; ++r)
      for (int i = 0; i < 8; ++i) {
        a[i] = _mm512_fmadd_ps(a[i], m, c);
        asm volatile("" : "+v"(a[i]));  // keeps every multiply-add
      }
    iters += 100000;
    el = std::chrono::duration<double>(Clock::now() - t0).count();
  } while (el < seconds);
  float sink = 0;
  for (int i = 0; i < 8; ++i) sink += _mm512_reduce_add_ps(a[i]);
  if (sink == 42.f) std::puts("");
  return iters * 8.0 * 16 * 2 / el / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 9, forwards = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--forwards")) forwards = std::atoi(argv[i + 1]);
  }
  set_omp(1);
  openblas_set_num_threads(1);
  const int64_t M = 64;
  std::vector<Layer> net{{512, 256, true, {}, {}}, {256, 128, true, {}, {}}, {128, 2, false, {}, {}}};
  srand(1);
  for (Layer& L : net) {
    L.w.resize(L.N * L.K);
    L.b.resize(L.N);
    for (float& v : L.w) v = (rand() / float(RAND_MAX) - 0.5f) * 0.1f;
    for (float& v : L.b) v = (rand() / float(RAND_MAX) - 0.5f) * 0.1f;
  }
  std::vector<float> x(M * 512);
  for (float& v : x) v = rand() / float(RAND_MAX) - 0.5f;
  std::vector<std::vector<float>> act(4);
  act[0] = x;
  for (int l = 0; l < 3; ++l) act[l + 1].resize(M * net[l].N);

  // Primitives: whole (1 thread), row halves, column halves (64-byte aligned split).
  std::vector<std::unique_ptr<Prim>> whole, rows[2], cols[2], whole_unfused;
  for (const Layer& L : net) {
    whole.push_back(std::make_unique<Prim>(L, M, 0, 0, L.N, true));
    whole_unfused.push_back(std::make_unique<Prim>(L, M, 0, 0, L.N, false));
    for (int p = 0; p < 2; ++p) {
      rows[p].push_back(std::make_unique<Prim>(L, M / 2, p * M / 2, 0, L.N, true));
      const int64_t h = L.N >= 32 ? L.N / 2 : L.N;
      cols[p].push_back(std::make_unique<Prim>(L, M, 0, p ? h : 0, p ? L.N : h, true));
    }
  }
  Pair pair;
  auto X = [&](int l) { return act[l].data(); };
  auto Y = [&](int l) { return act[l + 1].data(); };

  std::map<std::string, std::function<void()>> cfg;
  std::vector<std::string> order;
  auto add = [&](const std::string& name, std::function<void()> f) {
    order.push_back(name);
    cfg[name] = std::move(f);
  };
  // One forward each.
  add("1t sgemm", [&] {
    for (int l = 0; l < 3; ++l) sgemm_block(net[l], X(l), Y(l), 0, M, 0, net[l].N);
  });
  add("1t prim", [&] {
    for (int l = 0; l < 3; ++l) whole[l]->run(X(l), Y(l));
  });
  add("1t prim, relu apart", [&] {
    for (int l = 0; l < 3; ++l) {
      whole_unfused[l]->run(X(l), Y(l));
      if (net[l].relu)
        for (int64_t i = 0; i < M * net[l].N; ++i) Y(l)[i] = std::max(Y(l)[i], 0.f);
    }
  });
  add("1t openblas", [&] {
    openblas_set_num_threads(1);
    for (int l = 0; l < 3; ++l) openblas_layer(net[l], X(l), Y(l), M);
  });
  add("2t sgemm rows/layer", [&] {
    for (int l = 0; l < 3; ++l)
      pair.run([&](int p) { sgemm_block(net[l], X(l), Y(l), p * M / 2, (p + 1) * M / 2, 0, net[l].N); });
  });
  add("2t sgemm cols/layer", [&] {
    for (int l = 0; l < 3; ++l) {
      const int64_t N = net[l].N, h = N >= 32 ? N / 2 : N;
      if (h == N) {
        sgemm_block(net[l], X(l), Y(l), 0, M, 0, N);
        continue;
      }
      pair.run([&](int p) { sgemm_block(net[l], X(l), Y(l), 0, M, p ? h : 0, p ? N : h); });
    }
  });
  add("2t sgemm rows/forward", [&] {
    pair.run([&](int p) {
      for (int l = 0; l < 3; ++l) sgemm_block(net[l], X(l), Y(l), p * M / 2, (p + 1) * M / 2, 0, net[l].N);
    });
  });
  add("2t prim rows/layer", [&] {
    for (int l = 0; l < 3; ++l) pair.run([&](int p) { rows[p][l]->run(X(l), Y(l)); });
  });
  add("2t prim cols/layer", [&] {
    for (int l = 0; l < 3; ++l) {
      if (net[l].N < 32) {
        whole[l]->run(X(l), Y(l));
        continue;
      }
      pair.run([&](int p) { cols[p][l]->run(X(l), Y(l)); });
    }
  });
  add("2t prim rows/forward", [&] {
    pair.run([&](int p) {
      for (int l = 0; l < 3; ++l) rows[p][l]->run(X(l), Y(l));
    });
  });
  add("2t openblas", [&] {
    openblas_set_num_threads(2);
    for (int l = 0; l < 3; ++l) openblas_layer(net[l], X(l), Y(l), M);
  });

  // Per layer (1 thread vs 2 threads), the first two layers only.
  for (int l = 0; l < 2; ++l) {
    const std::string s = "L" + std::to_string(l + 1) + " ";
    add(s + "1t sgemm", [&, l] { sgemm_block(net[l], X(l), Y(l), 0, M, 0, net[l].N); });
    add(s + "1t prim", [&, l] { whole[l]->run(X(l), Y(l)); });
    add(s + "2t sgemm rows", [&, l] {
      pair.run([&](int p) { sgemm_block(net[l], X(l), Y(l), p * M / 2, (p + 1) * M / 2, 0, net[l].N); });
    });
    add(s + "2t sgemm cols", [&, l] {
      const int64_t N = net[l].N;
      pair.run([&](int p) { sgemm_block(net[l], X(l), Y(l), 0, M, p ? N / 2 : 0, p ? N : N / 2); });
    });
    add(s + "2t prim rows", [&, l] { pair.run([&](int p) { rows[p][l]->run(X(l), Y(l)); }); });
    add(s + "2t prim cols", [&, l] { pair.run([&](int p) { cols[p][l]->run(X(l), Y(l)); }); });
  }

  // Values: every way against 1t sgemm.
  cfg["1t sgemm"]();
  std::vector<float> ref = act[3];
  std::vector<float> ref1 = act[1];
  for (const std::string& n : order) {
    if (n[0] == 'L') continue;
    std::fill(act[3].begin(), act[3].end(), 0.f);
    cfg[n]();
    double d = 0;
    for (size_t i = 0; i < ref.size(); ++i) d = std::max(d, double(std::abs(ref[i] - act[3][i])));
    std::printf("check %-24s max |diff| vs 1t sgemm %.3g\n", n.c_str(), d);
  }

  if (__builtin_cpu_supports("avx512f")) {
    std::printf("FMA peak, 1 thread alone: %.1f GFLOP/s\n", fma_rate(0.5));
    double r[2];
    std::thread t([&] { r[1] = fma_rate(0.5); });
    r[0] = fma_rate(0.5);
    t.join();
    std::printf("FMA peak, 2 threads at once: %.1f + %.1f GFLOP/s\n", r[0], r[1]);
  }

  std::map<std::string, std::vector<double>> ms;
  for (auto& [n, f] : cfg)
    for (int i = 0; i < 20; ++i) f();  // warm-up
  for (int r = 0; r < rounds; ++r)
    for (const std::string& n : order) {
      auto t0 = Clock::now();
      for (int i = 0; i < forwards; ++i) cfg[n]();
      ms[n].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count() * 1000.0 / forwards);
    }
  std::printf("%-26s %10s %10s %10s   (ms per 1000 forwards / calls, %d rounds)\n", "way", "median", "min", "max",
              rounds);
  for (const std::string& n : order) {
    auto v = ms[n];
    std::printf("%-26s %10.2f %10.2f %10.2f\n", n.c_str(), median(v), *std::min_element(v.begin(), v.end()),
                *std::max_element(v.begin(), v.end()));
  }
  return 0;
}
