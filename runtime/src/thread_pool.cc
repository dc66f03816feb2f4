#include "hgc/runtime/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>

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
}  // namespace

ThreadPool::Serial::Serial() { ++t_serial; }
ThreadPool::Serial::~Serial() { --t_serial; }
bool ThreadPool::serial_here() { return t_serial > 0; }

int ThreadPool::parts_for(int64_t work, int64_t grain) const {
  if (t_serial > 0 || grain < 1 || work < 2 * grain) return 1;
  return static_cast<int>(std::min<int64_t>(size(), work / grain));
}

void ThreadPool::work() {
  uint64_t seen = 0;
  for (;;) {
    // A job is announced by a new epoch; spin for it a while, then sleep.
    spin_until([&] { return epoch_.load(std::memory_order_acquire) != seen; });
    std::unique_lock<std::mutex> lock(mu_);
    if (epoch_.load(std::memory_order_relaxed) == seen) {
      ++sleepers_;
      wake_.wait(lock, [&] { return epoch_.load(std::memory_order_relaxed) != seen; });
      --sleepers_;
    }
    if (stop_) return;
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

void ThreadPool::parallel_for(int n, const std::function<void(int)>& fn) {
  // Inside a Serial scope (a member of a parallel_for, or a step of a running group) the
  // mutex is not even tried: its owner may be this very thread.
  std::unique_lock<std::mutex> run(run_mu_, std::defer_lock);
  if (workers_.empty() || n <= 1 || t_serial > 0 || !run.try_lock()) {  // busy or nothing to share: serial
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
