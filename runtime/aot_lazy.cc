// Standalone programs (`hgc compile --emit=exe`, static library hgc_aot_lazy) load OpenBLAS
// and oneDNN at their first call rather than at process start (issue 16, the start-up row).
// Loading both costs ~11 ms of a ~17 ms start of the b=1 MLP program on a 2-core AMD EPYC
// (relocating and faulting in ~75 MB of libraries, libgomp, libgfortran, OpenBLAS's thread
// start in its constructor), and that program calls neither: its products are the runtime's
// own loops. So the program does not link them; each function the runtime calls in them is a
// stub (written at build time by lazy_libs.cmake) that jumps through a slot, and the first
// call of each loads the library (dlopen, RTLD_GLOBAL so later lookups by name such as
// omp_set_num_threads find it and libgomp) and puts the function's address in the slot.
// x86-64 only (the stubs are assembly); elsewhere `hgc compile` links the libraries.
#include "aot_lazy.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace {

// The program parks OpenBLAS's threads at start (aot_main.cc: it calls OpenBLAS rarely if at
// all, and its idle threads would spin beside the pool); a library loaded later is parked
// when it loads, so that its threads start again only at its next threaded call, as before.
void after_load(const hgc::lazy::Library& lib) {
  if (std::strcmp(lib.key, "openblas") != 0) return;
  using Fn = void (*)();
  if (auto shutdown = reinterpret_cast<Fn>(dlsym(lib.handle, "blas_thread_shutdown_"))) shutdown();
}

[[noreturn]] void cannot(const char* what, const char* name, const char* why) {
  // As the dynamic loader does for a missing library: no exception can cross the stub.
  std::fprintf(stderr, "hgc: cannot %s %s: %s\n", what, name, why ? why : "unknown error");
  std::fflush(stderr);
  std::_Exit(127);
}

}  // namespace

// Called by the trampoline below with the stub's library and index; returns the function.
extern "C" [[gnu::visibility("hidden"), gnu::used]] void* hgc_lazy_resolve(hgc::lazy::Library* lib, long index) {
  // Recursive: a library's constructor may call into another lazily loaded one.
  static std::recursive_mutex mu;
  std::lock_guard<std::recursive_mutex> lock(mu);
  if (!lib->handle) {
    lib->handle = dlopen(lib->soname, RTLD_NOW | RTLD_GLOBAL);
    if (!lib->handle) cannot("load", lib->soname, dlerror());
    after_load(*lib);
  }
  void* fn = dlsym(lib->handle, lib->names[index]);
  if (!fn) cannot("find", lib->names[index], dlerror());
  __atomic_store_n(&lib->slots[index], fn, __ATOMIC_RELEASE);
  return fn;
}

// Entered from a stub's resolver entry: [rsp] = the stub's index, [rsp + 8] = the caller's
// return address, r11 = its Library. Saves every argument register (integer and vector,
// and rax, the vector count of a variadic call), resolves, restores them and jumps to the
// function, which returns to the stub's caller. The stack is 16-byte aligned at the call.
asm(R"(
  .text
  .p2align 4
  .globl hgc_lazy_trampoline
  .hidden hgc_lazy_trampoline
  .type hgc_lazy_trampoline,@function
hgc_lazy_trampoline:
  endbr64
  pushq %rdi
  pushq %rsi
  pushq %rdx
  pushq %rcx
  pushq %r8
  pushq %r9
  pushq %rax
  subq $136, %rsp
  movdqu %xmm0, 0(%rsp)
  movdqu %xmm1, 16(%rsp)
  movdqu %xmm2, 32(%rsp)
  movdqu %xmm3, 48(%rsp)
  movdqu %xmm4, 64(%rsp)
  movdqu %xmm5, 80(%rsp)
  movdqu %xmm6, 96(%rsp)
  movdqu %xmm7, 112(%rsp)
  movq %r11, %rdi
  movq 192(%rsp), %rsi
  call hgc_lazy_resolve
  movq %rax, %r11
  movdqu 0(%rsp), %xmm0
  movdqu 16(%rsp), %xmm1
  movdqu 32(%rsp), %xmm2
  movdqu 48(%rsp), %xmm3
  movdqu 64(%rsp), %xmm4
  movdqu 80(%rsp), %xmm5
  movdqu 96(%rsp), %xmm6
  movdqu 112(%rsp), %xmm7
  addq $136, %rsp
  popq %rax
  popq %r9
  popq %r8
  popq %rcx
  popq %rdx
  popq %rsi
  popq %rdi
  addq $8, %rsp
  jmpq *%r11
  .size hgc_lazy_trampoline, .-hgc_lazy_trampoline
)");
