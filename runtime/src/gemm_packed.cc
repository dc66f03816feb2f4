// Fully connected layers on weights packed once (issue 16, W1b's scaling). oneDNN's sgemm
// packs the whole weight matrix into its panel layout on every call: at a 64-row batch that
// copy is a fifth of the work, and a product cut into row blocks pays it once per block, so
// 2 threads gained only ~1.4x. Here, for weights in an announced stable buffer (a Parameter's
// values, a loaded plan's constants: hgc/runtime/stable_buffers.h), a oneDNN matmul
// primitive's weights are reordered once into the blocked layout it prefers (format_tag::any)
// and kept until the buffer's next announced write. Measured with bench/gemm_scaling.cc
// (the W1b MLP, 1000 forwards, 2-core AMD EPYC with AVX-512): dnnl_sgemm 131 ms on 1 thread,
// 93-96 ms on 2; packed primitive 106 ms on 1 thread, 61-65 ms on 2 (row blocks).
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "gemm.h"
#include "hgc/runtime/stable_buffers.h"
#include "hgc/runtime/thread_pool.h"
#include "onednn_util.h"

namespace hgc::lib::detail {

namespace {

using dnnl::memory;

// Row blocks below this many rows lose more to the primitive's per-block cost than the second
// thread gains (the weights are read whole by every block).
constexpr int64_t kMinBlockRows = 16;
// Past this many rows sgemm's per-call packing is a small share of the product, and row blocks
// would each stream the whole weight matrix (Mult-VAE's 500 x 600 x 20108 training step ran
// 226 -> 350 ms on 2 threads this way, column blocks of sgemm read half each): sgemm's path.
constexpr int64_t kMaxRows = 256;
// Weights past this size are left to sgemm too: Mult-VAE's 48 MB ones still lost at chunks of
// 250 rows (245 -> 357 ms a training step on 2 threads), where streaming them dominates.
constexpr int64_t kMaxWeightBytes = int64_t(4) << 20;

struct FcPrim {
  dnnl::matmul prim;
  memory::desc src, wts, bias, dst;
  int64_t rows = 0;
  size_t scratch_bytes = 0;
};

// y[rows, N] = x[rows, K] . w^T (+ b), y and x row-major and contiguous, on one thread; the
// weights in the primitive's preferred layout, or (`plain`) as they are, w [N, K] row-major.
std::shared_ptr<FcPrim> build(int64_t rows, int64_t N, int64_t K, bool has_bias, bool plain) {
  auto f = std::make_shared<FcPrim>();
  f->src = memory::desc({rows, K}, memory::data_type::f32, memory::dims{K, 1});
  f->dst = memory::desc({rows, N}, memory::data_type::f32, memory::dims{N, 1});
  memory::desc any = plain ? memory::desc({K, N}, memory::data_type::f32, memory::dims{1, K})
                           : memory::desc({K, N}, memory::data_type::f32, memory::format_tag::any);
  if (has_bias) f->bias = memory::desc({1, N}, memory::data_type::f32, memory::dims{N, 1});
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl_use_threads(1);  // oneDNN sizes a primitive's work split for the creating thread's count
  auto d = has_bias ? dnnl::matmul::desc(f->src, any, f->bias, f->dst) : dnnl::matmul::desc(f->src, any, f->dst);
  dnnl::matmul::primitive_desc pd(d, attr, onednn_engine());
  f->wts = pd.weights_desc();
  f->rows = rows;
  f->scratch_bytes = pd.scratchpad_desc().get_size();
  f->prim = dnnl::matmul(pd);
  return f;
}

// Cached per shape; null where oneDNN rejects it.
std::shared_ptr<FcPrim> primitive(int64_t rows, int64_t N, int64_t K, bool has_bias, bool plain) {
  using Key = std::tuple<int64_t, int64_t, int64_t, bool, bool>;
  static std::mutex mu;
  static auto* cache = new std::map<Key, std::shared_ptr<FcPrim>>();  // alive until exit
  std::lock_guard<std::mutex> lock(mu);
  Key key{rows, N, K, has_bias, plain};
  auto it = cache->find(key);
  if (it == cache->end()) {
    if (cache->size() > 256) cache->clear();  // bounded: many batch sizes build again
    std::shared_ptr<FcPrim> f;
    try {
      f = build(rows, N, K, has_bias, plain);
    } catch (const dnnl::error&) {
    }
    it = cache->emplace(key, f).first;
  }
  return it->second;
}

// The weights w [N, K] (w^T seen as (K, N)) reordered into `f`'s layout.
std::shared_ptr<const memory> pack(const FcPrim& f, const float* w, int64_t N, int64_t K) {
  const dnnl::engine& eng = onednn_engine();
  memory user(memory::desc({K, N}, memory::data_type::f32, memory::dims{1, K}), eng, const_cast<float*>(w));
  auto packed = std::make_shared<memory>(f.wts, eng);
  dnnl_use_threads(1);
  dnnl::reorder(user, *packed).execute(onednn_stream(), user, *packed);
  onednn_stream().wait();
  return packed;
}

void run(const FcPrim& f, const memory& wts, const float* x, const float* b, float* y) {
  thread_local AlignedScratch scratch;  // per thread: concurrent blocks never share one
  const dnnl::engine& eng = onednn_engine();
  dnnl::stream& stream = onednn_stream();
  memory xm(f.src, eng, const_cast<float*>(x)), ym(f.dst, eng, y);
  memory sm(memory::desc({static_cast<memory::dim>(f.scratch_bytes)}, memory::data_type::u8, memory::dims{1}), eng,
            scratch.get(f.scratch_bytes));
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, xm}, {DNNL_ARG_WEIGHTS, wts}, {DNNL_ARG_DST, ym}, {DNNL_ARG_SCRATCHPAD, sm}};
  if (b) args.emplace(DNNL_ARG_BIAS, memory(f.bias, eng, const_cast<float*>(b)));
  dnnl_use_threads(1);
  f.prim.execute(stream, args);
  stream.wait();
}

// A primitive's argument memories made once and pointed at each call's buffers: a call of
// run() above makes four dnnl::memory objects (oneDNN allocates each) and a hash map, a
// few microseconds per layer that every row block pays again (W1b's forward at 2 threads is
// ~30 us per block). The packed weights' memory is shared, the rest are this binding's own.
struct Bound {
  memory x, y, b, s;
  std::unordered_map<int, memory> args;
};

std::shared_ptr<Bound> bind(const FcPrim& f, const memory& wts, bool has_bias) {
  const dnnl::engine& eng = onednn_engine();
  auto r = std::make_shared<Bound>();
  r->x = memory(f.src, eng, nullptr);
  r->y = memory(f.dst, eng, nullptr);
  r->s = memory(memory::desc({static_cast<memory::dim>(f.scratch_bytes)}, memory::data_type::u8, memory::dims{1}), eng,
                nullptr);
  r->args = {{DNNL_ARG_SRC, r->x}, {DNNL_ARG_WEIGHTS, wts}, {DNNL_ARG_DST, r->y}, {DNNL_ARG_SCRATCHPAD, r->s}};
  if (has_bias) {
    r->b = memory(f.bias, eng, nullptr);
    r->args.emplace(DNNL_ARG_BIAS, r->b);
  }
  return r;
}

// run() on a binding: the same primitive on the same buffers, so the same bits. One thread
// uses a binding at a time (a memo's, below, is its thread's; a part's runs on one thread).
void run(const FcPrim& f, Bound& r, const float* x, const float* b, float* y) {
  thread_local AlignedScratch scratch;
  r.x.set_data_handle(const_cast<float*>(x));
  r.y.set_data_handle(y);
  r.s.set_data_handle(scratch.get(f.scratch_bytes));
  if (b) r.b.set_data_handle(const_cast<float*>(b));
  dnnl_use_threads(1);
  f.prim.execute(onednn_stream(), r.args);
  onednn_stream().wait();
}

std::string packed_env() {
  const char* v = std::getenv("HGC_PACKED_WEIGHTS");
  return v ? std::string(v) : std::string();
}

std::atomic<bool> g_packed_parameters{packed_env() == "on" || packed_env() == "1"};

}  // namespace

namespace {
// HGC_PACKED_WEIGHTS=off: the sgemm path only (for paired comparisons).
bool packed_on() {
  static const bool on = packed_env() != "off" && packed_env() != "0";
  return on;
}
}  // namespace

bool packed_fully_connected_takes(const float* w, int64_t M, int64_t N, int64_t K) {
  return packed_on() && M > 4 && M <= kMaxRows && N * K * int64_t(sizeof(float)) <= kMaxWeightBytes &&
         stable::find(w, sizeof(float) * static_cast<size_t>(N * K)) != nullptr;
}

void prepare_packed_fully_connected(int64_t M, int64_t N, int64_t K, bool has_bias) {
  if (!packed_on() || M > kMaxRows || N * K * int64_t(sizeof(float)) > kMaxWeightBytes) return;
  // The row blocks packed_fully_connected cuts M into (the same arithmetic), each in both
  // forms: plain (a generation's first call) and packed (the calls after).
  int parts = dnnl_threads_for(M * N * K);
  parts = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(parts, M / kMinBlockRows)));
  for (int p = 0; p < parts; ++p) {
    const int64_t rows = M * (p + 1) / parts - M * p / parts;
    for (bool plain : {true, false}) primitive(rows, N, K, has_bias, plain);
  }
}

bool packed_fully_connected(const float* x, const float* w, const float* b, float* y, int64_t M, int64_t N,
                            int64_t K) {
  if (!packed_on() || M > kMaxRows || N * K * int64_t(sizeof(float)) > kMaxWeightBytes) return false;
  std::shared_ptr<stable::Range> range = stable::find(w, sizeof(float) * static_cast<size_t>(N * K));
  if (!range) return false;
  int parts = dnnl_threads_for(M * N * K);
  parts = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(parts, M / kMinBlockRows)));
  // The last packed call's primitives and weights per thread and shape: a forward's layers
  // come back each call, and the lookups below (keys built as strings, two locks) cost a few
  // microseconds per layer, which a 64-row forward split over 2 threads pays on every block.
  struct Memo {
    const float* w = nullptr;
    int64_t M = 0, N = 0, K = 0;
    int parts = 0;
    bool bias = false;
    std::weak_ptr<stable::Range> range;
    uint64_t gen = 0;
    std::vector<std::shared_ptr<FcPrim>> prims;
    std::vector<std::shared_ptr<const memory>> wts;
    std::vector<std::shared_ptr<Bound>> bound;  // per part
  };
  thread_local std::vector<Memo> memos;  // a handful: one per layer shape this thread runs
  const uint64_t gen = range->generation();  // read before any form is derived (Range::form)
  auto same = [&](const Memo& m) {
    return m.w == w && m.M == M && m.N == N && m.K == K && m.parts == parts && m.bias == (b != nullptr);
  };
  auto hit = std::find_if(memos.begin(), memos.end(), same);
  if (hit != memos.end() && hit->gen == gen && hit->range.lock() == range) {
    if (parts == 1) {
      run(*hit->prims[0], *hit->bound[0], x, b, y);
      return true;
    }
    const Memo& m = *hit;
    ThreadPool::global().parallel_for(parts, [&](int p) {
      const int64_t i0 = M * p / parts;
      run(*m.prims[p], *m.bound[p], x + i0 * K, b, y + i0 * N);
    });
    return true;
  }
  const std::string base = std::to_string(reinterpret_cast<const char*>(w) - range->begin()) + " " +
                           std::to_string(N) + "x" + std::to_string(K);
  // The first call at a generation runs the same primitive on the weights as they are (it
  // copies its panels per call, as sgemm does); later calls on the packed copy. Weights written
  // before every call (a training step's forward) so never pay a reorder they would use once,
  // and both ways give the same bits: the path is not allowed to make two calls with the same
  // inputs differ (a reorder per call measured W2's step 0.37 -> 0.60 ms on 2 threads).
  bool first = false;
  range->form("fc-seen " + base, [&] {
    first = true;
    return std::make_shared<int>(0);
  });

  std::vector<std::shared_ptr<FcPrim>> prims(parts);
  std::vector<std::shared_ptr<const memory>> wts(parts);
  for (int p = 0; p < parts; ++p) {
    const int64_t rows = M * (p + 1) / parts - M * p / parts;
    prims[p] = p > 0 && rows == M * p / parts - M * (p - 1) / parts ? prims[p - 1]
                                                                    : primitive(rows, N, K, b != nullptr, first);
    if (!prims[p]) return false;
    const FcPrim& f = *prims[p];
    if (first) {
      wts[p] = std::make_shared<const memory>(f.wts, onednn_engine(), const_cast<float*>(w));
      continue;
    }
    // One packed copy per block size (another may prefer another layout).
    wts[p] = std::static_pointer_cast<const memory>(
        range->form("fc " + base + " rows " + std::to_string(f.rows), [&] { return pack(f, w, N, K); }));
  }
  if (!first) {  // packed: what the next call of this shape on this thread reuses
    if (hit == memos.end()) {
      if (memos.size() >= 16) memos.erase(memos.begin());  // bounded: the oldest goes
      hit = memos.emplace(memos.end());
    }
    std::vector<std::shared_ptr<Bound>> bound(parts);
    for (int p = 0; p < parts; ++p) bound[p] = bind(*prims[p], *wts[p], b != nullptr);
    *hit = Memo{w, M, N, K, parts, b != nullptr, range, gen, prims, wts, std::move(bound)};
  }
  if (parts == 1) {
    run(*prims[0], *wts[0], x, b, y);
    return true;
  }
  ThreadPool::global().parallel_for(parts, [&](int p) {
    const int64_t i0 = M * p / parts;
    run(*prims[p], *wts[p], x + i0 * K, b, y + i0 * N);
  });
  return true;
}

}  // namespace hgc::lib::detail

namespace hgc::lib {

void set_packed_parameters(bool on) { detail::g_packed_parameters.store(on, std::memory_order_relaxed); }
bool packed_parameters() { return detail::g_packed_parameters.load(std::memory_order_relaxed); }

}  // namespace hgc::lib
