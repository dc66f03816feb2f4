#include "library_sparse.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdlib>
#include <string>
#include <vector>

#include "hgc/runtime/library.h"
#include "hgc/runtime/thread_pool.h"

namespace hgc::lib {

namespace {

std::atomic<uint64_t> g_sparse_calls{0};

// Products under this many multiply-adds (~40 us of sgemm here) are not looked at: the
// sample (~1 us) would be a noticeable share, and the gain small. W2's 64x256x784 layer
// (2^23.6) is looked at and turned away by the sample; W2/W1b measured no slower.
constexpr int64_t kMinOps = int64_t(1) << 22;
// Elements of the candidate looked at before the exact count, in kSamplePieces stretches
// spread over it: a weight matrix or a dense activation is turned away after touching 8 KiB.
// An exact count that gives up at the limit still reads a good part of the matrix (15 % of
// nonzeros against a 10 % limit: 2/3 of it, ~18 ms on W5's 500x20108), so the sample keeps
// the near misses away too: at 2048 elements its estimate is within ~1 % (absolute).
constexpr int64_t kSample = 2048, kSamplePieces = 32;
// Output columns (or rows) per panel of the dense operand: 16 accumulators, two AVX2 vectors.
constexpr int kW = 16;

// The nonzeros of a matrix in lists: one per row (or, after by_columns, per column), each
// entry the other index and the value. Lists run in increasing order of that index.
struct Lists {
  std::vector<int64_t> start;  // list l is [start[l], start[l + 1])
  std::vector<int32_t> pos;
  std::vector<float> val;
};

#define HGC_SPARSE_TARGETS [[gnu::target_clones("arch=x86-64-v3", "default")]]

// Whether x[0, n) holds a nonzero (its bits other than the sign): a branch-free OR that
// vectorizes, so the ~99 % all-zero stretches of a click matrix cost a load each.
HGC_SPARSE_TARGETS
bool any_nonzero(const float* x, int64_t n) {
  uint32_t any = 0;
  for (int64_t i = 0; i < n; ++i) any |= std::bit_cast<uint32_t>(x[i]) << 1;
  return any != 0;
}

// Whether a sample of x[0, n) has nonzeros over 1.25 times the limit's density; a dense
// operand is known after its first few pieces.
bool sample_too_dense(const float* x, int64_t n) {
  const int64_t piece = kSample / kSamplePieces;
  if (n < piece) return false;  // a tiny operand: the exact count is as cheap
  const int64_t bound = static_cast<int64_t>(1.25 * kSparseMaxDensity * static_cast<double>(kSample));
  int64_t nonzero = 0;
  for (int64_t p = 0; p < kSamplePieces; ++p) {
    const int64_t at = std::min(n * p / kSamplePieces, n - piece);
    for (int64_t i = at; i < at + piece; ++i) nonzero += x[i] != 0.f;
    if (nonzero > bound) return true;
  }
  return false;
}

// The nonzeros of row-major x[rows, cols] by row, or false as soon as there are over
// `limit` of them. Rows are split over the pool; the parts are concatenated in row order.
bool row_lists(const float* x, int64_t rows, int64_t cols, int64_t limit, Lists& out) {
  ThreadPool& pool = ThreadPool::global();
  const int chunks = static_cast<int>(std::min<int64_t>(rows, pool.size()));
  struct Part {
    std::vector<int32_t> pos;
    std::vector<float> val;
  };
  std::vector<Part> parts(static_cast<size_t>(chunks));
  std::vector<int64_t> count(static_cast<size_t>(rows));
  std::atomic<int64_t> total{0};
  std::atomic<bool> dense{false};
  pool.parallel_for(chunks, [&](int c) {
    Part& p = parts[static_cast<size_t>(c)];
    const int64_t r0 = rows * c / chunks, r1 = rows * (c + 1) / chunks;
    p.pos.reserve(static_cast<size_t>(limit * (r1 - r0) / rows + 16));
    p.val.reserve(p.pos.capacity());
    for (int64_t r = r0; r < r1; ++r) {
      if (dense.load(std::memory_order_relaxed)) return;
      const float* xr = x + r * cols;
      const size_t before = p.pos.size();
      for (int64_t j0 = 0; j0 < cols; j0 += 32) {
        const int64_t j1 = std::min(cols, j0 + 32);
        if (!any_nonzero(xr + j0, j1 - j0)) continue;
        for (int64_t j = j0; j < j1; ++j)
          if (xr[j] != 0.f) {
            p.pos.push_back(static_cast<int32_t>(j));
            p.val.push_back(xr[j]);
          }
      }
      const int64_t n = static_cast<int64_t>(p.pos.size() - before);
      count[static_cast<size_t>(r)] = n;
      if (total.fetch_add(n, std::memory_order_relaxed) + n > limit) {
        dense.store(true, std::memory_order_relaxed);
        return;
      }
    }
  });
  if (dense) return false;
  out.start.assign(static_cast<size_t>(rows + 1), 0);
  for (int64_t r = 0; r < rows; ++r) out.start[r + 1] = out.start[r] + count[r];
  out.pos.clear();
  out.val.clear();
  for (const Part& p : parts) {
    out.pos.insert(out.pos.end(), p.pos.begin(), p.pos.end());
    out.val.insert(out.val.end(), p.val.begin(), p.val.end());
  }
  return true;
}

// The same nonzeros by column (a counting sort; rows stay in increasing order in each list).
Lists by_columns(const Lists& rows_of, int64_t rows, int64_t cols) {
  Lists out;
  out.start.assign(static_cast<size_t>(cols + 1), 0);
  for (int32_t j : rows_of.pos) ++out.start[j + 1];
  for (int64_t j = 0; j < cols; ++j) out.start[j + 1] += out.start[j];
  out.pos.resize(rows_of.pos.size());
  out.val.resize(rows_of.val.size());
  std::vector<int64_t> next(out.start.begin(), out.start.end() - 1);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t e = rows_of.start[r]; e < rows_of.start[r + 1]; ++e) {
      int64_t at = next[rows_of.pos[e]]++;
      out.pos[at] = static_cast<int32_t>(r);
      out.val[at] = rows_of.val[e];
    }
  return out;
}

// The dense operand as D(p, k) = d[p * dp + k * dk], p < P (the output index it owns), k < K.
struct DenseOperand {
  const float* d;
  int64_t dp, dk, P;
};

// panel[k * kW + t] = D(p0 + t, k) for t < w, zeros past w. Returns false when a packed
// value is Inf or NaN (all exponent bits set).
HGC_SPARSE_TARGETS
bool pack_panel(const DenseOperand& D, int64_t p0, int w, int64_t K, float* __restrict panel) {
  uint32_t bad = 0;
  constexpr uint32_t kExp = 0x7f800000u;
  if (D.dp == 1) {  // p runs along memory: each panel row is a slice
    for (int64_t k = 0; k < K; ++k) {
      const float* __restrict s = D.d + p0 + k * D.dk;
      float* __restrict q = panel + k * kW;
      for (int t = 0; t < w; ++t) {
        q[t] = s[t];
        bad |= (std::bit_cast<uint32_t>(s[t]) & kExp) == kExp;
      }
      for (int t = w; t < kW; ++t) q[t] = 0.f;
    }
    return bad == 0;
  }
  // k runs along memory: w rows of D read side by side, a stretch of K at a time so that
  // the panel rows being written stay in L1.
  if (w < kW)
    for (int64_t k = 0; k < K; ++k)
      for (int t = w; t < kW; ++t) panel[k * kW + t] = 0.f;
  constexpr int64_t kStretch = 64;
  for (int64_t k0 = 0; k0 < K; k0 += kStretch) {
    const int64_t k1 = std::min(K, k0 + kStretch);
    for (int t = 0; t < w; ++t) {
      const float* __restrict s = D.d + (p0 + t) * D.dp;
      for (int64_t k = k0; k < k1; ++k) {
        panel[k * kW + t] = s[k * D.dk];
        bad |= (std::bit_cast<uint32_t>(s[k * D.dk]) & kExp) == kExp;
      }
    }
  }
  return bad == 0;
}

// For lists l0..l1: acc[t] = sum over the list's entries (k, v) of v * panel[k][t], stored
// to out[t * sp + l * sl] for t < w, plus bias[t * bp + l * bl] when there is a bias.
HGC_SPARSE_TARGETS
void lists_times_panel(const Lists& L, int64_t l0, int64_t l1, const float* __restrict panel, int w,
                       float* __restrict out, int64_t sp, int64_t sl, const float* bias, int64_t bp, int64_t bl) {
  const int64_t* start = L.start.data();
  const int32_t* pos = L.pos.data();
  const float* val = L.val.data();
  for (int64_t l = l0; l < l1; ++l) {
    float acc[kW] = {};
    for (int64_t e = start[l]; e < start[l + 1]; ++e) {
      const float v = val[e];
      const float* __restrict q = panel + static_cast<int64_t>(pos[e]) * kW;
      for (int t = 0; t < kW; ++t) acc[t] += v * q[t];
    }
    float* o = out + l * sl;
    // The bias last, as the dense path's sgemm (beta = 1 onto the bias) rounds it.
    if (bias)
      for (int t = 0; t < w; ++t) o[t * sp] = acc[t] + bias[t * bp + l * bl];
    else
      for (int t = 0; t < w; ++t) o[t * sp] = acc[t];
  }
}

// out = the lists (sparse operand) against D, one panel of kW values of p per task.
bool run_panels(const Lists& L, int64_t lists, const DenseOperand& D, int64_t K, float* out, int64_t sp, int64_t sl,
                const float* bias, int64_t bp, int64_t bl) {
  ThreadPool& pool = ThreadPool::global();
  const int64_t panels = (D.P + kW - 1) / kW;
  std::atomic<bool> finite{true};
  pool.parallel_for(static_cast<int>(panels), [&](int i) {
    thread_local std::vector<float> panel;
    panel.resize(static_cast<size_t>(K * kW));
    const int64_t p0 = int64_t(i) * kW;
    const int w = static_cast<int>(std::min<int64_t>(kW, D.P - p0));
    if (!pack_panel(D, p0, w, K, panel.data())) {
      finite.store(false, std::memory_order_relaxed);
      return;
    }
    lists_times_panel(L, 0, lists, panel.data(), w, out + p0 * sp, sp, sl, bias ? bias + p0 * bp : nullptr, bp, bl);
  });
  return finite;
}

}  // namespace

uint64_t sparse_gemm_calls() { return g_sparse_calls.load(std::memory_order_relaxed); }

namespace {
// HGC_SPARSE=off (docs/DEVELOPING.md's list of overrides) starts with the path off.
std::atomic<bool> g_sparse_on{[] {
  const char* e = std::getenv("HGC_SPARSE");
  return !(e && (std::string(e) == "off" || std::string(e) == "0"));
}()};
}  // namespace

void set_sparse_activations(bool on) { g_sparse_on.store(on, std::memory_order_relaxed); }
bool sparse_activations() { return g_sparse_on.load(std::memory_order_relaxed); }

namespace detail {

bool sparse_matmul(const float* a, const float* b, float* c, int64_t M, int64_t N, int64_t K, bool ta, bool tb,
                   const float* bias, unsigned sides) {
  if (!sparse_activations()) return false;
  if (static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K) < kMinOps) return false;
  for (unsigned side : {unsigned(kSparseA), unsigned(kSparseB)}) {
    if (!(sides & side)) continue;
    const bool is_a = side == kSparseA;
    // The candidate as stored: a is [M,K] or (ta) [K,M]; b is [K,N] or (tb) [N,K].
    const float* s = is_a ? a : b;
    const int64_t rows = is_a ? (ta ? K : M) : (tb ? N : K);
    const int64_t cols = is_a ? (ta ? M : K) : (tb ? K : N);
    if (rows >= (int64_t(1) << 31) || cols >= (int64_t(1) << 31)) continue;  // int32 positions
    const int64_t n = rows * cols, limit = static_cast<int64_t>(kSparseMaxDensity * static_cast<double>(n));
    if (sample_too_dense(s, n)) continue;
    Lists L;
    if (!row_lists(s, rows, cols, limit, L)) continue;
    // One list per index of the output the sparse operand owns (i of a, j of b), running
    // along K: op(a)'s rows are a's rows unless ta, op(b)'s columns are b's rows only if tb.
    const bool need_columns = is_a ? ta : !tb;
    if (need_columns) L = by_columns(L, rows, cols);
    bool ok;
    if (is_a) {  // dense side op(b): D(j, k) = op(b)(k, j); c[i, j] at i * N + j
      DenseOperand D{b, tb ? K : 1, tb ? 1 : N, N};
      ok = run_panels(L, M, D, K, c, 1, N, bias, 1, 0);
    } else {  // dense side op(a): D(i, k) = op(a)(i, k)
      DenseOperand D{a, ta ? 1 : K, ta ? M : 1, M};
      ok = run_panels(L, N, D, K, c, N, 1, bias, 0, 1);
    }
    if (!ok) return false;
    g_sparse_calls.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  return false;
}

}  // namespace detail
}  // namespace hgc::lib
