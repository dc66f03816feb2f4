// Libraries that standalone programs load at their first call (runtime/aot_lazy.cc).
#pragma once

namespace hgc::lazy {

// One library reached through stubs (written by runtime/lazy_libs.cmake): a stub jumps
// through slots[i], which starts at a resolver entry and holds names[i]'s address once the
// library is loaded.
struct Library {
  const char* key;     // "openblas", "dnnl": the build's name for it
  const char* soname;  // what dlopen loads
  const char* const* names;
  void** slots;
  int count;
  void* handle;  // set once loaded (under the resolver's lock)
};

}  // namespace hgc::lazy
