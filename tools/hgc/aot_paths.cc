#include "aot_paths.h"

#include <filesystem>

#include "hgc/base/error.h"

namespace hgc::cli {
namespace fs = std::filesystem;

namespace {
fs::path exe_dir() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) fail("cli", "compile: cannot locate the hgc executable (/proc/self/exe): ", ec.message());
  return p.parent_path();
}
}  // namespace

bool aot_has_lazy_libs() {
#ifdef HGC_BUILD_AOT_LAZY_LIB
  return true;
#else
  return false;
#endif
}

std::string aot_archive(AotArchive which) {
  const char* built = nullptr;
  switch (which) {
    case AotArchive::main: built = HGC_BUILD_AOT_LIB; break;
    case AotArchive::c_api: built = HGC_BUILD_AOT_LIB_LIB; break;
    case AotArchive::runtime: built = HGC_BUILD_RUNTIME_LIB; break;
    case AotArchive::base: built = HGC_BUILD_BASE_LIB; break;
    case AotArchive::lazy:
#ifdef HGC_BUILD_AOT_LAZY_LIB
      built = HGC_BUILD_AOT_LAZY_LIB;
      break;
#else
      fail("cli", "compile: this build has no lazy library stubs (x86-64 only)");
#endif
  }
  fs::path dir = exe_dir();
  fs::path installed = (dir / HGC_INSTALLED_LIBS / fs::path(built).filename()).lexically_normal();
  if (fs::exists(installed)) return installed.string();
  fs::path in_build = (dir / built).lexically_normal();
  if (fs::exists(in_build)) return in_build.string();
  fail("cli", "compile: the hgc archive ", fs::path(built).filename().string(), " is neither at ", installed.string(),
       " (an installed hgc) nor at ", in_build.string(), " (the build tree)");
}

}  // namespace hgc::cli
