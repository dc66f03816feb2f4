#include "hgc/runtime/executable.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

#include "hgc/base/allocator.h"
#include "hgc/base/log.h"
#include "hgc/runtime/dynamic_plan.h"
#include "hgc/runtime/profile.h"
#include "hgc/runtime/thread_pool.h"

// Defined in memref_copy.cc; referenced here so the linker keeps it in every program that
// runs kernels (it is only ever called from generated code).
extern "C" void memrefCopy(int64_t elem_size, void* src, void* dst);
[[gnu::used]] static void (*const keep_memref_copy)(int64_t, void*, void*) = memrefCopy;

namespace hgc {

static_assert(sizeof(void*) == sizeof(int64_t), "the descriptor layout assumes 64-bit pointers");

MemRefArg::MemRefArg(void* data, const std::vector<int64_t>& shape) : rank_(static_cast<int>(shape.size())) {
  const size_t n = shape.size();
  if (n > static_cast<size_t>(kInline)) heap_.resize(3 + 2 * n);
  int64_t* w = words();
  int64_t p = reinterpret_cast<int64_t>(data);
  w[0] = p;
  w[1] = p;
  w[2] = 0;
  int64_t stride = 1;
  for (size_t i = n; i-- > 0;) {
    w[3 + i] = shape[i];
    w[3 + n + i] = stride;
    stride *= shape[i];
  }
}

std::size_t BufferInfo::nbytes() const {
  std::size_t n = dtype_size(dtype);
  for (int64_t d : shape) n *= static_cast<std::size_t>(d);
  return n;
}

int Executable::input_index(const std::string& name) const {
  for (size_t i = 0; i < input_names.size(); ++i)
    if (input_names[i] == name) return static_cast<int>(i);
  return -1;
}

// Rows [r0, r1) of every split argument, the whole of the others; one kernel call per chunk.
void Executable::run_split(const Step& s, void* const* ptr) const {
  const bool sum = s.row_sum();
  const int64_t rows = buffers[s.args[s.split_rows_arg()]].shape[0];
  // A few chunks per thread: on a busy machine a worker may start late, and the others then
  // take its share instead of waiting for it. Each thread starts on its own contiguous rows,
  // the rows its part of a split producer wrote (parallel_for_ranges). A row sum's chunks do
  // not depend on the pool: its value is the same at every thread count.
  const int chunks = static_cast<int>(
      std::min<int64_t>(sum ? Step::kRowSumChunks : 4 * ThreadPool::global().size(), rows));
  const BufferInfo& out = buffers[s.args.back()];
  const int64_t out_n = static_cast<int64_t>(out.nbytes() / sizeof(float));
  std::vector<float> partial(sum ? static_cast<size_t>(out_n * (chunks - 1)) : 0);
  ThreadPool::global().parallel_for_ranges(chunks, [&](int c) {
    int64_t r0 = rows * c / chunks, r1 = rows * (c + 1) / chunks;
    std::vector<MemRefArg> descs;
    descs.reserve(s.args.size());
    for (size_t k = 0; k < s.args.size(); ++k) {
      const BufferInfo& b = buffers[s.args[k]];
      void* base = ptr[s.args[k]];
      if (sum && k + 1 == s.args.size() && c > 0) base = partial.data() + (c - 1) * out_n;
      if (!s.split_arg[k]) {
        descs.emplace_back(base, b.shape);
        continue;
      }
      std::vector<int64_t> shape = b.shape;
      int64_t row_bytes = static_cast<int64_t>(b.nbytes()) / shape[0];
      shape[0] = r1 - r0;
      descs.emplace_back(static_cast<char*>(base) + r0 * row_bytes, shape);
    }
    std::vector<void*> dp(descs.size()), packed(descs.size());
    for (size_t i = 0; i < descs.size(); ++i) dp[i] = descs[i].get(), packed[i] = &dp[i];
    s.kernel(packed.data());
  });
  if (!sum) return;
  float* o = static_cast<float*>(ptr[s.args.back()]);
  for (int c = 1; c < chunks; ++c) {
    const float* p = partial.data() + (c - 1) * out_n;
    for (int64_t i = 0; i < out_n; ++i) o[i] += p[i];
  }
}

// A step's reusable argument lists (one per thread that runs steps).
struct Executable::Scratch {
  std::vector<MemRefArg> descs;
  std::vector<void*> desc_ptrs, packed;
  StepArgs la;

  void** pack(const std::vector<int>& ids, void* const* ptr, const std::vector<BufferInfo>& buffers) {
    descs.clear();
    descs.reserve(ids.size());
    for (int id : ids) descs.emplace_back(ptr[id], buffers[id].shape);
    desc_ptrs.resize(descs.size());
    packed.resize(descs.size());
    for (size_t i = 0; i < descs.size(); ++i) desc_ptrs[i] = descs[i].get(), packed[i] = &desc_ptrs[i];
    return packed.data();
  }
  const StepArgs& library_args(const std::vector<int>& ids, void* const* ptr, const std::vector<BufferInfo>& buffers) {
    la.ptrs.clear();
    la.infos.clear();
    for (int id : ids) {
      la.ptrs.push_back(ptr[id]);
      la.infos.push_back(&buffers[id]);
    }
    return la;
  }
};

void Executable::run_step(const Step& s, void* const* ptr, Scratch& t) const {
  const bool profiling = profile::enabled();
  auto t0 = profiling ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
  if (s.kernel && s.library) {  // a library call with its epilogue kernel
    s.library(t.library_args(s.args, ptr, buffers));
    s.kernel(t.pack(s.epilogue_args, ptr, buffers));
  } else if (s.kernel && s.split && (s.row_sum() || (ThreadPool::global().size() > 1 && !ThreadPool::serial_here()))) {
    run_split(s, ptr);
  } else if (s.kernel) {
    s.kernel(t.pack(s.args, ptr, buffers));
  } else {
    s.library(t.library_args(s.args, ptr, buffers));
  }
  if (profiling) {
    std::string what = s.kernel && s.library ? s.call.kind + "+epilogue "
                       : s.library             ? s.call.kind + " "
                       : s.split               ? "kernel(split) "
                                               : "kernel ";
    profile::record(what + s.label, std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now() - t0).count());
  }
}

void Executable::execute(const std::vector<const void*>& inputs, const std::vector<void*>& outputs,
                         void* arena) const {
  // Every buffer's storage up front: the steps of a group read the table from several threads.
  std::vector<void*> ptr(buffers.size(), nullptr);
  auto resolve = [&](int id, auto& self) -> void* {
    if (ptr[id]) return ptr[id];
    const BufferInfo& b = buffers[id];
    switch (b.kind) {
      case BufferKind::Input: ptr[id] = const_cast<void*>(inputs[b.index]); break;
      case BufferKind::Constant: ptr[id] = const_cast<void*>(constants[b.index].raw()); break;
      case BufferKind::Arena: ptr[id] = static_cast<char*>(arena) + b.offset; break;
      case BufferKind::Output: ptr[id] = outputs[b.index]; break;
      case BufferKind::View: ptr[id] = self(b.view_of, self); break;
    }
    return ptr[id];
  };
  for (size_t id = 0; id < buffers.size(); ++id) resolve(static_cast<int>(id), resolve);
  if (ThreadPool::global().size() == 1 || ThreadPool::serial_here() || ThreadPool::inline_here() || steps.size() < 2) {
    run_plan(ptr, arena);
    return;
  }
  switch (pool_way()) {
    case PoolWay::Pool: run_plan(ptr, arena); return;
    case PoolWay::Serial: {
      ThreadPool::Inline one;
      run_plan(ptr, arena);
      return;
    }
    case PoolWay::Measuring: break;
  }
  const bool serial = pool_choice_.next_serial();
  const auto t0 = std::chrono::steady_clock::now();
  if (serial) {
    ThreadPool::Inline one;
    run_plan(ptr, arena);
  } else {
    run_plan(ptr, arena);
  }
  const PoolWay made = pool_choice_.record(serial, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  if (made != PoolWay::Measuring && log_enabled("plan")) {
    char line[160];
    std::snprintf(line, sizeof line, "plan %zu steps (first %s): %s (pool %.3f ms, one thread %.3f ms)", steps.size(),
                  steps[0].label.c_str(), made == PoolWay::Serial ? "one thread" : "pool", 1e3 * pool_choice_.best[0],
                  1e3 * pool_choice_.best[1]);
    log_line(line);
  }
}

void Executable::run_plan(const std::vector<void*>& ptr, void* arena) const {
  ThreadPool& pool = ThreadPool::global();
  if (pool.size() > 1 && !ThreadPool::serial_here()) {  // a row-by-row chain: one block of rows per thread
    RowSplit rs;
    if (row_split(rs, ptr)) {
      const bool profiling = profile::enabled();
      auto t0 = profiling ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
      run_rows(rs, ptr, arena);
      if (profiling)
        profile::record("row blocks (" + std::to_string(rs.chunks) + ") of all " + std::to_string(steps.size()) + " steps",
                        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
      return;
    }
  }
  // Workers asleep since the caller's last plan (a training step's frontend code between its
  // graphs is serial) start waking now, while the steps before the first parallel one run. Not
  // for a one-step plan (an imperative op): its parallel step, if any, wakes them as soon, and
  // a loop of serial ones would keep a worker spinning beside other libraries' threads. Not for
  // a whole-forward row split either (above): it starts on every thread at once, and the ping
  // cost W1b's AOT program ~4 us a call (2 threads, 60 -> 64 ms per 1000 calls).
  if (steps.size() > 1 && pool.size() > 1 && !ThreadPool::serial_here()) pool.warm_up();
  Scratch scratch;
  for (size_t i = 0; i < steps.size();) {
    size_t j = i + 1;  // the group [i, j)
    while (steps[j - 1].with_next && j < steps.size()) ++j;
    if (j - i == 1 || pool.size() == 1 || ThreadPool::serial_here()) {
      for (; i < j; ++i) run_step(steps[i], ptr.data(), scratch);
      continue;
    }
    std::vector<std::exception_ptr> err(j - i);  // a worker must not throw (it would terminate)
    pool.parallel_for(static_cast<int>(j - i), [&](int k) {
      ThreadPool::Serial one;  // each member on its own thread, as in a serial run
      Scratch mine;
      try {
        run_step(steps[i + k], ptr.data(), mine);
      } catch (...) {
        err[k] = std::current_exception();
      }
    });
    for (const auto& e : err)
      if (e) std::rethrow_exception(e);
    i = j;
  }
}

std::vector<HostTensor> Executable::run(const std::vector<HostTensor>& inputs) const {
  std::vector<const HostTensor*> p(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) p[i] = &inputs[i];
  return run_ptrs(p);
}

std::vector<HostTensor> Executable::run_ptrs(const std::vector<const HostTensor*>& inputs) const {
  if (inputs.size() != input_buffers.size())
    fail("runtime", "executable takes ", input_buffers.size(), " inputs, got ", inputs.size());
  if (dynamic) {
    bool same = true;
    for (size_t i = 0; i < inputs.size() && same; ++i) same = inputs[i]->shape() == buffers[input_buffers[i]].shape;
    if (!same) {
      std::vector<std::vector<int64_t>> shapes;
      for (const HostTensor* t : inputs) shapes.push_back(t->shape());
      return dynamic->at(dynamic->bind(shapes))->run_ptrs(inputs);
    }
  }
  std::vector<const void*> in(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const BufferInfo& b = buffers[input_buffers[i]];
    if (inputs[i]->shape() != b.shape || inputs[i]->dtype() != b.dtype) {
      HostTensor want(b.dtype, {});
      fail("runtime", "input '", input_names[i], "' is ", inputs[i]->describe(), ", compiled for ",
           [&] {
             std::string s = "(";
             for (size_t k = 0; k < b.shape.size(); ++k) s += (k ? ", " : "") + std::to_string(b.shape[k]);
             return s + (b.shape.size() == 1 ? ",) " : ") ") + dtype_name(b.dtype);
           }());
    }
    in[i] = inputs[i]->raw();
  }
  std::vector<HostTensor> out;
  std::vector<void*> outp;
  // Outputs come uninitialized (recycled blocks: no page faults, no zeroing): a step writes
  // each one whole. An output no step touches (an extra output of a view node) reads zeros.
  std::vector<bool> touched(buffers.size(), false);
  for (const Step& st : steps)
    for (int id : st.args) touched[id] = true;
  for (int id : output_buffers) {
    const BufferInfo& b = buffers[id];
    out.push_back(touched[id] || b.kind != BufferKind::Output ? HostTensor::uninitialized(b.dtype, b.shape)
                                                               : HostTensor(b.dtype, b.shape));
    outp.push_back(out.back().raw());
  }
  run_into(in, outp);
  return out;
}

void Executable::run_into(const std::vector<const void*>& in, const std::vector<void*>& outp) const {
  PooledBuffer arena(static_cast<std::size_t>(arena_bytes));
  execute(in, outp, arena.get());
  // Heads that are inputs, constants or views of them were not written by a step: copy.
  for (size_t k = 0; k < output_buffers.size(); ++k) {
    const BufferInfo* b = &buffers[output_buffers[k]];
    if (b->kind == BufferKind::Output && b->index == static_cast<int>(k)) continue;
    const std::size_t nbytes = b->nbytes();
    while (b->kind == BufferKind::View) b = &buffers[b->view_of];
    const void* src = b->kind == BufferKind::Input ? in[b->index]
                      : b->kind == BufferKind::Constant ? constants[b->index].raw()
                      : b->kind == BufferKind::Output ? outp[b->index]
                                                       : static_cast<char*>(arena.get()) + b->offset;
    std::memcpy(outp[k], src, nbytes);
  }
}

std::vector<HostTensor> Executable::run(const std::map<std::string, HostTensor>& inputs) const {
  std::vector<HostTensor> v(input_names.size());
  for (size_t i = 0; i < input_names.size(); ++i) {
    auto it = inputs.find(input_names[i]);
    if (it == inputs.end()) fail("runtime", "input '", input_names[i], "' was not given");
    v[i] = it->second;
  }
  for (const auto& [name, t] : inputs)
    if (input_index(name) < 0 && !ignored_inputs.count(name))
      fail("runtime", "the executable has no input named '", name, "'");
  return run(v);
}

}  // namespace hgc
