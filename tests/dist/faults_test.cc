// Faults: a gloo peer that dies or stops answering makes the other rank throw hgc::Error
// naming the collective and the peer within the timeout; under mpirun a dead rank ends the
// job (Open MPI has no fault-tolerant collectives) rather than hanging it. And hgc launch:
// rank-prefixed output, the failed rank named, the rest stopped, signals forwarded.
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "dist/dist_util.h"
#include "hgc/dist/communicator.h"
#include "hgc/base/error.h"

using namespace hgc;
using namespace hgc::test;

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Two plain processes (no launcher, which would stop rank 0 as soon as rank 1 fails).
Shell two_ranks_by_hand(const std::string& filter, const std::string& env) {
  std::string dir = fresh_dir("hgc-dist-fault");
  std::string common = std::string(kPinned) + " " + env + " HGC_BACKEND=gloo HGC_WORLD_SIZE=2 HGC_RENDEZVOUS=file:" + dir +
                       " ";
  Shell r = sh(common + "HGC_RANK=1 " + worker_cmd(filter) + " > " + dir + "/rank1.log 2>&1 & P1=$!; " + common +
               "HGC_RANK=0 timeout -s KILL 120 " + worker_cmd(filter) + "; echo rank0-exit=$?; " +
               "kill -KILL $P1 2>/dev/null; wait; cat " + dir + "/rank1.log");
  std::filesystem::remove_all(dir);
  return r;
}
}  // namespace

// Rank 1 leaves (exit or SIGSTOP, from HGC_TEST_FAULT) after one allreduce; rank 0's next
// allreduce must fail with the named error, in time.
TEST_CASE("dist worker: peer fault" * doctest::skip()) {
  auto c = dist::world();
  std::vector<float> v(1000, 1.0f);
  c->allreduce(v);
  std::string fault = std::getenv("HGC_TEST_FAULT") ? std::getenv("HGC_TEST_FAULT") : "exit";
  if (c->rank() == 1) {
    std::fflush(stdout);
    if (fault == "exit") ::_exit(3);
    ::raise(SIGSTOP);
    ::_exit(0);
  }
  auto t0 = std::chrono::steady_clock::now();
  std::string msg;
  try {
    for (int i = 0; i < 3; ++i) c->allreduce(v);
  } catch (const Error& e) {
    msg = e.what();
  }
  double took = seconds_since(t0);
  std::printf("rank 0 error after %.2f s: %s\n", took, msg.c_str());
  CHECK(msg.find("[dist] allreduce of 1000 float32 failed on rank 0 of 2: peer rank 1") != std::string::npos);
  if (fault == "stop") CHECK(msg.find("did not answer within 3") != std::string::npos);
  CHECK(took < 3 + 5);  // HGC_DIST_TIMEOUT=3 plus slack for a loaded machine
  // Broken for good: the next call says so at once instead of hanging.
  CHECK_THROWS_WITH_AS(c->barrier(), doctest::Contains("failed earlier"), Error);
  std::fflush(stdout);
  ::_exit(0);  // the dead peer's connections would only slow down a clean shutdown
}

TEST_CASE("dist: a gloo peer that dies is named by the other rank at once" * doctest::test_suite("dist_sample")) {
  auto t0 = std::chrono::steady_clock::now();
  Shell r = two_ranks_by_hand("dist worker: peer fault", "HGC_TEST_FAULT=exit HGC_DIST_TIMEOUT=3");
  INFO(r.out);
  CHECK(r.out.find("rank0-exit=0") != std::string::npos);
  CHECK(r.out.find("peer rank 1") != std::string::npos);
  CHECK(seconds_since(t0) < 60);
}

TEST_CASE("dist: a gloo peer that stops answering is named within the timeout") {
  Shell r = two_ranks_by_hand("dist worker: peer fault", "HGC_TEST_FAULT=stop HGC_DIST_TIMEOUT=3");
  INFO(r.out);
  CHECK(r.out.find("rank0-exit=0") != std::string::npos);
  CHECK(r.out.find("peer rank 1 did not answer within 3") != std::string::npos);
}

TEST_CASE("dist worker: rank 1 fails" * doctest::skip()) {
  auto c = dist::world();
  if (c->rank() == 1) {
    std::printf("rank 1 giving up\n");
    std::fflush(stdout);
    if (std::getenv("HGC_TEST_KILL")) ::raise(SIGKILL);
    ::_exit(3);
  }
  std::printf("rank 0 waiting\n");
  std::fflush(stdout);
  c->barrier();  // never completes: rank 1 is gone
  ::_exit(0);
}

TEST_CASE("dist: hgc launch stops the other ranks and names the failed one" * doctest::test_suite("dist_sample")) {
  auto t0 = std::chrono::steady_clock::now();
  Shell r = launch_workers(2, "gloo", "dist worker: rank 1 fails", "HGC_DIST_TIMEOUT=600");
  INFO(r.out);
  CHECK(r.code == 3);
  CHECK(r.out.find("[rank 1] rank 1 giving up") != std::string::npos);
  CHECK(r.out.find("hgc launch: rank 1 exited with status 3; stopping the other ranks") != std::string::npos);
  CHECK(r.out.find("hgc launch: failed: rank 1 exited with status 3") != std::string::npos);
  CHECK(seconds_since(t0) < 120);  // not the 600 s timeout
}

TEST_CASE("dist: under mpirun a killed rank ends the job non-zero instead of hanging") {
  if (sanitized_build()) {
    MESSAGE("SKIP under the sanitizers: Open MPI leaks at initialization (the release pass runs this)");
    return;
  }
  auto t0 = std::chrono::steady_clock::now();
  Shell r = launch_workers(2, "mpi", "dist worker: rank 1 fails", "HGC_TEST_KILL=1 HGC_DIST_TIMEOUT=600");
  INFO(r.out);
  CHECK(r.code != 0);
  CHECK(r.code != 124);  // timeout(1)'s code: the job hung
  CHECK(r.out.find("[rank 1] rank 1 giving up") != std::string::npos);
  CHECK(seconds_since(t0) < 120);
}

TEST_CASE("dist: hgc launch forwards signals, prefixes output, and rejects bad usage" * doctest::test_suite("dist_sample")) {
  std::string dir = fresh_dir("hgc-dist-launch");
  Shell r = sh(std::string(HGC_TOOL) + " launch -n 2 -- sh -c 'trap \"echo got TERM; exit 7\" TERM; echo " +
               "\"up $HGC_RANK/$HGC_WORLD_SIZE\"; echo to-stderr >&2; while :; do sleep 0.1; done' > " + dir +
               "/out 2>&1 & L=$!; for i in $(seq 100); do [ $(grep -c up " + dir +
               "/out) = 2 ] && break; sleep 0.1; done; kill -TERM $L; wait $L; echo launch-exit=$?; cat " + dir + "/out");
  std::filesystem::remove_all(dir);
  INFO(r.out);
  CHECK(r.out.find("[rank 0] up 0/2") != std::string::npos);
  CHECK(r.out.find("[rank 1] up 1/2") != std::string::npos);
  CHECK(r.out.find("[rank 1] to-stderr") != std::string::npos);
  CHECK(r.out.find("[rank 0] got TERM") != std::string::npos);
  CHECK(r.out.find("[rank 1] got TERM") != std::string::npos);
  CHECK(r.out.find("launch-exit=143") != std::string::npos);

  Shell none = hgc_tool("launch -- true");
  CHECK(none.code == 1);
  CHECK(none.out.find("-n N is required") != std::string::npos);
  Shell bad = hgc_tool("launch -n 2 --backend tcp -- true");
  CHECK(bad.code == 1);
  CHECK(bad.out.find("--backend is gloo or mpi") != std::string::npos);
  Shell missing = hgc_tool("launch -n 2 -- /nonexistent/program");
  CHECK(missing.code == 127);
  CHECK(missing.out.find("cannot run '/nonexistent/program'") != std::string::npos);
  Shell ok = hgc_tool("launch -n 3 -- sh -c 'echo r=$HGC_RANK'");
  CHECK(ok.code == 0);
  CHECK(ok.out.find("[rank 2] r=2") != std::string::npos);
}
