// Where `hgc compile` finds the static archives it links standalone programs from: beside an
// installed hgc (P/bin/hgc -> P/lib/hgc/libhgc_aot.a, ...), else in the build tree the tool was
// built in, both relative to the running executable, so an installed prefix can be moved.
//
//   std::string rt = aot_archive(AotArchive::runtime);   // ".../lib/hgc/libhgc_runtime.a"
#pragma once
#include <string>

namespace hgc::cli {

enum class AotArchive { main, c_api, runtime, base, lazy };

// Whether this build has the lazy library stubs (AotArchive::lazy: runtime/aot_lazy.cc).
bool aot_has_lazy_libs();

// The archive's path; throws hgc::Error("cli") naming both places looked in when neither has it.
std::string aot_archive(AotArchive which);

}  // namespace hgc::cli
