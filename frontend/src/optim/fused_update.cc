// FusedUpdate: builds the update graph, infers it over a flat array of symbolic length,
// compiles it once per rule and dtype (multi-output fusion turns the elementwise tree into one
// kernel writing every output),
// plans it per weight size, and decides whether outputs can alias their inputs by reading the
// executable's step order.
#include "optim/fused_update.h"

#include <algorithm>
#include <cstring>
#include <mutex>

#include "hgc/base/attrs.h"
#include "hgc/base/error.h"
#include "hgc/compiler/dynamic.h"
#include "hgc/ir/infer.h"
#include "hgc/ir/op.h"
#include "hgc/base/allocator.h"
#include "hgc/runtime/thread_pool.h"
#include "nd/detail.h"

namespace hgc::gluon {

using Expr = FusedUpdate::Expr;

Expr FusedUpdate::Builder::array(const std::string& name) {
  arrays_.push_back(name);
  return {this, ValueRef{g_.add_variable(name), 0}};
}

Expr FusedUpdate::Builder::scalar(const std::string& name) {
  scalars_.push_back(name);
  return {this, ValueRef{g_.add_variable(name), 0}};
}

void FusedUpdate::Builder::output(Expr e, const std::string& name) {
  g_.heads.push_back(e.v);
  outputs_.push_back(name);
}

Expr FusedUpdate::Builder::op(const std::string& op, std::vector<Expr> in) {
  std::vector<ValueRef> refs;
  for (const Expr& e : in) refs.push_back(e.v);
  return {this, ValueRef{g_.add_node(op, op + std::to_string(next_++), refs), 0}};
}

Expr FusedUpdate::Builder::cast(Expr e, DType to) {
  const OpDef& def = OpRegistry::global().get("Cast");
  AttrMap attrs{{"dtype", parse_attr(*def.attr_spec("dtype"), dtype_name(to))}};
  return {this, ValueRef{g_.add_node("Cast", "Cast" + std::to_string(next_++), {e.v}, attrs), 0}};
}

Expr operator+(Expr a, Expr b) { return a.b->op("broadcast_add", {a, b}); }
Expr operator-(Expr a, Expr b) { return a.b->op("broadcast_sub", {a, b}); }
Expr operator*(Expr a, Expr b) { return a.b->op("broadcast_mul", {a, b}); }
Expr operator/(Expr a, Expr b) { return a.b->op("broadcast_div", {a, b}); }
Expr maximum(Expr a, Expr b) { return a.b->op("broadcast_maximum", {a, b}); }
Expr minimum(Expr a, Expr b) { return a.b->op("broadcast_minimum", {a, b}); }
Expr sqrt(Expr a) { return a.b->op("sqrt", {a}); }
Expr square(Expr a) { return a.b->op("square", {a}); }

namespace {

// Outputs may overwrite their inputs when each is written by a step (not copied from an
// input) and no step after the one writing output k touches the array output k replaces.
// The steps are elementwise, so within one step every element is read before it is written.
bool aliasing_is_safe(const Executable& exe, const std::vector<std::string>& outputs) {
  auto root = [&](int id) {
    while (exe.buffers[id].kind == BufferKind::View) id = exe.buffers[id].view_of;
    return id;
  };
  for (size_t k = 0; k < outputs.size(); ++k) {
    const BufferInfo& ob = exe.buffers[exe.output_buffers[k]];
    if (ob.kind != BufferKind::Output || ob.index != static_cast<int>(k)) return false;
    int in_pos = exe.input_index(outputs[k]);
    if (in_pos < 0) continue;  // the old value is never read
    int in_buf = exe.input_buffers[in_pos];
    int writer = -1, last_reader = -1;
    for (size_t s = 0; s < exe.steps.size(); ++s)
      for (int id : exe.steps[s].args) {
        if (id == exe.output_buffers[k] || root(id) == exe.output_buffers[k]) writer = writer < 0 ? int(s) : writer;
        if (root(id) == in_buf) last_reader = int(s);
      }
    if (writer < 0 || last_reader > writer) return false;
    for (size_t j = 0; j < k; ++j)
      if (outputs[j] == outputs[k]) return false;  // two outputs replacing one array
  }
  return true;
}

}  // namespace

const FusedUpdate& FusedUpdate::get(const std::string& key, const NDArray& weight,
                                    const std::function<void(Builder&)>& build) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<FusedUpdate>> cache;
  static std::map<std::string, std::shared_ptr<DynamicGraph>> rules;  // per rule and dtype, any length
  std::string rule = key + " " + dtype_name(weight.dtype());
  std::string full = key + " " + nd_detail::shape_str(weight.shape()) + " " + dtype_name(weight.dtype());
  if (weight.dtype() != DType::f32 && weight.dtype() != DType::f64)
    fail("optimizer", "fused update: ", dtype_name(weight.dtype()), " weights are not supported (f32, f64)");
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = cache[full];
  if (slot) return *slot;
  auto u = std::make_unique<FusedUpdate>();
  u->shape_ = weight.shape();
  u->dtype_ = weight.dtype();
  // Blocks for the pool: a streaming update over 2^16 elements takes ~10 us or more per array
  // on one core, well above the pool's hand-off (as compiler/src/plan.cc splits kernels).
  int64_t n = weight.size();
  int threads = ThreadPool::global().size();
  if (n >= (int64_t(1) << 16) && threads > 1) {
    u->parts_ = threads;
    u->block_ = (n + threads - 1) / threads;
    u->block_ = (u->block_ + 15) / 16 * 16;  // 64-byte aligned block starts
    u->parts_ = static_cast<int>((n + u->block_ - 1) / u->block_);
  }
  // The graph of the rule at a flat length (its arrays (len,), its scalars (1,)).
  auto graph_at = [&](int64_t len) {
    Builder b;
    build(b);
    InferOptions o;
    for (const std::string& a : b.arrays_) o.shapes[a] = Shape{len}, o.dtypes[a] = weight.dtype();
    for (const std::string& s : b.scalars_) o.shapes[s] = Shape{1}, o.dtypes[s] = weight.dtype();
    infer(b.g_, o);
    u->outputs_ = b.outputs_;
    u->out_dtypes_.clear();
    for (const ValueRef& h : b.g_.heads) u->out_dtypes_.push_back(b.g_.dtype(h));
    return b.g_;
  };
  std::shared_ptr<DynamicGraph>& dyn = rules[rule];
  // Outputs on the weights. Probed at two lengths of no special meaning (a length of 1 would
  // make arrays and scalars alike).
  if (!dyn) dyn = DynamicGraph::create(graph_at(16), graph_at(17), CompileOptions().aliasing(true));
  u->dyn_ = dyn;
  auto compile_for = [&](int64_t len) { return dyn->instantiate(graph_at(len)).exe; };
  u->exe_ = compile_for(u->parts_ > 1 ? u->block_ : n);
  u->in_place_ = aliasing_is_safe(*u->exe_, u->outputs_);
  if (int64_t last = n - (u->parts_ - 1) * u->block_; u->parts_ > 1 && last != u->block_) {
    u->tail_ = compile_for(last);
    if (u->tail_->input_names != u->exe_->input_names)
      fail("optimizer", "fused update '", key, "': the last block compiled with other inputs");
    u->in_place_ = u->in_place_ && aliasing_is_safe(*u->tail_, u->outputs_);
  }
  slot = std::move(u);
  return *slot;
}

int FusedUpdate::modules() const { return dyn_->modules(); }

void FusedUpdate::run(const std::map<std::string, NDArray>& arrays, const std::map<std::string, double>& scalars) const {
  const Executable& exe = *exe_;  // the input and output order is the same in tail_
  std::vector<HostTensor> scalar_tensors;  // kept alive through execute()
  scalar_tensors.reserve(exe.input_names.size());
  std::vector<const void*> in(exe.input_names.size());
  for (size_t i = 0; i < exe.input_names.size(); ++i) {
    const std::string& n = exe.input_names[i];
    if (auto a = arrays.find(n); a != arrays.end()) {
      if (a->second.shape() != shape_ || a->second.dtype() != dtype_)
        fail("optimizer", "fused update: array '", n, "' is ", nd_detail::shape_str(a->second.shape()), " ",
             dtype_name(a->second.dtype()), ", compiled for ", nd_detail::shape_str(shape_), " ", dtype_name(dtype_));
      in[i] = a->second.data_ptr();
    } else if (auto s = scalars.find(n); s != scalars.end()) {
      HostTensor t(dtype_, {1});
      if (dtype_ == DType::f64) *static_cast<double*>(t.raw()) = s->second;
      else *static_cast<float*>(t.raw()) = static_cast<float>(s->second);  // get() admits f32, f64
      scalar_tensors.push_back(t);
      in[i] = t.raw();
    } else {
      fail("optimizer", "fused update: no value for input '", n, "'");
    }
  }
  std::vector<void*> out(outputs_.size());
  std::vector<HostTensor> scratch;
  for (size_t k = 0; k < outputs_.size(); ++k) {
    auto a = arrays.find(outputs_[k]);
    if (a == arrays.end()) fail("optimizer", "fused update: no array '", outputs_[k], "' to write");
    if (a->second.shape() != shape_ || a->second.dtype() != out_dtypes_[k] || a->second.on_device())
      fail("optimizer", "fused update: output array '", outputs_[k], "' is ", nd_detail::shape_str(a->second.shape()),
           " ", dtype_name(a->second.dtype()), ", compiled for ", nd_detail::shape_str(shape_), " ",
           dtype_name(out_dtypes_[k]), " on the host");
    nd_detail::note_write(a->second);  // the weight (or a state) changes in place
    if (in_place_) {
      out[k] = a->second.data_ptr();
    } else {
      scratch.push_back(HostTensor::uninitialized(out_dtypes_[k], shape_));
      out[k] = scratch.back().raw();
    }
  }
  if (parts_ == 1) {
    PooledBuffer arena(static_cast<std::size_t>(exe.arena_bytes));
    exe.execute(in, out, arena.get());
  } else {
    // Block c: elements [c * block_, ...) of every array, the same scalars. Inputs are arrays
    // of the weight's dtype; an output may be of another (a cast copy).
    const int64_t in_bytes = static_cast<int64_t>(dtype_size(dtype_));
    std::vector<char> is_array(in.size());
    for (size_t i = 0; i < in.size(); ++i) is_array[i] = arrays.count(exe.input_names[i]) > 0;
    ThreadPool::global().parallel_for(parts_, [&](int c) {
      const Executable& e = (c == parts_ - 1 && tail_) ? *tail_ : exe;
      std::vector<const void*> bin(in.size());
      std::vector<void*> bout(out.size());
      for (size_t i = 0; i < in.size(); ++i)
        bin[i] = is_array[i] ? static_cast<const char*>(in[i]) + c * block_ * in_bytes : in[i];
      for (size_t k = 0; k < out.size(); ++k)
        bout[k] = static_cast<char*>(out[k]) + c * block_ * static_cast<int64_t>(dtype_size(out_dtypes_[k]));
      PooledBuffer arena(static_cast<std::size_t>(e.arena_bytes));
      e.execute(bin, bout, arena.get());
    });
  }
  if (!in_place_)
    for (size_t k = 0; k < outputs_.size(); ++k)
      std::memcpy(arrays.at(outputs_[k]).data_ptr(), scratch[k].raw(), scratch[k].nbytes());
  // Again once written: a form derived meanwhile saw the old values (stable_buffers.h).
  for (const std::string& o : outputs_) nd_detail::note_write(arrays.at(o));
}

}  // namespace hgc::gluon
