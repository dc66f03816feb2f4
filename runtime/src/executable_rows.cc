// The whole-forward row split (issue 16, W1b): an executable whose every step computes row r
// of its output from row r of one row-carrying operand (fully connected layers on constant
// weights, their elementwise epilogues, row-polymorphic kernels) runs as one block of rows per
// thread, each thread the whole step chain on its rows with its own arena. A 64-row MLP
// forward then hands off to the pool once per call instead of once per layer, and the
// epilogues and the smallest layers (too small to split alone) run on every thread's rows
// instead of serially. Measured with bench/gemm_scaling.cc (2-core AMD EPYC, the W1b MLP,
// packed weights): 64.6 ms per 1000 forwards as per-layer row blocks, 60.5 ms as whole-forward
// row blocks. Each block computes what a 1-thread call on that many rows computes, the same
// bits on every run.
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <optional>

#include "hgc/base/allocator.h"
#include "hgc/runtime/executable.h"
#include "hgc/runtime/library.h"
#include "hgc/runtime/thread_pool.h"
#include "gemm.h"

namespace hgc {

namespace {

// Rows per block: the packed fully connected path's own minimum block (gemm_packed.cc).
constexpr int64_t kMinChunkRows = 16;
// Multiply-adds a block must carry to be worth a thread (the GEMM split's grain, gemm.cc).
constexpr int64_t kChunkGrain = int64_t(1) << 20;

// HGC_BATCH_SPLIT=off keeps every call whole (for comparisons), as for hybridized blocks.
bool row_split_on() {
  static const bool on = [] {
    const char* v = std::getenv("HGC_BATCH_SPLIT");
    return !(v && (std::strcmp(v, "off") == 0 || std::strcmp(v, "0") == 0));
  }();
  return on;
}

// A block's arena past the first: the running thread's own while small, so a worker keeps
// its rows' activations in its own cache from call to call (a block taken from the shared
// pool would often be the one the other core used last).
constexpr size_t kThreadArenaMax = size_t(4) << 20;
char* block_arena(size_t bytes, std::optional<PooledBuffer>& own) {
  if (bytes > kThreadArenaMax) return static_cast<char*>(own.emplace(bytes).get());
  struct Kept {
    void* p = nullptr;
    size_t bytes = 0;
    ~Kept() { std::free(p); }
  };
  thread_local Kept kept;
  if (kept.bytes < bytes) {
    std::free(kept.p);
    kept.bytes = 0;
    kept.p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!kept.p) throw std::bad_alloc();
    kept.bytes = bytes;
  }
  return static_cast<char*>(kept.p);
}

}  // namespace

bool Executable::row_split(RowSplit& rs, const std::vector<void*>& ptr) const {
  if (!row_split_on() || steps.empty() || input_buffers.empty() || dynamic) return false;
  const BufferInfo& in0 = buffers[input_buffers[0]];
  if (in0.shape.size() < 2 || in0.kind != BufferKind::Input) return false;
  const int64_t R = in0.shape[0];
  if (R < 2 * kMinChunkRows) return false;
  rs.rows = R;
  rs.row_bytes.assign(buffers.size(), 0);
  auto carries = [&](int id) { return rs.row_bytes[id] > 0; };
  auto carry = [&](int id) { rs.row_bytes[id] = static_cast<int64_t>(buffers[id].nbytes()) / R; };
  // Every input carries the rows: another input would be read whole by every block, and
  // nothing below checks how a kernel uses it.
  for (int id : input_buffers) {
    const BufferInfo& b = buffers[id];
    if (b.kind != BufferKind::Input || b.shape.size() < 2 || b.shape[0] != R) return false;
    carry(id);
  }
  // A step's output: written whole by that step, in the arena or an output.
  auto written = [&](int id) {
    const BufferInfo& b = buffers[id];
    if ((b.kind != BufferKind::Arena && b.kind != BufferKind::Output) || b.shape.size() < 2 || b.shape[0] != R ||
        carries(id))
      return false;
    carry(id);
    return true;
  };
  int64_t macs = 0;
  std::vector<const Step*> fcs;
  for (const Step& s : steps) {
    if (s.with_next) return false;
    if (s.library) {
      const std::vector<int64_t>& q = s.call.params;
      if (s.call.kind != "fully_connected" || q.size() != 4 || q[0] != R) return false;
      const size_t n = s.call.operands.empty() ? s.args.size() : s.call.operands.size();
      if (n != (q[3] ? 4u : 3u)) return false;
      auto op = [&](size_t k) { return s.call.operands.empty() ? s.args[k] : s.args[s.call.operands[k]]; };
      for (size_t k = 0; k < n; ++k)
        if (buffers[op(k)].dtype != DType::f32) return false;
      // Constant weights: a loaded plan's, packed once (gemm_packed.cc); a block of rows
      // then costs no repacking.
      if (!carries(op(0)) || buffers[op(1)].kind != BufferKind::Constant || carries(op(1)) ||
          (q[3] && carries(op(2))) || !written(op(n - 1)))
        return false;
      macs += q[0] * q[1] * q[2];
      fcs.push_back(&s);
      if (s.kernel) {
        if (s.epilogue_rows.size() != s.epilogue_args.size() || s.epilogue_args.back() != op(n - 1)) return false;
        for (size_t k = 0; k < s.epilogue_args.size(); ++k)
          if (s.epilogue_rows[k] != carries(s.epilogue_args[k])) return false;
      }
    } else if (s.kernel && s.split && s.split_arg.size() == s.args.size()) {
      for (size_t k = 0; k + 1 < s.args.size(); ++k)
        if (s.split_arg[k] != carries(s.args[k])) return false;
      if (!written(s.args.back())) return false;
    } else {
      return false;
    }
  }
  for (int id : output_buffers)
    if (!carries(id) || buffers[id].kind != BufferKind::Output) return false;
  const int64_t threads = ThreadPool::global().size();
  rs.chunks = static_cast<int>(std::min<int64_t>({threads, R / kMinChunkRows, macs / kChunkGrain}));
  if (rs.chunks < 2) return false;
  // Every block's products on weights packed once (gemm_packed.cc): sgemm would pack the whole
  // weight matrix again for each block.
  const int64_t block_rows = (R + rs.chunks - 1) / rs.chunks;
  for (const Step* s : fcs) {
    const std::vector<int64_t>& q = s->call.params;
    const int w = s->call.operands.empty() ? s->args[1] : s->args[s->call.operands[1]];
    // A block small enough for fully_connected's own loops (library.cc, 2^11 multiply-adds)
    // would sum in another order than the whole call.
    if (block_rows * q[1] * q[2] <= (int64_t(1) << 11) ||
        !lib::detail::packed_fully_connected_takes(static_cast<const float*>(ptr[w]), block_rows, q[1], q[2]))
      return false;
  }
  return true;
}

void Executable::run_rows(const RowSplit& rs, const std::vector<void*>& ptr, void* arena) const {
  std::vector<std::exception_ptr> err(rs.chunks);
  ThreadPool::global().parallel_for(rs.chunks, [&](int c) {
    ThreadPool::Serial one_thread;  // each block's GEMMs and kernels stay on its thread
    try {
      const int64_t r0 = rs.rows * c / rs.chunks, n = rs.rows * (c + 1) / rs.chunks - r0;
      // Block 0 uses the call's arena, the others one each: the memory plan's reuse is safe
      // within one block's serial order, not across blocks running at different steps.
      std::optional<PooledBuffer> own;
      char* mine = static_cast<char*>(arena);
      if (c > 0 && arena_bytes > 0) mine = block_arena(static_cast<size_t>(arena_bytes), own);
      std::vector<void*> p(ptr);
      for (size_t id = 0; id < buffers.size(); ++id) {
        if (!rs.row_bytes[id]) continue;
        const BufferInfo& b = buffers[id];
        p[id] = b.kind == BufferKind::Arena ? mine + b.offset : static_cast<char*>(ptr[id]) + r0 * rs.row_bytes[id];
      }
      std::vector<MemRefArg> descs;
      std::vector<void*> dp, packed;
      auto call = [&](const Step& s, const std::vector<int>& ids, const std::vector<bool>& cut) {
        descs.clear();
        descs.reserve(ids.size());
        for (size_t k = 0; k < ids.size(); ++k) {
          std::vector<int64_t> shape = buffers[ids[k]].shape;
          if (cut[k]) shape[0] = n;
          descs.emplace_back(p[ids[k]], shape);
        }
        dp.resize(descs.size());
        packed.resize(descs.size());
        for (size_t i = 0; i < descs.size(); ++i) dp[i] = descs[i].get(), packed[i] = &dp[i];
        s.kernel(packed.data());
      };
      for (const Step& s : steps) {
        if (s.library) {
          const std::vector<int64_t>& q = s.call.params;
          auto op = [&](size_t k) {
            return static_cast<float*>(p[s.call.operands.empty() ? s.args[k] : s.args[s.call.operands[k]]]);
          };
          lib::fully_connected(op(0), op(1), q[3] ? op(2) : nullptr, op(q[3] ? 3 : 2), n, q[1], q[2]);
          if (s.kernel) call(s, s.epilogue_args, s.epilogue_rows);
        } else {
          call(s, s.args, s.split_arg);
        }
      }
    } catch (...) {
      err[c] = std::current_exception();
    }
  });
  for (const auto& e : err)
    if (e) std::rethrow_exception(e);
}

}  // namespace hgc
