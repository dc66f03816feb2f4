#include "gluon/cached_graph.h"

#include <set>

#include "hgc/compiler/gpu_imperative.h"
#include "hgc/base/error.h"
#include "hgc/ir/infer.h"
#include "nd/detail.h"

namespace hgc::gluon {

std::vector<std::string> default_input_names(size_t n) {
  if (n == 1) return {"data"};
  std::vector<std::string> r;
  for (size_t i = 0; i < n; ++i) r.push_back("data" + std::to_string(i));
  return r;
}

std::shared_ptr<CachedGraph> CachedGraph::build(const Graph& g, const std::vector<std::string>& input_names,
                                                const std::vector<NDArray>& xs,
                                                const std::map<std::string, std::shared_ptr<Parameter>>& params,
                                                const std::map<std::string, HostTensor>& constants,
                                                const CompileOptions& opts, const std::string& block,
                                                Context ctx) {
  auto c = std::make_shared<CachedGraph>();
  c->graph = g;
  c->input_names = input_names;
  c->block = block;
  c->ctx = ctx;
  if (xs.size() != input_names.size())
    fail("gluon", "block '", block, "' takes ", input_names.size(), " inputs, got ", xs.size());
  Graph work = g;
  InferOptions o;
  o.require_complete = false;
  std::map<std::string, int> input_pos;
  std::set<std::string> vars;  // inputs the graph does not use are left out (gradient graphs)
  for (int id : work.variable_ids()) vars.insert(work.nodes[id].name);
  for (size_t i = 0; i < xs.size(); ++i) {
    if (!vars.count(input_names[i])) continue;
    o.shapes[input_names[i]] = Shape(xs[i].shape());
    o.dtypes[input_names[i]] = xs[i].dtype();
    input_pos[input_names[i]] = static_cast<int>(i);
  }
  for (int id : work.variable_ids()) {
    const std::string& n = work.nodes[id].name;
    if (input_pos.count(n)) continue;
    if (auto p = params.find(n); p != params.end()) {
      if (!p->second->initialized()) p->second->data();  // throws the uninitialized error
      o.shapes[n] = Shape(p->second->shape());
      o.dtypes[n] = p->second->dtype();
    } else if (auto k = constants.find(n); k != constants.end()) {
      o.shapes[n] = Shape(k->second.shape());
      o.dtypes[n] = k->second.dtype();
    }
  }
  try {
    infer(work, o);
    // Unbound variables (labels): zeros of the inferred shape.
    std::map<std::string, HostTensor> zeros;
    for (int id : work.variable_ids()) {
      const Node& n = work.nodes[id];
      if (o.shapes.count(n.name)) continue;
      if (!n.out_shapes[0].known())
        fail("gluon", "block '", block, "': graph variable '", n.name,
             "' is neither an input nor a parameter, and its shape cannot be inferred");
      zeros[n.name] = HostTensor(n.out_dtypes[0], n.out_shapes[0].dims());
      o.shapes[n.name] = n.out_shapes[0];
      o.dtypes[n.name] = n.out_dtypes[0];
    }
    o.require_complete = true;
    infer(work, o);
    if (ctx.device_type == DeviceType::gpu) {
      GpuPlan plan = compile_gpu_plan(work, opts);
      c->exe = plan.exe;
      c->gpu = std::make_shared<const GpuExecutable>(std::move(plan), nd_detail::device_for(ctx, "block '" + block + "'"));
    } else {
      c->exe = compile(work, opts);
    }
    for (const std::string& n : c->exe->input_names) {
      Source s;
      if (auto i = input_pos.find(n); i != input_pos.end()) s.input = i->second;
      else if (auto p = params.find(n); p != params.end()) s.param = p->second;
      else if (auto k = constants.find(n); k != constants.end()) s.value = k->second;
      else if (auto z = zeros.find(n); z != zeros.end()) s.value = z->second;
      else fail("gluon", "block '", block, "': compiled graph input '", n, "' has no source");
      // Constants (and zeros for unbound inputs) are uploaded once.
      c->device_values.push_back(c->gpu && s.input < 0 && !s.param ? NDArray(s.value, ctx) : NDArray());
      c->bind.push_back(std::move(s));
    }
  } catch (const Error& e) {
    if (e.component() == "gluon") throw;
    fail("gluon", "hybridized block '", block, "': ", e.what());
  }
  return c;
}

namespace {
// MXNet's rule: a block's inputs and parameters share one context.
[[noreturn]] void context_error(const std::string& block, const std::string& what, Context has, Context runs) {
  fail("gluon", "hybridized block '", block, "': ", what, " lives on ", has.str(), " but the block runs on ", runs.str(),
       " (the context of its inputs); initialize the parameters there (initialize(init, ctx) or reset_ctx(ctx)) ",
       "and copy the inputs with as_in_context()");
}
}  // namespace

std::vector<NDArray> CachedGraph::run(const std::vector<NDArray>& xs) const {
  if (gpu) return run_device(xs);
  // Parameters are read in place: Parameter::data() hands out an NDArray sharing the
  // parameter's tensor, which outlives this call.
  std::vector<const HostTensor*> ins;
  ins.reserve(bind.size());
  for (const Source& s : bind) {
    if (s.input >= 0) ins.push_back(&xs[s.input].tensor());
    else if (s.param) {
      const NDArray& v = s.param->data_ref();
      if (v.on_device()) context_error(block, "parameter '" + s.param->name() + "'", v.context(), ctx);
      ins.push_back(&v.tensor());
    }
    else ins.push_back(&s.value);
  }
  std::vector<NDArray> out;
  std::vector<HostTensor> res = exe->run_ptrs(ins);
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
