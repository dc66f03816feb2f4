// The on-disk kernel cache: object code of compiled kernel modules, shared by processes, so
// a second process (or a second run of a program) starts warm.
//
//   auto jm = compile_kernels(module_text, {"k0", "k1"}, CompileOptions());
//   // miss: compile_to_object + load_object, and the object is stored;
//   // hit:  load_object of the stored object (a few ms instead of ~150 ms per module).
//   DiskCache::global().stats();               // hits, misses, corrupt entries, writes
//   DiskCache::global().set_dir("/tmp/kc");    // or CompileOptions().cache_folder("/tmp/kc")
//
// Key: the module text, the opt level, host_target_id (triple, CPU, features, LLVM version)
// and compiler_version() (a format constant plus the build id of the binary holding the
// compiler, so code from an older lowering or pipeline is never reused). The in-memory
// caches (compile.cc, imperative.cc) stay in front of this one.
//
// Folder: DiskCache::default_dir(), the one place that reads the environment (once, when
// DiskCache::global() is first used):
//   $HGC_CACHE_DIR            if set (set but empty: no disk cache), else
//   $XDG_CACHE_HOME/hgc/kernels, else $HOME/.cache/hgc/kernels, else none.
// set_dir() and CompileOptions::cache_dir take precedence over it;
// CompileOptions().disk(false) skips the disk cache for one compile.
//
// Entries: one file per key, named by the SHA-256 of the key (hex) + ".hgck": a header
// (magic, format version, key length, payload length, payload checksum), the full key (a
// hash collision is a miss, not wrong code) and the payload. get() treats anything that
// does not check out (short, wrong magic/version/key/length/checksum) as a miss and removes
// the file. put() writes a temp file in the same folder and renames it over the entry, so
// readers see all or nothing and concurrent writers of one key are harmless; a failed
// write (read-only folder, full disk) is skipped, never an error. Entries not used for a
// while are pruned when the folder grows past max_bytes().
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "hgc/compiler/compile.h"
#include "hgc/compiler/jit.h"

namespace hgc {

class DiskCache {
 public:
  struct Stats {
    int64_t hits = 0, misses = 0;
    int64_t corrupt = 0;         // entries found bad (and removed); counted as misses too
    int64_t writes = 0;          // entries stored
    int64_t write_failures = 0;  // puts skipped because the folder could not be written
  };

  // The process-wide cache in default_dir().
  static DiskCache& global();
  // One cache per folder (for CompileOptions::cache_dir), alive for the process.
  static DiskCache& at(const std::string& dir);
  // See the top of this file; "" when there is no usable folder.
  static std::string default_dir();

  explicit DiskCache(std::string dir);
  DiskCache(const DiskCache&) = delete;
  DiskCache& operator=(const DiskCache&) = delete;

  std::string dir() const;
  void set_dir(std::string dir);  // "" disables the cache (get misses, put does nothing)
  bool enabled() const { return !dir().empty(); }

  // The payload stored under `key`, if an intact entry exists.
  std::optional<std::string> get(const std::string& key);
  // Stores `payload` under `key`; false (and nothing thrown) if it could not be written.
  bool put(const std::string& key, const std::string& payload);
  // Drops the entry of `key`, which get() returned intact but which turned out unusable
  // (load_object refused it): that get() is recounted as a corrupt miss.
  void discard(const std::string& key);
  // The entry file of `key` (whether or not it exists).
  std::string path_for(const std::string& key) const;

  // Removes entries, least recently used first, until the folder holds at most
  // `max_bytes`; also stale temp files. Run by the first put() of a process when the
  // folder holds more than max_bytes().
  void prune(uint64_t max_bytes);
  uint64_t max_bytes() const;
  void set_max_bytes(uint64_t bytes);

  Stats stats() const;
  void reset_stats();

 private:
  mutable std::mutex mu_;
  std::string dir_;
  uint64_t max_bytes_ = uint64_t(2) << 30;
  bool pruned_ = false;
  Stats stats_;
};

// A constant bumped when the entry format or the meaning of a key changes, plus the build
// id of the binary the compiler is linked into (part of every key).
std::string compiler_version();

// The disk-cache key of `mlir_text` compiled with `opts`.
std::string kernel_cache_key(const std::string& mlir_text, const JitOptions& opts);

// `mlir_text` (public functions `kernel_names`) compiled for `opts`: through the disk cache
// when opts.disk_cache and a folder is set (compile_to_object + load_object, the object
// stored after it loaded; jit_compile if it does not load), else jit_compile. Compile
// errors throw hgc::Error as jit_compile's do; cache trouble never does.
std::shared_ptr<JitModule> compile_kernels(const std::string& mlir_text,
                                           const std::vector<std::string>& kernel_names,
                                           const CompileOptions& opts);

// Kernel modules served by compile_kernels from the library's build-time objects
// (compiler/prebuilt/graphs.txt: standard losses' and optimizer rules' graphs; a module
// whose text equals one listed there, compiled with the default opt level and CPU, is
// linked instead of compiled), counted over the process.
int64_t prebuilt_modules_used();

// Sees every module text compile_kernels is asked for (before any cache; set it while
// nothing compiles). tools/prebuilt_graphs.cc collects the library graphs' texts with it.
using ModuleObserver =
    std::function<void(const std::string& text, const std::vector<std::string>& kernels, const CompileOptions&)>;
void set_module_observer(ModuleObserver f);

}  // namespace hgc
