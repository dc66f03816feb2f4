// Multi-process test plumbing: the "worker" cases of tests/dist are skipped in a normal run
// and run as the ranks of a job that a parent case starts (this binary again, through
// `hgc launch`, mpirun, or two plain processes), each rank pinned to one thread.
//
//   Shell r = launch_workers(2, "gloo", "dist worker: collectives");
//   CHECK(r.code == 0);
#pragma once
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "support/shell.h"

namespace hgc::test {

// Every rank runs with one thread (hgc, OpenMP, OpenBLAS), as two ranks share two cores.
inline const char* kPinned = "HGC_NUM_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1";
// Open MPI as root, with more ranks than cores, in a container.
inline const char* kMpiEnv = "OMPI_MCA_btl_vader_single_copy_mechanism=none";
inline const char* kMpiFlags = "--allow-run-as-root --oversubscribe";

inline bool sanitized_build() {
#if defined(__SANITIZE_ADDRESS__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return true;
#else
  return false;
#endif
#else
  return false;
#endif
}

inline std::string self_exe() { return std::filesystem::read_symlink("/proc/self/exe").string(); }

// This binary running the (skipped-by-default) worker case(s) `filter`.
inline std::string worker_cmd(const std::string& filter) {
  return self_exe() + " --no-version --no-colors --no-skip --no-intro -tc='" + filter + "'";
}

// `hgc launch -n N --backend B -- <worker>` with pinned threads; `env` goes before it.
inline Shell launch_workers(int n, const std::string& backend, const std::string& filter, const std::string& env = "") {
  return sh(std::string(kPinned) + " " + kMpiEnv + " " + env + " timeout 300 " + HGC_TOOL + " launch -n " +
            std::to_string(n) + " --backend " + backend + " -- " + worker_cmd(filter));
}

// A loopback TCP port nothing listens on right now.
inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// A fresh empty directory under the system's temporary directory.
inline std::string fresh_dir(const std::string& stem) {
  std::string t = (std::filesystem::temp_directory_path() / (stem + "-XXXXXX")).string();
  REQUIRE(::mkdtemp(t.data()));
  return t;
}

}  // namespace hgc::test
