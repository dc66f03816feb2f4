// The communicator for data-parallel work: one interface over existing engines (Open MPI,
// Gloo), in its own library (hgc_dist) so standalone AOT programs never link either.
//
//   auto comm = hgc::dist::world();          // from the environment (mpirun, hgc launch, Slurm)
//   std::vector<float> g = ...;
//   comm->allreduce(g.data(), g.size(), hgc::DType::f32);   // in-place sum over ranks
//   comm->broadcast(w.data(), w.size() * 4, /*root=*/0);
//   comm->barrier();
//
// Backend choice (Options::from_env): HGC_BACKEND=mpi|gloo wins; otherwise `mpi` when the
// process was started by mpirun (OMPI_COMM_WORLD_SIZE is set), else `gloo`. Gloo ranks find
// each other through a rendezvous store named by HGC_RENDEZVOUS=file:DIR (a directory every
// rank sees, empty per job) or redis://HOST:PORT; rank and size come from HGC_RANK /
// HGC_WORLD_SIZE, else OMPI_COMM_WORLD_RANK / _SIZE, else SLURM_PROCID / SLURM_NTASKS.
// No variables at all: a world of one rank ("local"), where every collective is a no-op.
//
// Every collective has a deadline (Options::timeout, 300 s by default, HGC_DIST_TIMEOUT in
// seconds). A peer that died or stopped answering makes the call throw hgc::Error naming the
// collective and the peer; the communicator is unusable afterwards (each later call throws).
// Collectives are serialized by the communicator, so several threads may call it, but every
// rank must issue the same collectives in the same order.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "hgc/base/dtype.h"

namespace hgc::dist {

struct Options {
  std::string backend;        // "mpi", "gloo", "local" (one rank); empty: choose (see above)
  int rank = 0;
  int world_size = 1;
  std::string rendezvous;     // gloo: "file:DIR" or "redis://HOST:PORT"
  std::string prefix = "hgc"; // gloo: key prefix in the store (HGC_RUN_ID), one per job on a shared Redis
  std::string iface;          // gloo: network interface (HGC_GLOO_IFACE); empty: loopback unless hostname set
  std::string hostname;       // gloo: address to bind (HGC_GLOO_HOSTNAME)
  std::chrono::milliseconds timeout{300000};

  Options& with_backend(std::string b) { backend = std::move(b); return *this; }
  Options& with_rank(int r) { rank = r; return *this; }
  Options& with_world_size(int n) { world_size = n; return *this; }
  Options& with_rendezvous(std::string r) { rendezvous = std::move(r); return *this; }
  Options& with_prefix(std::string p) { prefix = std::move(p); return *this; }
  Options& with_timeout(std::chrono::milliseconds t) { timeout = t; return *this; }
  Options& with_timeout_seconds(double s) {
    timeout = std::chrono::milliseconds(static_cast<long long>(s * 1000));
    return *this;
  }

  // Reads the variables listed above; throws hgc::Error on malformed values (a rank outside
  // the world, HGC_BACKEND=gloo without HGC_RENDEZVOUS, ...).
  static Options from_env();
};

// True when the environment describes a job of more than one process (any of the variables
// above with a world size > 1).
bool launched_distributed();

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // "mpi", "gloo" or "local".
  virtual std::string backend() const = 0;

  // Sum over ranks, in place; f32, f64, i32 and i64 (others throw).
  virtual void allreduce(void* data, size_t count, DType dtype) = 0;
  // Copies `bytes` bytes of root's buffer into every rank's.
  virtual void broadcast(void* data, size_t bytes, int root) = 0;
  // out (size() * bytes) receives every rank's `in` (bytes each) in rank order.
  virtual void allgather(const void* in, void* out, size_t bytes) = 0;
  virtual void barrier() = 0;

  std::chrono::milliseconds timeout() const { return timeout_; }
  void set_timeout(std::chrono::milliseconds t) { timeout_ = t; }

  // Typed conveniences.
  template <typename T>
  void allreduce(std::vector<T>& v);
  template <typename T>
  void broadcast(std::vector<T>& v, int root) { broadcast(v.data(), v.size() * sizeof(T), root); }
  // Every rank's copy of `s`, in rank order (lengths may differ).
  std::vector<std::string> allgather_strings(const std::string& s);

 protected:
  explicit Communicator(std::chrono::milliseconds timeout) : timeout_(timeout) {}
  std::chrono::milliseconds timeout_;
};

// A communicator for `opts` (rendezvous happens here, bounded by opts.timeout).
// Backends reserved for later: "nccl" throws "not built".
std::shared_ptr<Communicator> create(const Options& opts);

// The process-wide communicator, created from Options::from_env() on first use and kept
// until exit (MPI is finalized then). Thread-safe.
std::shared_ptr<Communicator> world();
// Drops the process-wide communicator (MPI cannot be initialized again afterwards).
void reset_world();

template <typename T>
constexpr DType dtype_of() {
  if constexpr (std::is_same_v<T, float>) return DType::f32;
  else if constexpr (std::is_same_v<T, double>) return DType::f64;
  else if constexpr (std::is_same_v<T, int32_t>) return DType::i32;
  else if constexpr (std::is_same_v<T, int64_t>) return DType::i64;
  else return DType::unknown;
}

template <typename T>
void Communicator::allreduce(std::vector<T>& v) {
  allreduce(v.data(), v.size(), dtype_of<T>());
}

}  // namespace hgc::dist
