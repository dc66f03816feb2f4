// The backends behind hgc::dist::Communicator (one file each) and what they share.
#pragma once
#include <chrono>
#include <memory>
#include <string>

#include "hgc/dist/communicator.h"

namespace hgc::dist::detail {

std::shared_ptr<Communicator> make_local(const Options& o);
std::shared_ptr<Communicator> make_gloo(const Options& o);
std::shared_ptr<Communicator> make_mpi(const Options& o);

// "allreduce of 1024 float32" — what a failure message says was running.
std::string describe(const std::string& collective, size_t count, DType dtype);
// "3" or "2.5": a timeout in seconds for messages.
std::string seconds(std::chrono::milliseconds t);
// Throws unless dtype is one allreduce sums.
void check_reduce_dtype(DType dtype, const char* backend);

// A backend that failed once stays failed: later calls throw this message again, so a rank
// never continues with a half-finished collective behind it.
class Poison {
 public:
  void check(const char* backend) const;
  void set(const std::string& message) { message_ = message; }

 private:
  std::string message_;
};

}  // namespace hgc::dist::detail
