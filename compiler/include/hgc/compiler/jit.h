// CPU JIT and AOT code generation for kernel modules written in MLIR text.
//
//   // A kernel: memref arguments, computed on tensors, C interface requested.
//   auto jm = hgc::jit_compile(R"(
//     func.func @scale(%x: memref<?xf32>, %y: memref<?xf32>) attributes {llvm.emit_c_interface} {
//       ... linalg on tensors, finished by bufferization.materialize_in_destination ...
//       return
//     })", hgc::JitOptions());
//   hgc::MemRefDesc<1> x{xs.data(), xs.data(), 0, {n}, {1}}, y{ys.data(), ys.data(), 0, {n}, {1}};
//   void* px = &x;  void* py = &y;   // the C interface takes a *pointer* to each descriptor
//   void* args[] = {&px, &py};       // the packed list points at each argument value
//   jm->lookup("scale")(args);
//
// Calling convention (checked by tests/compiler/test_jit.cc). MLIR lowers each function
// `k` carrying `llvm.emit_c_interface` to `k` (every memref expanded into 3 + 2*rank
// scalars) and `_mlir_ciface_k`, which takes a pointer to a memref descriptor per memref
// argument and scalars (index = int64_t, f32 = float, ...) as they are. ExecutionEngine
// wraps every function `f` into `void _mlir_f(void** args)`; `lookup("k")` returns the
// wrapper of the C-interface function, `_mlir__mlir_ciface_k`, so:
//   args[i] = address of the i-th argument value of `_mlir_ciface_k`; for a memref that value
//             is itself a pointer (MemRefDesc<N>*), hence the double indirection above; for
//             a scalar it is the scalar (args[i] = &my_int64).
//   A function with one non-memref result takes one more slot: args[n] = &result_storage.
//   (MLIR returns memref results of the C interface through a hidden first argument;
//   hgc's kernels write into their output arguments instead and return nothing.)
//   For identity-layout types such as memref<?xf32>, MLIR takes the offset as statically 0
//   and never reads MemRefDesc::offset: pass a sub-range by moving `aligned` (offsets are
//   honoured only for strided<[...], offset: ?> layouts). Identity layouts also mean
//   row-major contiguous data: fill strides to match (strides[N-1] = 1, strides[i] =
//   strides[i+1] * sizes[i+1]), since the code may use either the strides or the sizes.
// lower_to_llvm_ir / compile_to_object emit the same `_mlir__mlir_ciface_k` wrappers
// (see packed_symbol_name), so AOT code is called exactly like the JIT, and load_object
// turns such an object back into a JitModule (how the on-disk kernel cache starts warm):
//   std::string obj = hgc::compile_to_object(text);          // ~ the cost of jit_compile
//   auto jm = hgc::load_object(obj, {"scale"});              // a few ms: link, no codegen
//
// Pipeline: canonicalize, elementwise fusion, one-shot-bufferize,
// buffer-deallocation-pipeline, elementwise generics over
// identity-layout buffers collapsed to one loop, linalg to loops, f32 math ops (tanh, erf,
// exp, log, ...) replaced by MLIR's polynomial approximations (no libm, vectorizable;
// leftovers such as f64 go to libm), vector, affine, scf, memref, math, arith, cf, func and
// index to the LLVM dialect, then LLVM's optimization pipeline at opt_level without loop
// unrolling (vectorized loops are still interleaved), tuned and code-generated for
// target_cpu.
// Public functions without `llvm.emit_c_interface` get it added, so every public
// function is a kernel. Errors (parse, verifier, failed pass, bad option) throw
// hgc::Error("compiler", ...) carrying MLIR's diagnostics with file positions.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "hgc/runtime/kernel_abi.h"  // PackedKernel, MemRefDesc

namespace hgc {

struct JitOptions {
  // 0..3, as clang's -O: LLVM's optimization pipeline and code generator level.
  int opt_level = 3;
  // "native": the host CPU and all its features. Otherwise an LLVM CPU name such as
  // "x86-64-v3" or "skylake" (features implied by the name), e.g. for objects that move.
  std::string target_cpu = "native";

  JitOptions& opt(int level) { opt_level = level; return *this; }
  JitOptions& cpu(std::string name) { target_cpu = std::move(name); return *this; }
};

// Symbol of the packed C-interface wrapper of kernel `func_name` in JIT and AOT code.
std::string packed_symbol_name(const std::string& func_name);

class JitModule;
std::shared_ptr<JitModule> jit_compile(const std::string& mlir_text, const JitOptions& opts);

// Compiled kernels, owning their machine code. Immutable after jit_compile: lookup may be
// called from several threads. The returned function pointers die with the module.
class JitModule {
 public:
  ~JitModule();
  JitModule(const JitModule&) = delete;
  JitModule& operator=(const JitModule&) = delete;

  // The packed wrapper of kernel `func_name`; throws hgc::Error naming the kernels present.
  PackedKernel lookup(const std::string& func_name) const;
  bool contains(const std::string& func_name) const;
  // Public functions of the input module, in source order.
  const std::vector<std::string>& kernel_names() const { return names_; }

  // Wall time of jit_compile; for load_object, the time of loading and linking.
  double compile_ms() const { return mlir_ms_ + llvm_ms_; }
  double mlir_ms() const { return mlir_ms_; }  // parse + MLIR pipeline
  double llvm_ms() const { return llvm_ms_; }  // translation, LLVM opt, codegen, linking

 private:
  friend std::shared_ptr<JitModule> jit_compile(const std::string&, const JitOptions&);
  friend std::shared_ptr<JitModule> load_object(const std::string&, const std::vector<std::string>&);
  JitModule() = default;
  struct Engine;  // owns mlir::ExecutionEngine or its object's dylib in the shared ORC LLJIT (jit.cc)
  std::unique_ptr<Engine> engine_;
  std::unordered_map<std::string, PackedKernel> kernels_;
  std::vector<std::string> names_;
  double mlir_ms_ = 0, llvm_ms_ = 0;
};

// Parses `mlir_text`, runs the CPU pipeline and JIT-compiles every kernel (eagerly, so
// lookup never compiles and compile_ms is the whole cost).
std::shared_ptr<JitModule> jit_compile(const std::string& mlir_text, const JitOptions& opts = {});

// The same pipeline, stopped at optimized LLVM IR (textual, with triple, data layout and
// target-cpu/target-features attributes, packed wrappers included).
std::string lower_to_llvm_ir(const std::string& mlir_text, const JitOptions& opts = {});

// The same pipeline to a relocatable ELF object (position independent, for the host or
// opts.target_cpu). Exports `k`, `_mlir_ciface_k` and `_mlir__mlir_ciface_k` per kernel.
std::string compile_to_object(const std::string& mlir_text, const JitOptions& opts = {});
// The same code as textual assembly (AT&T syntax for x86), for inspection.
std::string compile_to_assembly(const std::string& mlir_text, const JitOptions& opts = {});

// Loads a relocatable object made by compile_to_object (for this process's target) into a
// fresh in-process JIT linker and resolves the packed wrapper of every kernel in
// `kernel_names` (the object's public functions; they become kernel_names()). Undefined
// symbols (malloc, free, memcpy, libm) resolve against the process. A corrupt or
// unloadable object, or a missing kernel, throws hgc::Error("compiler", ...).
std::shared_ptr<JitModule> load_object(const std::string& object_bytes,
                                       const std::vector<std::string>& kernel_names);

// Identifies the code compile_to_object/jit_compile generate for `opts.target_cpu`: triple,
// CPU name and feature string (for "native": the host's detected ones; for a named CPU: the
// name) and the LLVM version. Part of kernel cache keys; opt_level is not included.
std::string host_target_id(const JitOptions& opts = {});

}  // namespace hgc
