// Batch-split runs of a hybridized graph: a forward whose every op works row by row on its
// batch (DynamicGraph::batch_splittable) runs as one row chunk per thread, each chunk the
// whole graph on one thread at the chunk's size (the same kernels: a new size costs a plan,
// not a compile). A small-batch forward then pays one hand-off to the pool per call instead
// of one per GEMM and per kernel, and each core keeps its rows' activations in its own cache
// (W1b, a 64-row MLP forward: each of its GEMMs alone is too small to split well).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

#include "gluon/cached_graph.h"
#include "hgc/base/log.h"
#include "hgc/runtime/thread_pool.h"

namespace hgc::gluon {

namespace {

// HGC_BATCH_SPLIT=off keeps every call whole (for comparisons).
bool batch_split_on() {
  static const bool on = [] {
    const char* v = std::getenv("HGC_BATCH_SPLIT");
    return !(v && (std::strcmp(v, "off") == 0 || std::strcmp(v, "0") == 0));
  }();
  return on;
}

// Timed runs of each way per batch size before choosing, the first two of each not counted
// (they plan the size and warm its arena); the fastest of the rest decides, and split must
// beat whole by a margin (whole is the simpler schedule). Both ways compute the call's result,
// so the measuring costs nothing but the slower way's extra time.
constexpr int kTrials = 8;
constexpr int kWarm = 2;
constexpr double kMargin = 0.97;

// Work a chunk must carry to be worth a thread: a hand-off to a spinning worker costs ~1-3 us,
// and 2^20 multiply-adds take ~6 us on one core (the GEMM split's grain, runtime/src/gemm.cc).
constexpr int64_t kChunkGrain = int64_t(1) << 20;

}  // namespace

int CachedGraph::batch_chunks(const std::vector<NDArray>& xs, int64_t& rows) const {
  if (!batch_split_on() || !dyn || !dyn->batch_splittable() || shown_dynamic_.size() != xs.size() || max_sizes < 3 ||
      ThreadPool::serial_here())
    return 1;
  const int threads = ThreadPool::global().size();
  if (threads < 2) return 1;
  rows = -1;
  for (size_t i = 0; i < xs.size(); ++i)
    for (size_t k = 0; k < shown_dynamic_[i].size(); ++k) {
      if (!shown_dynamic_[i][k]) continue;
      if (k != 0 || xs[i].ndim() == 0 || (rows >= 0 && xs[i].shape()[0] != rows) || xs[i].on_device()) return 1;
      rows = xs[i].shape()[0];
    }
  // Chunks of at least 2 rows: a size of 1 may prepare differently (dims of 1 broadcast).
  if (rows < 4) return 1;
  const int64_t by_work = rows * dyn->row_cost() / kChunkGrain;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>({threads, rows / 2, by_work})));
}

// Why measure: a chunk's GEMMs are as many multiply-adds as a column block of the whole
// product, but each chunk packs the whole weight matrix (oneDNN's sgemm packs B per call),
// so with few rows per chunk the split can lose (a 64-row 784->256 training forward: 144 us
// per chunk vs 124 us whole on 2 threads) where a 512->256 inference forward gains ~10%.
bool CachedGraph::run_measured(const std::vector<NDArray>& xs, int64_t rows, int chunks, std::vector<NDArray>& res) const {
  if (split_choice_.size() > 64) split_choice_.clear();  // bounded: many sizes measure again
  SplitChoice& c = split_choice_[rows];
  if (c.decided == 1) return false;
  if (c.decided == 2) return run_split(xs, rows, chunks, res);
  const bool split = c.split_runs <= c.whole_runs;
  auto t0 = std::chrono::steady_clock::now();
  if (split) {
    if (!run_split(xs, rows, chunks, res)) {
      c.decided = 1;
      return false;
    }
  } else {
    res = run_whole(xs);
  }
  const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  int& n = split ? c.split_runs : c.whole_runs;
  double& best = split ? c.split_best : c.whole_best;
  if (n++ >= kWarm) best = n == kWarm + 1 ? t : std::min(best, t);
  if (c.split_runs >= kTrials && c.whole_runs >= kTrials) {
    c.decided = c.split_best < kMargin * c.whole_best ? 2 : 1;
    if (log_enabled("plan")) {
      char line[200];
      std::snprintf(line, sizeof line, " batch %lld: %s (%d row chunks %.3f ms, whole %.3f ms)", static_cast<long long>(rows),
                    c.decided == 2 ? "split" : "whole", chunks, 1e3 * c.split_best, 1e3 * c.whole_best);
      log_line("plan " + block + line);
    }
  }
  return true;
}

bool CachedGraph::run_split(const std::vector<NDArray>& xs, int64_t rows, int chunks, std::vector<NDArray>& res) const {
  std::vector<std::vector<int64_t>> shapes;
  std::vector<DType> dtypes;
  for (size_t i = 0; i < xs.size(); ++i) {
    shapes.push_back(xs[i].shape());
    dtypes.push_back(xs[i].dtype());
  }
  auto first_row = [&](int c) { return rows * c / chunks; };
  // At most two chunk sizes (rows / chunks rounded down and up), each with its plan: the
  // second lookup leaves the first in instances_ (max_sizes >= 3), and list nodes stay put.
  std::vector<const Instance*> inst(chunks);
  for (int c = 0; c < chunks; ++c) {
    std::vector<std::vector<int64_t>> cs = shapes;
    for (size_t i = 0; i < xs.size(); ++i)
      if (shown_dynamic_[i][0]) cs[i][0] = first_row(c + 1) - first_row(c);
    inst[c] = &instance(cs, dtypes);
  }
  // Every output carries the batch as its axis 0 (batch_splittable): the full outputs, and
  // each chunk's rows of them.
  const Executable& e0 = *inst[0]->exe;
  const int64_t rows0 = first_row(1);
  std::vector<bool> written(e0.buffers.size(), false);
  for (const Step& st : e0.steps)
    for (int id : st.args) written[id] = true;
  std::vector<HostTensor> out;
  for (int id : e0.output_buffers) {
    const BufferInfo& b = e0.buffers[id];
    if (b.shape.empty() || b.shape[0] != rows0) return false;  // not as analysed: run it whole
    std::vector<int64_t> full = b.shape;
    full[0] = rows;
    // As Executable::run_ptrs: an output no step writes (nor run_into copies) reads zeros.
    out.push_back(written[id] || b.kind != BufferKind::Output ? HostTensor::uninitialized(b.dtype, full)
                                                              : HostTensor(b.dtype, full));
  }
  std::vector<std::vector<NDArray>> casts(chunks);
  std::vector<std::vector<const void*>> in(chunks);
  std::vector<std::vector<void*>> outp(chunks);
  for (int c = 0; c < chunks; ++c) {
    const int64_t r0 = first_row(c);
    std::vector<const HostTensor*> bound = bound_inputs(*inst[c], xs, casts[c]);
    for (size_t k = 0; k < bound.size(); ++k) {
      const Source& s = inst[c]->bind[k];
      const char* p = static_cast<const char*>(bound[k]->raw());
      if (s.input >= 0 && shown_dynamic_[s.input][0]) p += r0 * static_cast<int64_t>(bound[k]->nbytes()) / rows;
      in[c].push_back(p);
    }
    for (HostTensor& t : out) outp[c].push_back(static_cast<char*>(t.raw()) + r0 * static_cast<int64_t>(t.nbytes()) / rows);
  }
  std::vector<std::exception_ptr> err(chunks);
  ThreadPool::global().parallel_for(chunks, [&](int c) {
    ThreadPool::Serial one_thread;  // each chunk's GEMMs and kernels stay on its thread
    try {
      inst[c]->exe->run_into(in[c], outp[c]);
    } catch (...) {
      err[c] = std::current_exception();
    }
  });
  for (const auto& e : err)
    if (e) std::rethrow_exception(e);
  res.clear();
  res.reserve(out.size());
  for (HostTensor& t : out) res.emplace_back(std::move(t));
  return true;
}

}  // namespace hgc::gluon
