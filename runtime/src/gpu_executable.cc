// GpuExecutable: the CPU Executable's step loop with device pointers (see gpu_executable.h).
#include "hgc/runtime/gpu_executable.h"

#include <algorithm>
#include <cstring>

#include "hgc/base/error.h"

namespace hgc {
namespace {

int chip_number(const std::string& chip) {
  if (chip.rfind("sm_", 0) != 0) fail("cuda", "'", chip, "' is no CUDA chip name (sm_80, sm_90, ...)");
  try {
    return std::stoi(chip.substr(3));
  } catch (const std::exception&) {
    fail("cuda", "'", chip, "' is no CUDA chip name (sm_80, sm_90, ...)");
  }
}

}  // namespace

std::string GpuExecutable::pick_chip(const std::vector<std::string>& chips, int cc) {
  std::string best;
  int best_n = -1;
  for (const std::string& c : chips) {
    int n = chip_number(c);
    if (n <= cc && n > best_n) best = c, best_n = n;
  }
  if (best.empty()) {
    std::string list;
    for (const std::string& c : chips) list += (list.empty() ? "" : ", ") + c;
    fail("cuda", "the plan has PTX for ", list.empty() ? "no chip" : list, ", all newer than the device (sm_", cc,
         "); compile for its chip");
  }
  return best;
}

GpuExecutable::GpuExecutable(GpuPlan plan, std::shared_ptr<cuda::Device> device)
    : plan_(std::move(plan)), dev_(std::move(device)) {
  if (!plan_.exe) fail("cuda", "empty GPU plan");
  for (size_t i = 0; i < plan_.exe->steps.size(); ++i) {
    const Step& s = plan_.exe->steps[i];
    if (!s.call.empty() && s.call.kind != "fully_connected" && s.call.kind != "matmul" && s.call.kind != "batch_matmul" &&
        !plan_.library_kernels.count(i))
      fail("cuda", "step ", s.label, ": the library call '", s.call.kind,
           "' has no GPU implementation (cuBLAS covers fully_connected, matmul and batch_matmul; convolution needs "
           "its generated kernel in the plan)");
    if (auto it = plan_.library_kernels.find(i); it != plan_.library_kernels.end() && !plan_.find(it->second))
      fail("cuda", "step ", s.label, ": kernel ", it->second, " has no GPU code in the plan");
    if (!s.kernel_name.empty() && !plan_.find(s.kernel_name))
      fail("cuda", "step ", s.label, ": kernel ", s.kernel_name, " has no GPU code in the plan");
  }
  if (!dev_) fail("cuda", "no device");
  chip_ = pick_chip(plan_.chips, dev_->compute_capability());
  std::map<std::string, std::shared_ptr<cuda::Module>> by_module;
  for (const GpuKernel& k : plan_.kernels) {
    Kernel& lk = kernels_[k.name];
    lk.code = &k;
    for (const GpuLaunch& l : k.launches) {
      auto it = l.ptx.find(chip_);
      if (it == l.ptx.end()) fail("cuda", "kernel ", k.name, ": no PTX for ", chip_);
      auto& m = by_module[l.module];
      if (!m) {
        m = dev_->load_ptx(it->second, l.module);
        modules_.push_back(m);
      }
      lk.functions.push_back(m->function(l.entry));
    }
  }
  for (const HostTensor& t : plan_.exe->constants) {
    cuda::DevicePtr p = dev_->alloc(t.nbytes());
    dev_->upload(p, t.raw(), t.nbytes());
    constants_.push_back(p);
  }
}

GpuExecutable::~GpuExecutable() {
  for (cuda::DevicePtr p : constants_) dev_->free(p);
}

void GpuExecutable::run_kernel(const std::string& name, const std::vector<int>& args,
                               const std::vector<cuda::DevicePtr>& ptr) const {
  const Kernel& k = kernels_.at(name);
  std::vector<cuda::DevicePtr> a, temps;
  for (int id : args) a.push_back(ptr[id]);
  for (int64_t bytes : k.code->temp_bytes) temps.push_back(dev_->alloc(static_cast<std::size_t>(bytes)));
  for (size_t i = 0; i < k.code->launches.size(); ++i) {
    const GpuLaunch& l = k.code->launches[i];
    std::vector<uint64_t> slots = cuda::pack_params(l, a, temps);
    std::vector<void*> params(slots.size());
    for (size_t j = 0; j < slots.size(); ++j) params[j] = &slots[j];
    dev_->launch(k.functions[i], l.grid, l.block, params);
  }
  // Stream order: a later allocation that reuses these blocks runs after these launches.
  for (cuda::DevicePtr t : temps) dev_->free(t);
}

void GpuExecutable::run_library(size_t step, const Step& s, const std::vector<cuda::DevicePtr>& ptr) const {
  const LibraryCall& c = s.call;
  if (auto it = plan_.library_kernels.find(step); it != plan_.library_kernels.end()) {
    std::vector<int> ids = s.args;
    if (!c.operands.empty()) {
      ids.clear();
      for (int k : c.operands) ids.push_back(s.args.at(k));
    }
    run_kernel(it->second, ids, ptr);
    return;
  }
  std::vector<cuda::DevicePtr> p;
  if (c.operands.empty()) {
    for (int id : s.args) p.push_back(ptr[id]);
  } else {
    for (int k : c.operands) p.push_back(ptr[s.args.at(k)]);
  }
  const std::vector<int64_t>& q = c.params;
  if (c.kind == "fully_connected") {  // y[M,N] = x[M,K] . w[N,K]^T (+ b)
    dev_->sgemm(false, true, q[0], q[1], q[2], p[0], p[1], p.back());
    if (q[3]) dev_->add_row_bias(p.back(), p[2], q[0], q[1]);
  } else if (c.kind == "matmul") {
    dev_->sgemm(q[3] != 0, q[4] != 0, q[0], q[1], q[2], p[0], p[1], p[2]);
  } else if (c.kind == "batch_matmul") {
    dev_->sgemm(q[4] != 0, q[5] != 0, q[1], q[2], q[3], p[0], p[1], p[2], q[0]);
  } else {
    fail("cuda", "step ", s.label, ": library call '", c.kind, "' has no GPU implementation");
  }
}

void GpuExecutable::run_step(size_t step, const Step& s, const std::vector<cuda::DevicePtr>& ptr) const {
  if (!s.call.empty()) {
    run_library(step, s, ptr);
    if (!s.kernel_name.empty()) run_kernel(s.kernel_name, s.epilogue_args, ptr);  // in place on the output
  } else if (!s.kernel_name.empty()) {
    run_kernel(s.kernel_name, s.args, ptr);
  }
}

std::vector<HostTensor> GpuExecutable::run(const std::vector<HostTensor>& inputs) const {
  const Executable& e = *plan_.exe;
  if (inputs.size() != e.input_buffers.size())
    fail("runtime", "executable takes ", e.input_buffers.size(), " inputs, got ", inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const BufferInfo& b = e.buffers[e.input_buffers[i]];
    if (inputs[i].shape() != b.shape || inputs[i].dtype() != b.dtype)
      fail("runtime", "input '", e.input_names[i], "' is ", inputs[i].describe(), ", compiled for another shape or dtype");
  }
  std::vector<cuda::DevicePtr> owned;
  auto take = [&](std::size_t bytes) {
    owned.push_back(dev_->alloc(std::max<std::size_t>(bytes, 1)));
    return owned.back();
  };
  try {
    std::vector<cuda::DevicePtr> in, out;
    for (const HostTensor& t : inputs) {
      in.push_back(take(t.nbytes()));
      dev_->upload(in.back(), t.raw(), t.nbytes());
    }
    for (int id : e.output_buffers) out.push_back(take(e.buffers[id].nbytes()));
    run_device(in, out);
    std::vector<HostTensor> result;
    for (size_t k = 0; k < e.output_buffers.size(); ++k) {
      const BufferInfo& b = e.buffers[e.output_buffers[k]];
      result.emplace_back(b.dtype, b.shape);
      dev_->download(result.back().raw(), out[k], result.back().nbytes());
    }
    for (cuda::DevicePtr p : owned) dev_->free(p);
    return result;
  } catch (...) {
    dev_->synchronize();
    for (cuda::DevicePtr p : owned) dev_->free(p);
    throw;
  }
}

void GpuExecutable::run_device(const std::vector<cuda::DevicePtr>& in, const std::vector<cuda::DevicePtr>& out) const {
  const Executable& e = *plan_.exe;
  if (in.size() != e.input_buffers.size() || out.size() != e.output_buffers.size())
    fail("runtime", "executable takes ", e.input_buffers.size(), " inputs and ", e.output_buffers.size(),
         " outputs, got ", in.size(), " and ", out.size());
  cuda::DevicePtr arena = dev_->alloc(static_cast<std::size_t>(std::max<int64_t>(e.arena_bytes, 1)));
  try {
    std::vector<cuda::DevicePtr> ptr(e.buffers.size(), 0);
    auto resolve = [&](int id, auto& self) -> cuda::DevicePtr {
      if (ptr[id]) return ptr[id];
      const BufferInfo& b = e.buffers[id];
      switch (b.kind) {
        case BufferKind::Input: ptr[id] = in[b.index]; break;
        case BufferKind::Constant: ptr[id] = constants_[b.index]; break;
        case BufferKind::Arena: ptr[id] = arena + static_cast<cuda::DevicePtr>(b.offset); break;
        case BufferKind::Output: ptr[id] = out[b.index]; break;
        case BufferKind::View: ptr[id] = self(b.view_of, self); break;
      }
      return ptr[id];
    };
    for (size_t id = 0; id < e.buffers.size(); ++id) resolve(static_cast<int>(id), resolve);
    // Like the CPU executable: an output no step writes (an extra output of a view node)
    // reads zeros, not a recycled block's bytes.
    std::vector<bool> touched(e.buffers.size(), false);
    for (const Step& st : e.steps)
      for (int id : st.args) touched[id] = true;
    for (size_t k = 0; k < e.output_buffers.size(); ++k) {
      const BufferInfo& b = e.buffers[e.output_buffers[k]];
      if (b.kind == BufferKind::Output && !touched[e.output_buffers[k]] && b.nbytes()) dev_->zero(out[k], b.nbytes());
    }
    for (size_t i = 0; i < e.steps.size(); ++i) run_step(i, e.steps[i], ptr);
    // A head that is an input, constant or a view of one was written by no step: its root's bytes.
    for (size_t k = 0; k < e.output_buffers.size(); ++k) {
      cuda::DevicePtr src = ptr[e.output_buffers[k]];
      std::size_t n = e.buffers[e.output_buffers[k]].nbytes();
      if (src != out[k] && n) dev_->copy(out[k], src, n);
    }
  } catch (...) {
    dev_->synchronize();
    dev_->free(arena);
    throw;
  }
  dev_->free(arena);  // stream order: a later user of the block runs after these steps
}

std::vector<HostTensor> GpuExecutable::run(const std::map<std::string, HostTensor>& inputs) const {
  const Executable& e = *plan_.exe;
  std::vector<HostTensor> v(e.input_names.size());
  for (size_t i = 0; i < e.input_names.size(); ++i) {
    auto it = inputs.find(e.input_names[i]);
    if (it == inputs.end()) fail("runtime", "input '", e.input_names[i], "' was not given");
    v[i] = it->second;
  }
  for (const auto& [name, t] : inputs)
    if (e.input_index(name) < 0 && !e.ignored_inputs.count(name))
      fail("runtime", "the executable has no input named '", name, "'");
  return run(v);
}

}  // namespace hgc
