// batch_matmul as one oneDNN matmul primitive over the whole batch. Attention's per-head
// products (BST: 256 of 32x32x4 per batch_dot) are so small that one sgemm call each spent
// more on the call than on the arithmetic: six batch_dots were 0.62 ms of a 2.5 ms train step.
#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <tuple>
#include <vector>

#include "hgc/runtime/thread_pool.h"

#include "gemm.h"
#include "onednn_util.h"

namespace hgc::lib::detail {

namespace {

using dnnl::memory;

struct Matmul {
  dnnl::matmul prim;
  memory::desc a, b, c;
  size_t scratch_bytes = 0;
};

// op(a) (batch, M, K) with a stored (batch, M, K) or (ta) (batch, K, M); likewise b.
std::shared_ptr<Matmul> build(int64_t batch, int64_t M, int64_t N, int64_t K, bool ta, bool tb) {
  auto m = std::make_shared<Matmul>();
  m->a = memory::desc({batch, M, K}, memory::data_type::f32,
                      ta ? memory::dims{M * K, 1, M} : memory::dims{M * K, K, 1});
  m->b = memory::desc({batch, K, N}, memory::data_type::f32,
                      tb ? memory::dims{K * N, 1, K} : memory::dims{K * N, N, 1});
  m->c = memory::desc({batch, M, N}, memory::data_type::f32, memory::dims{M * N, N, 1});
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(m->a, m->b, m->c), attr, onednn_engine());
  m->scratch_bytes = pd.scratchpad_desc().get_size();
  m->prim = dnnl::matmul(pd);
  return m;
}

}  // namespace

namespace {

// The primitive for `batch` products on `threads` OpenMP threads (cached), or null where
// oneDNN rejects the shape.
std::shared_ptr<Matmul> primitive(int64_t batch, int64_t M, int64_t N, int64_t K, bool ta, bool tb, int threads) {
  // The thread count is part of the key: oneDNN sizes a primitive's work split for it.
  using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, bool, bool, int>;
  Key key{batch, M, N, K, ta, tb, threads};
  static std::mutex mu;
  static auto* cache = new std::map<Key, std::shared_ptr<Matmul>>();  // alive until exit
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache->find(key);
  if (it == cache->end()) {
    try {
      it = cache->emplace(key, build(batch, M, N, K, ta, tb)).first;
    } catch (const dnnl::error&) {
      it = cache->emplace(key, nullptr).first;  // rejected: the per-product loop, every time
    }
  }
  return it->second;
}

void run(const Matmul& m, const float* a, const float* b, float* c) {
  thread_local AlignedScratch scratch;  // the scratchpad is user-managed: per thread
  const dnnl::engine& eng = onednn_engine();
  dnnl::stream& stream = onednn_stream();
  memory am(m.a, eng, const_cast<float*>(a)), bm(m.b, eng, const_cast<float*>(b)), cm(m.c, eng, c);
  memory sm(memory::desc({static_cast<memory::dim>(m.scratch_bytes)}, memory::data_type::u8, memory::dims{1}), eng,
            scratch.get(m.scratch_bytes));
  m.prim.execute(stream, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}, {DNNL_ARG_SCRATCHPAD, sm}});
  stream.wait();
}

}  // namespace

bool onednn_batch_matmul(const float* a, const float* b, float* c, int64_t batch, int64_t M, int64_t N, int64_t K,
                         bool ta, bool tb) {
  // As sgemm: enough work for several threads is cut into blocks of the batch, each one
  // single-threaded primitive on the runtime's pool (no OpenMP wake-ups).
  const int parts = static_cast<int>(std::min<int64_t>(batch, dnnl_threads_for(batch * M * N * K)));
  if (parts <= 1) {
    std::shared_ptr<Matmul> m = primitive(batch, M, N, K, ta, tb, 1);
    if (!m) return false;
    dnnl_use_threads(1);
    run(*m, a, b, c);
    return true;
  }
  std::vector<std::shared_ptr<Matmul>> ms(parts);
  for (int p = 0; p < parts; ++p) {
    ms[p] = primitive(batch * (p + 1) / parts - batch * p / parts, M, N, K, ta, tb, 1);
    if (!ms[p]) return false;
  }
  ThreadPool::global().parallel_for(parts, [&](int p) {
    const int64_t b0 = batch * p / parts;
    dnnl_use_threads(1);
    run(*ms[p], a + b0 * M * K, b + b0 * K * N, c + b0 * M * N);
  });
  return true;
}

}  // namespace hgc::lib::detail
