// Paths the tests use. ../shared sits beside the project for developers and CI only; tests
// that read it skip with a visible message when it is absent.
#pragma once
#include <doctest/doctest.h>

#include <filesystem>
#include <optional>
#include <string>
#include <unistd.h>

namespace hgc::test {

inline std::string source_path(const std::string& rel) { return std::string(HGC_SOURCE_DIR) + "/" + rel; }

// The path of ../shared/models/mxnet/<file>, or nullopt (with a MESSAGE) when absent.
inline std::optional<std::string> shared_model(const std::string& file) {
  std::string p = std::string(HGC_SHARED_DIR) + "/models/mxnet/" + file;
  if (!std::filesystem::exists(p)) {
    MESSAGE("SKIP: " << p << " is absent (../shared is not beside the project)");
    return std::nullopt;
  }
  return p;
}

inline std::string temp_dir() {
  auto d = std::filesystem::temp_directory_path() / ("hgc-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(d);
  return d.string();
}

}  // namespace hgc::test
