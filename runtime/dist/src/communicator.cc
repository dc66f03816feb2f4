// Options from the environment, the backend choice, the process-wide communicator and the
// one-rank "local" backend.
#include "hgc/dist/communicator.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "backends.h"
#include "hgc/base/error.h"

namespace hgc::dist {

namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

int env_int(const char* name, const char* v) {
  char* end = nullptr;
  long x = std::strtol(v, &end, 10);
  if (end == v || *end != '\0' || x < 0 || x > 1 << 20) fail("dist", name, "='", v, "' is not a non-negative integer");
  return static_cast<int>(x);
}

// Rank and size from the first family of variables that is set.
bool rank_and_size(int& rank, int& size) {
  const char* families[][2] = {{"HGC_RANK", "HGC_WORLD_SIZE"},
                               {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"},
                               {"PMI_RANK", "PMI_SIZE"},
                               {"SLURM_PROCID", "SLURM_NTASKS"}};
  for (auto& f : families) {
    const char* r = env(f[0]);
    const char* s = env(f[1]);
    if (!r && !s) continue;
    if (!r || !s) fail("dist", f[r ? 1 : 0], " is not set but ", f[r ? 0 : 1], " is");
    rank = env_int(f[0], r);
    size = env_int(f[1], s);
    if (size < 1 || rank >= size) fail("dist", f[0], "=", rank, " is not a rank of a world of ", f[1], "=", size);
    return true;
  }
  return false;
}

}  // namespace

Options Options::from_env() {
  Options o;
  rank_and_size(o.rank, o.world_size);
  if (const char* t = env("HGC_DIST_TIMEOUT")) {
    char* end = nullptr;
    double s = std::strtod(t, &end);
    if (end == t || *end != '\0' || !(s > 0)) fail("dist", "HGC_DIST_TIMEOUT='", t, "' is not a positive number of seconds");
    o.with_timeout_seconds(s);
  }
  if (const char* r = env("HGC_RENDEZVOUS")) o.rendezvous = r;
  if (const char* p = env("HGC_RUN_ID")) o.prefix = std::string("hgc/") + p;
  if (const char* i = env("HGC_GLOO_IFACE")) o.iface = i;
  if (const char* h = env("HGC_GLOO_HOSTNAME")) o.hostname = h;
  if (const char* b = env("HGC_BACKEND")) {
    o.backend = b;
  } else if (env("OMPI_COMM_WORLD_SIZE")) {
    o.backend = "mpi";
  } else if (o.world_size > 1) {
    o.backend = "gloo";
  } else {
    o.backend = "local";
  }
  return o;
}

bool launched_distributed() {
  int rank = 0, size = 1;
  return rank_and_size(rank, size) && size > 1;
}

std::vector<std::string> Communicator::allgather_strings(const std::string& s) {
  int64_t n = static_cast<int64_t>(s.size());
  std::vector<int64_t> lens(size());
  allgather(&n, lens.data(), sizeof n);
  int64_t longest = 0;
  for (int64_t l : lens) longest = std::max(longest, l);
  std::vector<char> mine(longest, '\0'), all(longest * size());
  std::memcpy(mine.data(), s.data(), s.size());
  if (longest > 0) allgather(mine.data(), all.data(), longest);
  std::vector<std::string> out;
  for (int r = 0; r < size(); ++r) out.emplace_back(all.data() + r * longest, lens[r]);
  return out;
}

std::shared_ptr<Communicator> create(const Options& o) {
  if (o.world_size < 1 || o.rank < 0 || o.rank >= o.world_size)
    fail("dist", "rank ", o.rank, " is not a rank of a world of ", o.world_size);
  if (o.backend == "mpi") return detail::make_mpi(o);
  if (o.backend == "gloo") return detail::make_gloo(o);
  if (o.backend == "local" || o.backend.empty()) {
    if (o.world_size != 1)
      fail("dist", "a world of ", o.world_size, " ranks needs a backend (HGC_BACKEND=gloo|mpi), not 'local'");
    return detail::make_local(o);
  }
  if (o.backend == "nccl") fail("dist", "backend 'nccl' is not built in this hgc (GPU collectives come later)");
  fail("dist", "unknown backend '", o.backend, "' (HGC_BACKEND: mpi, gloo or local)");
}

namespace {
std::mutex world_mutex;
std::shared_ptr<Communicator>& world_slot() {
  static std::shared_ptr<Communicator> w;
  return w;
}
}  // namespace

std::shared_ptr<Communicator> world() {
  std::lock_guard<std::mutex> lock(world_mutex);
  auto& w = world_slot();
  if (!w) w = create(Options::from_env());
  return w;
}

void reset_world() {
  std::lock_guard<std::mutex> lock(world_mutex);
  world_slot().reset();
}

namespace detail {

std::string describe(const std::string& collective, size_t count, DType dtype) {
  return collective + " of " + std::to_string(count) + " " + dtype_name(dtype);
}

std::string seconds(std::chrono::milliseconds t) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", t.count() / 1000.0);
  return buf;
}

void check_reduce_dtype(DType dtype, const char* backend) {
  if (dtype != DType::f32 && dtype != DType::f64 && dtype != DType::i32 && dtype != DType::i64)
    fail("dist", "allreduce (", backend, "): dtype ", dtype_name(dtype),
         " is not supported (float32, float64, int32, int64)");
}

void Poison::check(const char* backend) const {
  if (!message_.empty())
    fail("dist", "the ", backend, " communicator failed earlier and cannot be used again: ", message_);
}

namespace {
class Local : public Communicator {
 public:
  explicit Local(const Options& o) : Communicator(o.timeout) {}
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "local"; }
  void allreduce(void*, size_t, DType dtype) override { check_reduce_dtype(dtype, "local"); }
  void broadcast(void*, size_t, int root) override {
    if (root != 0) fail("dist", "broadcast: root ", root, " is not a rank of a world of 1");
  }
  void allgather(const void* in, void* out, size_t bytes) override {
    if (bytes) std::memmove(out, in, bytes);
  }
  void barrier() override {}
};
}  // namespace

std::shared_ptr<Communicator> make_local(const Options& o) { return std::make_shared<Local>(o); }

}  // namespace detail
}  // namespace hgc::dist
