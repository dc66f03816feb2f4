// Private to compiler/: MLIR text -> LLVM-dialect module (parse + CPU pass pipeline).
// jit.cc turns the result into machine code (ExecutionEngine or object file).
//
//   LoweredModule m = lower_to_llvm_dialect(text);   // throws hgc::Error("compiler", ...)
//   ... translateModuleToLLVMIR(*m.module, llvm_ctx) ...
//   if (failed) throw_with_diagnostics(m, "translation to LLVM IR failed");
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Pass/Pass.h"

namespace hgc::compiler_detail {

// Collects every diagnostic of one MLIRContext as text (file:line:col: error: ... plus the
// offending source line), so failures become hgc::Error messages instead of stderr noise.
struct DiagnosticSink {
  explicit DiagnosticSink(mlir::MLIRContext* ctx, const std::string& text)
      : os(buffer), handler(source_mgr, ctx, os) {
    // The buffer name shows up in every message: "kernel.mlir:3:7: error: ...".
    source_mgr.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(text, "kernel.mlir"),
                                  llvm::SMLoc());
  }
  std::string buffer;
  llvm::raw_string_ostream os;
  llvm::SourceMgr source_mgr;
  // Prints "file:line:col: error: message", the source line and a caret into `os`; it
  // handles every diagnostic, so nothing reaches stderr.
  mlir::SourceMgrDiagnosticHandler handler;
};

struct LoweredModule {
  LoweredModule();
  ~LoweredModule();
  LoweredModule(LoweredModule&&) noexcept;

  // Declaration order matters: members are destroyed bottom-up, and the module and the
  // diagnostic handler must die before the context that owns their storage.
  std::unique_ptr<mlir::MLIRContext> context;
  std::unique_ptr<DiagnosticSink> diagnostics;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::vector<std::string> kernels;  // public functions, source order
  double mlir_ms = 0;                // parse + pipeline wall time

  // The diagnostics collected so far (and clears them).
  std::string take_diagnostics();
};

// Parses `mlir_text` and lowers it to the LLVM dialect. Throws hgc::Error("compiler", ...)
// with the collected diagnostics on any failure.
LoweredModule lower_to_llvm_dialect(const std::string& mlir_text);

// The pass that makes kernels write their outputs directly (no temporary + copy) unless
// marked lower::kOutputsMayAlias; the CPU and GPU pipelines both run it. With
// `parallel_loops` (CPU), a marked kernel that is one elementwise generic writes directly
// too, and its LLVM function carries the attribute kParallelLoops.
std::unique_ptr<mlir::Pass> create_write_outputs_in_place_pass(bool parallel_loops);

// LLVM function attribute: every loop of the function is free of loop-carried memory
// dependences (jit.cc turns it into llvm.loop.parallel_accesses before optimizing).
inline constexpr const char* kParallelLoops = "hgc-parallel-loops";

// LLVM function attribute: no output of the kernel shares memory with another argument
// (jit.cc makes every pointer argument `noalias`). Without it, a loop over short rows (a
// pooling window, a 28-wide image row) needs a run-time overlap check per row, which LLVM's
// cost model refuses: the loop stays scalar.
inline constexpr const char* kNoAliasArgs = "hgc-noalias-args";

// Throws hgc::Error("compiler", what + ":\n" + diagnostics).
[[noreturn]] void throw_with_diagnostics(LoweredModule& m, const std::string& what);

}  // namespace hgc::compiler_detail
