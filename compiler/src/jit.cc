// LLVM-dialect module -> machine code: in-process JIT through mlir::ExecutionEngine, or
// optimized LLVM IR / a PIC object file for ahead-of-time use, and such an object loaded
// back through an ORC LLJIT (the on-disk kernel cache). See jit.h for the ABI.
//
// Rules at this boundary: LLVM and MLIR are built without exceptions, so nothing here
// throws while their frames are on the stack. Their errors come back as llvm::Error,
// null results or diagnostics (collected by cpu_lowering.cc) and are turned into
// hgc::Error afterwards. ExecutionEngine::create cantFail()s its transformer's result, so
// our transformer never reports an error through it (it stashes it instead).
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>

#include "cpu_lowering.h"
#include "hgc/compiler/jit.h"
#include "hgc/base/error.h"
#include "hgc/base/log.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/Analysis/LoopInfo.h"
#include "llvm/IR/Dominators.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/Target/LLVMIR/Export.h"

namespace hgc {

using compiler_detail::LoweredModule;
using compiler_detail::lower_to_llvm_dialect;
using compiler_detail::throw_with_diagnostics;

namespace {

const char* kCifacePrefix = "_mlir_ciface_";

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// HGC_LOG=jitphase: wall time of each step of a compile (where a small module's time goes).
struct PhaseLog {
  bool on = log_enabled("jitphase");
  std::chrono::steady_clock::time_point t = std::chrono::steady_clock::now();
  std::string text;
  void mark(const char* what) {
    if (!on) return;
    auto now = std::chrono::steady_clock::now();
    char b[64];
    std::snprintf(b, sizeof b, " %s %.1f", what, std::chrono::duration<double, std::milli>(now - t).count());
    text += b;
    t = now;
  }
  void flush(const char* head) {
    if (on) log_line(std::string("jitphase ") + head + ":" + text + " ms");
  }
};

void init_llvm_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}

// What to generate code for: the host (CPU name + every detected feature, as
// JITTargetMachineBuilder::detectHost does) or a named CPU whose features are implied.
struct Target {
  std::string triple, cpu, features;
  llvm::CodeGenOptLevel level = llvm::CodeGenOptLevel::Aggressive;
  int opt_level = 3;
};

Target choose_target(const JitOptions& opts) {
  init_llvm_once();
  if (opts.opt_level < 0 || opts.opt_level > 3)
    fail("compiler", "JitOptions::opt_level must be 0..3, got ", opts.opt_level);
  Target t;
  t.opt_level = opts.opt_level;
  static const llvm::CodeGenOptLevel levels[] = {
      llvm::CodeGenOptLevel::None, llvm::CodeGenOptLevel::Less, llvm::CodeGenOptLevel::Default,
      llvm::CodeGenOptLevel::Aggressive};
  t.level = levels[opts.opt_level];
  t.triple = llvm::sys::getProcessTriple();
  if (opts.target_cpu.empty() || opts.target_cpu == "native") {
    t.cpu = llvm::sys::getHostCPUName().str();
    llvm::SubtargetFeatures features;
    for (const auto& f : llvm::sys::getHostCPUFeatures()) features.AddFeature(f.first(), f.second);
    t.features = features.getString();
    return t;
  }
  // An unknown CPU name would only print a warning to stderr and fall back to generic.
  std::string err;
  const llvm::Target* target = llvm::TargetRegistry::lookupTarget(t.triple, err);
  if (!target) fail("compiler", "no LLVM target for ", t.triple, ": ", err);
  std::unique_ptr<llvm::MCSubtargetInfo> sti(target->createMCSubtargetInfo(t.triple, "", ""));
  if (!sti || !sti->isCPUStringValid(opts.target_cpu))
    fail("compiler", "unknown target CPU '", opts.target_cpu, "' for ", t.triple,
         " (use \"native\" or an LLVM CPU name such as x86-64-v3)");
  t.cpu = opts.target_cpu;
  return t;
}

// JIT machines: JITTargetMachineBuilder sets the JIT flag, which picks the large code model
// on x86-64 (JIT memory may lie more than 2 GiB away from malloc and friends).
std::unique_ptr<llvm::TargetMachine> jit_target_machine(const Target& t) {
  llvm::orc::JITTargetMachineBuilder jtmb{llvm::Triple(t.triple)};
  jtmb.setCPU(t.cpu);
  jtmb.getFeatures() = llvm::SubtargetFeatures(t.features);
  jtmb.setCodeGenOptLevel(t.level);
  auto tm = jtmb.createTargetMachine();
  if (!tm) fail("compiler", "cannot create a JIT target machine: ", llvm::toString(tm.takeError()));
  return std::move(*tm);
}

// Object files: position independent, so they link into executables and shared libraries.
std::unique_ptr<llvm::TargetMachine> pic_target_machine(const Target& t) {
  std::string err;
  const llvm::Target* target = llvm::TargetRegistry::lookupTarget(t.triple, err);
  if (!target) fail("compiler", "no LLVM target for ", t.triple, ": ", err);
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      t.triple, t.cpu, t.features, llvm::TargetOptions(), llvm::Reloc::PIC_, std::nullopt, t.level));
  if (!tm) fail("compiler", "cannot create a target machine for ", t.cpu);
  return tm;
}

// Functions marked kParallelLoops (cpu_lowering.cc: one elementwise generic whose outputs may
// be its inputs) get one access group on every instruction that touches memory and
// llvm.loop.parallel_accesses on every loop: the vectorizer then needs no run-time overlap
// check, which an output that is its input fails (sending the loop to its scalar version).
void mark_parallel_loops(llvm::Module& m) {
  for (llvm::Function& f : m) {
    if (f.isDeclaration() || !f.hasFnAttribute(compiler_detail::kParallelLoops)) continue;
    llvm::LLVMContext& ctx = f.getContext();
    llvm::MDNode* group = llvm::MDNode::getDistinct(ctx, {});
    for (llvm::BasicBlock& bb : f)
      for (llvm::Instruction& in : bb)
        if (in.mayReadOrWriteMemory()) in.setMetadata(llvm::LLVMContext::MD_access_group, group);
    llvm::DominatorTree dt(f);
    llvm::LoopInfo li(dt);
    for (llvm::Loop* loop : li.getLoopsInPreorder()) {
      llvm::SmallVector<llvm::Metadata*, 4> ops{nullptr};  // operand 0: the loop ID itself
      if (llvm::MDNode* old = loop->getLoopID())
        for (unsigned k = 1; k < old->getNumOperands(); ++k) ops.push_back(old->getOperand(k));
      ops.push_back(llvm::MDNode::get(ctx, {llvm::MDString::get(ctx, "llvm.loop.parallel_accesses"), group}));
      llvm::MDNode* id = llvm::MDNode::getDistinct(ctx, ops);
      id->replaceOperandWith(0, id);
      loop->setLoopID(id);
    }
    f.removeFnAttr(compiler_detail::kParallelLoops);
  }
}

// Functions marked kNoAliasArgs (cpu_lowering.cc): every pointer argument (a memref's
// allocated and aligned pointers; only the aligned one is accessed) becomes noalias.
void mark_noalias_args(llvm::Module& m) {
  for (llvm::Function& f : m) {
    if (f.isDeclaration() || !f.hasFnAttribute(compiler_detail::kNoAliasArgs)) continue;
    for (llvm::Argument& a : f.args())
      if (a.getType()->isPointerTy()) a.addAttr(llvm::Attribute::NoAlias);
    f.removeFnAttr(compiler_detail::kNoAliasArgs);
  }
}

// LLVM's -O pipeline tuned by `tm` (without a TargetMachine the vectorizer has no cost
// model: a loop ran at 2.3 instead of 22.7 GFLOP/s). Returns an error text, empty if fine.
//
// mlir::makeOptimizingTransformer's pipeline, except that loops are not unrolled (clang's
// -fno-unroll-loops): with static shapes the full unroller, which runs before the loop
// vectorizer, flattened the short inner loops of a kernel (a softmax row of 32) into straight
// code, and the vectorizer then worked on the outer loop with 32-way strided accesses
// (softmax over (256, 32, 32): 171 us instead of 122 us; with one exp per element, 315 us
// instead of 76 us). Vectorized loops are still interleaved (LoopInterleaving), which is
// the unrolling that matters for throughput.
std::string optimize(llvm::Module& m, const Target& t, llvm::TargetMachine* tm) {
  mark_parallel_loops(m);
  mark_noalias_args(m);
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions tuning;
  tuning.LoopUnrolling = false;
  tuning.LoopInterleaving = true;
  tuning.LoopVectorization = true;
  tuning.SLPVectorization = true;
  llvm::PassBuilder pb(tm, tuning);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  static const llvm::OptimizationLevel levels[] = {llvm::OptimizationLevel::O0, llvm::OptimizationLevel::O1,
                                                   llvm::OptimizationLevel::O2, llvm::OptimizationLevel::O3};
  llvm::ModulePassManager mpm = t.opt_level == 0 ? pb.buildO0DefaultPipeline(levels[0])
                                                 : pb.buildPerModuleDefaultPipeline(levels[t.opt_level]);
  mpm.run(m, mam);
  return {};
}

// The packed wrapper ExecutionEngine creates for every function, built here for AOT code
// (only for the C-interface functions of kernels): void _mlir_<f>(void** args) loads
// args[i] as a pointer to the i-th argument, calls f, stores a result through args[n].
void add_packed_wrapper(llvm::Module& m, llvm::Function& fn) {
  llvm::LLVMContext& ctx = m.getContext();
  llvm::IRBuilder<> b(ctx);
  auto* type = llvm::FunctionType::get(b.getVoidTy(), b.getPtrTy(), false);
  auto* wrapper = llvm::Function::Create(type, llvm::GlobalValue::ExternalLinkage,
                                         "_mlir_" + fn.getName().str(), m);
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", wrapper));
  llvm::Value* list = wrapper->getArg(0);
  std::vector<llvm::Value*> args;
  for (llvm::Argument& a : fn.args()) {
    llvm::Value* slot = b.CreateGEP(b.getPtrTy(), list, b.getInt64(a.getArgNo()));
    args.push_back(b.CreateLoad(a.getType(), b.CreateLoad(b.getPtrTy(), slot)));
  }
  llvm::Value* result = b.CreateCall(&fn, args);
  if (!result->getType()->isVoidTy()) {
    llvm::Value* slot = b.CreateGEP(b.getPtrTy(), list, b.getInt64(fn.arg_size()));
    b.CreateStore(result, b.CreateLoad(b.getPtrTy(), slot));
  }
  b.CreateRetVoid();
}

// Shared by lower_to_llvm_ir and compile_to_object: lowered, translated, wrapped, tuned for
// the target (triple, data layout, per-function target-cpu/-features so the IR text is
// self-describing) and optimized.
std::unique_ptr<llvm::Module> aot_module(const std::string& text, const Target& t,
                                         llvm::TargetMachine* tm, llvm::LLVMContext& llctx, PhaseLog& ph) {
  LoweredModule lowered = lower_to_llvm_dialect(text);
  ph.mark("mlir");
  std::unique_ptr<llvm::Module> m = mlir::translateModuleToLLVMIR(*lowered.module, llctx, "hgc_kernels");
  ph.mark("translate");
  if (!m) throw_with_diagnostics(lowered, "translation to LLVM IR failed");
  m->setDataLayout(tm->createDataLayout());
  m->setTargetTriple(tm->getTargetTriple().str());
  for (const std::string& k : lowered.kernels) {
    llvm::Function* ciface = m->getFunction(kCifacePrefix + k);
    if (!ciface) fail("compiler", "kernel '", k, "' has no C interface after lowering");
    add_packed_wrapper(*m, *ciface);
  }
  for (llvm::Function& f : *m) {
    if (f.isDeclaration()) continue;
    f.addFnAttr("target-cpu", t.cpu);
    if (!t.features.empty()) f.addFnAttr("target-features", t.features);
  }
  std::string err = optimize(*m, t, tm);
  if (!err.empty()) fail("compiler", "LLVM optimization failed: ", err);
  ph.mark("opt");
  return m;
}

}  // namespace

std::string packed_symbol_name(const std::string& func_name) {
  return "_mlir_" + std::string(kCifacePrefix) + func_name;
}

namespace {

// ORC reports materialization (linking) failures to the session's error reporter, which by
// default prints them to stderr; lookup then only says "Failed to materialize symbols".
// The reporter hands them to the load_object running on its thread (materialization runs on
// the thread that looks up: no task dispatcher threads), which puts them in its hgc::Error.
struct LinkErrors {
  std::string text;
};
thread_local LinkErrors* current_link_errors = nullptr;

// One LLJIT (execution session, target machine, object linking layer) for every object that
// load_object links: creating one cost ~0.5 ms a module, and each process loads several in its
// first training step (a block's forward and gradient, the loss's, the optimizer's). Each
// object gets a JITDylib of its own (modules may define the same kernel names), linked against
// the main JITDylib, which only resolves the process's symbols (libm, the runtime's ABI).
// Never destroyed: modules held in static caches may be released during static destruction.
struct SharedLinker {
  std::unique_ptr<llvm::orc::LLJIT> jit;
  llvm::orc::JITDylib* process = nullptr;
  std::atomic<uint64_t> next_id{0};
};

SharedLinker& shared_linker() {
  static SharedLinker* linker = [] {
    auto jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
    if (!jtmb) fail("compiler", "cannot describe the host for the JIT linker: ", llvm::toString(jtmb.takeError()));
    // No platform (no static initializers, no atexit support: kernels have none) and no
    // default process-symbols dylib: the main dylib gets a generator for them itself.
    auto created = llvm::orc::LLJITBuilder()
                       .setJITTargetMachineBuilder(std::move(*jtmb))
                       .setLinkProcessSymbolsByDefault(false)
                       .setPlatformSetUp(llvm::orc::setUpInactivePlatform)
                       .create();
    if (!created) fail("compiler", "cannot create the JIT linker: ", llvm::toString(created.takeError()));
    auto l = std::make_unique<SharedLinker>();
    l->jit = std::move(*created);
    l->jit->getExecutionSession().setErrorReporter([](llvm::Error e) {
      std::string msg = llvm::toString(std::move(e));
      if (LinkErrors* errors = current_link_errors)
        errors->text += (errors->text.empty() ? "" : "; ") + msg;
    });
    auto process = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
        l->jit->getDataLayout().getGlobalPrefix());
    if (!process) fail("compiler", "cannot search the process's symbols: ", llvm::toString(process.takeError()));
    l->process = &l->jit->getMainJITDylib();
    l->process->addGenerator(std::move(*process));
    return l.release();
  }();
  return *linker;
}

// An object's JITDylib in the shared linker: removing it frees the object's code.
struct LinkedDylib {
  llvm::orc::JITDylib* dylib = nullptr;
  LinkedDylib() = default;
  LinkedDylib(const LinkedDylib&) = delete;
  LinkedDylib& operator=(const LinkedDylib&) = delete;
  ~LinkedDylib() {
    if (dylib)
      if (llvm::Error e = shared_linker().jit->getExecutionSession().removeJITDylib(*dylib))
        llvm::consumeError(std::move(e));  // nothing to do about it at release
  }
};

}  // namespace

struct JitModule::Engine {
  std::unique_ptr<mlir::ExecutionEngine> ee;  // jit_compile
  std::unique_ptr<LinkedDylib> linked;        // load_object
};

JitModule::~JitModule() = default;

bool JitModule::contains(const std::string& func_name) const {
  return kernels_.count(func_name) != 0;
}

PackedKernel JitModule::lookup(const std::string& func_name) const {
  auto it = kernels_.find(func_name);
  if (it != kernels_.end()) return it->second;
  std::string have;
  for (const auto& n : names_) have += (have.empty() ? "" : ", ") + n;
  fail("compiler", "no kernel '", func_name, "' in the JIT module (kernels: ",
       have.empty() ? "none" : have, ")");
}

std::shared_ptr<JitModule> jit_compile(const std::string& mlir_text, const JitOptions& opts) {
  Target t = choose_target(opts);
  LoweredModule lowered = lower_to_llvm_dialect(mlir_text);
  auto t0 = std::chrono::steady_clock::now();

  // The optimizer gets its own TargetMachine: the one handed to ExecutionEngine becomes
  // the JIT's code generator (and its opt level; ExecutionEngineOptions::jitCodeGenOptLevel
  // is ignored once a TargetMachine is passed).
  std::unique_ptr<llvm::TargetMachine> opt_tm = jit_target_machine(t);
  std::string opt_error;
  auto transformer = [&](llvm::Module* m) -> llvm::Error {
    opt_error = optimize(*m, t, opt_tm.get());
    return llvm::Error::success();  // never an error: create() would cantFail() it
  };
  mlir::ExecutionEngineOptions eo;
  eo.transformer = transformer;
  eo.enableGDBNotificationListener = false;
  eo.enablePerfNotificationListener = false;
  auto created = mlir::ExecutionEngine::create(*lowered.module, eo, jit_target_machine(t));
  if (!created) {
    std::string err = llvm::toString(created.takeError());
    throw_with_diagnostics(lowered, "JIT compilation failed (" + err + ")");
  }
  if (!opt_error.empty()) fail("compiler", "LLVM optimization failed: ", opt_error);

  std::shared_ptr<JitModule> jm(new JitModule());
  jm->engine_ = std::make_unique<JitModule::Engine>();
  jm->engine_->ee = std::move(*created);
  jm->names_ = lowered.kernels;
  // ORC compiles lazily, on the first lookup: do it now for every kernel so lookup() is a
  // map access and compile_ms covers code generation.
  for (const std::string& k : lowered.kernels) {
    auto fn = jm->engine_->ee->lookupPacked(kCifacePrefix + k);
    if (!fn) {
      std::string err = llvm::toString(fn.takeError());
      throw_with_diagnostics(lowered, "JIT lookup of kernel '" + k + "' failed: " + err);
    }
    jm->kernels_[k] = *fn;
  }
  jm->mlir_ms_ = lowered.mlir_ms;
  jm->llvm_ms_ = ms_since(t0);
  return jm;
}

std::shared_ptr<JitModule> load_object(const std::string& object_bytes,
                                       const std::vector<std::string>& kernel_names) {
  init_llvm_once();
  auto t0 = std::chrono::steady_clock::now();
  PhaseLog ph;
  SharedLinker& linker = shared_linker();
  ph.mark("linker");
  // A cheap check first, so that garbage (say, a cache entry of some other kind) gets a
  // plain message; the ELF reader validates the rest (sizes, offsets, section tables).
  if (object_bytes.size() < 64 || object_bytes.compare(0, 4, "\x7f" "ELF") != 0)
    fail("compiler", "cannot load kernel object: not an ELF object (", object_bytes.size(), " bytes)");
  auto linked = std::make_unique<LinkedDylib>();
  {
    auto jd = linker.jit->getExecutionSession().createJITDylib("hgc_kernels_" + std::to_string(linker.next_id++));
    if (!jd) fail("compiler", "cannot create a JIT dylib: ", llvm::toString(jd.takeError()));
    linked->dylib = &*jd;
  }
  llvm::orc::JITDylib& jd = *linked->dylib;
  jd.addToLinkOrder(*linker.process);
  auto buffer = llvm::MemoryBuffer::getMemBufferCopy(object_bytes, "hgc_kernels.o");
  if (llvm::Error e = linker.jit->addObjectFile(jd, std::move(buffer)))
    fail("compiler", "cannot load kernel object: ", llvm::toString(std::move(e)));

  std::shared_ptr<JitModule> jm(new JitModule());
  jm->names_ = kernel_names;
  // The first lookup links the object (all of it): resolve every kernel now, so a bad
  // object fails here and lookup() stays a map access.
  LinkErrors errors;
  current_link_errors = &errors;
  struct Unset {
    ~Unset() { current_link_errors = nullptr; }
  } unset;
  for (const std::string& k : kernel_names) {
    auto addr = linker.jit->lookup(jd, packed_symbol_name(k));
    if (!addr) {
      std::string err = llvm::toString(addr.takeError());
      fail("compiler", "cannot load kernel '", k, "' from the object: ", err,
           errors.text.empty() ? "" : " (" + errors.text + ")");
    }
    jm->kernels_[k] = addr->toPtr<PackedKernel>();
  }
  ph.mark("link");
  ph.flush("load");
  jm->engine_ = std::make_unique<JitModule::Engine>();
  jm->engine_->linked = std::move(linked);
  jm->llvm_ms_ = ms_since(t0);
  return jm;
}

std::string host_target_id(const JitOptions& opts) {
  Target t = choose_target(opts);
  return t.triple + "|" + t.cpu + "|" + t.features + "|llvm " + LLVM_VERSION_STRING;
}

std::string lower_to_llvm_ir(const std::string& mlir_text, const JitOptions& opts) {
  Target t = choose_target(opts);
  std::unique_ptr<llvm::TargetMachine> tm = pic_target_machine(t);
  llvm::LLVMContext llctx;
  PhaseLog ph;
  std::unique_ptr<llvm::Module> m = aot_module(mlir_text, t, tm.get(), llctx, ph);
  std::string out;
  llvm::raw_string_ostream os(out);
  m->print(os, nullptr);
  os.flush();
  return out;
}

namespace {
std::string emit_file(const std::string& mlir_text, const JitOptions& opts, llvm::CodeGenFileType kind) {
  PhaseLog ph;
  Target t = choose_target(opts);
  std::unique_ptr<llvm::TargetMachine> tm = pic_target_machine(t);
  ph.mark("tm");
  llvm::LLVMContext llctx;
  std::unique_ptr<llvm::Module> m = aot_module(mlir_text, t, tm.get(), llctx, ph);
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager codegen;
  if (tm->addPassesToEmitFile(codegen, os, nullptr, kind))
    fail("compiler", "the target machine for ", t.cpu, " cannot emit ",
         kind == llvm::CodeGenFileType::ObjectFile ? "object" : "assembly", " files");
  codegen.run(*m);
  ph.mark("codegen");
  m.reset();
  ph.mark("free");
  ph.flush("object");
  return std::string(buffer.data(), buffer.size());
}
}  // namespace

std::string compile_to_object(const std::string& mlir_text, const JitOptions& opts) {
  return emit_file(mlir_text, opts, llvm::CodeGenFileType::ObjectFile);
}

std::string compile_to_assembly(const std::string& mlir_text, const JitOptions& opts) {
  return emit_file(mlir_text, opts, llvm::CodeGenFileType::AssemblyFile);
}

}  // namespace hgc
