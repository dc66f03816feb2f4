// Block and HybridBlock: Gluon's building blocks of models, with child registration,
// automatic name prefixes ("dense0_", "hybridsequential0_dense1_weight"), parameter
// collection, printing, and hybridize(): trace once, compile, run the executable after.
//
//   using namespace hgc::gluon;
//   class Net : public HybridBlock {
//    public:
//     Net() : HybridBlock("net") {
//       auto scope = name_scope();            // children get "net0_" in front of their names
//       fc1 = register_child(std::make_shared<nn::Dense>(nn::DenseOptions(256)), "fc1");
//       fc2 = register_child(std::make_shared<nn::Dense>(nn::DenseOptions(2)), "fc2");
//     }
//     NDArray hybrid_forward(const NDArray& x) override { return (*fc2)(nd::relu((*fc1)(x))); }
//     std::shared_ptr<nn::Dense> fc1, fc2;
//   };
//   auto net = std::make_shared<Net>();
//   net->initialize(init::Xavier());
//   NDArray y = (*net)(x);        // imperative; the Dense weights get their shapes here
//   net->hybridize();
//   y = (*net)(x);                // traced + compiled once; later calls run the executable
//   net->export_model("net", 0);  // net-symbol.json + net-0000.params
//   net->export_onnx("net.onnx", {{"data", {1, 784}}});
//
// Under autograd::record() a hybridized block is one tape node: a compiled forward (which
// also outputs the values its gradient needs) and a compiled gradient graph, both from one
// trace per input signature (hybrid_train.cc). In training mode Dropout's masks are drawn
// outside the compiled graph from the global generator, as imperatively, and BatchNorm's
// running statistics are written back from extra outputs; export writes the predict-mode
// graph (Dropout and BatchNorm ops) whatever mode ran last.
#pragma once
#include <functional>
#include <iostream>
#include <list>
#include <map>
#include <ostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hgc/base/compile_options.h"
#include "hgc/frontend/gluon/parameter.h"
#include "hgc/frontend/autograd/train_mode.h"

namespace hgc::gluon {

class Block;
class Symbol;

// What Gluon's Block(prefix=..., params=...) takes.
struct BlockArgs {
  std::optional<std::string> prefix_;
  std::shared_ptr<ParameterDict> params_;  // share another block's parameters
  BlockArgs& prefix(std::string p) { prefix_ = std::move(p); return *this; }
  BlockArgs& params(std::shared_ptr<ParameterDict> d) { params_ = std::move(d); return *this; }
};

// How a hybridized block compiles. Axes marked dynamic may change size between calls without
// a trace or a compile: the kernels are generated over them once (a new size re-infers
// shapes and plans memory, a few ms). By default axis 0 (the batch) of every input is dynamic.
//
//   net->hybridize(true, HybridizeOptions().dynamic_axes(0, {0, 1}));  // batch and sequence
//   net->hybridize(true, HybridizeOptions().static_shapes());          // one compile per shape
struct HybridizeOptions {
  CompileOptions compile;
  size_t cache_size = 8;  // compiled graphs kept per block (by input signature, dtypes, mode)
  std::map<size_t, std::vector<int>> dynamic;  // input -> its dynamic axes (default: {0})
  bool static_only = false;
  HybridizeOptions& compile_options(CompileOptions o) { compile = std::move(o); return *this; }
  HybridizeOptions& max_cached(size_t n) { cache_size = n; return *this; }
  // Input `input`'s dynamic axes (negative counts from the end); {} makes it static.
  HybridizeOptions& dynamic_axes(size_t input, std::vector<int> axes) { dynamic[input] = std::move(axes); return *this; }
  // Every dim static: one compile per input shape (MXNet's CachedOp).
  HybridizeOptions& static_shapes(bool on = true) { static_only = on; return *this; }
  // Which axes of input `input` (of rank `rank`) are dynamic.
  std::vector<bool> dynamic_mask(size_t input, int rank) const;
};

// While alive, blocks created on this thread are children of `block` for naming (Gluon's
// `with block.name_scope():`).
class NameScope {
 public:
  explicit NameScope(Block* block);
  ~NameScope();
  NameScope(const NameScope&) = delete;
  NameScope& operator=(const NameScope&) = delete;
};

// While alive, top-level block names count from 0 again (MXNet's `with mx.name.NameManager():`).
class NameManager {
 public:
  NameManager();
  ~NameManager();
  NameManager(const NameManager&) = delete;
  NameManager& operator=(const NameManager&) = delete;

 private:
  std::shared_ptr<void> saved_;
};

// What register_forward_hook / register_forward_pre_hook return (Gluon's HookHandle):
// detach() removes the hook; the handle may outlive the block.
class HookHandle {
 public:
  HookHandle() = default;
  explicit HookHandle(std::function<void()> detach) : detach_(std::move(detach)) {}
  void detach() {
    if (detach_) detach_();
    detach_ = nullptr;
  }

 private:
  std::function<void()> detach_;
};

class Block : public std::enable_shared_from_this<Block> {
 public:
  // `hint` is the lower-case class name Gluon counts prefixes by ("dense" -> "dense0_").
  explicit Block(const std::string& hint = "block", BlockArgs args = {});
  virtual ~Block();
  Block(const Block&) = delete;
  Block& operator=(const Block&) = delete;

  const std::string& prefix() const { return prefix_; }
  // The prefix without its trailing '_'.
  std::string name() const;
  ParameterDict& params() { return *params_; }
  const ParameterDict& params() const { return *params_; }
  // For sharing: Dense(opts, BlockArgs().params(other->params_ptr())) uses other's weights.
  const std::shared_ptr<ParameterDict>& params_ptr() const { return params_; }
  // This block's and its descendants' parameters, optionally filtered by regex (re.match).
  ParameterDict collect_params(const std::string& select = "") const;
  [[nodiscard]] NameScope name_scope() { return NameScope(this); }

  // Registers `child` under `name` (default: its index); throws for a taken name.
  template <class B>
  std::shared_ptr<B> register_child(std::shared_ptr<B> child, const std::string& name = "") {
    add_child(child, name);
    return child;
  }
  const std::vector<std::pair<std::string, std::shared_ptr<Block>>>& children() const { return children_; }

  // Calls the block (Gluon's net(x)).
  NDArray operator()(const NDArray& x);
  std::vector<NDArray> operator()(const std::vector<NDArray>& xs);
  // On symbols: the graph of this block applied to `x` (see symbol.h).
  Symbol operator()(const Symbol& x);

  // Override one of these in a plain Block.
  virtual NDArray forward(const NDArray& x);
  virtual std::vector<NDArray> forward_multi(const std::vector<NDArray>& xs);

  // Hybridizes the HybridBlocks in this tree (this one, or its children).
  virtual void hybridize(bool active = true, const HybridizeOptions& opts = {});
  // The options of the last hybridize() call (defaults before any).
  const HybridizeOptions& hybridize_options() const { return hybridize_opts_; }
  void initialize(const Initializer& init = init::Uniform(), bool force_reinit = false) {
    collect_params().initialize(init, force_reinit);
  }
  // Gluon's net.initialize(init, ctx): the values on `ctx` (a gpu(i) context: device memory).
  void initialize(const Initializer& init, Context ctx, bool force_reinit = false) {
    collect_params().initialize(init, ctx, force_reinit);
  }
  // Gluon's net.initialize(init, ctx=[cpu(0), cpu(1)]): a copy of every parameter per context.
  void initialize(const Initializer& init, const std::vector<Context>& ctxs, bool force_reinit = false) {
    collect_params().initialize(init, ctxs, force_reinit);
  }
  // Gluon's save_parameters/load_parameters: structural names ("0.weight", "fc1.bias").
  void save_parameters(const std::string& path) const;
  // Also accepts files with full parameter names (save_params / ParameterDict::save).
  void load_parameters(const std::string& path, bool allow_missing = false, bool ignore_extra = false);

  // Every parameter under its structural name ("0.weight"), the names save_parameters
  // writes: stable across processes whatever the blocks' global name counters.
  std::vector<std::pair<std::string, std::shared_ptr<Parameter>>> structural_params() const {
    std::vector<std::pair<std::string, std::shared_ptr<Parameter>>> out;
    collect_with_prefix("", out);
    return out;
  }

  // The older save_params/load_params (the book's): full names with this block's prefix
  // stripped, so another instance (another prefix) loads them.
  void save_params(const std::string& path) const { collect_params().save(path, prefix_); }
  void load_params(const std::string& path, bool allow_missing = false, bool ignore_extra = false) {
    collect_params().load(path, allow_missing, ignore_extra, prefix_);
  }

  // ---- Gluon's Block utilities (block_tools.cc) ----
  using ForwardPreHook = std::function<void(Block&, const std::vector<NDArray>& inputs)>;
  using ForwardHook = std::function<void(Block&, const std::vector<NDArray>& inputs, const std::vector<NDArray>& outputs)>;
  // Called before / after every call of this block (operator()); inside a hybridized
  // parent's trace they see traced values, and a compiled call of a hybridized block runs
  // its own hooks but not its children's (as in Gluon).
  HookHandle register_forward_pre_hook(ForwardPreHook hook);
  HookHandle register_forward_hook(ForwardHook hook);
  // MXNet's register_op_hook: callback(node_name, op_name, value) for every op output a
  // hybridized block computes ("<node>_output", "<node>_output1", ...; with monitor_all also
  // each op input, "<node>_input0", ...). A plain Block passes it to its children. While a
  // hook is set, hybridized calls outside autograd::record() run the traced graph op by op
  // (the same ops, uncompiled as a whole) so every intermediate value exists.
  using OpHook = std::function<void(const std::string& node_name, const std::string& op_name, const NDArray& value)>;
  virtual void register_op_hook(OpHook callback, bool monitor_all = false);
  // fn on every descendant (children first, depth first), then on this block (Gluon's apply).
  Block& apply(const std::function<void(Block&)>& fn);
  // Every parameter of this tree converted to `dtype` (Gluon's cast); hybridized blocks drop
  // their compiled graphs.
  virtual void cast(DType dtype);
  // Gluon's summary(*inputs): runs one imperative forward on `inputs` and prints each block's
  // output shape and own parameter count, then the totals. Must not be hybridized (as in Gluon).
  void summary(const std::vector<NDArray>& inputs, std::ostream& os = std::cout);

  // Gluon's repr: "Dense(512 -> 256, Activation(relu))", children as "  (0): ...".
  virtual std::string repr() const;
  // The class name ("Dense"), from the C++ type.
  std::string type_name() const;

 protected:
  // How a call runs (Block: forward_multi; HybridBlock: trace/cache/imperative).
  virtual std::vector<NDArray> run(const std::vector<NDArray>& xs);
  void add_child(std::shared_ptr<Block> child, const std::string& name);

 private:
  friend class NameScope;
  void collect_into(ParameterDict& d) const;
  void collect_with_prefix(const std::string& prefix, std::vector<std::pair<std::string, std::shared_ptr<Parameter>>>& out) const;
  std::string prefix_;
  std::shared_ptr<ParameterDict> params_;
  std::vector<std::pair<std::string, std::shared_ptr<Block>>> children_;
  std::map<std::string, int> child_counters_;
  // Hooks by id (ids keep HookHandle::detach valid after other hooks go).
  std::shared_ptr<std::map<int, ForwardPreHook>> pre_hooks_ = std::make_shared<std::map<int, ForwardPreHook>>();
  std::shared_ptr<std::map<int, ForwardHook>> hooks_ = std::make_shared<std::map<int, ForwardHook>>();
  int next_hook_ = 0;
  HybridizeOptions hybridize_opts_;
};

class HybridBlock : public Block {
 public:
  explicit HybridBlock(const std::string& hint = "hybridblock", BlockArgs args = {});
  ~HybridBlock() override;

  // Override one of these; they run imperatively, or on traced values when hybridized.
  // Parameters are read with param->data() (a graph variable inside a trace).
  virtual NDArray hybrid_forward(const NDArray& x);
  virtual std::vector<NDArray> hybrid_forward_multi(const std::vector<NDArray>& xs);

  void hybridize(bool active = true, const HybridizeOptions& opts = {}) override;
  void cast(DType dtype) override;
  bool hybridized() const { return hybridized_; }
  // MXNet's export: `path`-symbol.json and `path`-%04d.params (arg:/aux: names) of the graph
  // last compiled; needs a hybridized forward first, as in Gluon.
  void export_model(const std::string& path, int epoch = 0) const;
  // The same predict-mode graph, inferred at `input_shapes` (by input name: data, or data0,
  // data1, ...), as ONNX at `path` (opset 13..17), checked with onnx::checker (gluon/export_onnx.cc).
  void export_onnx(const std::string& path, const std::map<std::string, std::vector<int64_t>>& input_shapes,
                   int opset = 17) const;
  // MXNet's infer_shape(*args): the deferred parameter shapes of this block and its children
  // from the inputs' shapes and dtypes (one trace; nothing is computed or compiled).
  void register_op_hook(OpHook callback, bool monitor_all = false) override;
  void infer_shape(const std::vector<NDArray>& xs);
  // MXNet's infer_type(*args): the floating parameters take the first floating input's dtype
  // (what MXNet's type inference gives for layers whose weights follow the data), then the
  // traced graph is type-checked; integer inputs leave the parameters as they are.
  void infer_type(const std::vector<NDArray>& xs);
  // MXNet's optimize_for(x, backend): hybridizes (with `opts`), then traces, optimizes and
  // compiles the graph for xs' signature without running it, so the first call only runs.
  // backend: "" or "hgc" (hgc's own pass pipeline; there are no partitioning backends).
  void optimize_for(const std::vector<NDArray>& xs, const std::string& backend = "", const HybridizeOptions& opts = {});
  struct CacheStats {
    int64_t hits = 0, misses = 0;   // calls that found / added a cache entry (input signature)
    int64_t traces = 0;             // times hybrid_forward ran on traced values (graphs built)
    int64_t backward_compiles = 0;  // gradient graphs compiled (run_recorded, hybrid_train.cc)
    int64_t forward_compiles = 0;   // forward graphs compiled (predict and training forwards)
    int64_t sizes = 0;              // executables planned for a new size without compiling
    int64_t evictions = 0;          // cache entries dropped for cache_size
    size_t entries = 0;
  };
  CacheStats cache_stats() const;
  // Modules compiled for this block (forward and backward; a size served by existing
  // kernels costs none). HGC_LOG=compile prints a line for each, with its reason.
  int64_t compile_count() const;
  void clear_cache();

 protected:
  std::vector<NDArray> run(const std::vector<NDArray>& xs) override;
  // Completes deferred parameter shapes by tracing this block on the inputs' shapes.
  void infer_deferred(const std::vector<NDArray>& xs);
  // What a compiled graph of this block calls when it compiles (counts it, logs with HGC_LOG).
  std::function<void(const std::string&, const std::string&)> compile_hook(bool backward, const std::string& reason);

 private:
  struct Cached;
  struct Backward;
  // The cache entry for these inputs (a miss adds one); with `forward`, its forward graph
  // traced and compiled if it has none yet.
  std::shared_ptr<Cached> lookup(const std::vector<NDArray>& xs, bool forward);
  std::vector<NDArray> run_monitored(const std::vector<NDArray>& xs);  // hybrid_more.cc
  OpHook op_hook_;
  bool op_hook_all_ = false;
  void build_forward(const std::shared_ptr<Cached>& c, const std::vector<NDArray>& xs);
  std::vector<NDArray> run_cached(const std::vector<NDArray>& xs);
  // A call under autograd::record(): the compiled forward, taped as one node whose backward
  // runs a compiled gradient graph (hybrid_train.cc).
  std::vector<NDArray> run_recorded(const std::vector<NDArray>& xs);
  std::shared_ptr<Backward> build_backward(Cached& c, const std::vector<NDArray>& xs, std::vector<bool> need);
  bool hybridized_ = false;
  // Modes (bit 0 predict, bit 1 training) whose trace a child refused (trace_refusal.h):
  // they run imperatively until the next hybridize().
  unsigned imperative_modes_ = 0;
  // Compile events of this block's graphs (shared with them: a tape node may outlive a call).
  struct Counters;
  std::vector<std::vector<bool>> dynamic_masks(const std::vector<NDArray>& xs) const;
  // Whether the probe trace (another size) may run before the call's own: no parameter is
  // deferred (a probe must not complete one).
  bool probe_first();
  HybridizeOptions opts_;
  std::list<std::shared_ptr<Cached>> cache_;
  std::shared_ptr<Cached> last_;
  CacheStats stats_;
  std::shared_ptr<Counters> counters_;
};

// Prints Block::repr().
std::ostream& operator<<(std::ostream& os, const Block& b);

}  // namespace hgc::gluon
