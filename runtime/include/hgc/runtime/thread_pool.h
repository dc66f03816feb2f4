// A small persistent thread pool for splitting kernels and library calls across the cores.
// The caller's thread always takes part.
//
//   ThreadPool::global().parallel_for(4, [&](int chunk) { ... });
//   ThreadPool::global().size();   // threads that work, caller included
//   ThreadPool::configure(4);      // before first use: the global pool's size
//   ThreadPool::global().parts_for(work, grain);  // how many threads `work` units deserve
//
// Waiting: an idle worker spins for a short while (kSpin, with pause instructions) before it
// sleeps on a condition variable, so back-to-back parallel kernels reach it in well under a
// microsecond, while a pool with nothing to do costs no CPU after that. (A pool that sleeps at
// once pays a futex wake-up per kernel: 10-70 us measured on a shared 2-core machine, more
// than a 64x256x512 GEMM takes on one core.) oneDNN's OpenMP threads are the other threads of
// a process; run them with OMP_WAIT_POLICY=PASSIVE so they do not spin against this pool.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
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
  // parallel_for inside fn runs serially, and so does one while another caller's runs.
  void parallel_for(int n, const std::function<void(int)>& fn);
  // The same, with the indices in min(size(), n) contiguous ranges, one per thread: the caller
  // runs the first range from its start, each worker another; a thread done with its own range
  // takes what is left of the others (a late worker's share). Index i of n is, when every
  // thread is on time, run by the thread that runs part i * parts / n of any other call cut
  // the same way (a convolution's blocks of images, the next split kernel's rows): on this
  // machine a core reads what another core just wrote at about half the speed of its own.
  void parallel_for_ranges(int n, const std::function<void(int)>& fn);
  // Threads worth using for `work` units when each thread should get at least `grain` of
  // them: min(size(), work / grain), at least 1 (1 inside a Serial scope).
  int parts_for(int64_t work, int64_t grain) const;
  // Tells the workers that parallel work is near: sleeping ones wake and spinning ones spin
  // another kSpin. A caller about to run a plan after a serial stretch (a training loop's
  // frontend code between two compiled graphs) calls it first, so the futex wake-up (10-70 us)
  // overlaps its serial steps instead of delaying its first parallel one. Cheap when no worker
  // sleeps (an atomic add); nothing on a one-thread pool.
  void warm_up();

  // While one lives, the calling thread runs as if the pool had one thread: parts_for()
  // answers 1 and parallel_for() runs inline. For comparing parallel results with serial ones.
  class Serial {
   public:
    Serial();
    ~Serial();
    Serial(const Serial&) = delete;
    Serial& operator=(const Serial&) = delete;
  };
  static bool serial_here();

  // While one lives, the calling thread's parallel_for() runs every index itself, in order,
  // while parts_for() and size() answer as before: the same work cut the same way, so the
  // same values, with no hand-off to the workers (Executable's one-thread way).
  class Inline {
   public:
    Inline();
    ~Inline();
    Inline(const Inline&) = delete;
    Inline& operator=(const Inline&) = delete;
  };
  static bool inline_here();

  // memmove(dst, src, bytes), in one contiguous part per thread of the global pool (the
  // caller's first, as parallel_for_ranges cuts) when the bytes are many and the two do not
  // overlap: a training step's gradient written into a parameter's grad array then lies, half
  // by half, on the cores whose blocks of the optimizer update (frontend/src/optim/
  // fused_update.cc) read it next. A small copy never creates the pool.
  static void copy(void* dst, const void* src, std::size_t bytes);

 private:
  void work();
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  const std::function<void(int)>* job_ = nullptr;
  int next_ = 0, total_ = 0;
  std::atomic<int> pending_{0};
  std::atomic<uint64_t> epoch_{0};  // bumped per job: what spinning workers watch
  std::atomic<uint64_t> ping_{0};   // bumped by warm_up(): spin (again) for a job
  std::atomic<int> asleep_{0};      // sleepers_, readable without mu_
  int sleepers_ = 0;
  bool stop_ = false;
  std::mutex run_mu_;  // one parallel_for at a time
};

}  // namespace hgc
