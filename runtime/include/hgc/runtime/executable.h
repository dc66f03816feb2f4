// A compiled graph: ordered steps (a generated kernel or a library call) over buffers, plus
// constants and an arena plan. Immutable once built; run() may be called from several
// threads at once (each call gets its own arena and outputs).
//
//   std::shared_ptr<const Executable> exe = compile(graph, opts);   // compiler/
//   std::vector<HostTensor> out = exe->run({{"data", x}, {"fc1_weight", w}, ...});
#pragma once
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "hgc/runtime/kernel_abi.h"
#include "hgc/runtime/library_call.h"
#include "hgc/base/tensor.h"

namespace hgc {

class DynamicPlan;

enum class BufferKind {
  Input,     // bound by the caller (data, parameters, aux states), by position
  Constant,  // owned by the executable
  Arena,     // an intermediate at `offset` in the per-call arena
  Output,    // allocated per call and returned
  View,      // the storage of `view_of`, seen with another shape (Reshape, Flatten, ...)
};

struct BufferInfo {
  std::string name;
  std::vector<int64_t> shape;
  DType dtype = DType::f32;
  BufferKind kind = BufferKind::Arena;
  int index = -1;       // Input: input position; Constant: constant index; Output: output slot
  int64_t offset = 0;   // Arena
  int view_of = -1;     // View
  std::size_t nbytes() const;
};

// What a library call sees: one data pointer per step argument, with its buffer info.
struct StepArgs {
  std::vector<void*> ptrs;
  std::vector<const BufferInfo*> infos;
};

struct Step {
  std::string label;  // node name(s), for errors and profiles
  PackedKernel kernel = nullptr;
  std::function<void(const StepArgs&)> library;
  // What `kernel` and `library` are, as data (plan_io.h serializes these): the kernel's
  // function name in the graph's module (its symbol is packed_symbol_name(kernel_name)), and
  // the library call `library` was made from (make_library) where it was made from one.
  std::string kernel_name;
  LibraryCall call;
  std::vector<int> args;  // buffer ids: inputs first, then outputs
  // A shape-polymorphic kernel big enough to share: run it in row chunks of dim 0 across the
  // thread pool; split_arg[k] says whether argument k is cut (else it is read whole: a
  // broadcast operand). A row sum (a sum over axis 0 and maybe others: a bias gradient) has
  // its one output uncut (split_arg.back() false, f32): each of kRowSumChunks chunks of the
  // cut inputs' rows sums into a buffer of its own, added in chunk order after, at every
  // thread count alike (Executable::run_split).
  bool split = false;
  std::vector<bool> split_arg;
  static constexpr int kRowSumChunks = 8;
  bool row_sum() const { return split && !split_arg.empty() && !split_arg.back(); }
  // The argument whose dim 0 the chunks cut: the output, or a row sum's first cut input.
  int split_rows_arg() const {
    if (!row_sum()) return static_cast<int>(args.size()) - 1;
    for (size_t k = 0; k < split_arg.size(); ++k)
      if (split_arg[k]) return static_cast<int>(k);
    return static_cast<int>(args.size()) - 1;
  }
  // With both `library` and `kernel` set: the library call runs first, then `kernel` as its
  // epilogue over these buffers (inputs, then the output it updates in place).
  std::vector<int> epilogue_args;
  // Non-empty when the epilogue kernel takes any row count (dim 0 dynamic): which of
  // epilogue_args carry the output's rows (cut into row blocks) and which are read whole (a
  // broadcast operand). Lets the runtime run a chain of such steps as one row block per thread
  // (Executable::execute, the whole-forward row split).
  std::vector<bool> epilogue_rows;
  // Runs side by side with the next step (inter-op parallelism, compiler/src/plan.cc): a
  // maximal run of steps linked this way is a group of independent steps, each too small or
  // too serial to fill the cores alone. The memory plan keeps every buffer a group's steps
  // touch apart from the others' (the group is one step to it). Each member runs on one
  // thread (ThreadPool::Serial), so it computes what it computes in a serial run.
  bool with_next = false;
};

class Executable {
 public:
  std::vector<std::string> input_names;
  std::vector<int> input_buffers;
  std::vector<int> output_buffers;
  std::vector<BufferInfo> buffers;
  std::vector<Step> steps;
  std::vector<HostTensor> constants;
  int64_t arena_bytes = 0;
  int64_t naive_arena_bytes = 0;  // one block per arena buffer, no reuse (for reports)
  // Variables of the source graph that are no inputs here (optimized away or baked in as
  // constants): run() accepts and ignores them.
  std::set<std::string> ignored_inputs;
  // Keeps generated code alive (the JIT module) for as long as the executable lives.
  std::shared_ptr<const void> code;
  // Set when some input axes take any size (`hgc compile --shape data=?x784`): run() then
  // runs the plan of the given sizes (dynamic_plan.h) instead of failing on another shape.
  std::shared_ptr<const DynamicPlan> dynamic;

  // Inputs by position (input_names order); shapes and dtypes are checked.
  std::vector<HostTensor> run(const std::vector<HostTensor>& inputs) const;
  // The same without copying the input tensors (their shape vectors): callers that hold
  // their inputs elsewhere (a hybridized block's parameters) save an allocation each.
  std::vector<HostTensor> run_ptrs(const std::vector<const HostTensor*>& inputs) const;
  // Inputs by name; every input must be given.
  std::vector<HostTensor> run(const std::map<std::string, HostTensor>& inputs) const;
  // Calls the steps with the given storage (for benchmarks and AOT drivers).
  void execute(const std::vector<const void*>& inputs, const std::vector<void*>& outputs,
               void* arena) const;
  // execute() with an arena of its own, then the heads no step writes (inputs, constants,
  // views) copied into their outputs: a whole run on caller-owned storage, unchecked (a
  // batch-split run hands each chunk row offsets into the full inputs and outputs).
  void run_into(const std::vector<const void*>& inputs, const std::vector<void*>& outputs) const;
  int input_index(const std::string& name) const;  // -1 when absent

  // Whether this plan runs across the thread pool or on the calling thread alone: a plan of
  // small steps can lose more to hand-offs and to reading what the other core just wrote than
  // its split steps gain (BST's training step, 2 threads: 2.0-2.3 ms across the pool, 1.5 ms
  // on one). Measured on a plan's first calls (executable_choice.cc); both ways compute the
  // same values. HGC_POOL_CHOICE=pool|serial fixes it (docs/DEVELOPING.md).
  enum class PoolWay { Measuring, Pool, Serial };
  PoolWay pool_way() const { return static_cast<PoolWay>(pool_choice_.decided.load(std::memory_order_acquire)); }
  // The measurement's bookkeeping, public for its tests: which way the next measured call
  // runs (true: serial), then its time. Thread-safe.
  struct PoolChoice {
    std::atomic<int> decided{0};  // a PoolWay
    std::mutex mu;
    int runs[2] = {0, 0};       // calls per way (pool, serial), warm-ups included
    double best[2] = {0, 0};    // fastest timed call per way, seconds
    PoolChoice() = default;
    PoolChoice(const PoolChoice&) {}  // a copy (another plan) measures again
    PoolChoice& operator=(const PoolChoice&);
    bool next_serial();
    // Records a call; returns the decision when this call made it, else Measuring.
    PoolWay record(bool serial, double seconds);
  };

 private:
  struct Scratch;
  void run_step(const Step& s, void* const* ptr, Scratch& t) const;
  void run_split(const Step& s, void* const* ptr) const;
  // The whole-forward row split (executable_rows.cc): blocks of rows and the buffers they cut.
  struct RowSplit {
    int64_t rows = 0;
    int chunks = 1;
    std::vector<int64_t> row_bytes;  // per buffer: bytes per row where it carries the rows, else 0
  };
  bool row_split(RowSplit& rs, const std::vector<void*>& ptr) const;
  void run_rows(const RowSplit& rs, const std::vector<void*>& ptr, void* arena) const;
  // execute() once every buffer has its storage: on the pool, or on the caller alone inside a
  // Serial or Inline scope.
  void run_plan(const std::vector<void*>& ptr, void* arena) const;
  mutable PoolChoice pool_choice_;
};

}  // namespace hgc
