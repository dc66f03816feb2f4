// hgc::dist::Communicator: options from the environment in-process, and the collectives of
// both backends on 2-3 ranks of this binary (gloo through hgc launch's file store and through
// a Redis server the test starts; mpi through mpirun and hgc launch --backend mpi).
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <numeric>
#include <thread>

#include "dist/dist_util.h"
#include "hgc/dist/communicator.h"
#include "hgc/base/error.h"

using namespace hgc;
using namespace hgc::test;

namespace {

// Sets and restores environment variables for one in-process case.
struct EnvGuard {
  std::vector<std::pair<std::string, std::optional<std::string>>> saved;
  void set(const std::string& k, const std::string& v) {
    remember(k);
    ::setenv(k.c_str(), v.c_str(), 1);
  }
  void unset(const std::string& k) {
    remember(k);
    ::unsetenv(k.c_str());
  }
  void remember(const std::string& k) {
    const char* v = std::getenv(k.c_str());
    saved.emplace_back(k, v ? std::optional<std::string>(v) : std::nullopt);
  }
  ~EnvGuard() {
    for (auto it = saved.rbegin(); it != saved.rend(); ++it) {
      if (it->second) ::setenv(it->first.c_str(), it->second->c_str(), 1);
      else ::unsetenv(it->first.c_str());
    }
  }
  void clear_all() {
    for (const char* k : {"HGC_RANK", "HGC_WORLD_SIZE", "HGC_BACKEND", "HGC_RENDEZVOUS", "HGC_DIST_TIMEOUT",
                          "HGC_RUN_ID", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "PMI_RANK", "PMI_SIZE",
                          "SLURM_PROCID", "SLURM_NTASKS"})
      unset(k);
  }
};

template <typename T>
void check_allreduce(dist::Communicator& c, size_t n) {
  std::vector<T> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<T>((c.rank() + 1) * static_cast<int64_t>(i % 1000));
  c.allreduce(v);
  int64_t ranks = static_cast<int64_t>(c.size()) * (c.size() + 1) / 2;
  size_t bad = 0;
  for (size_t i = 0; i < n; ++i) bad += v[i] != static_cast<T>(ranks * static_cast<int64_t>(i % 1000));
  CHECK_MESSAGE(bad == 0, dtype_name(dist::dtype_of<T>()), " allreduce of ", n, ": ", bad, " wrong sums");
}

}  // namespace

TEST_CASE("dist: options come from HGC_*, then OMPI_COMM_WORLD_*, then SLURM_*" * doctest::test_suite("dist_sample")) {
  EnvGuard env;
  env.clear_all();
  auto o = dist::Options::from_env();
  CHECK(o.backend == "local");
  CHECK(o.world_size == 1);
  CHECK_FALSE(dist::launched_distributed());

  env.set("SLURM_PROCID", "3");
  env.set("SLURM_NTASKS", "4");
  o = dist::Options::from_env();
  CHECK(o.rank == 3);
  CHECK(o.world_size == 4);
  CHECK(o.backend == "gloo");  // not started by mpirun
  CHECK(dist::launched_distributed());

  env.set("OMPI_COMM_WORLD_RANK", "1");
  env.set("OMPI_COMM_WORLD_SIZE", "2");
  o = dist::Options::from_env();
  CHECK(o.rank == 1);
  CHECK(o.world_size == 2);
  CHECK(o.backend == "mpi");  // started by mpirun

  env.set("HGC_BACKEND", "gloo");  // the user's choice wins over mpirun's
  env.set("HGC_RANK", "0");
  env.set("HGC_WORLD_SIZE", "5");
  env.set("HGC_DIST_TIMEOUT", "2.5");
  env.set("HGC_RENDEZVOUS", "file:/tmp/x");
  o = dist::Options::from_env();
  CHECK(o.rank == 0);
  CHECK(o.world_size == 5);
  CHECK(o.backend == "gloo");
  CHECK(o.timeout == std::chrono::milliseconds(2500));
  CHECK(o.rendezvous == "file:/tmp/x");

  env.set("HGC_RANK", "5");
  CHECK_THROWS_WITH_AS(dist::Options::from_env(), doctest::Contains("HGC_RANK=5 is not a rank of a world of HGC_WORLD_SIZE=5"),
                       Error);
  env.set("HGC_RANK", "x");
  CHECK_THROWS_WITH_AS(dist::Options::from_env(), doctest::Contains("HGC_RANK='x'"), Error);
  env.set("HGC_RANK", "0");
  env.unset("HGC_WORLD_SIZE");
  CHECK_THROWS_WITH_AS(dist::Options::from_env(), doctest::Contains("HGC_WORLD_SIZE is not set"), Error);
  env.set("HGC_WORLD_SIZE", "2");
  env.set("HGC_DIST_TIMEOUT", "-1");
  CHECK_THROWS_WITH_AS(dist::Options::from_env(), doctest::Contains("HGC_DIST_TIMEOUT"), Error);

  CHECK_THROWS_WITH_AS(dist::create(dist::Options().with_backend("nccl")), doctest::Contains("not built"), Error);
  CHECK_THROWS_WITH_AS(dist::create(dist::Options().with_backend("tcp")), doctest::Contains("unknown backend 'tcp'"), Error);
  CHECK_THROWS_WITH_AS(dist::create(dist::Options().with_backend("gloo").with_world_size(2)),
                       doctest::Contains("HGC_RENDEZVOUS"), Error);
  CHECK_THROWS_WITH_AS(dist::create(dist::Options().with_backend("gloo").with_world_size(2).with_rendezvous("nfs:/x")),
                       doctest::Contains("neither file:DIR nor redis://"), Error);
}

TEST_CASE("dist: a world of one rank is the local backend, its collectives leave data as is" *
          doctest::test_suite("dist_sample")) {
  auto c = dist::create(dist::Options());
  CHECK(c->backend() == "local");
  CHECK(c->rank() == 0);
  CHECK(c->size() == 1);
  std::vector<float> v = {1, 2, 3};
  c->allreduce(v);
  CHECK(v == std::vector<float>{1, 2, 3});
  std::vector<int8_t> b = {1};
  CHECK_THROWS_WITH_AS(c->allreduce(b.data(), 1, DType::i8), doctest::Contains("int8 is not supported"), Error);
  CHECK(c->allgather_strings("abc") == std::vector<std::string>{"abc"});
  CHECK_THROWS_WITH_AS(c->broadcast(v.data(), 4, 1), doctest::Contains("root 1"), Error);
  c->barrier();
}

// ---- the ranks' side ----

TEST_CASE("dist worker: collectives" * doctest::skip()) {
  auto c = dist::world();
  INFO("rank ", c->rank(), " of ", c->size(), " on ", c->backend());
  REQUIRE(c->size() >= 2);
  const char* want = std::getenv("HGC_TEST_BACKEND");
  if (want) CHECK(c->backend() == want);
  check_allreduce<float>(*c, 1000);
  check_allreduce<double>(*c, 17);
  check_allreduce<int32_t>(*c, 5);
  check_allreduce<int64_t>(*c, 3);
  check_allreduce<float>(*c, 3 << 20);  // many of gloo's 1 MiB segments
  check_allreduce<float>(*c, 0);

  std::vector<double> b(100, c->rank() == 1 ? 7.5 : -1.0);
  c->broadcast(b, 1);
  CHECK(b == std::vector<double>(100, 7.5));

  int32_t mine = 10 * c->rank();
  std::vector<int32_t> all(c->size());
  c->allgather(&mine, all.data(), sizeof mine);
  for (int r = 0; r < c->size(); ++r) CHECK(all[r] == 10 * r);

  auto names = c->allgather_strings(std::string(c->rank() + 1, 'a' + c->rank()));
  REQUIRE(names.size() == static_cast<size_t>(c->size()));
  for (int r = 0; r < c->size(); ++r) CHECK(names[r] == std::string(r + 1, 'a' + r));

  c->barrier();
  // Several threads may call it; the communicator serializes (same order on every rank).
  std::vector<float> t(64, 1.0f);
  std::thread th([&] { c->allreduce(t); });
  th.join();
  CHECK(t[0] == static_cast<float>(c->size()));
  std::printf("rank %d of %d: collectives ok (%s)\n", c->rank(), c->size(), c->backend().c_str());
}

// ---- the parents ----

TEST_CASE("dist: gloo collectives on 2 and 3 ranks through hgc launch" * doctest::test_suite("dist_sample")) {
  for (int n : {2, 3}) {
    if (n == 3 && sanitized_build()) continue;
    Shell r = launch_workers(n, "gloo", "dist worker: collectives", "HGC_TEST_BACKEND=gloo");
    INFO(r.out);
    CHECK(r.code == 0);
    for (int k = 0; k < n; ++k)
      CHECK(r.out.find("[rank " + std::to_string(k) + "] rank " + std::to_string(k) + " of " + std::to_string(n) +
                       ": collectives ok (gloo)") != std::string::npos);
  }
}

TEST_CASE("dist: mpi collectives under mpirun and hgc launch --backend mpi") {
  if (sanitized_build()) {
    MESSAGE("SKIP under the sanitizers: Open MPI leaks at initialization (the release pass runs this)");
    return;
  }
  Shell r = sh(std::string(kPinned) + " " + kMpiEnv + " HGC_TEST_BACKEND=mpi timeout 300 mpirun -np 2 " + kMpiFlags +
               " " + worker_cmd("dist worker: collectives"));
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK(r.out.find("rank 1 of 2: collectives ok (mpi)") != std::string::npos);

  Shell l = launch_workers(2, "mpi", "dist worker: collectives", "HGC_TEST_BACKEND=mpi");
  INFO(l.out);
  CHECK(l.code == 0);
  CHECK(l.out.find("[rank 0] rank 0 of 2: collectives ok (mpi)") != std::string::npos);
  CHECK(l.out.find("[rank 1] rank 1 of 2: collectives ok (mpi)") != std::string::npos);

  // HGC_BACKEND=gloo under mpirun: rank and size from Open MPI, rendezvous through a file store.
  std::string dir = fresh_dir("hgc-dist-mpigloo");
  Shell g = sh(std::string(kPinned) + " " + kMpiEnv + " HGC_TEST_BACKEND=gloo timeout 300 mpirun -np 2 " + kMpiFlags +
               " -x HGC_BACKEND=gloo -x HGC_RENDEZVOUS=file:" + dir + " " + worker_cmd("dist worker: collectives"));
  std::filesystem::remove_all(dir);
  INFO(g.out);
  CHECK(g.code == 0);
  CHECK(g.out.find("rank 1 of 2: collectives ok (gloo)") != std::string::npos);
}

TEST_CASE("dist: gloo rendezvous through a Redis store (a redis-server the test starts)") {
  int port = free_port();
  std::string dir = fresh_dir("hgc-dist-redis");
  // Foreground server in the background of a shell, its pid in a file so the test stops it.
  Shell start = sh("redis-server --port " + std::to_string(port) + " --bind 127.0.0.1 --save '' --appendonly no --dir " +
                   dir + " > " + dir + "/redis.log 2>&1 & echo $! > " + dir + "/pid; " +
                   "for i in $(seq 100); do redis-cli -p " + std::to_string(port) +
                   " ping 2>/dev/null | grep -q PONG && exit 0; sleep 0.1; done; exit 1");
  INFO(start.out);
  REQUIRE_MESSAGE(start.code == 0, "redis-server did not come up (Debian's redis-server is installed by setup.sh)");
  Shell r = sh(std::string(kPinned) + " HGC_TEST_BACKEND=gloo timeout 300 " + HGC_TOOL + " launch -n 2 --rendezvous redis://127.0.0.1:" +
               std::to_string(port) + " -- " + worker_cmd("dist worker: collectives"));
  Shell keys = sh("redis-cli -p " + std::to_string(port) + " --scan --pattern 'hgc*' | head -3");
  sh("kill $(cat " + dir + "/pid); sleep 0.2");
  std::filesystem::remove_all(dir);
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK(r.out.find("[rank 1] rank 1 of 2: collectives ok (gloo)") != std::string::npos);
  CHECK_MESSAGE(!keys.out.empty(), "the ranks met through this Redis server (keys under hgc/)");
}
