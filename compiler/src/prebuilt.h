// Private to compiler/: the table of imperative kernels compiled at build time.
//
// compiler/prebuilt/prebuild.cc (the `hgc_prebuild` tool, built from the compiler's own
// objects) compiles every signature listed in compiler/prebuilt/kernels.txt through
// prepare_imperative() — the key and the kernel text invoke() would use — into one object
// file, and writes a C++ file defining prebuilt_table(). Both are linked into hgc_compiler;
// the tool itself links compiler/prebuilt/no_kernels.cc (an empty table) instead.
#pragma once
#include <cstddef>
#include <string>

#include "hgc/runtime/kernel_abi.h"

namespace hgc::compiler_detail {

struct PrebuiltKernel {
  const char* key;  // ImperativeCall::key
  PackedKernel fn;
};

// A whole kernel module of a library graph (compiler/prebuilt/graphs.txt: a standard loss's
// hybridized forward or gradient, an optimizer's update rule), compiled at build time from
// exactly `text` with the default CompileOptions (-O3, the host CPU). compile_kernels() loads
// `object` (link only, ~1 ms) when a graph's module text equals `text` byte for byte.
struct PrebuiltModule {
  const char* text;
  size_t text_size;
  const char* object;
  size_t object_size;
};

struct PrebuiltTable {
  // host_target_id() of the machine that built them: "triple|cpu|+f1,-f2,...|llvm X".
  const char* target;
  const PrebuiltKernel* kernels;
  size_t count;
  const PrebuiltModule* modules = nullptr;
  size_t module_count = 0;
};

// Defined by the generated file (or no_kernels.cc).
const PrebuiltTable& prebuilt_table();

// The prebuilt kernel serving `key`, or null: none listed, or this CPU lacks a feature the
// code was generated for (checked once per process).
PackedKernel find_prebuilt(const std::string& key);

// The prebuilt module compiled from exactly `mlir_text`, or null (none, or unusable here).
const PrebuiltModule* find_prebuilt_module(const std::string& mlir_text);

}  // namespace hgc::compiler_detail
