// The process-wide disk kernel cache pointed at an empty folder for one scope (tests of what
// compiles on a cold start), restored and the folder removed after.
#pragma once
#include <unistd.h>

#include <filesystem>
#include <string>

#include "hgc/compiler/kernel_cache.h"

namespace hgc::test {

struct EmptyDiskCache {
  std::string dir;
  std::string old = DiskCache::global().dir();
  explicit EmptyDiskCache(const std::string& tag) : dir("/tmp/hgc_test_" + tag + "_" + std::to_string(::getpid())) {
    std::filesystem::remove_all(dir);
    DiskCache::global().set_dir(dir);
    DiskCache::global().reset_stats();
  }
  ~EmptyDiskCache() {
    DiskCache::global().set_dir(old);
    std::filesystem::remove_all(dir);
  }
};

}  // namespace hgc::test
