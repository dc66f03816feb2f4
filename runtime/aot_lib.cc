// The C API of libraries made by `hgc compile --emit=lib` (static library hgc_aot_lib).
// `hgc compile` archives or links it with the model's kernel object and a generated source
// providing the symbols below (as for programs, runtime/aot_main.cc) plus the output names,
// and writes the header declaring these functions. No MLIR/LLVM here.
//
// The plan is loaded once, on the first call of any function (thread-safe); model_run may
// then be called from several threads at once: each call has its own arena and outputs.
// Errors never throw across the C boundary: functions return an error value and
// model_last_error() (per thread) says why.
#include <cstdint>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "hgc/base/error.h"
#include "hgc/runtime/dynamic_plan.h"
#include "hgc/runtime/plan_io.h"
#include "hgc/runtime/thread_pool.h"

#include "aot_symbols.h"

namespace {

thread_local std::string t_error;

struct Loaded {
  std::shared_ptr<hgc::Executable> exe;
  std::string error;  // why loading failed, else empty
};

const Loaded& loaded() {
  static const Loaded l = [] {
    Loaded r;
    try {
      std::map<std::string, hgc::PackedKernel> table;
      for (int k = 0; k < hgc_aot_kernel_count; ++k) table[hgc_aot_kernels[k].name] = hgc_aot_kernels[k].fn;
      const std::string_view blob(hgc_plan_blob, static_cast<size_t>(hgc_plan_blob_end - hgc_plan_blob));
      r.exe = hgc::load_plan(blob, "the embedded plan", [&](const std::string& name) {
        auto it = table.find(name);
        return it == table.end() ? nullptr : it->second;
      });
    } catch (const std::exception& e) {
      r.error = std::string("loading the model failed: ") + e.what();
    }
    return r;
  }();
  return l;
}

// The plan at this thread's dynamic dims (model_set_dynamic_dims); null: the compiled sizes.
thread_local std::shared_ptr<const hgc::Executable> t_sized;

const hgc::Executable* exe_or_error() {
  const Loaded& l = loaded();
  if (!l.exe) t_error = l.error;
  if (t_sized) return t_sized.get();
  return l.exe.get();
}

const hgc::DynamicPlan* dynamic_or_error(int j) {
  const Loaded& l = loaded();
  if (!l.exe) {
    t_error = l.error;
    return nullptr;
  }
  const hgc::DynamicPlan* d = l.exe->dynamic.get();
  int n = d ? static_cast<int>(d->spec().vars.size()) : 0;
  if (j < 0 || j >= n) {
    t_error = "dynamic dim index " + std::to_string(j) + " is out of range (the model has " + std::to_string(n) + ")";
    return nullptr;
  }
  return d;
}

const hgc::BufferInfo* buffer(bool input, int i) {
  const hgc::Executable* e = exe_or_error();
  if (!e) return nullptr;
  const std::vector<int>& ids = input ? e->input_buffers : e->output_buffers;
  if (i < 0 || i >= static_cast<int>(ids.size())) {
    t_error = std::string(input ? "input" : "output") + " index " + std::to_string(i) + " is out of range (the model has " +
              std::to_string(ids.size()) + ")";
    return nullptr;
  }
  return &e->buffers[ids[i]];
}

int shape_of(bool input, int i, int64_t* dims) {
  const hgc::BufferInfo* b = buffer(input, i);
  if (!b) return -1;
  if (dims)
    for (size_t k = 0; k < b->shape.size(); ++k) dims[k] = b->shape[k];
  return static_cast<int>(b->shape.size());
}

const char* dtype_of(bool input, int i) {
  const hgc::BufferInfo* b = buffer(input, i);
  if (!b) return nullptr;
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (int d = 0; d <= static_cast<int>(hgc::DType::bf16); ++d) v.push_back(hgc::dtype_name(static_cast<hgc::DType>(d)));
    return v;
  }();
  int d = static_cast<int>(b->dtype);
  return d >= 0 && d < static_cast<int>(names.size()) ? names[d].c_str() : "unknown";
}

}  // namespace

extern "C" {

const char* model_name(void) { return hgc_model_name; }
const char* model_last_error(void) { return t_error.c_str(); }

int model_num_inputs(void) {
  const hgc::Executable* e = exe_or_error();
  return e ? static_cast<int>(e->input_names.size()) : -1;
}
int model_num_outputs(void) {
  const hgc::Executable* e = exe_or_error();
  return e ? static_cast<int>(e->output_buffers.size()) : -1;
}

const char* model_input_name(int i) {
  const hgc::Executable* e = exe_or_error();
  return e && buffer(true, i) ? e->input_names[i].c_str() : nullptr;
}
const char* model_output_name(int i) {
  if (!buffer(false, i)) return nullptr;
  return i < hgc_output_name_count ? hgc_output_names[i] : "output";
}

int model_input_ndim(int i) { return shape_of(true, i, nullptr); }
int model_output_ndim(int i) { return shape_of(false, i, nullptr); }
int model_input_shape(int i, int64_t* dims) { return shape_of(true, i, dims); }
int model_output_shape(int i, int64_t* dims) { return shape_of(false, i, dims); }
const char* model_input_dtype(int i) { return dtype_of(true, i); }
const char* model_output_dtype(int i) { return dtype_of(false, i); }

int64_t model_input_size(int i) {
  const hgc::BufferInfo* b = buffer(true, i);
  return b ? static_cast<int64_t>(b->nbytes()) : -1;
}
int64_t model_output_size(int i) {
  const hgc::BufferInfo* b = buffer(false, i);
  return b ? static_cast<int64_t>(b->nbytes()) : -1;
}

int model_num_dynamic_dims(void) {
  const Loaded& l = loaded();
  if (!l.exe) {
    t_error = l.error;
    return -1;
  }
  return l.exe->dynamic ? static_cast<int>(l.exe->dynamic->spec().vars.size()) : 0;
}

const char* model_dynamic_dim_name(int j) {
  static std::mutex mu;
  static std::map<int, std::string> names;  // stable storage for the returned strings
  const hgc::DynamicPlan* d = dynamic_or_error(j);
  if (!d) return nullptr;
  std::lock_guard<std::mutex> lock(mu);
  auto [it, fresh] = names.emplace(j, "");
  if (fresh) it->second = d->var_name(j);
  return it->second.c_str();
}

int64_t model_dynamic_dim(int j) {
  const hgc::DynamicPlan* d = dynamic_or_error(j);
  if (!d) return -1;
  const auto& [in, axis] = d->spec().vars[j].at[0];
  const hgc::Executable* e = exe_or_error();
  return e->buffers[e->input_buffers[in]].shape[axis];
}

int model_set_dynamic_dims(const int64_t* sizes) {
  const hgc::DynamicPlan* d = dynamic_or_error(0);
  if (!d) return model_num_dynamic_dims() == 0 ? 3 : 1;
  if (!sizes) {
    t_error = "model_set_dynamic_dims: sizes must not be null";
    return 3;
  }
  try {
    const hgc::Executable& base = *loaded().exe;
    std::vector<std::vector<int64_t>> shapes;
    for (int id : base.input_buffers) shapes.push_back(base.buffers[id].shape);
    for (size_t v = 0; v < d->spec().vars.size(); ++v)
      for (const auto& [in, axis] : d->spec().vars[v].at) shapes[in][axis] = sizes[v];
    std::vector<int64_t> values = d->bind(shapes);
    t_sized = values == d->base_values() ? nullptr : d->at(values);
    return 0;
  } catch (const hgc::Error& err) {
    t_error = std::string("model_set_dynamic_dims: ") + err.what();
    return 3;
  } catch (const std::exception& err) {
    t_error = std::string("internal error: ") + err.what();
    return 2;
  }
}

int model_set_num_threads(int n) {
  if (hgc::ThreadPool::configure(n)) return 0;
  t_error = n < 1 ? "model_set_num_threads: the count must be at least 1"
                  : "model_set_num_threads: the thread pool is already running";
  return 3;
}

// 0: done; 1: the model failed to load or run (hgc::Error); 2: internal error; 3: bad argument.
int model_run(const float* const* inputs, float* const* outputs) {
  const hgc::Executable* e = exe_or_error();
  if (!e) return 1;
  try {
    if (!outputs || (!inputs && !e->input_buffers.empty())) {
      t_error = "model_run: inputs and outputs must not be null";
      return 3;
    }
    std::vector<hgc::HostTensor> in;
    for (size_t i = 0; i < e->input_buffers.size(); ++i) {
      const hgc::BufferInfo& b = e->buffers[e->input_buffers[i]];
      if (!inputs[i]) {
        t_error = "model_run: input " + std::to_string(i) + " ('" + e->input_names[i] + "') is null";
        return 3;
      }
      in.emplace_back(b.dtype, b.shape);
      std::memcpy(in.back().raw(), inputs[i], b.nbytes());
    }
    for (size_t k = 0; k < e->output_buffers.size(); ++k)
      if (!outputs[k]) {
        t_error = "model_run: output " + std::to_string(k) + " is null";
        return 3;
      }
    std::vector<hgc::HostTensor> out = e->run(in);
    for (size_t k = 0; k < out.size(); ++k) std::memcpy(outputs[k], out[k].raw(), out[k].nbytes());
    return 0;
  } catch (const hgc::Error& err) {
    t_error = err.what();
    return 1;
  } catch (const std::exception& err) {
    t_error = std::string("internal error: ") + err.what();
    return 2;
  }
}

}  // extern "C"
