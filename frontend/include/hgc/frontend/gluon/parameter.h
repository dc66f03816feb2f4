// Parameter and ParameterDict: a block's learnable arrays, Gluon's gluon.Parameter and
// gluon.ParameterDict, with deferred shapes (0 = unknown until the first forward).
//
//   using namespace hgc::gluon;
//   ParameterDict pd("block1_");
//   auto p = pd.get("exciting_parameter_yay", ParamOptions().shape({5, 5}));
//   p->name() == "block1_exciting_parameter_yay";
//   p->initialize(init::Xavier().magnitude(2.24));   // or pd.initialize(...)
//   std::cout << p->data();                           // a 5x5 NDArray
//   auto w = pd.get("weight", ParamOptions().shape({256, 0}));   // "(256, 0)": in_units deferred
//   pd.initialize();                                  // w waits for its shape
//   pd.save("p.params");  pd.load("p.params");        // MXNet .params, Gluon's names
//   p->grad();  pd.zero_grad();                       // gradient buffers (autograd.h)
//   pd.initialize(init::Xavier(), gpu(0));            // values (and grads) in device memory
//   pd.reset_ctx(cpu());                              // moved back
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hgc/frontend/init/initializer.h"
#include "hgc/frontend/nd/ndarray.h"

namespace hgc::gluon {

struct ParamOptions {
  std::vector<int64_t> shape_;  // 0: unknown (deferred) dim; empty: unknown shape
  DType dtype_ = DType::f32;
  std::shared_ptr<Initializer> init_;  // null: the initializer given to initialize()
  std::string grad_req_ = "write";     // "write" | "add" | "null"
  double lr_mult_ = 1, wd_mult_ = 1;
  bool allow_deferred_init_ = true;

  ParamOptions& shape(std::vector<int64_t> s) { shape_ = std::move(s); return *this; }
  ParamOptions& dtype(DType d) { dtype_ = d; return *this; }
  ParamOptions& init(const Initializer& i) { init_ = i.clone(); return *this; }
  ParamOptions& init(const std::string& name) { init_ = init::create(name); return *this; }
  ParamOptions& grad_req(std::string r) { grad_req_ = std::move(r); return *this; }
  ParamOptions& lr_mult(double m) { lr_mult_ = m; return *this; }
  ParamOptions& wd_mult(double m) { wd_mult_ = m; return *this; }
  ParamOptions& allow_deferred_init(bool b) { allow_deferred_init_ = b; return *this; }
};

class Parameter : public std::enable_shared_from_this<Parameter> {
 public:
  explicit Parameter(std::string name, ParamOptions opts = {});

  const std::string& name() const { return name_; }
  // 0 marks an unknown dim, as Gluon's "(256, 0)".
  const std::vector<int64_t>& shape() const { return opts_.shape_; }
  bool shape_known() const;
  // Fills unknown dims from `s`; throws naming the parameter when known dims differ.
  void set_shape(const std::vector<int64_t>& s);
  DType dtype() const { return opts_.dtype_; }
  const std::string& grad_req() const { return opts_.grad_req_; }
  void set_grad_req(const std::string& r);
  double lr_mult() const { return opts_.lr_mult_; }
  double wd_mult() const { return opts_.wd_mult_; }
  void set_lr_mult(double m) { opts_.lr_mult_ = m; }
  void set_wd_mult(double m) { opts_.wd_mult_ = m; }
  const std::shared_ptr<Initializer>& init() const { return opts_.init_; }
  // The block that owns it ("dense0"), for errors; set by the block's ParameterDict.
  const std::string& block() const { return block_; }
  void set_block(std::string b) { block_ = std::move(b); }

  // Gluon's initialize: this parameter's own init wins over `init`, which wins over
  // Uniform(0.07). With unknown dims the draw waits for the first forward (deferred).
  void initialize(const Initializer* init = nullptr, bool force_reinit = false);
  void initialize(const Initializer& init, bool force_reinit = false) { initialize(&init, force_reinit); }
  // The same with the values on `ctx` (Gluon's ctx=): drawn on the host, then copied there
  // (gpu(i): device memory, data() and grad() live there). Throws naming the context when it
  // has no device.
  void initialize(const Initializer* init, Context ctx, bool force_reinit = false);
  void initialize(const Initializer& init, Context ctx, bool force_reinit = false) { initialize(&init, ctx, force_reinit); }
  // Gluon's initialize(ctx=[cpu(0), cpu(1), ...]): one copy of the same values per context
  // (data parallelism): inside a block call on arrays of context c, data() and grad() are
  // c's copy; outside, the first context's. Trainer::step sums the copies' gradients
  // (allreduce_grads) and keeps the copies equal.
  void initialize(const Initializer* init, const std::vector<Context>& ctxs, bool force_reinit = false);
  void initialize(const Initializer& init, const std::vector<Context>& ctxs, bool force_reinit = false) {
    initialize(&init, ctxs, force_reinit);
  }
  // The copy on `ctx`; throws naming the contexts it has.
  NDArray data(Context ctx) const;
  NDArray grad(Context ctx) const;
  std::vector<NDArray> list_data() const;
  // MXNet's row_sparse_data(row_id): the rows `row_id` of the data (hgc stores parameters
  // densely: the rows come back as a dense (len(row_id), ...) array).
  NDArray row_sparse_data(const NDArray& row_id) const;
  // The same rows from every context's copy.
  std::vector<NDArray> list_row_sparse_data(const NDArray& row_id) const;
  std::vector<NDArray> list_grad() const;
  // Moves the values to `ctx` (Gluon's reset_ctx); the gradient buffer starts again at
  // zeros there. Before initialization: where the values will go.
  void reset_ctx(Context ctx);
  // Converts the values (and the dtype new values get) to `dtype`; the gradient buffer starts
  // again at zeros (Gluon's Parameter.cast).
  void cast(DType dtype);
  // Where data() lives (cpu(0) unless initialized or reset elsewhere); Gluon's list_ctx().
  Context context() const { return ctx_; }
  std::vector<Context> list_ctx() const;
  bool initialized() const { return data_.defined(); }
  // initialize() was called but the shape is still incomplete.
  bool deferred() const { return !initialized() && deferred_init_ != nullptr; }
  // Completes a deferred initialization once the shape is known (blocks call this).
  void finish_deferred_init();

  // The values; inside a trace (hybridize, symbols) the parameter's graph variable.
  NDArray data() const;
  // The values without a copy of the handle, outside a trace (a compiled block binding its
  // inputs on every call); throws like data() before initialization.
  const NDArray& data_ref() const;
  // Replaces the values (shape must match a known shape; fills deferred dims).
  void set_data(const NDArray& v);
  // The values cast to `t` (AMP's bfloat16 weights), outside a trace: cast once and kept
  // until the values change. set_data/initialize/cast/reset_ctx give new values, and every
  // in-place write through the NDArray API (x[:] = y, +=, fill_, a Trainer/optimizer update)
  // marks such copies stale; after writing through data_ptr() by hand, call set_data or
  // mark_dirty(). The same as data_ref().astype(t), without the cast on every call.
  NDArray data_as(DType t) const;
  // Drops the copies data_as keeps (the values were written behind the NDArray API).
  void mark_dirty() const;
  // For an update that writes the new values' cast in the same pass (Trainer with AMP): when
  // data_as keeps exactly one copy (single context, host), an uninitialized array of its dtype
  // and the values' shape, else an undefined array. Once it holds the current values rounded
  // to its dtype, adopt_cast makes it the copy data_as returns (no recast).
  NDArray cast_buffer() const;
  void adopt_cast(const NDArray& v) const;
  // How many times data_as cast the values (for tests: a cached copy costs no cast).
  int64_t casts_made() const;
  // The gradient buffer autograd writes (grad_req write) or adds (add) into; throws for
  // grad_req "null" or before initialization. data() carries it, so taped ops reach it.
  NDArray grad() const;
  bool has_grad() const { return initialized() && opts_.grad_req_ != "null"; }
  // Sets the gradient buffer to zeros (for grad_req "add").
  void zero_grad();
  // "Parameter dense0_weight (shape=(256, 0), dtype=float32)".
  std::string str() const;

 private:
  std::string name_;
  ParamOptions opts_;
  std::string block_;
  NDArray data_;
  Context ctx_;
  std::shared_ptr<Initializer> deferred_init_;
  std::vector<Context> extra_ctx_;  // contexts after the first (multi-context initialize)
  std::vector<NDArray> extra_;      // their copies
  struct CastCache;                  // data_as's copies (parameter.cc)
  std::shared_ptr<CastCache> cast_cache_;
  void attach_grad_buffer();  // (re)attaches data_'s gradient entry per grad_req
  // data_ or the copy of the current block call's context.
  const NDArray& pick() const;
};

// While alive, blocks on this thread run on arrays of `ctx`, so multi-context parameters hand
// out that context's copy (Block::operator() sets it from its first input).
class CallContextScope {
 public:
  explicit CallContextScope(Context ctx);
  ~CallContextScope();
  CallContextScope(const CallContextScope&) = delete;
  CallContextScope& operator=(const CallContextScope&) = delete;

 private:
  bool prev_set_;
  Context prev_;
};

std::ostream& operator<<(std::ostream& os, const Parameter& p);

// An ordered name -> Parameter map with a prefix (Gluon's ParameterDict).
class ParameterDict {
 public:
  explicit ParameterDict(std::string prefix = "", std::shared_ptr<ParameterDict> shared = nullptr)
      : prefix_(std::move(prefix)), shared_(std::move(shared)) {}

  const std::string& prefix() const { return prefix_; }
  const std::shared_ptr<ParameterDict>& shared() const { return shared_; }
  // The block whose parameters get() makes (named in their errors).
  void set_owner(std::string block) { owner_ = std::move(block); }
  // Gluon's params.get: the parameter prefix+name, created on first use (or found in the
  // shared dict). For an existing one, given attributes must agree (0 dims are filled).
  std::shared_ptr<Parameter> get(const std::string& name, const ParamOptions& opts = {});
  // By full name; throws naming the known names when absent.
  std::shared_ptr<Parameter> operator[](const std::string& full_name) const;
  bool contains(const std::string& full_name) const { return index_.count(full_name) > 0; }
  // Adds an existing parameter (collect_params); throws if another of that name is there.
  void update(const std::shared_ptr<Parameter>& p);
  void update(const ParameterDict& other);
  // The parameters whose names match `regex` at their start (Python's re.match).
  ParameterDict select(const std::string& regex) const;
  std::vector<std::string> keys() const;
  // A copy, so `for (auto& p : net->collect_params().values())` is safe.
  std::vector<std::shared_ptr<Parameter>> values() const { return params_; }
  size_t size() const { return params_.size(); }
  bool empty() const { return params_.empty(); }

  void initialize(const Initializer& init, bool force_reinit = false);
  void initialize(const Initializer& init, Context ctx, bool force_reinit = false);
  void initialize() { initialize(init::Uniform(), false); }
  void initialize(const Initializer& init, const std::vector<Context>& ctxs, bool force_reinit = false);
  // Every parameter's values to `ctx` (Parameter::reset_ctx).
  void reset_ctx(Context ctx);
  // (full name, parameter) pairs in insertion order (Python's dict.items()).
  std::vector<std::pair<std::string, std::shared_ptr<Parameter>>> items() const;
  // MXNet's get_constant: the parameter prefix+name holding `value` (grad_req null, set by
  // initialize()), created on first use; an existing one must have value's shape and dtype.
  std::shared_ptr<Parameter> get_constant(const std::string& name, const NDArray& value);
  // MXNet's setattr(name, value) on every parameter: "grad_req" (write, add, null),
  // "lr_mult" or "wd_mult" (a number); other names throw.
  void setattr(const std::string& name, const std::string& value);
  void setattr(const std::string& name, double value);
  void setattr_grad_req(const std::string& r);
  void setattr_lr_mult(double m);
  void zero_grad();

  // MXNet .params, names with `strip_prefix` removed from their start.
  void save(const std::string& path, const std::string& strip_prefix = "") const;
  // Names may carry arg:/aux:; `restore_prefix` is prepended. Shapes must agree (deferred
  // dims are filled); nothing changes unless the whole file fits.
  void load(const std::string& path, bool allow_missing = false, bool ignore_extra = false,
            const std::string& restore_prefix = "");
  // The same from arrays by full name; `origin` names the source in errors.
  void load_arrays(const std::map<std::string, NDArray>& arrays, const std::string& origin, bool allow_missing = false,
                   bool ignore_extra = false);
  // "block1_ (\n  Parameter block1_w (shape=(5, 5), dtype=float32)\n)".
  std::string str() const;

 private:
  std::string prefix_;
  std::shared_ptr<ParameterDict> shared_;
  std::string owner_;
  std::vector<std::shared_ptr<Parameter>> params_;
  std::map<std::string, size_t> index_;
};

std::ostream& operator<<(std::ostream& os, const ParameterDict& d);

}  // namespace hgc::gluon
