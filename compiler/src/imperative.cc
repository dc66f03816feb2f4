#include "hgc/compiler/imperative.h"

#include <chrono>
#include <mutex>
#include <unordered_map>

#include "hgc/compiler/jit.h"
#include "hgc/compiler/kernel_cache.h"
#include "hgc/base/error.h"
#include "hgc/base/log.h"
#include "hgc/ir/infer.h"
#include "hgc/runtime/profile.h"
#include "lowering.h"
#include "imperative_kernel.h"
#include "node_ctx.h"
#include "prebuilt.h"

namespace hgc {
namespace {

struct Entry {
  std::shared_ptr<JitModule> module;
  PackedKernel fn = nullptr;
};

struct Cache {
  std::mutex mu;
  std::unordered_map<std::string, Entry> entries;
  KernelCacheStats stats;
};

Cache& cache() {
  static Cache* c = new Cache();
  return *c;
}

// The cache key: op, attributes (but `scalar` when the kernel reads it at run time), dtypes and
// (generalized) shapes.
std::string signature(const Node& n, const lower::NodeCtx& c) {
  std::string k = n.op->name + "|";
  for (const auto& [name, v] : n.attrs)
    if (!(c.scalar_input && name == "scalar")) k += name + "=" + format_attr(v) + ";";
  if (c.scalar_input) k += "scalar=<input>;";
  auto shapes = [&](const std::vector<lower::Dims>& ds, const std::vector<DType>& ts) {
    for (size_t i = 0; i < ds.size(); ++i) {
      k += "|" + dtype_name(ts[i]) + ":";
      for (int64_t x : ds[i]) k += std::to_string(x) + ",";
    }
  };
  shapes(c.in_shapes, c.in_types);
  k += "->";
  shapes(c.out_shapes, c.out_types);
  return k;
}

}  // namespace

namespace {
std::vector<HostTensor> invoke_untimed(const std::string& op, const AttrMap& attrs, const std::vector<HostTensor>& inputs,
                                       const CompileOptions& opts);
}

std::vector<HostTensor> invoke_typed(const std::string& op, const AttrMap& attrs, const std::vector<HostTensor>& inputs,
                                     const CompileOptions& opts) {
  if (!profile::enabled()) return invoke_untimed(op, attrs, inputs, opts);
  auto t0 = std::chrono::steady_clock::now();
  auto out = invoke_untimed(op, attrs, inputs, opts);
  profile::record("invoke " + op, std::chrono::duration_cast<std::chrono::nanoseconds>(
                                      std::chrono::steady_clock::now() - t0).count());
  return out;
}

namespace compiler_detail {

std::unique_ptr<ImperativeCall> prepare_imperative(const std::string& op, const AttrMap& attrs,
                                                   const std::vector<std::vector<int64_t>>& shapes,
                                                   const std::vector<DType>& dtypes, const CompileOptions& opts) {
  const OpDef& def = OpRegistry::global().get(op);
  auto call = std::make_unique<ImperativeCall>();
  Graph& g = call->graph;
  std::vector<ValueRef> in;
  InferOptions io;
  for (size_t i = 0; i < shapes.size(); ++i) {
    std::string name = "in" + std::to_string(i);
    in.push_back({g.add_variable(name), 0});
    io.shapes[name] = Shape(shapes[i]);
    io.dtypes[name] = dtypes[i];
  }
  for (const AttrSpec& s : def.attrs)
    if (!s.default_value && !attrs.count(s.name)) fail("imperative", op, ": required attribute '", s.name, "' is missing");
  call->node = g.add_node(op, op, in, attrs);
  infer(g, io);
  const Node& n = g.nodes[call->node];
  call->ctx.emplace(lower::node_ctx(g, n));
  const lower::NodeCtx& c = *call->ctx;
  const lower::Lowering* l = lower::LoweringTable::global().find(*n.op);
  if (!l) fail("imperative", "op ", def.name, " has no lowering yet", lower::LoweringTable::global().why_missing(def));
  call->lowering = l;
  if (l->kind != lower::Kind::Kernel) return call;

  call->kernel_ctx.emplace(c);
  lower::NodeCtx& kc = *call->kernel_ctx;
  if (l->shape_polymorphic) {
    for (auto& d : kc.in_shapes) d = lower::generalize(d);
    for (auto& d : kc.out_shapes) d = lower::generalize(d);
  }
  // A scalar op's value travels as a 0-d input instead of being folded into the code, so a
  // loop with a changing scalar (a learning-rate schedule) compiles its kernel once, and the
  // disk cache keeps one entry, not one per value.
  DType st = c.out_types.empty() ? DType::f32 : c.out_types[0];
  if (l->runtime_scalar && (st == DType::f32 || st == DType::f64) && !n.attr_view().is_none("scalar")) {
    kc.scalar_input = true;
    kc.in_shapes.push_back({});
    kc.in_types.push_back(st);
    call->scalar_input = true;
    call->scalar_type = st;
    call->scalar_value = n.attr_view().f("scalar");
  }
  call->key = signature(n, kc) + "|O" + std::to_string(opts.opt_level) + "|" + opts.target_cpu;
  return call;
}

std::string ImperativeCall::kernel_text(const std::string& name) const {
  const lower::NodeCtx& kc = *kernel_ctx;
  lower::KernelWriter w(name);
  std::vector<std::string> ins, outs;
  for (size_t k = 0; k < kc.in_shapes.size(); ++k) ins.push_back(w.input(kc.in_shapes[k], kc.in_types[k]));
  for (size_t k = 0; k < kc.out_shapes.size(); ++k) outs.push_back(w.output(kc.out_shapes[k], kc.out_types[k]));
  lowering->kernel(kc, w, ins, outs);
  return w.finish();
}

}  // namespace compiler_detail

namespace {
std::vector<HostTensor> invoke_untimed(const std::string& op, const AttrMap& attrs, const std::vector<HostTensor>& inputs,
                                       const CompileOptions& opts) {
  std::vector<std::vector<int64_t>> shapes;
  std::vector<DType> dtypes;
  for (const HostTensor& t : inputs) {
    shapes.push_back(t.shape());
    dtypes.push_back(t.dtype());
  }
  auto call = compiler_detail::prepare_imperative(op, attrs, shapes, dtypes, opts);
  const lower::NodeCtx& c = *call->ctx;
  const lower::Lowering* l = call->lowering;

  std::vector<HostTensor> out;
  if (l->kind == lower::Kind::View) {
    out.push_back(inputs[0].reshaped(c.out_shapes[0]));
    for (size_t k = 1; k < c.out_shapes.size(); ++k) out.emplace_back(c.out_types[k], c.out_shapes[k]);
    return out;
  }
  // Kernels and library calls write every output whole.
  for (size_t k = 0; k < c.out_shapes.size(); ++k) out.push_back(HostTensor::uninitialized(c.out_types[k], c.out_shapes[k]));
  if (l->kind == lower::Kind::Library) {
    StepArgs a;
    std::vector<BufferInfo> infos;
    for (const HostTensor& t : inputs) a.ptrs.push_back(const_cast<void*>(t.raw()));
    for (HostTensor& t : out) a.ptrs.push_back(t.raw());
    run_library(l->library(c), a);
    return out;
  }

  std::vector<HostTensor> args = inputs;
  if (call->scalar_input) {
    HostTensor v(call->scalar_type, {});
    if (call->scalar_type == DType::f32) v.data<float>()[0] = static_cast<float>(call->scalar_value);
    else v.data<double>()[0] = call->scalar_value;
    args.push_back(v);
  }
  const std::string& key = call->key;
  // The memory cache keeps JIT'ed and prebuilt kernels apart only when prebuilt ones are off
  // (a caller comparing the two).
  bool use_prebuilt = prebuilt_kernels_enabled();
  std::string mem_key = use_prebuilt ? key : key + "|no-prebuilt";
  Cache& ch = cache();
  PackedKernel fn = nullptr;
  {
    std::lock_guard<std::mutex> lock(ch.mu);
    if (auto it = ch.entries.find(mem_key); it != ch.entries.end()) {
      fn = it->second.fn;
      ++ch.stats.hits;
    }
  }
  // Compiled at build time through this same code (compiler/prebuilt/): no JIT at all.
  if (!fn && use_prebuilt) {
    if (PackedKernel p = compiler_detail::find_prebuilt(key)) {
      std::lock_guard<std::mutex> lock(ch.mu);
      auto [it, fresh] = ch.entries.emplace(mem_key, Entry{nullptr, p});
      fn = it->second.fn;
      ++ch.stats.prebuilt;
      if (log_enabled("jit")) log_line("jit imperative (prebuilt) " + key);
    }
  }
  if (!fn) {
    std::string text = call->kernel_text("k");
    auto t0 = std::chrono::steady_clock::now();
    // Compiled outside the lock: two threads may race to compile the same kernel, and the
    // first to finish wins; a failed compile stores nothing.
    Entry e;
    // Through the disk cache: a later process loads this kernel instead of compiling it.
    if (log_enabled("jit")) log_line("jit imperative " + key);
    e.module = compile_kernels(text, {"k"}, opts);
    e.fn = e.module->lookup("k");
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::lock_guard<std::mutex> lock(ch.mu);
    auto [it, fresh] = ch.entries.emplace(mem_key, e);
    fn = it->second.fn;
    ++ch.stats.misses;
    ch.stats.compile_ms += ms;
  }
  std::vector<MemRefArg> descs;
  for (const HostTensor& t : args) descs.emplace_back(const_cast<void*>(t.raw()), t.shape());
  for (HostTensor& t : out) descs.emplace_back(t.raw(), t.shape());
  std::vector<void*> ptrs(descs.size()), packed(descs.size());
  for (size_t i = 0; i < descs.size(); ++i) {
    ptrs[i] = descs[i].get();
    packed[i] = &ptrs[i];
  }
  fn(packed.data());
  return out;
}
}  // namespace

std::vector<HostTensor> invoke(const std::string& op, const std::map<std::string, std::string>& attrs,
                               const std::vector<HostTensor>& inputs, const CompileOptions& opts) {
  const OpDef& def = OpRegistry::global().get(op);
  AttrMap typed;
  for (const auto& [k, v] : attrs) {
    const AttrSpec* s = def.attr_spec(k);
    if (!s) fail("imperative", def.name, " has no attribute '", k, "'");
    try {
      typed[k] = parse_attr(*s, v);
    } catch (const Error& e) {
      fail("imperative", def.name, ": attribute '", k, "': ", std::string(e.what()).substr(7));
    }
  }
  return invoke_typed(op, typed, inputs, opts);
}

KernelCacheStats kernel_cache_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  KernelCacheStats s = c.stats;
  s.entries = static_cast<int64_t>(c.entries.size());
  return s;
}

void clear_kernel_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.entries.clear();
  c.stats = {};
}

}  // namespace hgc
