// MLIR text -> LLVM-dialect module for the CPU: dialect registration, parsing with
// diagnostics captured as text, and the pass pipeline (see jit.h for its shape).
//
// Only what the pipeline needs is registered (no InitAllDialects/InitAllPasses: they cost
// ~30 s of compile time per TU on this machine and pull in every dialect). Passes are
// added as objects, not parsed from a pipeline string, so nothing needs registering in
// the global pass registry and a typo is a compile error rather than a silent no-op.
#include "cpu_lowering.h"

#include <chrono>
#include <cstdio>

#include "hgc/base/error.h"
#include "hgc/base/log.h"
#include "kernel_writer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"
#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MathToLibm/MathToLibm.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Arith/Transforms/BufferDeallocationOpInterfaceImpl.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Transforms.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/ControlFlow/Transforms/BufferDeallocationOpInterfaceImpl.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Index/IR/IndexDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Linalg/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/AllocationOpInterfaceImpl.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/SCF/Transforms/BufferDeallocationOpInterfaceImpl.h"
#include "mlir/Dialect/SCF/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/DialectConversion.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/Passes.h"

namespace hgc::compiler_detail {

LoweredModule::LoweredModule() = default;
LoweredModule::~LoweredModule() {
  module = nullptr;       // erase the IR while its context is alive
  diagnostics.reset();    // unregister the handler before the context goes
}
LoweredModule::LoweredModule(LoweredModule&&) noexcept = default;

std::string LoweredModule::take_diagnostics() {
  if (!diagnostics) return {};
  diagnostics->os.flush();
  std::string out;
  out.swap(diagnostics->buffer);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

void throw_with_diagnostics(LoweredModule& m, const std::string& what) {
  std::string diags = m.take_diagnostics();
  throw Error("compiler", diags.empty() ? what : what + ":\n" + diags);
}

namespace {

// Replaces f32 math.tanh/erf/exp/log/... by MLIR's polynomial approximations: pure arith
// (plus math.fma/absf/copysign/floor, which become LLVM intrinsics), so kernels need no
// libm, vectorize, and behave the same in the JIT and in standalone executables.
// Max error vs double-precision std:: on [-10, 10], measured in tests/compiler/test_jit.cc:
// tanh 2.5e-7 abs, erf 2.7e-7 abs, exp 8e-8 relative, log 4.3e-7 abs (f32 ulp ~ 6e-8).
struct ApproximateMathPass
    : public mlir::PassWrapper<ApproximateMathPass, mlir::OperationPass<mlir::ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ApproximateMathPass)
  llvm::StringRef getArgument() const final { return "hgc-approximate-math"; }
  void getDependentDialects(mlir::DialectRegistry& registry) const override {
    registry.insert<mlir::arith::ArithDialect, mlir::math::MathDialect,
                    mlir::vector::VectorDialect>();
  }
  void runOnOperation() override {
    mlir::RewritePatternSet patterns(&getContext());
    mlir::populateMathPolynomialApproximationPatterns(patterns);
    if (mlir::failed(mlir::applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

// bfloat16 and float16 have no arithmetic on most CPUs: every math and arith op on them is
// computed in float32 registers (extend the operands, truncate the result), and the bf16
// conversions become integer bit operations (round to nearest even), so no compiler-rt
// helper (__truncsfbf2) has to be found by the JIT or the AOT link. float32 kernels are untouched.
struct LegalizeHalfFloatsPass
    : public mlir::PassWrapper<LegalizeHalfFloatsPass, mlir::OperationPass<mlir::ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(LegalizeHalfFloatsPass)
  llvm::StringRef getArgument() const final { return "hgc-legalize-half-floats"; }
  void getDependentDialects(mlir::DialectRegistry& registry) const override {
    registry.insert<mlir::arith::ArithDialect, mlir::math::MathDialect>();
  }
  void runOnOperation() override {
    mlir::MLIRContext* ctx = &getContext();
    bool any = false;
    getOperation()->walk([&](mlir::Operation* op) {
      for (mlir::Type t : op->getResultTypes())
        if (mlir::getElementTypeOrSelf(t).isBF16() || mlir::getElementTypeOrSelf(t).isF16()) any = true;
      for (mlir::Type t : op->getOperandTypes())
        if (mlir::getElementTypeOrSelf(t).isBF16() || mlir::getElementTypeOrSelf(t).isF16()) any = true;
    });
    if (!any) return;
    // The kernel's own conversions (Cast ops) round as written; only the emulation's are elided.
    llvm::DenseSet<mlir::Operation*> explicit_casts;
    getOperation()->walk([&](mlir::Operation* op) {
      if (mlir::isa<mlir::arith::ExtFOp, mlir::arith::TruncFOp>(op)) explicit_casts.insert(op);
    });
    mlir::Type f32 = mlir::Float32Type::get(ctx);
    {  // math ops on half floats -> f32
      mlir::TypeConverter tc;
      mlir::math::populateLegalizeToF32TypeConverter(tc);
      mlir::ConversionTarget target(*ctx);
      mlir::math::populateLegalizeToF32ConversionTarget(target, tc);
      mlir::RewritePatternSet patterns(ctx);
      mlir::math::populateLegalizeToF32Patterns(patterns, tc);
      if (mlir::failed(mlir::applyPartialConversion(getOperation(), target, std::move(patterns))))
        return signalPassFailure();
    }
    {  // arith ops on half floats -> f32
      mlir::SmallVector<mlir::Type> sources{mlir::BFloat16Type::get(ctx), mlir::Float16Type::get(ctx)};
      mlir::TypeConverter tc;
      mlir::arith::populateEmulateUnsupportedFloatsConversions(tc, sources, f32);
      mlir::ConversionTarget target(*ctx);
      mlir::arith::populateEmulateUnsupportedFloatsLegality(target, tc);
      target.addLegalDialect<mlir::math::MathDialect, mlir::memref::MemRefDialect, mlir::scf::SCFDialect,
                             mlir::func::FuncDialect, mlir::affine::AffineDialect, mlir::cf::ControlFlowDialect,
                             mlir::vector::VectorDialect, mlir::LLVM::LLVMDialect>();
      target.markUnknownOpDynamicallyLegal([](mlir::Operation*) { return true; });
      mlir::RewritePatternSet patterns(ctx);
      mlir::arith::populateEmulateUnsupportedFloatsPatterns(patterns, tc);
      if (mlir::failed(mlir::applyPartialConversion(getOperation(), target, std::move(patterns))))
        return signalPassFailure();
    }
    // extf(truncf(x)) between two emulated ops: keep x, so a kernel rounds only what it
    // stores (the reference rounds once, too).
    getOperation()->walk([&](mlir::arith::ExtFOp ext) {
      auto tr = ext.getIn().getDefiningOp<mlir::arith::TruncFOp>();
      if (tr && tr.getIn().getType() == ext.getType() && !explicit_casts.contains(ext) &&
          !explicit_casts.contains(tr))
        ext.getResult().replaceAllUsesWith(tr.getIn());
    });
    mlir::RewritePatternSet patterns(ctx);
    mlir::arith::populateExpandBFloat16Patterns(patterns);
    if (mlir::failed(mlir::applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

// Whether a kernel whose outputs may be its inputs' memory can still write them directly:
// its one linalg.generic is all-parallel, writes every output through the identity map,
// reads every input that may be an output's memory through that same map at the output's
// element width, and reads nothing else that could be an output (only inputs with fewer
// elements: broadcast scalars, rows, bias vectors) and no memory from its body. Then element
// i is read before it is written and no other element's computation touches it: the loops
// carry no dependence through memory even when an output is an input, which LLVM is told
// with llvm.loop.parallel_accesses (kParallelLoops, see jit.cc). Which inputs may be an
// output's memory: any, so the outputs must all have one width; with `keep_dtype`
// (lower::kAliasesKeepDtype) only those of the output's own element type, so outputs of
// several types are fine (an update writing float32 weights and their bfloat16 copy).
bool elementwise_in_place_safe(mlir::func::FuncOp fn, bool keep_dtype) {
  mlir::linalg::GenericOp generic;
  bool ok = true;
  fn.walk<mlir::WalkOrder::PreOrder>([&](mlir::Operation* op) {
    if (!ok) return mlir::WalkResult::interrupt();
    if (auto g = mlir::dyn_cast<mlir::linalg::GenericOp>(op)) {
      if (generic) ok = false;
      generic = g;
      return mlir::WalkResult::skip();  // body ops: checked below
    }
    // tensor.dim / memref.dim read a symbolic size (kernels over dynamic dims), not elements.
    if (op == fn.getOperation() ||
        mlir::isa<mlir::func::ReturnOp, mlir::bufferization::ToTensorOp, mlir::bufferization::MaterializeInDestinationOp,
                  mlir::tensor::EmptyOp, mlir::tensor::DimOp, mlir::memref::DimOp, mlir::arith::ConstantOp>(op))
      return mlir::WalkResult::advance();
    ok = false;
    return mlir::WalkResult::interrupt();
  });
  if (!ok || !generic || generic.getNumReductionLoops() != 0 || generic.hasIndexSemantics()) return false;
  for (mlir::Operation& op : generic.getRegion().front())
    if (!mlir::isMemoryEffectFree(&op)) return false;
  auto static_numel = [](mlir::Type t) -> int64_t {
    auto st = mlir::dyn_cast<mlir::ShapedType>(t);
    return st && st.hasStaticShape() ? st.getNumElements() : -1;
  };
  struct Out {
    mlir::Type elem;
    int64_t numel;  // -1: symbolic
  };
  llvm::SmallVector<Out> outs;
  for (mlir::OpOperand& o : generic.getDpsInitsMutable()) {
    if (!generic.getMatchingIndexingMap(&o).isIdentity()) return false;
    auto st = mlir::dyn_cast<mlir::ShapedType>(o.get().getType());
    if (!st || !st.getElementType().isIntOrFloat()) return false;
    if (!keep_dtype && !outs.empty() && st.getElementTypeBitWidth() != outs[0].elem.getIntOrFloatBitWidth())
      return false;
    outs.push_back({st.getElementType(), static_numel(st)});
  }
  for (mlir::OpOperand* in : generic.getDpsInputOperands()) {
    auto st = mlir::dyn_cast<mlir::ShapedType>(in->get().getType());
    if (!st) continue;  // a scalar operand is a value, not memory
    // The outputs this input may be the memory of, and the fewest elements among them.
    bool shared = false, same_width = true;
    int64_t out_numel = -1;
    for (const Out& o : outs) {
      if (keep_dtype && o.elem != st.getElementType()) continue;
      shared = true;
      same_width = same_width && st.getElementType().isIntOrFloat() &&
                   st.getElementTypeBitWidth() == o.elem.getIntOrFloatBitWidth();
      if (o.numel >= 0) out_numel = out_numel < 0 ? o.numel : std::min(out_numel, o.numel);
    }
    if (!shared) continue;
    if (generic.getMatchingIndexingMap(in).isIdentity() && same_width) continue;
    // A one-element operand (a broadcast scalar: lr, wd) next to outputs of symbolic length:
    // an output can share its memory only when it has one element too, and then the one
    // iteration reads it before writing it.
    int64_t n = static_numel(st);
    if (n == 1 && out_numel < 0) continue;
    if (n < 0 || out_numel < 0 || n >= out_numel) return false;
  }
  return true;
}

// Kernels write their outputs directly: fusion and canonicalization replace a generic's
// unread outs operand with tensor.empty, which one-shot bufferization would turn into a
// malloc'ed temporary that the kernel fills and then copies into its output argument. Each
// empty first gets a single use (CSE merges equal empties, and MLIR 19's elimination hands
// every user the destination of the first: SliceChannel's equal outputs would share one
// buffer). Functions marked hgc.outputs_may_alias (in-place steps, GEMM epilogues, in-place
// optimizer updates) write directly only when elementwise_in_place_safe, on the CPU, marked
// kParallelLoops: LLVM's overlap check would otherwise send the direct write to the scalar
// loop (SGD updates 4x slower). The others keep the temporary. The mark is removed here:
// nothing after this pass knows it. Unmarked kernels never get an output that overlaps an
// input (the plans give every non-in-place output its own buffer; imperative calls write
// fresh arrays), so on the CPU their arguments are marked kNoAliasArgs.
struct WriteOutputsInPlacePass
    : public mlir::PassWrapper<WriteOutputsInPlacePass, mlir::OperationPass<mlir::ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(WriteOutputsInPlacePass)
  explicit WriteOutputsInPlacePass(bool parallel_loops) : parallel_loops_(parallel_loops) {}
  llvm::StringRef getArgument() const final { return "hgc-write-outputs-in-place"; }
  void runOnOperation() override {
    mlir::IRRewriter rewriter(&getContext());
    for (mlir::func::FuncOp fn : getOperation().getOps<mlir::func::FuncOp>()) {
      bool keep_dtype = static_cast<bool>(fn->removeAttr(lower::kAliasesKeepDtype));
      if (fn->removeAttr(lower::kOutputsMayAlias)) {
        if (!parallel_loops_ || !elementwise_in_place_safe(fn, keep_dtype)) continue;
        // FuncToLLVM carries `passthrough` to the llvm.func: an LLVM function attribute.
        fn->setAttr("passthrough", rewriter.getArrayAttr({rewriter.getStringAttr(kParallelLoops)}));
      } else if (parallel_loops_) {
        fn->setAttr("passthrough", rewriter.getArrayAttr({rewriter.getStringAttr(kNoAliasArgs)}));
      }
      llvm::SmallVector<mlir::tensor::EmptyOp> empties;
      fn.walk([&](mlir::tensor::EmptyOp e) { empties.push_back(e); });
      for (mlir::tensor::EmptyOp e : empties) {
        llvm::SmallVector<mlir::OpOperand*> uses;
        for (mlir::OpOperand& u : e->getUses()) uses.push_back(&u);
        for (size_t i = 1; i < uses.size(); ++i) {
          mlir::OpBuilder b(uses[i]->getOwner());  // the empty's sizes dominate its users
          uses[i]->set(b.clone(*e.getOperation())->getResult(0));
        }
      }
      if (mlir::failed(mlir::bufferization::eliminateEmptyTensors(rewriter, fn))) return signalPassFailure();
    }
  }
  bool parallel_loops_;
};

// Collapses an elementwise linalg.generic over identity-layout buffers (every operand read
// and written through the identity map, every loop parallel, no linalg.index) to one loop
// over all its elements: a poly kernel over (256, 32, 4) otherwise ran a 4-trip inner loop that never
// vectorized (x * 0.5 there: 11 us instead of ~2).
struct CollapseElementwisePass
    : public mlir::PassWrapper<CollapseElementwisePass, mlir::OperationPass<mlir::ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(CollapseElementwisePass)
  llvm::StringRef getArgument() const final { return "hgc-collapse-elementwise"; }
  void getDependentDialects(mlir::DialectRegistry& registry) const override {
    registry.insert<mlir::memref::MemRefDialect>();
  }
  static llvm::SmallVector<mlir::ReassociationIndices> dims(mlir::linalg::LinalgOp op) {
    auto g = mlir::dyn_cast<mlir::linalg::GenericOp>(op.getOperation());
    if (!g || !g.hasPureBufferSemantics() || g.getNumLoops() < 2 || g.getNumReductionLoops() != 0) return {};
    for (mlir::AffineMap m : g.getIndexingMapsArray())
      if (!m.isIdentity()) return {};
    // A body reading its position (concat, one_hot, ...) would delinearize the flat index
    // with divisions per element.
    if (g.hasIndexSemantics()) return {};
    for (mlir::Value v : g->getOperands()) {
      auto t = mlir::dyn_cast<mlir::MemRefType>(v.getType());
      if (!t || !t.getLayout().isIdentity()) return {};
    }
    mlir::ReassociationIndices all;
    for (int64_t i = 0; i < g.getNumLoops(); ++i) all.push_back(i);
    return {all};
  }
  void runOnOperation() override {
    mlir::RewritePatternSet patterns(&getContext());
    mlir::linalg::populateCollapseDimensions(patterns, dims);
    if (mlir::failed(mlir::applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

// Fully unrolls innermost scf.for loops of at most kTinyTrips constant trips inside another
// loop. LLVM's unroller is off (see jit.cc), and a 2-trip inner loop (a 2x2 window's taps,
// the (O, K) view of the tiled pooling gradient) then never vectorizes: unrolled, its
// accesses become an interleaved group of the loop around it, which does (LeNet's pooling
// gradient fused with the ReLU mask, one thread: 1.76 -> 1.24 ms). Longer loops stay: unrolling a 32-wide
// softmax row sent the vectorizer to the strided outer loop (jit.cc).
struct UnrollTinyLoopsPass : public mlir::PassWrapper<UnrollTinyLoopsPass, mlir::OperationPass<mlir::ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(UnrollTinyLoopsPass)
  static constexpr int64_t kTinyTrips = 4;
  llvm::StringRef getArgument() const final { return "hgc-unroll-tiny-loops"; }
  void runOnOperation() override {
    llvm::SmallVector<mlir::scf::ForOp> tiny;
    getOperation().walk([&](mlir::scf::ForOp loop) {
      if (!loop->getParentOfType<mlir::scf::ForOp>()) return;
      bool innermost = true;
      loop.getBody()->walk([&](mlir::scf::ForOp) { innermost = false; });
      if (!innermost) return;
      std::optional<int64_t> trips =
          mlir::constantTripCount(loop.getLowerBound(), loop.getUpperBound(), loop.getStep());
      if (trips && *trips >= 2 && *trips <= kTinyTrips) tiny.push_back(loop);
    });
    for (mlir::scf::ForOp loop : tiny) {
      std::optional<int64_t> trips =
          mlir::constantTripCount(loop.getLowerBound(), loop.getUpperBound(), loop.getStep());
      (void)mlir::loopUnrollByFactor(loop, static_cast<uint64_t>(*trips));  // failure: the loop stays
    }
  }
};

// Merges the elementwise loops of a multi-output kernel group into one loop with several
// results. MLIR's elementwise fusion fuses a producer read by several consumers into each of
// them (recomputed, not shared), so an optimizer update (fuse.cc's multi-output groups: the
// decayed gradient read by mean and var, which the weight reads too) leaves one independent
// loop per output, each re-reading the arrays. Here those loops (all-parallel generics of one
// result shape writing tensor.empty, reading only the function's tensors, their results
// written only to outputs) become one generic whose body is theirs in sequence; CSE then
// shares the recomputed values. Only in functions marked kOutputsMayAlias, where the fusion
// pass (passes/src/fuse.cc) formed the groups and guarantees one iteration space.
void merge_output_loops(mlir::func::FuncOp fn) {
  llvm::SmallVector<mlir::linalg::GenericOp> gens;
  for (mlir::Operation& op : fn.getBody().front())
    if (auto g = mlir::dyn_cast<mlir::linalg::GenericOp>(op)) gens.push_back(g);
  if (gens.size() < 2) return;
  // One shape; element types may differ (an update that also writes the new weight's
  // bfloat16 copy: left unmerged, each output recomputed the update and none wrote in place).
  auto shape = mlir::cast<mlir::ShapedType>(gens[0]->getResult(0).getType()).getShape();
  llvm::SmallPtrSet<mlir::Operation*, 8> set;
  for (auto g : gens) set.insert(g);
  auto written = [](mlir::Value r) {  // a result some output write reads
    for (mlir::Operation* u : r.getUsers())
      if (mlir::isa<mlir::bufferization::MaterializeInDestinationOp>(u)) return true;
    return false;
  };
  for (auto g : gens) {
    if (g.getNumReductionLoops() != 0 || g.hasIndexSemantics() || g.getNumLoops() != gens[0].getNumLoops() ||
        g->getNumResults() != 1)
      return;
    mlir::OpOperand& init = g.getDpsInitsMutable()[0];
    if (!init.get().getDefiningOp<mlir::tensor::EmptyOp>() || !g.getMatchingIndexingMap(&init).isIdentity()) return;
    mlir::Value r = g->getResult(0);
    if (mlir::cast<mlir::ShapedType>(r.getType()).getShape() != shape) return;
    for (mlir::Operation* u : r.getUsers())
      if (!mlir::isa<mlir::bufferization::MaterializeInDestinationOp>(u) && !set.contains(u)) return;
    // Another loop's value is read at the same element only.
    for (mlir::OpOperand* o : g.getDpsInputOperands())
      if (o->get().getDefiningOp() && set.contains(o->get().getDefiningOp()) && !g.getMatchingIndexingMap(o).isIdentity())
        return;
  }
  mlir::OpBuilder b(gens.back());
  llvm::SmallVector<mlir::Value> ins, outs;
  llvm::SmallVector<mlir::AffineMap> maps, out_maps;
  llvm::SmallVector<mlir::Type> types;
  for (auto g : gens)
    for (mlir::OpOperand* o : g.getDpsInputOperands())
      if (!(o->get().getDefiningOp() && set.contains(o->get().getDefiningOp())))
        ins.push_back(o->get()), maps.push_back(g.getMatchingIndexingMap(o));
  for (auto g : gens)
    if (written(g->getResult(0))) {
      mlir::OpOperand& init = g.getDpsInitsMutable()[0];
      outs.push_back(init.get()), out_maps.push_back(g.getMatchingIndexingMap(&init)), types.push_back(init.get().getType());
    }
  maps.append(out_maps.begin(), out_maps.end());
  auto merged = b.create<mlir::linalg::GenericOp>(
      gens.back().getLoc(), types, ins, outs, maps, gens[0].getIteratorTypesArray(),
      [&](mlir::OpBuilder& nb, mlir::Location loc, mlir::ValueRange args) {
        llvm::DenseMap<mlir::Value, mlir::Value> value_of;  // a loop's result -> its element
        llvm::SmallVector<mlir::Value> yields;
        size_t in_at = 0, out_at = ins.size();
        for (auto g : gens) {
          mlir::IRMapping map;
          mlir::Block& body = g.getRegion().front();
          for (mlir::OpOperand* o : g.getDpsInputOperands()) {
            mlir::BlockArgument arg = body.getArgument(o->getOperandNumber());
            if (auto it = value_of.find(o->get()); it != value_of.end()) map.map(arg, it->second);
            else map.map(arg, args[in_at++]);
          }
          bool out = written(g->getResult(0));
          mlir::BlockArgument acc = body.getArgument(g.getNumDpsInputs());
          if (out) map.map(acc, args[out_at++]);
          else if (!acc.use_empty()) map.map(acc, nb.create<mlir::arith::ConstantOp>(loc, nb.getZeroAttr(acc.getType())));
          for (mlir::Operation& op : body.without_terminator()) nb.clone(op, map);
          mlir::Value y = map.lookupOrDefault(body.getTerminator()->getOperand(0));
          value_of[g->getResult(0)] = y;
          if (out) yields.push_back(y);
        }
        nb.create<mlir::linalg::YieldOp>(loc, yields);
      });
  // The output writes follow the merged loop (they read its results).
  mlir::Operation* ret = fn.getBody().front().getTerminator();
  unsigned r = 0;
  for (auto g : gens) {
    mlir::Value v = g->getResult(0);
    if (!written(v)) continue;
    for (mlir::Operation* u : llvm::make_early_inc_range(v.getUsers()))
      if (!set.contains(u)) u->moveBefore(ret);
    v.replaceUsesWithIf(merged->getResult(r++), [&](mlir::OpOperand& u) { return !set.contains(u.getOwner()); });
  }
  for (auto g : llvm::reverse(gens)) g->erase();
}

// Fuses a cheap conversion (a linalg.generic that only extends, truncates or bitcasts its one
// input, element by element) into a consumer that reads it through several operands. MLIR's
// elementwise fusion fuses only single-use producers, so a float32 op reading a bfloat16
// value through several maps (the max-pooling gradient's first-maximum pass: one operand
// per window tap, each a strided view of the same input) left the conversion apart: the
// whole input converted into a malloc'ed float32 temporary on every call, then read back
// (LeNet's AMP pooling gradients 13.4 ms against 1.24 ms in float32). Fused, each tap widens
// its own element in registers: a shift, cheaper than the temporary's memory traffic.
bool cheap_conversion(mlir::linalg::GenericOp g) {
  if (g.getNumDpsInputs() != 1 || g->getNumResults() != 1 || g.getNumReductionLoops() != 0 ||
      g.hasIndexSemantics())
    return false;
  for (mlir::Operation& op : g.getRegion().front().without_terminator())
    if (!mlir::isa<mlir::arith::ExtFOp, mlir::arith::TruncFOp, mlir::arith::BitcastOp>(op)) return false;
  return true;
}

struct FuseConversionsIntoReadersPass
    : public mlir::PassWrapper<FuseConversionsIntoReadersPass, mlir::OperationPass<mlir::ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(FuseConversionsIntoReadersPass)
  llvm::StringRef getArgument() const final { return "hgc-fuse-conversions-into-readers"; }
  void runOnOperation() override {
    mlir::RewritePatternSet patterns(&getContext());
    // Every use in one consumer: fused operand by operand, the conversion dies with the last.
    // Conversions with readers elsewhere stay (the standard fusion decides those).
    mlir::linalg::ControlFusionFn control = [](mlir::OpOperand* fused) {
      auto producer = fused->get().getDefiningOp<mlir::linalg::GenericOp>();
      if (!producer || !cheap_conversion(producer) || producer->hasOneUse()) return false;
      for (mlir::Operation* u : producer->getUsers())
        if (u != fused->getOwner()) return false;
      return true;
    };
    mlir::linalg::populateElementwiseOpsFusionPatterns(patterns, control);
    if (mlir::failed(mlir::applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

struct MergeOutputLoopsPass : public mlir::PassWrapper<MergeOutputLoopsPass, mlir::OperationPass<mlir::ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(MergeOutputLoopsPass)
  llvm::StringRef getArgument() const final { return "hgc-merge-output-loops"; }
  void runOnOperation() override {
    for (mlir::func::FuncOp fn : getOperation().getOps<mlir::func::FuncOp>())
      if (fn->hasAttr(lower::kOutputsMayAlias)) merge_output_loops(fn);
  }
};

}  // namespace

std::unique_ptr<mlir::Pass> create_write_outputs_in_place_pass(bool parallel_loops) {
  return std::make_unique<WriteOutputsInPlacePass>(parallel_loops);
}

namespace {

const mlir::DialectRegistry& registry() {
  static mlir::DialectRegistry* reg = [] {
    auto* r = new mlir::DialectRegistry();  // leaked on purpose: used until exit
    r->insert<mlir::affine::AffineDialect, mlir::arith::ArithDialect,
              mlir::bufferization::BufferizationDialect, mlir::cf::ControlFlowDialect,
              mlir::func::FuncDialect, mlir::index::IndexDialect, mlir::LLVM::LLVMDialect,
              mlir::linalg::LinalgDialect, mlir::math::MathDialect, mlir::memref::MemRefDialect,
              mlir::scf::SCFDialect, mlir::tensor::TensorDialect, mlir::vector::VectorDialect>();
    // One-shot bufferization and ownership-based deallocation work through interfaces
    // that these dialects attach as external models.
    mlir::arith::registerBufferizableOpInterfaceExternalModels(*r);
    mlir::arith::registerBufferDeallocationOpInterfaceExternalModels(*r);
    mlir::bufferization::func_ext::registerBufferizableOpInterfaceExternalModels(*r);
    mlir::cf::registerBufferDeallocationOpInterfaceExternalModels(*r);
    mlir::linalg::registerBufferizableOpInterfaceExternalModels(*r);
    mlir::memref::registerAllocationOpInterfaceExternalModels(*r);
    mlir::scf::registerBufferizableOpInterfaceExternalModels(*r);
    mlir::scf::registerBufferDeallocationOpInterfaceExternalModels(*r);
    mlir::tensor::registerBufferizableOpInterfaceExternalModels(*r);
    // builtin + llvm -> LLVM IR, used by translateModuleToLLVMIR / ExecutionEngine.
    mlir::registerBuiltinDialectTranslation(*r);
    mlir::registerLLVMDialectTranslation(*r);
    return r;
  }();
  return *reg;
}

void build_cpu_pipeline(mlir::PassManager& pm) {
  using namespace mlir;
  pm.addPass(createCanonicalizerPass());
  // Kernel groups arrive as chains of linalg.generics; fusing producer into consumer on
  // tensors removes the intermediates before anything is allocated.
  pm.addPass(std::make_unique<FuseConversionsIntoReadersPass>());
  pm.addPass(createLinalgElementwiseOpFusionPass());
  pm.addPass(std::make_unique<MergeOutputLoopsPass>());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // Fusion (and canonicalization) replace a generic's unread outs operand with a
  // tensor.empty; left alone, that becomes a malloc'ed temporary that the kernel fills and
  // then copies into its output argument (at 16M floats: a fresh 64 MB mapping per call,
  // faulted in page by page: 2.6 GB/s instead of streaming). Eliminating the empty tensors
  // into the materialize_in_destination targets makes the kernels write their outputs directly.
  pm.addPass(create_write_outputs_in_place_pass(/*parallel_loops=*/true));
  // Kernel arguments are memrefs, so function boundaries need no bufferization; the
  // tensors wrapping them (to_tensor restrict writable) bufferize in place.
  pm.addPass(bufferization::createOneShotBufferizePass());
  bufferization::buildBufferDeallocationPipeline(pm, bufferization::BufferDeallocationPipelineOptions());
  pm.addPass(std::make_unique<CollapseElementwisePass>());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(std::make_unique<UnrollTinyLoopsPass>());
  pm.addPass(std::make_unique<LegalizeHalfFloatsPass>());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(std::make_unique<ApproximateMathPass>());
  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createConvertSCFToCFPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());  // expand-strided-metadata emits affine.apply
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  // math-to-llvm first: it turns fma/absf/floor/sqrt/exp(f64)... into LLVM intrinsics;
  // math-to-libm then takes what has neither an approximation nor an intrinsic (f64
  // tanh/erf, ...), which would otherwise fail in the translation to LLVM IR.
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

LoweredModule lower_to_llvm_dialect(const std::string& mlir_text) {
  auto t0 = std::chrono::steady_clock::now();
  LoweredModule m;
  // One context per module: a context only grows (types and attributes are never freed),
  // and separate contexts make concurrent compiles safe. Threading off: kernel modules are
  // small and a thread pool per context would cost more than it saves on 2 cores.
  m.context = std::make_unique<mlir::MLIRContext>(registry(), mlir::MLIRContext::Threading::DISABLED);
  // Diagnostics name the failing op and position; the full op dump would drown them.
  m.context->printOpOnDiagnostic(false);
  m.diagnostics = std::make_unique<DiagnosticSink>(m.context.get(), mlir_text);
  double ctx_ms = ms_since(t0);

  mlir::ParserConfig config(m.context.get());
  m.module = mlir::parseSourceFile<mlir::ModuleOp>(m.diagnostics->source_mgr, config);
  if (!m.module) throw_with_diagnostics(m, "cannot parse the MLIR kernel module");

  // Every public function is a kernel and gets a C interface (see jit.h).
  auto unit = mlir::UnitAttr::get(m.context.get());
  for (auto fn : m.module->getOps<mlir::func::FuncOp>()) {
    if (fn.isDeclaration() || !fn.isPublic()) continue;
    m.kernels.push_back(fn.getSymName().str());
    if (!fn->hasAttr("llvm.emit_c_interface")) fn->setAttr("llvm.emit_c_interface", unit);
  }

  double parse_ms = ms_since(t0);
  mlir::PassManager pm(m.context.get());
  build_cpu_pipeline(pm);
  double build_ms = ms_since(t0);
  if (mlir::failed(pm.run(*m.module)))
    throw_with_diagnostics(m, "the MLIR CPU pipeline failed");
  // Conversions to LLVM are partial: what they cannot convert (say a tensor crossing a
  // function boundary) stays, and the translation would then blame a missing
  // "LLVMTranslationDialectInterface". Name the leftover op and its position instead.
  int leftovers = 0;
  m.module->walk<mlir::WalkOrder::PreOrder>([&](mlir::Operation* op) {
    if (op == m.module->getOperation() || op->getName().getDialectNamespace() == "llvm")
      return mlir::WalkResult::advance();
    op->emitError() << "'" << op->getName() << "' was not lowered to the LLVM dialect"
                    << " (kernel arguments and results must be memrefs or scalars)";
    return ++leftovers < 3 ? mlir::WalkResult::skip() : mlir::WalkResult::interrupt();
  });
  if (leftovers) throw_with_diagnostics(m, "the MLIR CPU pipeline left ops it cannot lower");
  m.mlir_ms = ms_since(t0);
  if (log_enabled("jitphase")) {
    char b[160];
    std::snprintf(b, sizeof b, "jitphase mlir: context %.1f parse %.1f pipeline-build %.1f run %.1f ms", ctx_ms,
                  parse_ms - ctx_ms, build_ms - parse_ms, m.mlir_ms - build_ms);
    log_line(b);
  }
  return m;
}

}  // namespace hgc::compiler_detail
