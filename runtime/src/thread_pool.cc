#include "hgc/runtime/thread_pool.h"

#include <algorithm>
#include <cstdlib>

namespace hgc {

namespace {
std::mutex g_config_mu;
int g_configured = 0;   // threads set by configure(), 0 for none
bool g_created = false;
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
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::work() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return stop_ || (job_ && next_ < total_); });
    if (stop_) return;
    int i = next_++;
    const auto* job = job_;
    lock.unlock();
    (*job)(i);
    lock.lock();
    if (--pending_ == 0) done_.notify_all();
  }
}

void ThreadPool::parallel_for(int n, const std::function<void(int)>& fn) {
  std::unique_lock<std::mutex> run(run_mu_, std::try_to_lock);
  if (!run.owns_lock() || workers_.empty() || n <= 1) {  // busy or nothing to share: serial
    for (int i = 0; i < n; ++i) fn(i);
    return;
  }
  std::unique_lock<std::mutex> lock(mu_);
  job_ = &fn;
  next_ = 0;
  total_ = n;
  pending_ = n;
  wake_.notify_all();
  while (next_ < total_) {  // the caller works too
    int i = next_++;
    lock.unlock();
    fn(i);
    lock.lock();
    --pending_;
  }
  done_.wait(lock, [this] { return pending_ == 0; });
  job_ = nullptr;
}

}  // namespace hgc
