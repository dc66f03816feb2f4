// A small persistent thread pool for splitting large kernels across the cores (OpenBLAS
// threads its own GEMMs). The caller's thread always takes part.
//
//   ThreadPool::global().parallel_for(4, [&](int chunk) { ... });
//   ThreadPool::global().size();   // threads that work, caller included
//   ThreadPool::configure(4);      // before first use: the global pool's size
#pragma once
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace hgc {

class ThreadPool {
 public:
  // hardware_concurrency() threads in all (the caller plus workers).
  static ThreadPool& global();
  // Sets the global pool's size (threads in all, >= 1), overriding HGC_NUM_THREADS. Returns
  // false (and changes nothing) once global() has been created.
  static bool configure(int threads);
  explicit ThreadPool(int threads);
  ~ThreadPool();
  int size() const { return static_cast<int>(workers_.size()) + 1; }
  // Runs fn(0..n-1), spread over the pool; returns when all are done. Not reentrant: a
  // parallel_for inside fn runs serially.
  void parallel_for(int n, const std::function<void(int)>& fn);

 private:
  void work();
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  const std::function<void(int)>* job_ = nullptr;
  int next_ = 0, total_ = 0, pending_ = 0;
  bool stop_ = false;
  std::mutex run_mu_;  // one parallel_for at a time
};

}  // namespace hgc
