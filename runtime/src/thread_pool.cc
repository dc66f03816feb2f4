#include "hgc/runtime/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HGC_PAUSE() _mm_pause()
#else
#define HGC_PAUSE() std::this_thread::yield()
#endif

namespace hgc {

namespace {
std::mutex g_config_mu;
int g_configured = 0;   // threads set by configure(), 0 for none
bool g_created = false;

// How long an idle thread spins before it sleeps. Long enough to bridge the serial steps
// between two split kernels of one forward (a few to a few tens of microseconds), short
// enough that an idle pool gives its core back almost at once.
constexpr auto kSpin = std::chrono::microseconds(100);

// Spins until done() or kSpin has passed; whether done() held.
template <class Done>
bool spin_until(Done&& done) {
  auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      HGC_PAUSE();
    }
    if (std::chrono::steady_clock::now() - t0 > kSpin) return done();
  }
}
}  // namespace

bool ThreadPool::configure(int threads) {
  std::lock_guard<std::mutex> lock(g_config_mu);
  if (g_created || threads < 1) return false;
  g_configured = threads;
  return true;
}

ThreadPool& ThreadPool::global() {
  // configure() wins; else HGC_NUM_THREADS overrides the core count (documented in
  // docs/DEVELOPING.md); this is the only place it is read.
  static ThreadPool* p = [] {
    std::lock_guard<std::mutex> lock(g_config_mu);
    g_created = true;
    int n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    if (const char* e = std::getenv("HGC_NUM_THREADS"); e && std::atoi(e) > 0) n = std::atoi(e);
    if (g_configured > 0) n = g_configured;
    return new ThreadPool(n);
  }();
  return *p;
}

ThreadPool::ThreadPool(int threads) {
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { work(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    epoch_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

namespace {
thread_local int t_serial = 0;
thread_local int t_inline = 0;
}  // namespace

ThreadPool::Serial::Serial() { ++t_serial; }
ThreadPool::Serial::~Serial() { --t_serial; }
bool ThreadPool::serial_here() { return t_serial > 0; }

ThreadPool::Inline::Inline() { ++t_inline; }
ThreadPool::Inline::~Inline() { --t_inline; }
bool ThreadPool::inline_here() { return t_inline > 0; }

int ThreadPool::parts_for(int64_t work, int64_t grain) const {
  if (t_serial > 0 || grain < 1 || work < 2 * grain) return 1;
  return static_cast<int>(std::min<int64_t>(size(), work / grain));
}

void ThreadPool::work() {
  uint64_t seen = 0, pinged = ping_.load();
  for (;;) {
    // A job is announced by a new epoch; spin for it a while (a ping from warm_up() starts the
    // while again), then sleep until a job or a ping.
    for (;;) {
      bool hit = spin_until([&] {
        return epoch_.load(std::memory_order_acquire) != seen || ping_.load(std::memory_order_relaxed) != pinged;
      });
      pinged = ping_.load(std::memory_order_relaxed);
      if (!hit || epoch_.load(std::memory_order_acquire) != seen) break;
    }
    std::unique_lock<std::mutex> lock(mu_);
    if (epoch_.load(std::memory_order_relaxed) == seen) {
      ++sleepers_;
      asleep_.fetch_add(1);
      wake_.wait(lock, [&] { return epoch_.load(std::memory_order_relaxed) != seen || ping_.load() != pinged; });
      asleep_.fetch_sub(1);
      --sleepers_;
    }
    if (stop_) return;
    if (epoch_.load(std::memory_order_relaxed) == seen) {  // woken by a ping: spin for its job
      pinged = ping_.load();
      continue;
    }
    seen = epoch_.load(std::memory_order_relaxed);
    while (job_ && next_ < total_) {
      int i = next_++;
      const auto* job = job_;
      lock.unlock();
      (*job)(i);
      lock.lock();
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) done_.notify_all();
    }
  }
}

void ThreadPool::parallel_for_ranges(int n, const std::function<void(int)>& fn) {
  const int parts = std::min(size(), n);
  if (parts <= 1 || t_serial > 0) {
    for (int i = 0; i < n; ++i) fn(i);
    return;
  }
  std::vector<std::atomic<int>> next(static_cast<size_t>(parts));
  for (int p = 0; p < parts; ++p) next[p].store(static_cast<int>(int64_t(n) * p / parts), std::memory_order_relaxed);
  parallel_for(parts, [&](int p) {
    for (int k = 0; k < parts; ++k) {  // its own range, then the others' rests
      const int q = (p + k) % parts;
      const int end = static_cast<int>(int64_t(n) * (q + 1) / parts);
      for (int i; (i = next[q].fetch_add(1, std::memory_order_relaxed)) < end;) fn(i);
    }
  });
}

void ThreadPool::copy(void* dst, const void* src, std::size_t bytes) {
  // ~15 us of copying on one core: well above a spinning worker's hand-off.
  constexpr std::size_t kMinBytes = std::size_t(1) << 18;
  auto* d = static_cast<char*>(dst);
  const auto* s = static_cast<const char*>(src);
  const bool overlap = d < s + bytes && s < d + bytes;
  if (bytes < kMinBytes || overlap || t_serial > 0) {
    if (bytes) std::memmove(dst, src, bytes);
    return;
  }
  ThreadPool& pool = global();
  const int parts = static_cast<int>(std::min<std::size_t>(pool.size(), bytes / (kMinBytes / 2)));
  pool.parallel_for(parts, [&](int p) {
    std::size_t b0 = bytes * p / parts / 64 * 64, b1 = p + 1 == parts ? bytes : bytes * (p + 1) / parts / 64 * 64;
    std::memcpy(d + b0, s + b0, b1 - b0);
  });
}

void ThreadPool::warm_up() {
  if (workers_.empty() || t_inline > 0) return;
  // The ping before the sleeper count (both sequentially consistent): a worker that is about
  // to sleep has either counted itself already (and is notified) or will see the ping in its
  // wait's condition.
  ping_.fetch_add(1);
  if (asleep_.load() > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    wake_.notify_all();
  }
}

void ThreadPool::parallel_for(int n, const std::function<void(int)>& fn) {
  // Inside a Serial scope (a member of a parallel_for, or a step of a running group) the
  // mutex is not even tried: its owner may be this very thread.
  std::unique_lock<std::mutex> run(run_mu_, std::defer_lock);
  if (workers_.empty() || n <= 1 || t_serial > 0 || t_inline > 0 || !run.try_lock()) {  // busy or nothing to share: serial
    for (int i = 0; i < n; ++i) fn(i);
    return;
  }
  std::unique_lock<std::mutex> lock(mu_);
  job_ = &fn;
  next_ = 0;
  total_ = n;
  pending_.store(n, std::memory_order_relaxed);
  epoch_.fetch_add(1, std::memory_order_release);
  if (sleepers_ > 0) wake_.notify_all();
  while (next_ < total_) {  // the caller works too
    int i = next_++;
    lock.unlock();
    fn(i);
    lock.lock();
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
  lock.unlock();
  // The workers' last chunks: usually done within microseconds, so spin before sleeping.
  if (!spin_until([&] { return pending_.load(std::memory_order_acquire) == 0; })) {
    lock.lock();
    done_.wait(lock, [this] { return pending_.load(std::memory_order_acquire) == 0; });
    lock.unlock();
  }
  lock.lock();
  job_ = nullptr;
}

}  // namespace hgc
