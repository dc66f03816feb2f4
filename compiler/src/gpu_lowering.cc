// Kernel-group MLIR (the text the CPU path JITs, with static shapes) -> PTX per device kernel
// plus the launch plan the CUDA runtime follows (hgc/runtime/gpu_plan.h).
//
// Pipeline (the verified one from the MLIR 19 facts note, with two passes of our own):
//   fuse + bufferize as on the CPU; memref.copy -> linalg (so copies run on the device);
//   hgc-gpu-block-reduce: reductions over one dim become a gpu.launch with one block per
//     output element (strided partials + gpu.all_reduce);
//   other linalg -> scf.parallel (reduction dims stay sequential scf.for inside);
//   hgc-gpu-grid: every top-level parallel nest is collapsed to 1-D and tiled by the block
//     size (one thread per output element, coalesced over the innermost dim); sequential
//     leftovers at the top level (a full reduction, a rank-0 store) are wrapped in a
//     one-iteration parallel loop so that nothing touches device memory from the host;
//   gpu-map-parallel-loops, convert-parallel-loops-to-gpu, outlining;
//   nvvm-attach-target per chip, convert-gpu-to-nvvm, gpu-module-to-binary{format=isa} with
//   the toolkit's libdevice (math.exp/tanh/erf become __nv_* calls).
// The host function that remains may only allocate scratch, take static views and launch
// kernels with constant sizes; it is read back as data and never executed.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <numeric>

#include "cpu_lowering.h"
#include "hgc/compiler/gpu.h"
#include "hgc/base/error.h"
#include "llvm/Support/TargetSelect.h"
#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/SCFToGPU/SCFToGPUPass.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Index/IR/IndexDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/Passes.h"
#include "mlir/IR/IRMapping.h"

namespace hgc::gpu {
namespace {

using compiler_detail::DiagnosticSink;
using compiler_detail::LoweredModule;
using compiler_detail::throw_with_diagnostics;

const mlir::DialectRegistry& registry() {
  static mlir::DialectRegistry* reg = [] {
    auto* r = new mlir::DialectRegistry();  // leaked on purpose: used until exit
    r->insert<mlir::affine::AffineDialect, mlir::arith::ArithDialect, mlir::bufferization::BufferizationDialect,
              mlir::cf::ControlFlowDialect, mlir::func::FuncDialect, mlir::gpu::GPUDialect, mlir::index::IndexDialect,
              mlir::LLVM::LLVMDialect, mlir::NVVM::NVVMDialect, mlir::linalg::LinalgDialect, mlir::math::MathDialect,
              mlir::memref::MemRefDialect, mlir::scf::SCFDialect, mlir::tensor::TensorDialect,
              mlir::vector::VectorDialect>();
    mlir::arith::registerBufferizableOpInterfaceExternalModels(*r);
    mlir::bufferization::func_ext::registerBufferizableOpInterfaceExternalModels(*r);
    mlir::linalg::registerBufferizableOpInterfaceExternalModels(*r);
    mlir::scf::registerBufferizableOpInterfaceExternalModels(*r);
    mlir::tensor::registerBufferizableOpInterfaceExternalModels(*r);
    // #nvvm.target serializes gpu.modules (LLVM IR -> NVPTX, libdevice linked).
    mlir::NVVM::registerNVVMTargetInterfaceExternalModels(*r);
    mlir::registerBuiltinDialectTranslation(*r);
    mlir::registerLLVMDialectTranslation(*r);
    mlir::registerGPUDialectTranslation(*r);
    mlir::registerNVVMDialectTranslation(*r);
    return r;
  }();
  return *reg;
}

// memref.copy (from materialize_in_destination or an insert_slice that did not fold) as a
// linalg.generic: it then becomes a parallel loop on the device like any other op.
struct CopyToLinalgPass : public mlir::PassWrapper<CopyToLinalgPass, mlir::OperationPass<mlir::func::FuncOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(CopyToLinalgPass)
  llvm::StringRef getArgument() const final { return "hgc-copy-to-linalg"; }
  void getDependentDialects(mlir::DialectRegistry& registry) const override {
    registry.insert<mlir::linalg::LinalgDialect>();
  }
  void runOnOperation() override {
    llvm::SmallVector<mlir::memref::CopyOp> copies;
    getOperation().walk([&](mlir::memref::CopyOp c) { copies.push_back(c); });
    for (auto c : copies) {
      mlir::OpBuilder b(c);
      mlir::linalg::makeMemRefCopyOp(b, c.getLoc(), c.getSource(), c.getTarget());
      c.erase();
    }
  }
};

// Reductions (sum/mean/max over axes, the row maxima and sums of a softmax, the statistics of
// LayerNorm, global pooling, full reductions) as one block per output element: the block's
// threads stride over the reduced elements (all reduced dims, linearized) with a private partial, gpu.all_reduce combines the
// partials (warp shuffles + shared memory once lowered), thread 0 folds the total into the
// output (which holds the reduction's identity, from the fill before it). Matches a
// bufferized linalg.generic whose yield is combine(acc, f(inputs)) with the accumulator
// read nowhere else; everything else keeps one thread per output element.
struct BlockReducePass : public mlir::PassWrapper<BlockReducePass, mlir::OperationPass<mlir::func::FuncOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(BlockReducePass)
  explicit BlockReducePass(int64_t threads, int64_t min_extent) : threads_(threads), min_extent_(min_extent) {}
  llvm::StringRef getArgument() const final { return "hgc-gpu-block-reduce"; }
  void getDependentDialects(mlir::DialectRegistry& registry) const override {
    registry.insert<mlir::gpu::GPUDialect, mlir::scf::SCFDialect, mlir::affine::AffineDialect>();
  }

  // The all_reduce kind of a combining op, if it is one.
  static std::optional<mlir::gpu::AllReduceOperation> kind_of(mlir::Operation* op) {
    using K = mlir::gpu::AllReduceOperation;
    if (mlir::isa<mlir::arith::AddFOp>(op)) return K::ADD;
    if (mlir::isa<mlir::arith::MulFOp>(op)) return K::MUL;
    if (mlir::isa<mlir::arith::MaximumFOp>(op)) return K::MAXIMUMF;
    if (mlir::isa<mlir::arith::MinimumFOp>(op)) return K::MINIMUMF;
    return std::nullopt;
  }

  bool rewrite(mlir::linalg::GenericOp g) {
    using namespace mlir;
    if (!g.hasPureBufferSemantics() || g.getNumDpsInits() != 1 || g.getNumResults() != 0) return false;
    auto iters = g.getIteratorTypesArray();
    llvm::SmallVector<int> reds;
    for (size_t d = 0; d < iters.size(); ++d)
      if (iters[d] == utils::IteratorType::reduction) reds.push_back(static_cast<int>(d));
    if (reds.empty()) return false;
    auto ranges = g.getStaticLoopRanges();
    if (llvm::any_of(ranges, ShapedType::isDynamic)) return false;
    int64_t extent = 1;  // elements reduced into each output element
    for (int d : reds) extent *= ranges[d];
    if (extent < min_extent_) return false;
    Block& body = g.getRegion().front();
    auto yield = cast<linalg::YieldOp>(body.getTerminator());
    BlockArgument acc = body.getArgument(body.getNumArguments() - 1);
    Operation* combine = yield.getOperand(0).getDefiningOp();
    if (!combine || combine->getBlock() != &body || combine->getNumOperands() != 2 || !acc.hasOneUse()) return false;
    auto kind = kind_of(combine);
    if (!kind || (!acc.getType().isF32() && !acc.getType().isF64())) return false;
    Value part_of = combine->getOperand(0) == acc ? combine->getOperand(1) : combine->getOperand(0);
    if (part_of == acc || (combine->getOperand(0) != acc && combine->getOperand(1) != acc)) return false;
    // Each block owns one output element: the output reads every parallel dim and no
    // reduced one (else blocks would race on an element).
    AffineMap out_map = g.getIndexingMapsArray().back();
    for (size_t d = 0; d < iters.size(); ++d)
      if (out_map.isFunctionOfDim(d) != (iters[d] == utils::IteratorType::parallel)) return false;

    Location loc = g.getLoc();
    mlir::OpBuilder b(g);
    int64_t rows = 1;
    for (size_t d = 0; d < ranges.size(); ++d)
      if (iters[d] == utils::IteratorType::parallel) rows *= ranges[d];
    if (rows == 0) return false;
    auto cst = [&](mlir::OpBuilder& at, int64_t v) { return at.create<arith::ConstantIndexOp>(loc, v).getResult(); };
    int64_t threads = std::min<int64_t>(threads_, (extent + 31) / 32 * 32);
    Value one = cst(b, 1);
    auto launch = b.create<mlir::gpu::LaunchOp>(loc, cst(b, rows), one, one, cst(b, threads), one, one);
    mlir::OpBuilder in = mlir::OpBuilder::atBlockEnd(&launch.getBody().front());
    Value bid = launch.getBlockIds().x, tid = launch.getThreadIds().x;
    // The parallel indices of this block's output element, row-major over the parallel dims.
    llvm::SmallVector<Value> idx(ranges.size());
    Value rest = bid;
    for (int d = static_cast<int>(ranges.size()) - 1; d >= 0; --d) {
      if (iters[d] != utils::IteratorType::parallel) continue;
      Value n = cst(in, ranges[d]);
      idx[d] = in.create<arith::RemUIOp>(loc, rest, n);
      rest = in.create<arith::DivUIOp>(loc, rest, n);
    }
    Type t = acc.getType();
    Value identity = in.create<arith::ConstantOp>(loc, t, arith::getIdentityValueAttr(arith_kind(*kind), t, in, loc));
    auto loop = in.create<scf::ForOp>(loc, tid, cst(in, extent), cst(in, threads), ValueRange{identity});
    {
      mlir::OpBuilder lb = mlir::OpBuilder::atBlockBegin(loop.getBody());
      // The reduced dims' indices, row-major over their extents.
      Value j = loop.getInductionVar();
      for (size_t r = reds.size(); r-- > 0;) {
        if (r == 0) {
          idx[reds[r]] = j;
          break;
        }
        Value n = cst(lb, ranges[reds[r]]);
        idx[reds[r]] = lb.create<arith::RemUIOp>(loc, j, n);
        j = lb.create<arith::DivUIOp>(loc, j, n);
      }
      IRMapping map;
      auto load_operand = [&](OpOperand& operand) {
        AffineMap m = g.getMatchingIndexingMap(&operand);
        llvm::SmallVector<Value> at;
        for (AffineExpr e : m.getResults())
          at.push_back(lb.create<affine::AffineApplyOp>(loc, AffineMap::get(m.getNumDims(), 0, e), idx));
        return lb.create<memref::LoadOp>(loc, operand.get(), at).getResult();
      };
      for (OpOperand* operand : g.getDpsInputOperands())
        map.map(body.getArgument(operand->getOperandNumber()), load_operand(*operand));
      for (Operation& op : body.without_terminator()) {
        if (&op == combine) continue;
        if (auto ix = dyn_cast<linalg::IndexOp>(op)) {
          map.map(ix.getResult(), idx[ix.getDim()]);
          continue;
        }
        lb.clone(op, map);
      }
      Value partial = map.lookup(part_of);
      Value next = combine_values(lb, loc, *kind, loop.getRegionIterArgs()[0], partial);
      lb.create<scf::YieldOp>(loc, next);
    }
    Value total = in.create<mlir::gpu::AllReduceOp>(loc, loop.getResult(0), mlir::gpu::AllReduceOperationAttr::get(&getContext(), *kind),
                                             /*uniform=*/true)
                      .getResult();
    Value first = in.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, tid, cst(in, 0));
    auto when = in.create<scf::IfOp>(loc, first, /*withElseRegion=*/false);
    {
      mlir::OpBuilder ib = when.getThenBodyBuilder();
      llvm::SmallVector<Value> at;
      for (int d : reds) idx[d] = cst(ib, 0);  // the output map reads none of them
      for (AffineExpr e : out_map.getResults())
        at.push_back(ib.create<affine::AffineApplyOp>(loc, AffineMap::get(out_map.getNumDims(), 0, e), idx));
      Value out = g.getDpsInitOperand(0)->get();
      Value old = ib.create<memref::LoadOp>(loc, out, at);
      ib.create<memref::StoreOp>(loc, combine_values(ib, loc, *kind, old, total), out, at);
    }
    in.create<mlir::gpu::TerminatorOp>(loc);
    g.erase();
    return true;
  }

  static mlir::arith::AtomicRMWKind arith_kind(mlir::gpu::AllReduceOperation k) {
    using K = mlir::gpu::AllReduceOperation;
    using A = mlir::arith::AtomicRMWKind;
    return k == K::ADD ? A::addf : k == K::MUL ? A::mulf : k == K::MAXIMUMF ? A::maximumf : A::minimumf;
  }
  static mlir::Value combine_values(mlir::OpBuilder& b, mlir::Location loc, mlir::gpu::AllReduceOperation k,
                                    mlir::Value x, mlir::Value y) {
    using K = mlir::gpu::AllReduceOperation;
    if (k == K::ADD) return b.create<mlir::arith::AddFOp>(loc, x, y);
    if (k == K::MUL) return b.create<mlir::arith::MulFOp>(loc, x, y);
    if (k == K::MAXIMUMF) return b.create<mlir::arith::MaximumFOp>(loc, x, y);
    return b.create<mlir::arith::MinimumFOp>(loc, x, y);
  }

  void runOnOperation() override {
    llvm::SmallVector<mlir::linalg::GenericOp> generics;
    for (auto g : getOperation().getBody().front().getOps<mlir::linalg::GenericOp>()) generics.push_back(g);
    for (auto g : generics) rewrite(g);
  }
  int64_t threads_, min_extent_;
};

// All-reduce as warp shuffles and shared memory, inside the outlined kernels.
struct LowerAllReducePass
    : public mlir::PassWrapper<LowerAllReducePass, mlir::OperationPass<mlir::gpu::GPUModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(LowerAllReducePass)
  llvm::StringRef getArgument() const final { return "hgc-lower-all-reduce"; }
  void runOnOperation() override {
    mlir::RewritePatternSet patterns(&getContext());
    mlir::populateGpuAllReducePatterns(patterns);
    if (mlir::failed(mlir::applyPatternsAndFoldGreedily(getOperation(), std::move(patterns)))) signalPassFailure();
  }
};

// Math ops convert-gpu-to-nvvm has no pattern for, as calls into libdevice (linked by
// gpu-module-to-binary): __nv_<name>f for f32, __nv_<name> for f64.
struct MathToLibdevicePass
    : public mlir::PassWrapper<MathToLibdevicePass, mlir::OperationPass<mlir::gpu::GPUModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(MathToLibdevicePass)
  llvm::StringRef getArgument() const final { return "hgc-math-to-libdevice"; }
  void getDependentDialects(mlir::DialectRegistry& registry) const override {
    registry.insert<mlir::LLVM::LLVMDialect>();
  }
  void runOnOperation() override {
    using namespace mlir;
    static const std::map<std::string, std::string> table = {
        {"math.asin", "asin"},   {"math.acos", "acos"},   {"math.asinh", "asinh"}, {"math.acosh", "acosh"},
        {"math.atanh", "atanh"}, {"math.sinh", "sinh"},   {"math.cosh", "cosh"},   {"math.round", "round"},
        {"math.roundeven", "rint"}, {"math.trunc", "trunc"}};
    mlir::gpu::GPUModuleOp mod = getOperation();
    llvm::SmallVector<Operation*> todo;
    mod.walk([&](Operation* op) {
      if (op->getNumOperands() == 1 && op->getNumResults() == 1 && table.count(op->getName().getStringRef().str()) &&
          (op->getResult(0).getType().isF32() || op->getResult(0).getType().isF64()))
        todo.push_back(op);
    });
    for (Operation* op : todo) {
      Type t = op->getResult(0).getType();
      std::string name = "__nv_" + table.at(op->getName().getStringRef().str()) + (t.isF32() ? "f" : "");
      auto fn = SymbolTable::lookupNearestSymbolFrom<LLVM::LLVMFuncOp>(mod, StringAttr::get(&getContext(), name));
      if (!fn) {
        auto b = mlir::OpBuilder::atBlockBegin(&mod.getBodyRegion().front());
        fn = b.create<LLVM::LLVMFuncOp>(mod.getLoc(), name, LLVM::LLVMFunctionType::get(t, {t}));
      }
      mlir::OpBuilder b(op);
      auto call = b.create<LLVM::CallOp>(op->getLoc(), fn, op->getOperands());
      op->replaceAllUsesWith(call.getResults());
      op->erase();
    }
  }
};

// What may stay at the top level of a kernel function on the host side.
bool host_op(mlir::Operation& op) {
  return mlir::isa<mlir::scf::ParallelOp, mlir::gpu::LaunchOp, mlir::memref::AllocOp, mlir::memref::AllocaOp, mlir::memref::DeallocOp,
                   mlir::func::ReturnOp, mlir::arith::ConstantOp>(op) ||
         mlir::isa<mlir::ViewLikeOpInterface>(op) || mlir::isa<mlir::memref::CastOp>(op);
}

// Collapses every top-level parallel nest of a kernel function to 1-D: one linear index over
// all its parallel dims, so consecutive threads touch consecutive elements whatever the rank.
struct CollapseLoopsPass : public mlir::PassWrapper<CollapseLoopsPass, mlir::OperationPass<mlir::func::FuncOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(CollapseLoopsPass)
  llvm::StringRef getArgument() const final { return "hgc-gpu-collapse"; }
  void runOnOperation() override {
    using namespace mlir;
    func::FuncOp f = getOperation();
    if (f.isDeclaration()) return;
    IRRewriter rw(&getContext());
    llvm::SmallVector<scf::ParallelOp> loops(f.getBody().front().getOps<scf::ParallelOp>());
    for (scf::ParallelOp p : loops) {
      unsigned n = p.getNumLoops();
      if (n < 2) continue;
      std::vector<unsigned> all(n);
      std::iota(all.begin(), all.end(), 0u);
      rw.setInsertionPoint(p);
      collapseParallelLoops(rw, p, {all});
    }
  }
};

// Shapes each kernel function's work into 1-D grids: sequential top-level code (a full
// reduction, a rank-0 store) becomes a one-iteration parallel loop, so nothing touches
// device memory from the host; every top-level parallel loop is tiled by the block size
// (blocks x threads after gpu-map-parallel-loops).
struct GpuGridPass : public mlir::PassWrapper<GpuGridPass, mlir::OperationPass<mlir::func::FuncOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(GpuGridPass)
  explicit GpuGridPass(int64_t threads) : threads_(threads) {}
  llvm::StringRef getArgument() const final { return "hgc-gpu-grid"; }
  void runOnOperation() override {
    using namespace mlir;
    func::FuncOp f = getOperation();
    if (f.isDeclaration()) return;
    Block& body = f.getBody().front();
    // Constants first: the sequential runs wrapped below must not capture them.
    for (Operation& op : llvm::make_early_inc_range(body))
      if (isa<arith::ConstantOp>(op)) op.moveBefore(&body.front());
    std::vector<std::vector<Operation*>> runs;
    bool open = false;
    for (Operation& op : body) {
      if (host_op(op)) {
        open = false;
        continue;
      }
      if (!open) runs.emplace_back();
      open = true;
      runs.back().push_back(&op);
    }
    for (auto& run : runs) {
      llvm::SmallPtrSet<Operation*, 8> in(run.begin(), run.end());
      for (Operation* op : run)
        for (Value r : op->getResults())
          for (Operation* user : r.getUsers())
            if (!in.count(user)) {
              op->emitError() << "a sequential op's result is used outside its device region";
              return signalPassFailure();
            }
      mlir::OpBuilder b(run.front());
      Location loc = run.front()->getLoc();
      Value c0 = b.create<arith::ConstantIndexOp>(loc, 0), c1 = b.create<arith::ConstantIndexOp>(loc, 1);
      auto par = b.create<scf::ParallelOp>(loc, ValueRange{c0}, ValueRange{c1}, ValueRange{c1});
      for (Operation* op : run) op->moveBefore(par.getBody()->getTerminator());
    }
    // Tile by the block size, or by a multiple of 32 just above a smaller static trip count
    // (one thread for a one-iteration loop).
    llvm::SmallVector<scf::ParallelOp> loops(body.getOps<scf::ParallelOp>());
    for (scf::ParallelOp p : loops) {
      if (p.getNumLoops() != 1) {
        p.emitError() << "internal: a top-level parallel loop was not collapsed to 1-D";
        return signalPassFailure();
      }
      int64_t tile = threads_;
      auto lb = getConstantIntValue(p.getLowerBound()[0]), ub = getConstantIntValue(p.getUpperBound()[0]),
           st = getConstantIntValue(p.getStep()[0]);
      if (lb && ub && st && *st > 0) {
        int64_t trips = (*ub - *lb + *st - 1) / *st;
        tile = trips <= 1 ? 1 : std::min(tile, (trips + 31) / 32 * 32);
      }
      scf::tileParallelLoop(p, {tile}, /*noMinMaxBounds=*/true);
    }
  }
  int64_t threads_;
};

void build_gpu_pipeline(mlir::PassManager& pm, const GpuOptions& o, const std::string& toolkit) {
  using namespace mlir;
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createLinalgElementwiseOpFusionPass());
  pm.addPass(createCanonicalizerPass());
  // Fusion turns unread destinations into tensor.empty; anchored on the output's
  // materialize_in_destination they become the output buffer again (no scratch + copy).
  pm.addPass(compiler_detail::create_write_outputs_in_place_pass(/*parallel_loops=*/false));
  pm.addPass(createCSEPass());
  pm.addPass(bufferization::createOneShotBufferizePass());
  pm.addPass(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(std::make_unique<CopyToLinalgPass>());
  if (o.block_reductions)
    pm.addNestedPass<func::FuncOp>(std::make_unique<BlockReducePass>(o.threads_per_block, /*min_extent=*/32));
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  pm.addNestedPass<func::FuncOp>(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(std::make_unique<CollapseLoopsPass>());
  pm.addNestedPass<func::FuncOp>(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(std::make_unique<GpuGridPass>(o.threads_per_block));
  pm.addNestedPass<func::FuncOp>(createGpuMapParallelLoopsPass());
  pm.addNestedPass<func::FuncOp>(createParallelLoopToGpuPass());
  pm.addNestedPass<func::FuncOp>(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(createLowerAffinePass());
  // Without it, constants used inside a launch become kernel parameters.
  pm.addNestedPass<func::FuncOp>(createGpuLauchSinkIndexComputationsPass());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createCanonicalizerPass());
  for (const std::string& chip : o.chips) {
    GpuNVVMAttachTargetOptions t;
    t.chip = chip;  // MLIR's default, sm_50, is rejected by CUDA 13's ptxas
    t.features = "+ptx78";
    t.optLevel = 3;
    pm.addPass(createGpuNVVMAttachTarget(t));
  }
  OpPassManager& dev = pm.nest<mlir::gpu::GPUModuleOp>();
  dev.addPass(std::make_unique<LowerAllReducePass>());
  dev.addPass(memref::createExpandStridedMetadataPass());
  dev.addPass(createLowerAffinePass());
  dev.addPass(createConvertSCFToCFPass());
  dev.addPass(std::make_unique<MathToLibdevicePass>());
  ConvertGpuOpsToNVVMOpsOptions nv;
  nv.indexBitwidth = 64;
  dev.addPass(createConvertGpuOpsToNVVMOps(nv));
  dev.addPass(createCanonicalizerPass());
  dev.addPass(createCSEPass());
  dev.addPass(createReconcileUnrealizedCastsPass());
  GpuModuleToBinaryPassOptions bin;
  bin.toolkitPath = toolkit;
  bin.compilationTarget = "isa";  // PTX text; the driver JITs it for the device it runs on
  pm.addPass(createGpuModuleToBinaryPass(bin));
}

[[noreturn]] void fail_at(LoweredModule& m, mlir::Operation* op, const std::string& kernel, const std::string& what) {
  op->emitError() << what;
  throw_with_diagnostics(m, "kernel " + kernel + " cannot run on the GPU");
}

// The memref operand of a launch: the buffer it views and its static descriptor.
GpuOperand memref_operand(LoweredModule& m, mlir::Value v, mlir::func::FuncOp f,
                          const llvm::DenseMap<mlir::Operation*, int>& temps, mlir::Operation* launch) {
  using namespace mlir;
  std::string kernel = f.getSymName().str();
  auto type = cast<MemRefType>(v.getType());
  GpuOperand o;
  llvm::SmallVector<int64_t> strides;
  int64_t offset = 0;
  if (!type.hasStaticShape() || failed(getStridesAndOffset(type, strides, offset)) ||
      ShapedType::isDynamic(offset) || llvm::any_of(strides, ShapedType::isDynamic))
    fail_at(m, launch, kernel, "a kernel operand has a dynamic shape or layout");
  o.offset = offset;
  o.sizes.assign(type.getShape().begin(), type.getShape().end());
  o.strides.assign(strides.begin(), strides.end());
  Value base = v;
  while (Operation* def = base.getDefiningOp()) {
    if (auto view = dyn_cast<ViewLikeOpInterface>(def)) base = view.getViewSource();
    else if (auto cast_op = dyn_cast<memref::CastOp>(def)) base = cast_op.getSource();
    else break;
  }
  if (auto arg = dyn_cast<BlockArgument>(base); arg && arg.getOwner()->getParentOp() == f.getOperation()) {
    o.kind = GpuOperand::Kind::Arg;
    o.index = static_cast<int>(arg.getArgNumber());
  } else if (Operation* def = base.getDefiningOp(); def && temps.count(def)) {
    o.kind = GpuOperand::Kind::Temp;
    o.index = temps.lookup(def);
  } else {
    fail_at(m, launch, kernel, "a kernel operand is neither an argument nor scratch of the group");
  }
  return o;
}

GpuKernel read_kernel(LoweredModule& m, mlir::func::FuncOp f,
                      const std::map<std::string, std::map<std::string, std::string>>& binaries) {
  using namespace mlir;
  GpuKernel k;
  k.name = f.getSymName().str();
  llvm::DenseMap<Operation*, int> temps;
  for (Operation& op : f.getBody().front()) {
    if (isa<arith::ConstantOp, func::ReturnOp, memref::DeallocOp, memref::CastOp>(op) || isa<ViewLikeOpInterface>(op))
      continue;
    if (isa<memref::AllocOp, memref::AllocaOp>(op)) {
      auto t = cast<MemRefType>(op.getResult(0).getType());
      if (!t.hasStaticShape()) fail_at(m, &op, k.name, "scratch of dynamic size");
      temps[&op] = static_cast<int>(k.temp_bytes.size());
      k.temp_bytes.push_back(t.getNumElements() * std::max<int64_t>(1, t.getElementTypeBitWidth() / 8));
      continue;
    }
    auto launch = dyn_cast<mlir::gpu::LaunchFuncOp>(op);
    if (!launch) fail_at(m, &op, k.name, "this op stayed on the host side after GPU mapping");
    GpuLaunch l;
    l.module = launch.getKernelModuleName().str();
    l.entry = launch.getKernelName().str();
    auto it = binaries.find(l.module);
    if (it == binaries.end()) fail_at(m, &op, k.name, "no PTX was produced for " + l.module);
    l.ptx = it->second;
    Value sizes[6] = {launch.getGridSizeX(), launch.getGridSizeY(), launch.getGridSizeZ(),
                      launch.getBlockSizeX(), launch.getBlockSizeY(), launch.getBlockSizeZ()};
    for (int d = 0; d < 6; ++d) {
      auto c = getConstantIntValue(sizes[d]);
      if (!c) fail_at(m, &op, k.name, "a launch size is not a constant");
      (d < 3 ? l.grid[d] : l.block[d - 3]) = *c;
    }
    for (Value v : launch.getKernelOperands()) {
      if (isa<MemRefType>(v.getType())) {
        l.operands.push_back(memref_operand(m, v, f, temps, &op));
        continue;
      }
      GpuOperand s;
      Attribute a;
      if (Operation* def = v.getDefiningOp(); def && isa<arith::ConstantOp>(def)) a = cast<arith::ConstantOp>(def).getValue();
      if (auto i = dyn_cast_or_null<IntegerAttr>(a)) {
        s.kind = GpuOperand::Kind::Int;
        s.ival = i.getValue().getSExtValue();
        s.bits = i.getType().isIndex() ? 64 : static_cast<int>(i.getType().getIntOrFloatBitWidth());
      } else if (auto fl = dyn_cast_or_null<FloatAttr>(a)) {
        s.kind = GpuOperand::Kind::Float;
        s.fval = fl.getValueAsDouble();
        s.bits = static_cast<int>(fl.getType().getIntOrFloatBitWidth());
      } else {
        fail_at(m, &op, k.name, "a scalar kernel operand is not a constant");
      }
      l.operands.push_back(s);
    }
    k.launches.push_back(std::move(l));
  }
  return k;
}

}  // namespace

std::string toolkit_path(const GpuOptions& o) {
  std::vector<std::string> tries;
  if (!o.toolkit.empty()) tries.push_back(o.toolkit);
  for (const char* env : {"CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"})
    if (const char* v = std::getenv(env); v && *v) tries.push_back(v);
  tries.push_back("/usr/local/cuda");
  for (const std::string& t : tries)
    if (std::filesystem::exists(t + "/nvvm/libdevice/libdevice.10.bc")) return t;
  std::string list;
  for (const std::string& t : tries) list += (list.empty() ? "" : ", ") + t;
  fail("compiler", "no CUDA toolkit with nvvm/libdevice/libdevice.10.bc found (looked in ", list,
       "; set CUDA_HOME): GPU kernels need libdevice for math functions");
}

std::vector<GpuKernel> lower_module_to_ptx(const std::string& mlir_text, const GpuOptions& gopts) {
  if (gopts.chips.empty()) fail("compiler", "GPU code generation needs at least one chip (e.g. sm_90)");
  std::string toolkit = toolkit_path(gopts);
  static const bool targets = [] {
    LLVMInitializeNVPTXTargetInfo();
    LLVMInitializeNVPTXTarget();
    LLVMInitializeNVPTXTargetMC();
    LLVMInitializeNVPTXAsmPrinter();
    return true;
  }();
  (void)targets;
  LoweredModule m;
  m.context = std::make_unique<mlir::MLIRContext>(registry(), mlir::MLIRContext::Threading::DISABLED);
  m.context->printOpOnDiagnostic(false);
  m.diagnostics = std::make_unique<DiagnosticSink>(m.context.get(), mlir_text);
  mlir::ParserConfig config(m.context.get());
  m.module = mlir::parseSourceFile<mlir::ModuleOp>(m.diagnostics->source_mgr, config);
  if (!m.module) throw_with_diagnostics(m, "cannot parse the MLIR kernel module");
  for (auto fn : m.module->getOps<mlir::func::FuncOp>())
    if (!fn.isDeclaration() && fn.isPublic()) m.kernels.push_back(fn.getSymName().str());

  mlir::PassManager pm(m.context.get());
  build_gpu_pipeline(pm, gopts, toolkit);
  if (mlir::failed(pm.run(*m.module))) throw_with_diagnostics(m, "the MLIR GPU pipeline failed");

  // gpu.binary @name [#gpu.object<#nvvm.target<chip = ...>, "PTX\0">, ...]
  std::map<std::string, std::map<std::string, std::string>> binaries;
  for (auto bin : m.module->getOps<mlir::gpu::BinaryOp>()) {
    auto& by_chip = binaries[bin.getSymName().str()];
    for (mlir::Attribute a : bin.getObjects()) {
      auto obj = mlir::cast<mlir::gpu::ObjectAttr>(a);
      auto target = mlir::dyn_cast<mlir::NVVM::NVVMTargetAttr>(obj.getTarget());
      std::string ptx = obj.getObject().str();
      while (!ptx.empty() && ptx.back() == '\0') ptx.pop_back();  // MLIR 19 keeps the C string's NUL
      by_chip[target ? target.getChip().str() : "?"] = std::move(ptx);
    }
  }
  std::vector<GpuKernel> out;
  for (const std::string& name : m.kernels) {
    auto fn = m.module->lookupSymbol<mlir::func::FuncOp>(name);
    out.push_back(read_kernel(m, fn, binaries));
  }
  return out;
}

}  // namespace hgc::gpu
