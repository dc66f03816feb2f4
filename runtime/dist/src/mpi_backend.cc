// The Open MPI backend: a duplicate of MPI_COMM_WORLD and MPI's non-blocking collectives,
// polled against the communicator's deadline (MPI itself has no timeouts).
//
// Debian's Open MPI 4.1 has no fault-tolerant collectives: when a rank dies, mpirun ends the
// whole job. A rank that merely stops answering is caught here by the deadline; the error
// cannot name the peer (MPI does not say which rank has not contributed).
#include <mpi.h>

#include <chrono>
#include <climits>
#include <mutex>
#include <thread>

#include "backends.h"
#include "hgc/base/error.h"

namespace hgc::dist::detail {

namespace {

MPI_Datatype mpi_type(DType t) {
  switch (t) {
    case DType::f32: return MPI_FLOAT;
    case DType::f64: return MPI_DOUBLE;
    case DType::i32: return MPI_INT32_T;
    default: return MPI_INT64_T;
  }
}

std::string mpi_error_string(int code) {
  char buf[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(code, buf, &len);
  return std::string(buf, len);
}

class Mpi : public Communicator {
 public:
  explicit Mpi(const Options& o) : Communicator(o.timeout) {
    int inited = 0, finalized = 0;
    MPI_Initialized(&inited);
    MPI_Finalized(&finalized);
    if (finalized) fail("dist", "MPI was finalized already in this process and cannot start again");
    if (!inited) {
      int provided = 0;
      // One thread at a time calls MPI (the communicator serializes its calls).
      if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
        fail("dist", "MPI_Init_thread failed (was this process started by mpirun?)");
      owns_init_ = true;
    }
    MPI_Comm_dup(MPI_COMM_WORLD, &comm_);
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
    if (o.world_size > 1 && (o.world_size != size_ || o.rank != rank_))
      fail("dist", "MPI says rank ", rank_, " of ", size_, " but the environment says rank ", o.rank, " of ",
           o.world_size);
  }

  ~Mpi() override {
    // After a timed-out collective MPI_Finalize would wait on it forever: leave the process to
    // exit, and mpirun to end the job.
    if (!poisoned_) {
      MPI_Comm_free(&comm_);
      if (owns_init_) MPI_Finalize();
    }
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }

  void allreduce(void* data, size_t count, DType dtype) override {
    check_reduce_dtype(dtype, "mpi");
    run(describe("allreduce", count, dtype), count, [&](MPI_Request* req) {
      return MPI_Iallreduce(MPI_IN_PLACE, data, static_cast<int>(count), mpi_type(dtype), MPI_SUM, comm_, req);
    });
  }

  void broadcast(void* data, size_t bytes, int root) override {
    if (root < 0 || root >= size_) fail("dist", "broadcast: root ", root, " is not a rank of a world of ", size_);
    run("broadcast of " + std::to_string(bytes) + " bytes from rank " + std::to_string(root), bytes,
        [&](MPI_Request* req) { return MPI_Ibcast(data, static_cast<int>(bytes), MPI_BYTE, root, comm_, req); });
  }

  void allgather(const void* in, void* out, size_t bytes) override {
    run("allgather of " + std::to_string(bytes) + " bytes", bytes * size_, [&](MPI_Request* req) {
      return MPI_Iallgather(in, static_cast<int>(bytes), MPI_BYTE, out, static_cast<int>(bytes), MPI_BYTE, comm_, req);
    });
  }

  void barrier() override {
    run("barrier", 0, [&](MPI_Request* req) { return MPI_Ibarrier(comm_, req); });
  }

 private:
  template <typename Start>
  void run(const std::string& what, size_t count, Start&& start) {
    std::lock_guard<std::mutex> lock(mu_);
    poison_.check("mpi");
    if (count > static_cast<size_t>(INT_MAX))
      fail("dist", what, ": more than 2^31 - 1 elements in one MPI call");
    MPI_Request req;
    int rc = start(&req);
    if (rc != MPI_SUCCESS) fail_with(what, "MPI: " + mpi_error_string(rc));
    // MPI progresses a non-blocking collective only inside MPI calls: poll, spinning for the
    // first millisecond (small messages), then with short sleeps.
    auto t0 = std::chrono::steady_clock::now();
    for (int flag = 0;;) {
      rc = MPI_Test(&req, &flag, MPI_STATUS_IGNORE);
      if (rc != MPI_SUCCESS) fail_with(what, "MPI: " + mpi_error_string(rc));
      if (flag) return;
      auto waited = std::chrono::steady_clock::now() - t0;
      if (waited > timeout_)
        fail_with(what, "a peer did not answer within " + seconds(timeout_) +
                            " s (Open MPI does not say which rank)");
      if (waited > std::chrono::milliseconds(1)) std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

  [[noreturn]] void fail_with(const std::string& what, const std::string& why) {
    std::string msg = what + " failed on rank " + std::to_string(rank_) + " of " + std::to_string(size_) + ": " + why;
    poison_.set(msg);
    poisoned_ = true;
    throw Error("dist", msg);
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  bool owns_init_ = false;
  bool poisoned_ = false;
  std::mutex mu_;
  Poison poison_;
};

}  // namespace

std::shared_ptr<Communicator> make_mpi(const Options& o) { return std::make_shared<Mpi>(o); }

}  // namespace hgc::dist::detail
