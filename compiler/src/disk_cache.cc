// The on-disk kernel cache (see kernel_cache.h): entry files, atomic writes, validation,
// pruning, the build id in compiler_version(), and compile_kernels().
//
// File format (host byte order; the key names the triple anyway):
//   Header {magic "HGCKOBJ\0", u32 format, u32 key length, u64 payload length,
//           u64 xxh3 of the payload}, then the key bytes, then the payload bytes.
// The file size must be exactly header + key + payload.
#include "hgc/compiler/kernel_cache.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>

#include <fcntl.h>
#include <link.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hgc/base/error.h"
#include "hgc/base/log.h"
#include "hgc/compiler/imperative.h"
#include "prebuilt.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/xxhash.h"

namespace hgc {
namespace {

namespace fs = std::filesystem;

// Bump when the entry format, the key, or what a key's object means changes.
constexpr uint32_t kFormat = 1;
constexpr char kMagic[8] = {'H', 'G', 'C', 'K', 'O', 'B', 'J', '\0'};
constexpr const char* kSuffix = ".hgck";

struct Header {
  char magic[8];
  uint32_t format;
  uint32_t key_len;
  uint64_t payload_len;
  uint64_t checksum;
};
static_assert(sizeof(Header) == 32);

uint64_t checksum(const char* data, size_t n) {
  return llvm::xxh3_64bits(llvm::ArrayRef<uint8_t>(reinterpret_cast<const uint8_t*>(data), n));
}

std::string hex(const uint8_t* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}

bool write_all(int fd, const char* p, size_t n) {
  while (n) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool read_all(int fd, char* p, size_t n) {
  while (n) {
    ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

// Removes `path` only if it is still the file we read (a writer may have renamed a good
// entry over it since).
void remove_if_same(const std::string& path, const struct stat& seen) {
  struct stat now;
  if (::stat(path.c_str(), &now) == 0 && now.st_dev == seen.st_dev && now.st_ino == seen.st_ino)
    ::unlink(path.c_str());
}

// The payload of an entry file's bytes, if the file checks out for `key`.
std::optional<std::string> parse_entry(const std::string& bytes, const std::string& key) {
  Header h;
  if (bytes.size() < sizeof h) return std::nullopt;
  std::memcpy(&h, bytes.data(), sizeof h);
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0 || h.format != kFormat) return std::nullopt;
  if (h.key_len != key.size() || bytes.size() < sizeof h + h.key_len) return std::nullopt;
  if (bytes.size() - sizeof h - h.key_len != h.payload_len) return std::nullopt;
  if (bytes.compare(sizeof h, h.key_len, key) != 0) return std::nullopt;
  const char* payload = bytes.data() + sizeof h + h.key_len;
  if (checksum(payload, h.payload_len) != h.checksum) return std::nullopt;
  return std::string(payload, h.payload_len);
}

// The GNU build id of the ELF object (executable or shared library) holding this code, as
// hex; else its path, size and modification time; else "".
void build_id_anchor() {}

std::string build_id() {
  struct Ctx {
    uintptr_t addr;
    std::string id, file;
  } ctx{reinterpret_cast<uintptr_t>(&build_id_anchor), {}, {}};
  dl_iterate_phdr(
      [](struct dl_phdr_info* info, size_t, void* p) -> int {
        auto* c = static_cast<Ctx*>(p);
        bool mine = false;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const auto& ph = info->dlpi_phdr[i];
          uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
          if (ph.p_type == PT_LOAD && c->addr >= lo && c->addr < lo + ph.p_memsz) mine = true;
        }
        if (!mine) return 0;
        c->file = info->dlpi_name && *info->dlpi_name ? info->dlpi_name : "/proc/self/exe";
        for (int i = 0; i < info->dlpi_phnum && c->id.empty(); ++i) {
          const auto& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_NOTE) continue;
          const char* q = reinterpret_cast<const char*>(info->dlpi_addr + ph.p_vaddr);
          const char* end = q + ph.p_memsz;
          while (q + sizeof(ElfW(Nhdr)) <= end) {
            ElfW(Nhdr) n;
            std::memcpy(&n, q, sizeof n);
            const char* name = q + sizeof n;
            const char* desc = name + ((n.n_namesz + 3) & ~3u);
            q = desc + ((n.n_descsz + 3) & ~3u);
            if (q > end) break;
            if (n.n_type == NT_GNU_BUILD_ID && n.n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0) {
              c->id = hex(reinterpret_cast<const uint8_t*>(desc), n.n_descsz);
              break;
            }
          }
        }
        return 1;
      },
      &ctx);
  if (!ctx.id.empty()) return ctx.id;
  struct stat st;
  if (!ctx.file.empty() && ::stat(ctx.file.c_str(), &st) == 0)
    return ctx.file + ":" + std::to_string(st.st_size) + ":" + std::to_string(st.st_mtime);
  return "";
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

// ---- DiskCache -------------------------------------------------------------------------

std::string DiskCache::default_dir() {
  // The one place hgc reads the cache folder from the environment (documented in
  // kernel_cache.h): HGC_CACHE_DIR overrides the user's cache folder.
  if (const char* v = std::getenv("HGC_CACHE_DIR")) return v;
  if (std::string xdg = env("XDG_CACHE_HOME"); !xdg.empty()) return xdg + "/hgc/kernels";
  if (std::string home = env("HOME"); !home.empty()) return home + "/.cache/hgc/kernels";
  return "";
}

DiskCache& DiskCache::global() {
  static DiskCache* g = new DiskCache(default_dir());  // never destroyed: used until exit
  return *g;
}

DiskCache& DiskCache::at(const std::string& dir) {
  static std::mutex mu;
  static auto* caches = new std::map<std::string, std::unique_ptr<DiskCache>>();
  std::lock_guard<std::mutex> lock(mu);
  auto& c = (*caches)[dir];
  if (!c) c = std::make_unique<DiskCache>(dir);
  return *c;
}

DiskCache::DiskCache(std::string dir) : dir_(std::move(dir)) {}

std::string DiskCache::dir() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dir_;
}

void DiskCache::set_dir(std::string dir) {
  std::lock_guard<std::mutex> lock(mu_);
  dir_ = std::move(dir);
  pruned_ = false;
}

uint64_t DiskCache::max_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return max_bytes_;
}

void DiskCache::set_max_bytes(uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  max_bytes_ = bytes;
}

DiskCache::Stats DiskCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void DiskCache::reset_stats() {
  std::lock_guard<std::mutex> lock(mu_);
  stats_ = {};
}

std::string DiskCache::path_for(const std::string& key) const {
  std::string dir = this->dir();
  if (dir.empty()) return "";
  auto digest = llvm::SHA256::hash(llvm::ArrayRef<uint8_t>(reinterpret_cast<const uint8_t*>(key.data()), key.size()));
  return dir + "/" + hex(digest.data(), digest.size()) + kSuffix;
}

std::optional<std::string> DiskCache::get(const std::string& key) {
  std::string path = path_for(key);
  if (path.empty()) return std::nullopt;
  auto count = [&](bool hit, bool corrupt) {
    std::lock_guard<std::mutex> lock(mu_);
    ++(hit ? stats_.hits : stats_.misses);
    if (corrupt) ++stats_.corrupt;
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    count(false, false);
    return std::nullopt;
  }
  struct stat st;
  std::string bytes;
  bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  if (ok) {
    bytes.resize(static_cast<size_t>(st.st_size));
    ok = read_all(fd, bytes.data(), bytes.size());
  }
  ::close(fd);
  std::optional<std::string> payload;
  if (ok) payload = parse_entry(bytes, key);
  if (!payload) {
    if (ok) remove_if_same(path, st);  // bad content: rewritten by the next put
    count(false, ok);
    return std::nullopt;
  }
  ::utimensat(AT_FDCWD, path.c_str(), nullptr, 0);  // recently used (for prune); best effort
  count(true, false);
  return payload;
}

void DiskCache::discard(const std::string& key) {
  std::string path = path_for(key);
  if (!path.empty()) ::unlink(path.c_str());
  std::lock_guard<std::mutex> lock(mu_);
  if (stats_.hits > 0) --stats_.hits;
  ++stats_.misses;
  ++stats_.corrupt;
}

bool DiskCache::put(const std::string& key, const std::string& payload) {
  std::string dir = this->dir();
  if (dir.empty()) return false;
  auto failed = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.write_failures;
    return false;
  };
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec && !fs::is_directory(dir, ec)) return failed();
  bool prune_now = false;
  uint64_t limit = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    prune_now = !pruned_;
    pruned_ = true;
    limit = max_bytes_;
  }
  if (prune_now) {
    uint64_t total = 0;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.is_regular_file(ec)) total += e.file_size(ec);
    if (total > limit) prune(limit / 4 * 3);
  }

  Header h;
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.format = kFormat;
  h.key_len = static_cast<uint32_t>(key.size());
  h.payload_len = payload.size();
  h.checksum = checksum(payload.data(), payload.size());

  // A name no other thread or process uses: pid, a process-wide counter, the time.
  static std::atomic<uint64_t> counter{0};
  std::string path = path_for(key);
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 4 && fd < 0; ++attempt) {
    tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++) + "." +
          std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) return failed();
  bool ok = write_all(fd, reinterpret_cast<const char*>(&h), sizeof h) && write_all(fd, key.data(), key.size()) &&
            write_all(fd, payload.data(), payload.size());
  ok = (::close(fd) == 0) && ok;
  // rename() replaces atomically: readers see the old entry, the new one, or none.
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return failed();
  }
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.writes;
  return true;
}

void DiskCache::prune(uint64_t max_bytes) {
  std::string dir = this->dir();
  if (dir.empty()) return;
  struct Item {
    fs::file_time_type time;
    uint64_t size;
    fs::path path;
  };
  std::vector<Item> items;
  uint64_t total = 0;
  std::error_code ec;
  auto stale = fs::file_time_type::clock::now() - std::chrono::hours(1);
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_regular_file(ec)) continue;
    std::string name = e.path().filename().string();
    auto time = e.last_write_time(ec);
    if (ec) continue;
    if (name.find(".tmp.") != std::string::npos) {
      if (time < stale) fs::remove(e.path(), ec);  // left behind by a crashed writer
      continue;
    }
    if (name.size() < 5 || name.compare(name.size() - 5, 5, kSuffix) != 0) continue;  // not ours
    uint64_t size = e.file_size(ec);
    if (ec) continue;
    items.push_back({time, size, e.path()});
    total += size;
  }
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.time < b.time; });
  for (const Item& it : items) {
    if (total <= max_bytes) break;
    if (fs::remove(it.path, ec)) total -= it.size;
  }
}

// ---- keys and compile_kernels ------------------------------------------------------------

std::string compiler_version() {
  static const std::string v = "hgc kernel cache format " + std::to_string(kFormat) + ", build " + build_id();
  return v;
}

std::string kernel_cache_key(const std::string& mlir_text, const JitOptions& opts) {
  return compiler_version() + "\nO" + std::to_string(opts.opt_level) + "\n" + host_target_id(opts) + "\n" +
         mlir_text;
}

namespace {
std::atomic<int64_t> prebuilt_modules_loaded{0};
ModuleObserver module_observer;

std::shared_ptr<JitModule> compile_kernels_untimed(const std::string& mlir_text,
                                                   const std::vector<std::string>& kernel_names,
                                                   const CompileOptions& opts, const char*& how) {
  how = "compiled, no disk cache";
  JitOptions jo = JitOptions().opt(opts.opt_level).cpu(opts.target_cpu);
  // A library graph compiled at build time from this very text (compiler/prebuilt/graphs.txt)
  // with these options: link its object, no codegen. Text equality is the whole key (the code
  // came from the same lowering output through this build's pipeline); the CPU check is
  // find_prebuilt's.
  const CompileOptions defaults;
  if (prebuilt_kernels_enabled() && opts.opt_level == defaults.opt_level && opts.target_cpu == defaults.target_cpu)
    if (const compiler_detail::PrebuiltModule* m = compiler_detail::find_prebuilt_module(mlir_text)) {
      try {
        auto jm = load_object(std::string(m->object, m->object_size), kernel_names);
        how = "prebuilt";
        prebuilt_modules_loaded.fetch_add(1);
        return jm;
      } catch (const Error&) {
        // a kernel name it lacks: compile as usual
      }
    }
  DiskCache* dc = nullptr;
  if (opts.disk_cache) dc = opts.cache_dir.empty() ? &DiskCache::global() : &DiskCache::at(opts.cache_dir);
  if (!dc || !dc->enabled()) return jit_compile(mlir_text, jo);
  std::string key = kernel_cache_key(mlir_text, jo);
  how = "compiled";
  if (std::optional<std::string> obj = dc->get(key)) {
    try {
      how = "loaded from the disk cache";
      return load_object(*obj, kernel_names);
    } catch (const Error&) {
      dc->discard(key);  // intact but unusable: compile again and replace it
    }
  }
  // The object goes to disk only once it has loaded, so what this process runs and what the
  // next one loads are the same code, and a bad object is never stored.
  std::string obj = compile_to_object(mlir_text, jo);
  std::shared_ptr<JitModule> jm;
  try {
    jm = load_object(obj, kernel_names);
  } catch (const Error&) {
    return jit_compile(mlir_text, jo);
  }
  dc->put(key, obj);
  return jm;
}
}  // namespace

void set_module_observer(ModuleObserver f) { module_observer = std::move(f); }

int64_t prebuilt_modules_used() { return prebuilt_modules_loaded.load(); }

std::shared_ptr<JitModule> compile_kernels(const std::string& mlir_text, const std::vector<std::string>& kernel_names,
                                           const CompileOptions& opts) {
  if (module_observer) module_observer(mlir_text, kernel_names, opts);
  if (!log_enabled("jit")) {
    const char* how;
    return compile_kernels_untimed(mlir_text, kernel_names, opts, how);
  }
  auto t0 = std::chrono::steady_clock::now();
  const char* how = "";
  auto jm = compile_kernels_untimed(mlir_text, kernel_names, opts, how);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  char line[200];
  std::snprintf(line, sizeof line, "jit %zu kernel(s), %zu bytes of MLIR, -O%d: %.1f ms (%s)", kernel_names.size(),
                mlir_text.size(), opts.opt_level, ms, how);
  log_line(line);
  return jm;
}

}  // namespace hgc
