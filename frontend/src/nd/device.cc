// NDArrays on gpu(i) contexts: device memory of the CUDA runtime (runtime/cuda.h, the driver
// dlopen'ed at first use), and operations on it: each op a one-node GpuPlan run by a
// GpuExecutable on the arrays' blocks. One cuda::Device (context + stream) per ordinal, opened
// at first use and kept for the process: the blocks of every array on that GPU come from its
// caching allocator, and every op runs on its one stream (so stream order is program order).
#include <algorithm>
#include <map>
#include <mutex>

#include "hgc/compiler/gpu_imperative.h"
#include "hgc/base/error.h"
#include "hgc/runtime/cuda.h"
#include "hgc/runtime/gpu_executable.h"
#include "nd/detail.h"

namespace hgc {

int num_gpus() { return cuda::device_count(); }

namespace nd_detail {
namespace {

std::mutex& devices_mutex() {
  static std::mutex mu;
  return mu;
}
// Never destroyed: arrays freed during exit must still find their device.
std::map<int, std::shared_ptr<cuda::Device>>& open_devices() {
  static auto& devices = *new std::map<int, std::shared_ptr<cuda::Device>>;
  return devices;
}

std::shared_ptr<cuda::Device> device_of(Context ctx, const std::string& what) {
  if (ctx.device_type != DeviceType::gpu || ctx.device_id < 0)
    fail("ndarray", what, ": context ", ctx.str(), " is not a device context");
  auto& devices = open_devices();
  std::lock_guard<std::mutex> lock(devices_mutex());
  auto it = devices.find(ctx.device_id);
  if (it != devices.end()) return it->second;
  if (!cuda::available())
    fail("ndarray", what, ": context ", ctx.str(), " is not available: ", cuda::unavailable_reason());
  std::shared_ptr<cuda::Device> d;
  try {
    d = cuda::Device::open(ctx.device_id);
  } catch (const Error& e) {
    fail("ndarray", what, ": context ", ctx.str(), " is not available: ", e.what());
  }
  devices[ctx.device_id] = d;
  return d;
}

std::shared_ptr<DeviceData> allocate(const std::vector<int64_t>& shape, DType dtype, std::size_t nbytes, Context ctx,
                                     const std::string& what) {
  std::shared_ptr<cuda::Device> dev = device_of(ctx, what);
  auto d = std::make_shared<DeviceData>();
  d->shape = shape;
  d->dtype = dtype;
  d->device_id = ctx.device_id;
  d->nbytes = nbytes;
  // At least one byte: every array owns a distinct block, even an empty one.
  d->ptr = dev->alloc(std::max<std::size_t>(nbytes, 1));
  d->owner = std::shared_ptr<void>(reinterpret_cast<void*>(d->ptr),
                                   [dev](void* p) { dev->free(reinterpret_cast<cuda::DevicePtr>(p)); });
  return d;
}

std::shared_ptr<cuda::Device> device_of(const DeviceData& d) { return device_of(gpu(d.device_id), "device array"); }

// A plan loaded on one device (its PTX modules), kept for the process like the plan itself.
std::shared_ptr<const GpuExecutable> executable(const std::shared_ptr<const GpuPlan>& plan, Context ctx,
                                                const std::string& what) {
  struct Loaded {
    std::shared_ptr<const GpuPlan> plan;  // keeps the key's address from being reused
    std::shared_ptr<const GpuExecutable> exe;
  };
  static std::mutex mu;
  static auto& loaded = *new std::map<std::pair<int, const GpuPlan*>, Loaded>;
  std::pair<int, const GpuPlan*> key{ctx.device_id, plan.get()};
  {
    std::lock_guard<std::mutex> lock(mu);
    if (auto it = loaded.find(key); it != loaded.end()) return it->second.exe;
  }
  auto exe = std::make_shared<const GpuExecutable>(*plan, device_of(ctx, what));
  std::lock_guard<std::mutex> lock(mu);
  return loaded.emplace(key, Loaded{plan, exe}).first->second.exe;
}

}  // namespace

std::shared_ptr<cuda::Device> device_for(Context ctx, const std::string& what) { return device_of(ctx, what); }

// nd::waitall: every device opened so far finishes its queued work.
void synchronize_devices() {
  std::vector<std::shared_ptr<cuda::Device>> devs;
  {
    std::lock_guard<std::mutex> lock(devices_mutex());
    for (auto& [id, d] : open_devices()) devs.push_back(d);
  }
  for (auto& d : devs) d->synchronize();
}

std::shared_ptr<const DeviceData> device_empty(const std::vector<int64_t>& shape, DType dtype, Context ctx,
                                               const std::string& what) {
  return allocate(shape, dtype, checked_nbytes(dtype, shape, "ndarray", what), ctx, what);
}

std::shared_ptr<const DeviceData> device_rows(const DeviceData& d, int64_t b, int64_t e) {
  auto v = std::make_shared<DeviceData>(d);
  std::size_t row = d.shape.empty() || d.shape[0] == 0 ? 0 : d.nbytes / static_cast<std::size_t>(d.shape[0]);
  v->shape[0] = e - b;
  v->ptr = d.ptr + row * static_cast<std::size_t>(b);
  v->nbytes = row * static_cast<std::size_t>(e - b);
  return v;  // `owner` shared: the block lives while any view does
}

std::vector<NDArray> device_call(const std::string& op, const AttrMap& attrs, const std::vector<NDArray>& inputs,
                                 Context ctx) {
  std::vector<std::vector<int64_t>> shapes;
  std::vector<DType> dtypes;
  for (const NDArray& x : inputs) {
    shapes.push_back(x.shape());
    dtypes.push_back(x.dtype());
  }
  std::shared_ptr<const GpuExecutable> exe;
  try {
    exe = executable(imperative_gpu_plan(op, attrs, shapes, dtypes), ctx, op);
  } catch (const Error& e) {
    fail("ndarray", op, " on ", ctx.str(), ": ", e.what());
  }
  const Executable& plan = exe->plan();
  // The plan's inputs by name ("in<i>"): an input the op does not read is not among them.
  std::vector<cuda::DevicePtr> in, out;
  for (const std::string& n : plan.input_names) in.push_back(inputs.at(std::stoul(n.substr(2))).device_data()->ptr);
  std::vector<NDArray> result;
  for (int id : plan.output_buffers) {
    const BufferInfo& b = plan.buffers[id];
    auto d = device_empty(b.shape, b.dtype, ctx, op);
    out.push_back(d->ptr);
    result.push_back(NDArray::from_device(d));
  }
  try {
    exe->run_device(in, out);
  } catch (const Error& e) {
    fail("ndarray", op, " on ", ctx.str(), ": ", e.what());
  }
  return result;
}

void check_context(Context ctx, const std::string& what) {
  if (ctx.device_type == DeviceType::cpu) return;
  device_of(ctx, what);
}

std::shared_ptr<const DeviceData> to_device(const HostTensor& t, Context ctx, const std::string& what) {
  auto d = allocate(t.shape(), t.dtype(), t.nbytes(), ctx, what);
  if (t.nbytes()) device_of(*d)->upload(d->ptr, t.raw(), t.nbytes());
  return d;
}

HostTensor to_host(const DeviceData& d) {
  HostTensor t(d.dtype, d.shape);
  if (d.nbytes) device_of(d)->download(t.raw(), d.ptr, d.nbytes);  // synchronous: the stream's work is done
  return t;
}

std::shared_ptr<const DeviceData> device_copy(const DeviceData& d, Context src, Context ctx, const std::string& what) {
  if (src != ctx) return to_device(to_host(d), ctx, what);  // between GPUs: through the host
  auto c = allocate(d.shape, d.dtype, d.nbytes, ctx, what);
  if (d.nbytes) device_of(*c)->copy(c->ptr, d.ptr, d.nbytes);
  return c;
}

void device_write(const NDArray& dst, const NDArray& value, const std::string& what) {
  std::size_t n = dst.on_device() ? dst.device_data()->nbytes : dst.tensor().nbytes();
  // Converted where the value lives (a Cast on its cpu or gpu context), then bytes.
  NDArray src = value.dtype() == dst.dtype() ? value : value.astype(dst.dtype());
  if (!n) return;
  if (!dst.on_device()) {
    device_of(*src.device_data())->download(dst.data_ptr(), src.device_data()->ptr, n);
  } else if (!src.on_device()) {
    device_of(*dst.device_data())->upload(dst.device_data()->ptr, src.data_ptr(), n);
  } else if (src.context() == dst.context()) {
    device_of(*dst.device_data())->copy(dst.device_data()->ptr, src.device_data()->ptr, n);
  } else {
    HostTensor h = to_host(*src.device_data());
    device_of(*dst.device_data())->upload(dst.device_data()->ptr, h.raw(), n);
  }
}

}  // namespace nd_detail
}  // namespace hgc
