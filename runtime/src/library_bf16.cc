#include "library_bf16.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <tuple>
#include <vector>
#include <unordered_map>

#include "conv_onednn.h"
#include "gemm.h"
#include "hgc/base/error.h"
#include "onednn_util.h"
#include "hgc/runtime/thread_pool.h"

namespace hgc::lib {

namespace {

using dnnl::memory;

struct Matmul {
  dnnl::matmul prim;
  memory::desc a, b, bias, c;
  size_t scratch_bytes = 0;
};

// `lda`: op(a)'s row stride when transposed (the whole product's M for a row block of it);
// `ldn`: the row stride of C and of b when not transposed (the whole product's N for a
// column block of it).
std::shared_ptr<Matmul> build(int64_t batch, int64_t M, int64_t N, int64_t K, bool ta, bool tb, bool bias,
                              bool f32_out, int64_t lda, int64_t ldn) {
  auto m = std::make_shared<Matmul>();
  auto bf = memory::data_type::bf16;
  m->a = memory::desc({batch, M, K}, bf, ta ? memory::dims{lda * K, 1, lda} : memory::dims{M * K, K, 1});
  m->b = memory::desc({batch, K, N}, bf, tb ? memory::dims{K * N, 1, K} : memory::dims{K * ldn, ldn, 1});
  m->c = memory::desc({batch, M, N}, f32_out ? memory::data_type::f32 : bf, memory::dims{M * ldn, ldn, 1});
  if (bias) m->bias = memory::desc({1, 1, N}, bf, memory::dims{N, N, 1});
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(m->a, m->b, m->bias, m->c), attr, detail::onednn_engine());
  m->scratch_bytes = pd.scratchpad_desc().get_size();
  m->prim = dnnl::matmul(pd);
  return m;
}

}  // namespace

namespace {

float widen(bf16_t v) {
  uint32_t bits = static_cast<uint32_t>(v) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

constexpr int64_t kGrainMacs = int64_t(1) << 22, kOpenmpMacs = int64_t(1) << 28;
// Column blocks start on a 64-byte boundary of a float32 C's rows.
constexpr int64_t kColumnAlign = 16;

// One primitive call on `threads` OpenMP threads (0: as many as the product deserves).
void run_one(const bf16_t* a, const bf16_t* b, const bf16_t* bias, void* c, bool f32_out, int64_t batch, int64_t M,
             int64_t N, int64_t K, bool ta, bool tb, int64_t lda, int64_t ldn, int threads) {
  const int64_t macs = batch * M * N * K;
  if (threads == 0) threads = detail::dnnl_threads_for(macs);
  detail::dnnl_use_threads(threads);
  using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, bool, bool, bool, int, bool, int64_t, int64_t>;
  Key key{batch, M, N, K, ta, tb, bias != nullptr, threads, f32_out, lda, ldn};
  static std::mutex mu;
  static auto* cache = new std::map<Key, std::shared_ptr<Matmul>>();  // alive until exit
  std::shared_ptr<Matmul> m;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache->find(key);
    if (it == cache->end()) {
      try {
        it = cache->emplace(key, build(batch, M, N, K, ta, tb, bias != nullptr, f32_out, lda, ldn)).first;
      } catch (const dnnl::error& e) {
        fail("runtime", "oneDNN rejects the bfloat16 matmul ", batch, "x", M, "x", N, "x", K, ": ", e.what());
      }
    }
    m = it->second;
  }
  thread_local detail::AlignedScratch scratch;
  const dnnl::engine& eng = detail::onednn_engine();
  dnnl::stream& stream = detail::onednn_stream();
  memory am(m->a, eng, const_cast<bf16_t*>(a)), bm(m->b, eng, const_cast<bf16_t*>(b)), cm(m->c, eng, c);
  memory sm(memory::desc({static_cast<memory::dim>(m->scratch_bytes)}, memory::data_type::u8, memory::dims{1}), eng,
            scratch.get(m->scratch_bytes));
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}, {DNNL_ARG_SCRATCHPAD, sm}};
  if (bias) args.emplace(DNNL_ARG_BIAS, memory(m->bias, eng, const_cast<bf16_t*>(bias)));
  m->prim.execute(stream, args);
  stream.wait();
}

}  // namespace

// Blocks of C across the pool: products worth several threads, as column blocks when large
// and wider than tall, else as row blocks. Row blocks of a transposed a are strided column
// blocks in memory, which oneDNN runs slower than its own partition on small products (W2's
// weight gradient: 0.185 ms against 0.072 ms): cut only past kOpenmpMacs (W5's 20108x600x500
// weight gradient: 17.6 ms in row blocks, 29.1 ms in oneDNN's partition, standalone).
int bf16_gemm_threads(int64_t M, int64_t N, int64_t K, bool trans_a) {
  const int64_t macs = M * N * K;
  const int want = ThreadPool::serial_here() ? 1 : ThreadPool::global().parts_for(macs, kGrainMacs);
  if (want <= 1) return 1;
  if (macs >= kOpenmpMacs && N > M) return static_cast<int>(std::min<int64_t>(want, (N + kColumnAlign - 1) / kColumnAlign));
  if (trans_a && macs < kOpenmpMacs) return 1;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(want, M / 16)));
}

namespace {

void matmul_impl(const bf16_t* a, const bf16_t* b, const bf16_t* bias, void* c, bool f32_out, int64_t batch,
                 int64_t M, int64_t N, int64_t K, bool ta, bool tb) {
  if (batch == 0 || M == 0 || N == 0) return;
  if (K == 0) {  // an empty sum: zeros (plus the bias)
    for (int64_t i = 0; i < batch * M * N; ++i) {
      if (f32_out) static_cast<float*>(c)[i] = bias ? widen(bias[i % N]) : 0.0f;
      else static_cast<bf16_t*>(c)[i] = bias ? bias[i % N] : 0;
    }
    return;
  }
  // Threads: a product worth several runs on the runtime's pool as blocks of C, each a
  // single-threaded primitive (gemm.cc says why: OpenMP's wake-up costs 10-70 us per call on a
  // shared machine, more than a small AMX product takes). A block's elements are the same dot
  // products as the whole's. AMX runs ~4x more multiply-adds per second than float32 sgemm, so
  // a part must hold 4x sgemm's grain.
  const int parts = bf16_gemm_threads(M, N, K, ta);
  if (batch != 1 || parts <= 1) {
    const int want = ThreadPool::serial_here() ? 1 : ThreadPool::global().parts_for(batch * M * N * K, kGrainMacs);
    return run_one(a, b, bias, c, f32_out, batch, M, N, K, ta, tb, M, N, want <= 1 ? 1 : 0);
  }
  const int64_t esize = f32_out ? 4 : 2;
  if (M * N * K >= kOpenmpMacs && N > M) {
    // Large products: blocks along the longer side of C, as float32's sgemm (gemm.cc): column
    // blocks here, row blocks below (standalone, W5's products on 2 threads: 16-19 ms either
    // way, 18-30 ms in oneDNN's OpenMP partition).
    const int64_t units = (N + kColumnAlign - 1) / kColumnAlign;
    ThreadPool::global().parallel_for(parts, [&](int p) {
      const int64_t j0 = std::min(N, units * p / parts * kColumnAlign);
      const int64_t j1 = std::min(N, units * (p + 1) / parts * kColumnAlign);
      if (j1 > j0)
        run_one(a, tb ? b + j0 * K : b + j0, bias ? bias + j0 : nullptr, static_cast<char*>(c) + j0 * esize, f32_out,
                1, M, j1 - j0, K, ta, tb, M, N, 1);
    });
    return;
  }
  const int64_t rows = (M + parts - 1) / parts;
  ThreadPool::global().parallel_for(parts, [&](int p) {
    int64_t r0 = p * rows, r1 = std::min(M, r0 + rows);
    if (r0 >= r1) return;
    run_one(ta ? a + r0 : a + r0 * K, b, bias, static_cast<char*>(c) + r0 * N * esize, f32_out, 1, r1 - r0, N, K, ta,
            tb, M, N, 1);
  });
}

}  // namespace

void bf16_matmul(const bf16_t* a, const bf16_t* b, const bf16_t* bias, bf16_t* c, int64_t batch, int64_t M,
                 int64_t N, int64_t K, bool ta, bool tb) {
  matmul_impl(a, b, bias, c, false, batch, M, N, K, ta, tb);
}

void bf16_matmul_f32_out(const bf16_t* a, const bf16_t* b, const bf16_t* bias, float* c, int64_t batch, int64_t M,
                         int64_t N, int64_t K, bool ta, bool tb) {
  matmul_impl(a, b, bias, c, true, batch, M, N, K, ta, tb);
}

namespace {

// [b, e) of n elements across the pool (bandwidth-bound loops: 2^16 elements per part).
void split_loop(int64_t n, const std::function<void(int64_t, int64_t)>& run) {
  const int parts = ThreadPool::serial_here() ? 1 : ThreadPool::global().parts_for(n, int64_t(1) << 16);
  if (parts <= 1) return run(0, n);
  const int64_t chunk = (n + parts - 1) / parts;
  ThreadPool::global().parallel_for(parts, [&](int p) { run(p * chunk, std::min(n, (p + 1) * chunk)); });
}

void widen_into(const bf16_t* in, float* out, int64_t n) {
  split_loop(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) out[i] = widen(in[i]);
  });
}

// Rounds as the Cast op does (to nearest even; NaN stays a quiet NaN).
void narrow_into(const float* in, bf16_t* out, int64_t n) {
  split_loop(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      uint32_t x;
      std::memcpy(&x, &in[i], sizeof x);
      out[i] = (x & 0x7FFFFFFFu) > 0x7F800000u ? static_cast<bf16_t>((x >> 16) | 0x0040u)
                                               : static_cast<bf16_t>((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);
    }
  });
}

// The call on widened operands through the float32 convolution (its own Auto choice of
// im2col + sgemm or a float32 primitive), the result rounded once. oneDNN's bfloat16
// backward-weights primitive is slower than that on LeNet's shapes (1 and 20 input channels:
// 1.1 and 1.4 ms against 0.5 and 1.3 ms in float32, AMX box): there the measurement below
// picks this. Both accumulate in float32.
void run_widened(ConvDirection dir, const ConvShape& s, const bf16_t* a, const bf16_t* b, const bf16_t* bias,
                 bf16_t* out) {
  int64_t in_sp = 1, out_sp = 1, k_sp = 1;
  for (int d = 0; d < s.nsp; ++d) in_sp *= s.in[d], out_sp *= s.out[d], k_sp *= s.k[d];
  const int64_t x = s.N * s.C * in_sp, y = s.N * s.O * out_sp, w = s.O * (s.C / s.groups) * k_sp;
  const int64_t na = dir == ConvDirection::Forward ? x : y, nb = dir == ConvDirection::WeightGrad ? x : w;
  const int64_t nout = dir == ConvDirection::Forward ? y : dir == ConvDirection::DataGrad ? x : w;
  const int64_t nbias = bias ? s.O : 0;
  thread_local std::vector<float> buf;
  const size_t need = static_cast<size_t>(na + nb + nbias + nout + convolution_workspace(s));
  if (buf.size() < need) buf.resize(need);
  float *fa = buf.data(), *fb = fa + na, *fbias = fb + nb, *fout = fbias + nbias, *ws = fout + nout;
  widen_into(a, fa, na);
  widen_into(b, fb, nb);
  if (bias) widen_into(bias, fbias, nbias);
  switch (dir) {
    case ConvDirection::Forward: convolution(s, fa, fb, bias ? fbias : nullptr, fout, ws); break;
    case ConvDirection::DataGrad: conv_data_grad(s, fa, fb, fout, ws); break;
    case ConvDirection::WeightGrad: conv_weight_grad(s, fa, fb, fout, ws); break;
  }
  narrow_into(fout, out, nout);
}

// convs.choice for run_widened (3 + layout: that bfloat16 primitive).
constexpr int kWidened = 5;

}  // namespace

void bf16_convolution_widened(ConvDirection dir, const ConvShape& s, const bf16_t* a, const bf16_t* b,
                              const bf16_t* bias, bf16_t* out) {
  run_widened(dir, s, a, b, bias, out);
}

void bf16_convolution(ConvDirection dir, const ConvShape& s, const bf16_t* a, const bf16_t* b, const bf16_t* bias,
                      bf16_t* out) {
  detail::OnednnConvs& convs = detail::onednn_convs(dir, s, bias != nullptr, true);
  const bool auto_impl = conv_impl() == ConvImpl::Auto;
  if (!convs.layout[0] && !convs.layout[1]) {
    if (auto_impl && s.N > 0) return run_widened(dir, s, a, b, bias, out);
    fail("runtime", "oneDNN has no bfloat16 convolution for this shape (", s.N, "x", s.C, " -> ", s.O, ")");
  }
  // The pointers travel as float* through ConvOperands; the primitive reads bfloat16.
  const detail::ConvOperands ops{reinterpret_cast<const float*>(a), reinterpret_cast<const float*>(b),
                                 reinterpret_cast<const float*>(bias), reinterpret_cast<float*>(out)};
  // Which computes fastest (oneDNN's blocked activation layout, channels-last - each reorders
  // the plain operands differently - or, under the Auto policy, the widened float32 call) is
  // measured once per shape and direction, on the call's own operands (each direction
  // overwrites its whole output), as the float32 Auto policy does (library_conv.cc). Every
  // call of a shape, the measuring one included, then runs the winner: the same bits.
  std::call_once(convs.measured, [&] {
    std::vector<std::function<void()>> run;
    std::vector<int> id;
    for (int l = 0; l < 2; ++l)
      if (convs.layout[l]) run.push_back([&, l] { detail::run_onednn_conv(*convs.layout[l], ops); }), id.push_back(3 + l);
    if (auto_impl && s.N > 0) {
      run_widened(dir, s, a, b, bias, out);  // the float32 path makes its own choice first
      run.push_back([&] { run_widened(dir, s, a, b, bias, out); });
      id.push_back(kWidened);
    }
    int best = id[0];
    if (run.size() > 1) {
      std::vector<double> t(run.size(), 1e30);
      double spent = 0;
      for (int r = 0; r < 6 && (r < 2 || spent < 0.05); ++r)  // more rounds for quick calls (library_conv.cc)
        for (size_t k = 0; k < run.size(); ++k) {
          auto t0 = std::chrono::steady_clock::now();
          run[k]();
          double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          t[k] = std::min(t[k], dt), spent += dt;
        }
      // A channels-last primitive or the widened path only where clearly faster (5%) than
      // oneDNN's own choice.
      size_t k_best = 0;
      for (size_t k = 1; k < run.size(); ++k)
        if (t[k] < 0.95 * t[k_best]) k_best = k;
      best = id[k_best];
      static const bool verbose = std::getenv("HGC_CONV_LOG") != nullptr;
      if (verbose) {
        std::string log;
        for (size_t k = 0; k < run.size(); ++k)
          log += std::string(id[k] == 3 ? " any " : id[k] == 4 ? " nhwc " : " widened ") + std::to_string(t[k] * 1e3);
        std::fprintf(stderr, "hgc conv bfloat16 %s N%lld C%lld O%lld in%lld:%s ms -> %s\n",
                     dir == ConvDirection::Forward ? "forward" : dir == ConvDirection::DataGrad ? "data grad" : "weight grad",
                     static_cast<long long>(s.N), static_cast<long long>(s.C), static_cast<long long>(s.O),
                     static_cast<long long>(s.in[0]), log.c_str(), best == 3 ? "any" : best == 4 ? "nhwc" : "widened");
      }
    }
    convs.choice = best;
  });
  const int choice = convs.choice.load(std::memory_order_relaxed);
  if (choice == kWidened) return run_widened(dir, s, a, b, bias, out);
  detail::run_onednn_conv(*convs.layout[choice - 3], ops);
}

}  // namespace hgc::lib
