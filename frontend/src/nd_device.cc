// NDArrays on gpu(i) contexts: device memory of the CUDA runtime (runtime/cuda.h, the driver
// dlopen'ed at first use). Only bytes move here; every operation runs on cpu (ndarray.h).
// One cuda::Device (context + stream) per ordinal, opened at first use and kept for the
// process: the blocks of every array on that GPU come from its caching allocator.
#include <algorithm>
#include <map>
#include <mutex>

#include "hgc/ir/error.h"
#include "hgc/runtime/cuda.h"
#include "nd_detail.h"

namespace hgc {

int num_gpus() { return cuda::device_count(); }

namespace nd_detail {
namespace {

std::shared_ptr<cuda::Device> device_of(Context ctx, const std::string& what) {
  if (ctx.device_type != DeviceType::gpu || ctx.device_id < 0)
    fail("ndarray", what, ": context ", ctx.str(), " is not a device context");
  static std::mutex mu;
  // Never destroyed: arrays freed during exit must still find their device.
  static auto& devices = *new std::map<int, std::shared_ptr<cuda::Device>>;
  std::lock_guard<std::mutex> lock(mu);
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

}  // namespace

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

void device_write(const NDArray& dst, const NDArray& src, const std::string& what) {
  std::size_t n = dst.on_device() ? dst.device_data()->nbytes : dst.tensor().nbytes();
  if (src.dtype() != dst.dtype())
    fail("ndarray", what, ": the value is ", dtype_name(src.dtype()), " on ", src.context().str(),
         ", the destination ", dtype_name(dst.dtype()), " on ", dst.context().str(),
         "; converting needs cpu (astype there first)");
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
