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

struct PrebuiltTable {
  // host_target_id() of the machine that built them: "triple|cpu|+f1,-f2,...|llvm X".
  const char* target;
  const PrebuiltKernel* kernels;
  size_t count;
};

// Defined by the generated file (or no_kernels.cc).
const PrebuiltTable& prebuilt_table();

// The prebuilt kernel serving `key`, or null: none listed, or this CPU lacks a feature the
// code was generated for (checked once per process).
PackedKernel find_prebuilt(const std::string& key);

}  // namespace hgc::compiler_detail
