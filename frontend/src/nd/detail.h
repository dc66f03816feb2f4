// Helpers shared by the NDArray sources (not installed): the one road to compute (call ->
// hgc::invoke_typed), typed fills, and writes into an existing buffer.
//
//   NDArray y = nd_detail::call("broadcast_add", {}, {a, b});
//   nd_detail::write_into(x, y, "x += y");   // y's values into x's own storage
#pragma once
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "hgc/frontend/nd/ndarray.h"
#include "hgc/base/attrs.h"
#include "hgc/runtime/cuda.h"

namespace hgc::nd_detail {

// Runs one registered op on the inputs' tensors; the result lives on the inputs' context.
// When an input is traced (hybridize, symbols), the op is recorded instead: a graph node
// named `name` (scoped by the traced block's prefix; empty: "<op>N").
std::vector<NDArray> call_all(const std::string& op, const AttrMap& attrs, const std::vector<NDArray>& inputs,
                              const std::string& name = "");
NDArray call(const std::string& op, const AttrMap& attrs, const std::vector<NDArray>& inputs,
             const std::string& name = "");

// Throws unless `ctx` can hold data: cpu, or gpu(i) with a CUDA device i (the hgc::Error
// names the context and the driver's reason); `what` names the operation.
void check_context(Context ctx, const std::string& what);

// ---- gpu contexts (nd_device.cc): bytes between host and the CUDA runtime's devices ----
// `t`'s bytes in a new block on ctx's device.
std::shared_ptr<const DeviceData> to_device(const HostTensor& t, Context ctx, const std::string& what);
// A new host tensor with `d`'s bytes.
HostTensor to_host(const DeviceData& d);
// A copy of `d` on ctx's device (device to device on one GPU, through the host between two).
std::shared_ptr<const DeviceData> device_copy(const DeviceData& d, Context src, Context ctx, const std::string& what);
// A new, uninitialized block for an array of this shape and dtype on ctx's device.
std::shared_ptr<const DeviceData> device_empty(const std::vector<int64_t>& shape, DType dtype, Context ctx,
                                               const std::string& what);
// Rows [b, e) of `d` along axis 0: the same block (a view; writes show through).
std::shared_ptr<const DeviceData> device_rows(const DeviceData& d, int64_t b, int64_t e);
// The CUDA device of a gpu context (opened at first use, kept for the process).
std::shared_ptr<cuda::Device> device_for(Context ctx, const std::string& what);
// Runs one registered op on arrays of one gpu context: the one-node graph's GpuPlan
// (gpu::imperative_plan, cached) loaded on the device (cached per plan and device) and run
// on the arrays' blocks. The outputs live on ctx. Errors name the op and the context.
std::vector<NDArray> device_call(const std::string& op, const AttrMap& attrs, const std::vector<NDArray>& inputs,
                                 Context ctx);
// Overwrites `dst`'s block with `src`'s bytes (same size; either may be on the host).
void device_write(const NDArray& dst, const NDArray& src, const std::string& what);

// Writes `v` into every element of `t` (any dtype; f16/bf16 through the Cast op).
void fill(HostTensor& t, double v);

// Host byte ranges whose in-place writes must be noticed: values derived from an array and
// kept (a parameter's AMP copy, Parameter::data_as) go stale when it is written. Every
// in-place write into an existing host array (write_into, fill_, optimizer updates, kvstore
// receives) calls note_write with its destination; the watches it overlaps count it.
struct WriteWatch {
  const char* begin = nullptr;
  const char* end = nullptr;
  std::atomic<uint64_t> writes{0};
};
// Watched until the last shared_ptr to it goes.
std::shared_ptr<WriteWatch> watch_writes(const void* p, size_t n);
void note_write(const void* p, size_t n);
void note_write(const NDArray& dst);  // its host bytes; nothing for device arrays

// Copies `src` (same shape, converted to dst's dtype through Cast) into dst's own storage.
void write_into(NDArray& dst, const NDArray& src, const std::string& what);

// Python's axis rules: -1 is the last axis; throws hgc::Error naming `what` when out of range.
int normalize_axis(int64_t axis, int ndim, const std::string& what);

// "(2, 3)".
std::string shape_str(const std::vector<int64_t>& s);

}  // namespace hgc::nd_detail
