#include "gluon/cached_graph.h"

#include <chrono>
#include <cstdio>
#include <optional>
#include <set>

#include "amp/weights.h"
#include "hgc/compiler/gpu_imperative.h"
#include "hgc/base/error.h"
#include "hgc/base/log.h"
#include "hgc/ir/infer.h"
#include "nd/detail.h"

namespace hgc::gluon {

std::vector<std::string> default_input_names(size_t n) {
  if (n == 1) return {"data"};
  std::vector<std::string> r;
  for (size_t i = 0; i < n; ++i) r.push_back("data" + std::to_string(i));
  return r;
}

std::string signature_str(const std::vector<std::string>& names, const std::vector<std::vector<int64_t>>& shapes,
                          const std::vector<DType>& dtypes, const std::vector<std::vector<bool>>& dynamic) {
  std::string s;
  for (size_t i = 0; i < shapes.size(); ++i) {
    std::vector<int64_t> d = shapes[i];
    if (i < dynamic.size())
      for (size_t k = 0; k < d.size() && k < dynamic[i].size(); ++k)
        if (dynamic[i][k]) d[k] = -1;
    s += (i ? "," : "") + (i < names.size() ? names[i] : "in" + std::to_string(i)) + "=" + symbolic_str(d);
    if (i < dtypes.size()) s += ":" + dtype_name(dtypes[i]);
  }
  return s;
}

Graph CachedGraph::infer_at(const std::vector<std::vector<int64_t>>& shapes, const std::vector<DType>& dtypes,
                            std::map<std::string, HostTensor>* zeros) const {
  Graph work = graph;
  InferOptions o;
  o.require_complete = false;
  for (const auto& [n, i] : input_pos_) {
    o.shapes[n] = Shape(shapes.at(i));
    o.dtypes[n] = dtypes.at(i);
  }
  for (int id : work.variable_ids()) {
    const std::string& n = work.nodes[id].name;
    if (input_pos_.count(n)) continue;
    if (auto p = params_.find(n); p != params_.end()) {
      if (!p->second->initialized()) p->second->data();  // throws the uninitialized error
      o.shapes[n] = Shape(p->second->shape());
      o.dtypes[n] = p->second->dtype();
    } else if (auto k = constants_.find(n); k != constants_.end()) {
      o.shapes[n] = Shape(k->second.shape());
      o.dtypes[n] = k->second.dtype();
    } else if (auto w = amp::detail::cast_weight_of(n); w && params_.count(w->first)) {
      // A weight's AMP copy already in the graph (a training trace converted before its split).
      const auto& p = params_.at(w->first);
      if (!p->initialized()) p->data();
      o.shapes[n] = Shape(p->shape());
      o.dtypes[n] = w->second;
    }
  }
  infer(work, o);
  // Unbound variables (labels): zeros of the inferred shape.
  for (int id : work.variable_ids()) {
    const Node& n = work.nodes[id];
    if (o.shapes.count(n.name)) continue;
    if (!n.out_shapes[0].known())
      fail("gluon", "block '", block, "': graph variable '", n.name,
           "' is neither an input nor a parameter, and its shape cannot be inferred");
    if (zeros) (*zeros)[n.name] = HostTensor(n.out_dtypes[0], n.out_shapes[0].dims());
    o.shapes[n.name] = n.out_shapes[0];
    o.dtypes[n.name] = n.out_dtypes[0];
  }
  o.require_complete = true;
  infer(work, o);
  // AMP on the cpu: the weights' casts become inputs bound to their cached copies.
  if (opts_.amp != DType::unknown && ctx.device_type != DeviceType::gpu) {
    int n = amp::detail::bind_cast_weights(work, opts_.amp, [&](const std::string& v) {
      return params_.count(v) > 0;
    });
    cached_weight_casts_ = n;
  }
  return work;
}

std::shared_ptr<CachedGraph> CachedGraph::build(const Graph& g, const std::vector<std::string>& input_names,
                                                const std::vector<NDArray>& xs,
                                                const std::map<std::string, std::shared_ptr<Parameter>>& params,
                                                const std::map<std::string, HostTensor>& constants,
                                                const CompileOptions& opts, const std::string& block,
                                                Context ctx, const std::vector<std::vector<int64_t>>& probe_shapes,
                                                std::function<void(const std::string&, const std::string&)> on_compile) {
  auto c = std::make_shared<CachedGraph>();
  c->graph = g;
  c->input_names = input_names;
  c->block = block;
  c->ctx = ctx;
  c->params_ = params;
  c->constants_ = constants;
  c->opts_ = opts;
  c->on_compile = std::move(on_compile);
  if (xs.size() != input_names.size())
    fail("gluon", "block '", block, "' takes ", input_names.size(), " inputs, got ", xs.size());
  std::set<std::string> vars;  // inputs the graph does not use are left out (gradient graphs)
  for (int id : g.variable_ids()) vars.insert(g.nodes[id].name);
  std::vector<std::vector<int64_t>> shapes;
  std::vector<DType> dtypes;
  for (size_t i = 0; i < xs.size(); ++i) {
    shapes.push_back(xs[i].shape());
    dtypes.push_back(xs[i].dtype());
    if (vars.count(input_names[i])) c->input_pos_[input_names[i]] = static_cast<int>(i);
  }
  try {
    if (ctx.device_type == DeviceType::gpu) {
      std::map<std::string, HostTensor> zeros;
      Graph work = c->infer_at(shapes, dtypes, &zeros);
      GpuPlan plan = compile_gpu_plan(work, opts);
      c->exe = plan.exe;
      c->gpu = std::make_shared<const GpuExecutable>(std::move(plan), nd_detail::device_for(ctx, "block '" + block + "'"));
      for (const std::string& n : c->exe->input_names) {
        Source s;
        if (auto i = c->input_pos_.find(n); i != c->input_pos_.end()) s.input = i->second;
        else if (auto p = params.find(n); p != params.end()) s.param = p->second;
        else if (auto k = constants.find(n); k != constants.end()) s.value = k->second;
        else if (auto z = zeros.find(n); z != zeros.end()) s.value = z->second;
        else fail("gluon", "block '", block, "': compiled graph input '", n, "' has no source");
        // Constants (and zeros for unbound inputs) are uploaded once.
        c->device_values.push_back(s.input < 0 && !s.param ? NDArray(s.value, ctx) : NDArray());
        c->bind.push_back(std::move(s));
      }
      return c;
    }
    if (!probe_shapes.empty() && probe_shapes != shapes) {
      Graph at = c->infer_at(shapes, dtypes, nullptr);
      std::optional<Graph> probe;
      try {
        probe = c->infer_at(probe_shapes, dtypes, nullptr);
      } catch (const Error&) {  // the graph admits no other size: fixed shapes
      }
      c->dyn = probe ? DynamicGraph::create(at, *probe, opts) : DynamicGraph::fixed(opts);
      if (c->dyn->dynamic() && log_enabled("plan"))
        log_line("plan " + block + " batch rows: " +
                 (c->dyn->batch_splittable() ? "may run in row chunks" : "run whole: " + c->dyn->batch_split_refusal()));
      if (c->dyn->dynamic())
        for (size_t i = 0; i < shapes.size(); ++i) {
          c->shown_dynamic_.emplace_back(shapes[i].size(), false);
          for (size_t k = 0; k < shapes[i].size(); ++k) c->shown_dynamic_[i][k] = probe_shapes[i][k] != shapes[i][k];
        }
    } else {
      c->dyn = DynamicGraph::fixed(opts);
    }
    const Instance& first = c->instance(xs);
    c->exe = first.exe;
    c->bind = first.bind;
  } catch (const Error& e) {
    if (e.component() == "gluon") throw;
    fail("gluon", "hybridized block '", block, "': ", e.what());
  }
  return c;
}

const CachedGraph::Instance& CachedGraph::instance(const std::vector<NDArray>& xs) const {
  std::vector<std::vector<int64_t>> shapes;
  std::vector<DType> dtypes;
  for (const NDArray& x : xs) {
    shapes.push_back(x.shape());
    dtypes.push_back(x.dtype());
  }
  return instance(shapes, dtypes);
}

const CachedGraph::Instance& CachedGraph::instance(const std::vector<std::vector<int64_t>>& shapes,
                                                   const std::vector<DType>& dtypes) const {
  for (auto it = instances_.begin(); it != instances_.end(); ++it)
    if (it->shapes == shapes) {
      if (it != instances_.begin()) instances_.splice(instances_.begin(), instances_, it);
      return instances_.front();
    }
  Instance in;
  in.shapes = shapes;
  std::map<std::string, HostTensor> zeros;
  DynamicGraph::Instance di;
  auto t0 = std::chrono::steady_clock::now();
  double infer_ms = 0;
  try {
    Graph work = infer_at(shapes, dtypes, &zeros);
    infer_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    di = dyn->instantiate(work);
  } catch (const Error& e) {
    if (e.component() == "gluon") throw;
    fail("gluon", "hybridized block '", block, "' at input shapes ", signature_str(input_names, shapes, dtypes), ": ",
         e.what());
  }
  in.exe = di.exe;
  for (const std::string& n : in.exe->input_names) {
    Source s;
    if (auto i = input_pos_.find(n); i != input_pos_.end()) s.input = i->second;
    else if (auto p = params_.find(n); p != params_.end()) s.param = p->second;
    else if (auto k = constants_.find(n); k != constants_.end()) s.value = k->second;
    else if (auto z = zeros.find(n); z != zeros.end()) s.value = z->second;
    else if (auto w = amp::detail::cast_weight_of(n); w && params_.count(w->first)) {
      s.param = params_.at(w->first);
      s.cast = w->second;
    } else fail("gluon", "block '", block, "': compiled graph input '", n, "' has no source");
    in.bind.push_back(std::move(s));
  }
  ++instances_built_;
  if (log_enabled("plan")) {
    char line[160];
    std::snprintf(line, sizeof line, ": infer %.2f ms, passes %.2f ms, plan %.2f ms, %s %.2f ms", infer_ms, di.passes_ms,
                  di.plan_ms, di.compiled ? "compile" : "kernels", di.jit_ms);
    log_line("plan " + block + " " + signature_str(input_names, shapes, dtypes) + line);
  }
  if (di.compiled && on_compile) on_compile(di.reason, signature_str(input_names, shapes, dtypes, shown_dynamic_));
  instances_.push_front(std::move(in));
  while (instances_.size() > std::max<size_t>(1, max_sizes)) instances_.pop_back();
  return instances_.front();
}

namespace {
// MXNet's rule: a block's inputs and parameters share one context.
[[noreturn]] void context_error(const std::string& block, const std::string& what, Context has, Context runs) {
  fail("gluon", "hybridized block '", block, "': ", what, " lives on ", has.str(), " but the block runs on ", runs.str(),
       " (the context of its inputs); initialize the parameters there (initialize(init, ctx) or reset_ctx(ctx)) ",
       "and copy the inputs with as_in_context()");
}
}  // namespace

std::vector<const HostTensor*> CachedGraph::bound_inputs(const Instance& inst, const std::vector<NDArray>& xs,
                                                         std::vector<NDArray>& casts) const {
  // Parameters are read in place: Parameter::data() hands out an NDArray sharing the
  // parameter's tensor, which outlives this call.
  std::vector<const HostTensor*> ins;
  ins.reserve(inst.bind.size());
  casts.reserve(inst.bind.size());
  for (const Source& s : inst.bind) {
    if (s.input >= 0) ins.push_back(&xs[s.input].tensor());
    else if (s.param && s.cast != DType::unknown) {
      casts.push_back(s.param->data_as(s.cast));
      if (casts.back().on_device()) context_error(block, "parameter '" + s.param->name() + "'", casts.back().context(), ctx);
      ins.push_back(&casts.back().tensor());
    } else if (s.param) {
      const NDArray& v = s.param->data_ref();
      if (v.on_device()) context_error(block, "parameter '" + s.param->name() + "'", v.context(), ctx);
      ins.push_back(&v.tensor());
    }
    else ins.push_back(&s.value);
  }
  return ins;
}

std::vector<NDArray> CachedGraph::run(const std::vector<NDArray>& xs) const {
  if (gpu) return run_device(xs);
  if (xs.size() != input_names.size())
    fail("gluon", "block '", block, "' takes ", input_names.size(), " inputs, got ", xs.size());
  std::vector<NDArray> out;
  int64_t rows = 0;
  if (int chunks = batch_chunks(xs, rows); chunks > 1 && run_measured(xs, rows, chunks, out)) return out;
  return run_whole(xs);
}

std::vector<NDArray> CachedGraph::run_whole(const std::vector<NDArray>& xs) const {
  std::vector<NDArray> out;
  const Instance& inst = instance(xs);
  std::vector<NDArray> casts;  // AMP's cached weights, held for the call
  std::vector<const HostTensor*> ins = bound_inputs(inst, xs, casts);
  std::vector<HostTensor> res = inst.exe->run_ptrs(ins);
  out.reserve(res.size());
  for (HostTensor& t : res) out.emplace_back(std::move(t));
  return out;
}

std::vector<NDArray> CachedGraph::run_device(const std::vector<NDArray>& xs) const {
  std::vector<cuda::DevicePtr> in, out;
  in.reserve(bind.size());
  for (size_t i = 0; i < bind.size(); ++i) {
    const Source& s = bind[i];
    const NDArray& v = s.input >= 0 ? xs.at(s.input) : s.param ? s.param->data_ref() : device_values[i];
    if (v.context() != ctx)
      context_error(block, s.param ? "parameter '" + s.param->name() + "'" : "input " + std::to_string(s.input),
                    v.context(), ctx);
    in.push_back(v.device_data()->ptr);
  }
  std::vector<NDArray> res;
  for (int id : exe->output_buffers) {
    const BufferInfo& b = exe->buffers[id];
    auto d = nd_detail::device_empty(b.shape, b.dtype, ctx, "block '" + block + "'");
    out.push_back(d->ptr);
    res.push_back(NDArray::from_device(d));
  }
  try {
    gpu->run_device(in, out);
  } catch (const Error& e) {
    fail("gluon", "hybridized block '", block, "' on ", ctx.str(), ": ", e.what());
  }
  return res;
}

}  // namespace hgc::gluon
