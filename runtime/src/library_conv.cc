// Convolution and its two gradients: the choice between oneDNN's primitives (conv_onednn.h)
// and im2col + sgemm (library.h, ConvImpl), and the im2col path, one sgemm per chunk of
// images (see ConvPlan in library_window.h). For a chunk of m images, group g, with columns cols (CK, m*L) laid
// out image after image along the width:
//   forward       Y^T (Og, m*L)  = W_g (Og, CK) . cols
//   data grad     dcols (CK, m*L) = W_g^T . dY^T,   dx = col2im(dcols)
//   weight grad   dW_g (Og, CK)  += dY^T . cols^T
// where dY^T (Og, m*L) is the chunk's output(-gradient) block with images side by side.
#include <algorithm>
#include <atomic>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "conv_onednn.h"
#include "gemm.h"
#include "hgc/base/error.h"
#include "hgc/runtime/thread_pool.h"
#include "hgc/runtime/library.h"
#include "library_window.h"

namespace hgc::lib {

using namespace detail;

namespace {

// Columns of images [n0, n0 + m) of group g: row (c*taps + k), image i at column offset i*L.
void chunk_im2col(const ConvShape& s, const ConvPlan& p, const Geom2& geo, const float* x, int64_t n0, int64_t m,
                  int64_t g, float* col) {
  int64_t ld = m * p.L;
  for_planes(m * p.cg, p.taps * p.L, [&](int64_t q) {
    int64_t i = q / p.cg, c = q % p.cg;
    im2col_plane(geo, x + ((n0 + i) * s.C + g * p.cg + c) * p.in_sp, col + c * p.taps * ld + i * p.L, ld);
  });
}

// dst (Og, m*L) <- rows g*Og.. of images [n0, n0 + m) of y (N, O, L), side by side.
void gather_rows(const ConvShape& s, const ConvPlan& p, const float* y, int64_t n0, int64_t m, int64_t g,
                 float* dst) {
  int64_t ld = m * p.L;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t o = 0; o < p.og; ++o)
      std::memcpy(dst + o * ld + i * p.L, y + ((n0 + i) * s.O + g * p.og + o) * p.L, sizeof(float) * p.L);
}

// Calls fn(g, n0, m, ld) for every group g and chunk of m images from n0 (ld = m * L, the
// chunk's column count).
template <class F>
void for_chunks(const ConvShape& s, const ConvPlan& p, F&& fn) {
  for (int64_t g = 0; g < s.groups; ++g)
    for (int64_t n0 = 0; n0 < s.N; n0 += p.images) {
      int64_t m = std::min(p.images, s.N - n0);
      fn(g, n0, m, m * p.L);
    }
}

void im2col_convolution(const ConvShape& s, const float* x, const float* w, const float* b, float* y, float* ws) {
  ConvPlan p = conv_plan(s);
  Geom2 geo(s);
  float* col = ws;
  float* out = ws + p.ck * p.images * p.L;
  for_chunks(s, p, [&](int64_t g, int64_t n0, int64_t m, int64_t ld) {
    chunk_im2col(s, p, geo, x, n0, m, g, col);
    sgemm(false, false, p.og, ld, p.ck, 1.f, w + g * p.og * p.ck, p.ck, col, ld, 0.f, out, ld);
    for (int64_t i = 0; i < m; ++i)  // scatter back to (N, O, L), adding the bias
      for (int64_t o = 0; o < p.og; ++o) {
        float* dst = y + ((n0 + i) * s.O + g * p.og + o) * p.L;
        const float* src = out + o * ld + i * p.L;
        float bias = b ? b[g * p.og + o] : 0.f;
        for (int64_t l = 0; l < p.L; ++l) dst[l] = src[l] + bias;
      }
  });
}

void im2col_data_grad(const ConvShape& s, const float* dy, const float* w, float* dx, float* ws) {
  ConvPlan p = conv_plan(s, kGradChunkFloats);
  Geom2 geo(s);
  float* col = ws;
  float* dyt = ws + p.ck * p.images * p.L;
  for_chunks(s, p, [&](int64_t g, int64_t n0, int64_t m, int64_t ld) {
    gather_rows(s, p, dy, n0, m, g, dyt);
    sgemm(true, false, p.ck, ld, p.og, 1.f, w + g * p.og * p.ck, p.ck, dyt, ld, 0.f, col, ld);
    for_planes(m * p.cg, p.taps * p.L, [&](int64_t q) {
      int64_t i = q / p.cg, c = q % p.cg;
      float* plane = dx + ((n0 + i) * s.C + g * p.cg + c) * p.in_sp;
      std::memset(plane, 0, sizeof(float) * p.in_sp);
      col2im_plane(geo, col + c * p.taps * ld + i * p.L, plane, ld);
    });
  });
}

void im2col_weight_grad(const ConvShape& s, const float* dy, const float* x, float* dw, float* ws) {
  ConvPlan p = conv_plan(s, kGradChunkFloats);
  Geom2 geo(s);
  float* col = ws;
  float* dyt = ws + p.ck * p.images * p.L;
  if (s.N == 0) std::memset(dw, 0, sizeof(float) * s.O * p.ck);  // no chunk writes it
  for_chunks(s, p, [&](int64_t g, int64_t n0, int64_t m, int64_t ld) {
    chunk_im2col(s, p, geo, x, n0, m, g, col);
    gather_rows(s, p, dy, n0, m, g, dyt);
    sgemm(false, true, p.og, p.ck, ld, 1.f, dyt, ld, col, ld, n0 ? 1.f : 0.f, dw + g * p.og * p.ck, p.ck);
  });
}

ConvImpl impl_from_env() {
  const char* e = std::getenv("HGC_CONV");
  std::string v = e ? e : "";
  if (v == "auto" || v.empty()) return ConvImpl::Auto;
  if (v == "im2col") return ConvImpl::Im2col;
  if (v == "onednn") return ConvImpl::OneDNN;
  if (v == "onednn_nhwc") return ConvImpl::OneDNNChannelsLast;
  fail("runtime", "HGC_CONV must be auto, im2col, onednn or onednn_nhwc, got '", v, "'");
}

std::atomic<ConvImpl>& impl_setting() {
  static std::atomic<ConvImpl> impl{impl_from_env()};
  return impl;
}

// The time fn takes: the calling thread's CPU time when the call runs on one thread (a
// one-thread pool, or a step of a group: then time-slicing with other processes on a busy
// machine does not count), else wall time.
double seconds(const std::function<void()>& fn) {
  const bool one_thread = pool_threads() == 1;
  clockid_t clock = one_thread ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC;
  timespec t0, t1;
  clock_gettime(clock, &t0);
  fn();
  clock_gettime(clock, &t1);
  return double(t1.tv_sec - t0.tv_sec) + 1e-9 * double(t1.tv_nsec - t0.tv_nsec);
}

// "weight grad N64 C20 O50 g1 in12x12 k5x5 s1x1 p0x0 d1x1" for $HGC_CONV_LOG.
std::string describe(ConvDirection dir, const ConvShape& s) {
  const char* names[] = {"forward", "data grad", "weight grad"};
  std::string r = std::string(names[static_cast<int>(dir)]) + " N" + std::to_string(s.N) + " C" + std::to_string(s.C) +
                  " O" + std::to_string(s.O) + " g" + std::to_string(s.groups);
  auto dims = [&](const char* tag, const int64_t* v) {
    r += std::string(" ") + tag;
    for (int d = 0; d < s.nsp; ++d) r += (d ? "x" : "") + std::to_string(v[d]);
  };
  dims("in", s.in), dims("k", s.k), dims("s", s.stride), dims("p", s.pad), dims("d", s.dilate);
  return r;
}

// Auto's measurement (see ConvImpl): the best of 2 to 6 runs of each candidate, interleaved
// so that a burst of load on the shared machine hits them alike; the first round also warms
// caches and page-faults the scratch buffers. Running a direction on the call's own operands
// is safe: each overwrites its whole output from inputs it does not write. Returns the
// decision (OnednnConvs::choice).
int measure(OnednnConvs& cs, const ConvOperands& ops, const std::function<void()>& im2col, const std::string& what) {
  std::vector<std::function<void()>> cand;
  for (auto& c : cs.layout)
    if (c) cand.push_back([&c, &ops] { run_onednn_conv(*c, ops); });
  cand.push_back(im2col);
  std::vector<double> best(cand.size(), 1e30);
  double spent = 0;
  for (int r = 0; r < 6 && (r < 2 || spent < 0.05); ++r)  // more rounds for quick calls
    for (size_t i = 0; i < cand.size(); ++i) {
      double t = seconds(cand[i]);
      best[i] = std::min(best[i], t), spent += t;
    }
  int choice = 2;
  double fastest = 0.9 * best.back();
  std::string log;
  for (int l = 0, i = 0; l < kOnednnLayouts; ++l)
    if (cs.layout[l]) {
      if (best[i] < fastest) choice = 3 + l, fastest = best[i];
      log += std::string(l ? " nhwc " : " any ") + onednn_conv_impl(*cs.layout[l]) + " " + std::to_string(best[i] * 1e3);
      ++i;
    }
  static const bool verbose = std::getenv("HGC_CONV_LOG") != nullptr;
  if (verbose)
    std::fprintf(stderr, "hgc conv %s: im2col %.4f ms,%s ms -> %s\n", what.c_str(), best.back() * 1e3, log.c_str(),
                 choice == 2 ? "im2col" : choice == 3 ? "oneDNN" : "oneDNN nhwc");
  return choice;
}

// A layer: a shape without its batch, in one direction. Auto decides once per layer, at
// the first batch size n0 it runs (dynamic batch axes: a new batch size must cost no
// measurement and no primitive build). im2col takes any batch; a oneDNN choice runs the n0
// primitive on slices of n0 images and a batch-1 primitive (built with the decision) on the
// rest. The weight gradient sums over the batch, so it keeps one decision per shape.
struct Layer {
  std::once_flag decided;
  int choice = 2;
  int64_t n0 = 0;
  OnednnConvs* at_n0 = nullptr;
  OnednnConvs* at_1 = nullptr;
};

Layer& layer(ConvDirection dir, const ConvShape& s, bool has_bias) {
  std::vector<int64_t> key{static_cast<int64_t>(dir), has_bias, pool_threads(), s.nsp, s.C, s.O, s.groups};
  for (int d = 0; d < s.nsp; ++d) key.insert(key.end(), {s.in[d], s.out[d], s.k[d], s.stride[d], s.pad[d], s.dilate[d]});
  static std::mutex mu;
  static std::map<std::vector<int64_t>, std::unique_ptr<Layer>> layers;  // entries never move or go
  std::lock_guard<std::mutex> lock(mu);
  auto& e = layers[key];
  if (!e) e = std::make_unique<Layer>();
  return *e;
}

// Images [n0, n0 + m) of the call's batch operands.
ConvOperands slice(ConvDirection dir, const ConvShape& s, const ConvOperands& ops, int64_t n0) {
  int64_t in_sp = 1, out_sp = 1;
  for (int d = 0; d < s.nsp; ++d) in_sp *= s.in[d], out_sp *= s.out[d];
  ConvOperands r = ops;
  if (dir == ConvDirection::Forward) r.a += n0 * s.C * in_sp, r.out += n0 * s.O * out_sp;
  else r.a += n0 * s.O * out_sp, r.out += n0 * s.C * in_sp;
  return r;
}

// Runs the call through oneDNN or through `im2col` (see ConvImpl).
void dispatch(ConvDirection dir, const ConvShape& s, const ConvOperands& ops, const std::function<void()>& im2col) {
  ConvImpl impl = impl_setting().load(std::memory_order_relaxed);
  if (impl == ConvImpl::Im2col) return im2col();
  if (impl == ConvImpl::Auto && dir != ConvDirection::WeightGrad && s.N > 0) {
    Layer& l = layer(dir, s, ops.bias != nullptr);
    std::call_once(l.decided, [&] {
      OnednnConvs& cs = onednn_convs(dir, s, ops.bias != nullptr);
      l.n0 = s.N;
      l.at_n0 = &cs;
      if (cs.layout[0] || cs.layout[1]) {
        std::call_once(cs.measured, [&] { cs.choice = measure(cs, ops, im2col, describe(dir, s)); });
        l.choice = cs.choice.load();
      }
      if (l.choice >= 3 && s.N > 1) {
        ConvShape one = s;
        one.N = 1;
        OnednnConvs& c1 = onednn_convs(dir, one, ops.bias != nullptr);
        if (c1.layout[l.choice - 3]) l.at_1 = &c1;
      }
    });
    if (s.N == l.n0) return l.choice >= 3 ? run_onednn_conv(*l.at_n0->layout[l.choice - 3], ops) : im2col();
    if (l.choice < 3 || (s.N % l.n0 && !l.at_1 && l.n0 != 1)) return im2col();
    int64_t n = 0;
    for (; n + l.n0 <= s.N; n += l.n0) run_onednn_conv(*l.at_n0->layout[l.choice - 3], slice(dir, s, ops, n));
    for (; n < s.N; ++n) run_onednn_conv(*l.at_1->layout[l.choice - 3], slice(dir, s, ops, n));
    return;
  }
  OnednnConvs& cs = onednn_convs(dir, s, ops.bias != nullptr);
  if (impl != ConvImpl::Auto) {
    // ChannelsLast is dropped where it would repeat Any's choice: Any runs instead.
    OnednnConv* c = impl == ConvImpl::OneDNNChannelsLast && cs.layout[1] ? cs.layout[1].get() : cs.layout[0].get();
    return c ? run_onednn_conv(*c, ops) : im2col();
  }
  if (!cs.layout[0] && !cs.layout[1]) return im2col();  // oneDNN rejects the shape
  // Calls racing the first one wait for its decision, and the measuring call then runs the
  // winner once more: every call of a shape, the first included, gets the same bits.
  std::call_once(cs.measured, [&] { cs.choice = measure(cs, ops, im2col, describe(dir, s)); });
  int choice = cs.choice.load(std::memory_order_relaxed);
  if (choice >= 3) return run_onednn_conv(*cs.layout[choice - 3], ops);
  im2col();
}

// Forward and data-gradient calls compute image by image: on a pool of several threads a
// batch worth it runs as blocks of images side by side, each block a one-thread call (its
// Auto decision and oneDNN primitive are the one-thread ones; no OpenMP team to wake, which
// costs 10-70 us per call with passive waits). Block p > 0 takes a workspace of its thread's
// own. false: the call stays whole (one thread, a Serial scope, or too little work).
// `block(sub, n0, p, workspace)` runs block p, images [n0, n0 + sub.N); `blocks`, when given,
// receives the number of blocks first.
bool conv_batch_blocks(const ConvShape& s, float* ws,
                       const std::function<void(const ConvShape&, int64_t, int, float*)>& block,
                       const std::function<void(int)>& blocks = {}) {
  if (s.N < 2 || ThreadPool::serial_here()) return false;
  const int parts = conv_threads(s);
  if (parts <= 1) return false;
  if (blocks) blocks(parts);
  std::vector<std::exception_ptr> err(parts);  // rethrown here: a worker must not throw
  ThreadPool::global().parallel_for(parts, [&](int p) {
    ThreadPool::Serial one;
    const int64_t n0 = s.N * p / parts, n1 = s.N * (p + 1) / parts;
    ConvShape sub = s;
    sub.N = n1 - n0;
    thread_local std::vector<float> own;
    float* w = ws;
    try {
      if (p > 0) {
        own.resize(static_cast<size_t>(convolution_workspace(sub)));
        w = own.data();
      }
      block(sub, n0, p, w);
    } catch (...) {
      err[p] = std::current_exception();
    }
  });
  for (const auto& e : err)
    if (e) std::rethrow_exception(e);
  return true;
}

int64_t spatial(const int64_t* v, int nsp) {
  int64_t n = 1;
  for (int d = 0; d < nsp; ++d) n *= v[d];
  return n;
}

}  // namespace

int conv_threads(const ConvShape& s) {
  if (s.N < 2) return 1;
  int64_t macs = s.N * s.O * (s.C / std::max<int64_t>(s.groups, 1));
  for (int d = 0; d < s.nsp; ++d) macs *= s.out[d] * s.k[d];
  return static_cast<int>(std::min<int64_t>(dnnl_threads_for(macs), s.N));
}

void set_conv_impl(ConvImpl impl) { impl_setting().store(impl); }
ConvImpl conv_impl() { return impl_setting().load(); }

bool onednn_conv_supported(ConvDirection dir, const ConvShape& s, bool has_bias) {
  return onednn_convs(dir, s, has_bias).layout[0] != nullptr;
}

void convolution(const ConvShape& s, const float* x, const float* w, const float* b, float* y, float* ws) {
  const int64_t in_sp = spatial(s.in, s.nsp), out_sp = spatial(s.out, s.nsp);
  if (conv_batch_blocks(s, ws, [&](const ConvShape& sub, int64_t n0, int, float* wsp) {
        convolution(sub, x + n0 * s.C * in_sp, w, b, y + n0 * s.O * out_sp, wsp);
      }))
    return;
  dispatch(ConvDirection::Forward, s, {x, w, b, y}, [&] { im2col_convolution(s, x, w, b, y, ws); });
}

void conv_data_grad(const ConvShape& s, const float* dy, const float* w, float* dx, float* ws) {
  const int64_t in_sp = spatial(s.in, s.nsp), out_sp = spatial(s.out, s.nsp);
  if (conv_batch_blocks(s, ws, [&](const ConvShape& sub, int64_t n0, int, float* wsp) {
        conv_data_grad(sub, dy + n0 * s.O * out_sp, w, dx + n0 * s.C * in_sp, wsp);
      }))
    return;
  dispatch(ConvDirection::DataGrad, s, {dy, w, nullptr, dx}, [&] { im2col_data_grad(s, dy, w, dx, ws); });
}

void conv_weight_grad(const ConvShape& s, const float* dy, const float* x, float* dw, float* ws) {
  // The weight gradient sums over the batch: blocks of images each sum their own part (block 0
  // into dw, the others into buffers of their own), added to dw in block order after. The
  // sum's order differs from one call over the whole batch (as oneDNN's own threads' does);
  // it is the same on every run with the same pool.
  const int64_t in_sp = spatial(s.in, s.nsp), out_sp = spatial(s.out, s.nsp);
  const int64_t dw_size = s.O * (s.C / std::max<int64_t>(s.groups, 1)) * spatial(s.k, s.nsp);
  std::vector<std::vector<float>> partial;  // of blocks 1, 2, ...
  if (conv_batch_blocks(
          s, ws,
          [&](const ConvShape& sub, int64_t n0, int p, float* wsp) {
            float* out = p ? partial[p - 1].data() : dw;
            conv_weight_grad(sub, dy + n0 * s.O * out_sp, x + n0 * s.C * in_sp, out, wsp);
          },
          [&](int parts) { partial.assign(parts - 1, std::vector<float>(static_cast<size_t>(dw_size))); })) {
    for (const std::vector<float>& p : partial)
      for (int64_t i = 0; i < dw_size; ++i) dw[i] += p[i];
    return;
  }
  dispatch(ConvDirection::WeightGrad, s, {dy, x, nullptr, dw}, [&] { im2col_weight_grad(s, dy, x, dw, ws); });
}

}  // namespace hgc::lib
