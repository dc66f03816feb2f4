// NDArray members: views, copies, indexing and in-place writes, plus the shared helpers of
// nd_detail.h. Computation goes through nd_detail::call (hgc::invoke); this file only moves
// bytes: views alias storage, in-place results are copied into the destination's buffer.
#include <algorithm>
#include <atomic>
#include <mutex>
#include <cstring>

#include "hgc/compiler/imperative.h"
#include "hgc/base/error.h"
#include "hgc/runtime/stable_buffers.h"
#include "hgc/runtime/thread_pool.h"
#include "autograd/tape.h"
#include "hgc/frontend/autograd/autograd.h"
#include "nd/detail.h"
#include "symbol/trace.h"

namespace hgc {
namespace nd_detail {

std::vector<NDArray> call_all(const std::string& op, const AttrMap& attrs, const std::vector<NDArray>& inputs,
                              const std::string& name) {
  for (const NDArray& x : inputs)
    if (x.is_symbolic()) return trace::record(op, attrs, inputs, name);
  std::vector<HostTensor> ins;
  Context ctx = inputs.empty() ? Context() : inputs[0].context();
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined()) fail("ndarray", op, ": input ", i, " is an empty (default-constructed) NDArray");
    if (inputs[i].context() != ctx)
      fail("ndarray", op, ": inputs live on ", ctx.str(), " and ", inputs[i].context().str(),
           "; copy one over with copyto() first");
  }
  bool taped = autograd::is_recording() && tape::needs_grad(inputs);
  if (ctx.device_type == DeviceType::gpu) {
    // The gradient rules would run as gpu ops too, but nothing of that has run on a device.
    if (taped)
      fail("autograd", op, " on ", ctx.str(), ": autograd on gpu contexts is not supported yet; record on cpu ",
           "(as_in_context(cpu())) or compute outside autograd::record()");
    return device_call(op, attrs, inputs, ctx);
  }
  for (const NDArray& x : inputs) ins.push_back(x.tensor());
  std::vector<NDArray> out;
  for (HostTensor& t : invoke_typed(op, attrs, ins)) out.emplace_back(std::move(t), ctx);
  if (taped) tape::record(op, attrs, inputs, out);
  return out;
}

NDArray call(const std::string& op, const AttrMap& attrs, const std::vector<NDArray>& inputs,
             const std::string& name) {
  return call_all(op, attrs, inputs, name).at(0);
}

namespace {
template <typename T>
void fill_as(HostTensor& t, double v) {
  std::fill_n(t.data<T>(), t.numel(), static_cast<T>(v));
}
}  // namespace

namespace {
struct Watches {
  std::mutex mu;
  std::vector<std::weak_ptr<WriteWatch>> list;
  std::atomic<size_t> size{0};  // lets note_write skip the lock when nothing is watched
};
Watches& watches() {
  static auto* w = new Watches();  // alive until exit (watches may go in static destructors)
  return *w;
}
}  // namespace

std::shared_ptr<WriteWatch> watch_writes(const void* p, size_t n) {
  auto w = std::make_shared<WriteWatch>();
  w->begin = static_cast<const char*>(p);
  w->end = w->begin + n;
  Watches& ws = watches();
  std::lock_guard<std::mutex> lock(ws.mu);
  std::erase_if(ws.list, [](const std::weak_ptr<WriteWatch>& x) { return x.expired(); });
  ws.list.push_back(w);
  ws.size = ws.list.size();
  return w;
}

void note_write(const void* p, size_t n) {
  stable::note_write(p, n);  // the runtime's derived forms (packed GEMM weights)
  Watches& ws = watches();
  if (ws.size.load(std::memory_order_acquire) == 0 || n == 0) return;
  const char *b = static_cast<const char*>(p), *e = b + n;
  std::lock_guard<std::mutex> lock(ws.mu);
  for (const auto& x : ws.list)
    if (auto w = x.lock(); w && b < w->end && w->begin < e) w->writes.fetch_add(1, std::memory_order_acq_rel);
}

void note_write(const NDArray& dst) {
  if (dst.defined() && !dst.is_symbolic() && !dst.on_device())
    note_write(dst.tensor().raw(), dst.tensor().nbytes());
}

namespace {
void fill_values(HostTensor& t, double v);
}  // namespace

void fill(HostTensor& t, double v) {
  note_write(t.raw(), t.nbytes());
  fill_values(t, v);
  note_write(t.raw(), t.nbytes());  // again once written (stable_buffers.h)
}

namespace {
void fill_values(HostTensor& t, double v) {
  switch (t.dtype()) {
    case DType::f32: return fill_as<float>(t, v);
    case DType::f64: return fill_as<double>(t, v);
    case DType::i8: return fill_as<int8_t>(t, v);
    case DType::u8: return fill_as<uint8_t>(t, v);
    case DType::boolean: return fill_as<uint8_t>(t, v != 0);
    case DType::i16: return fill_as<int16_t>(t, v);
    case DType::u16: return fill_as<uint16_t>(t, v);
    case DType::i32: return fill_as<int32_t>(t, v);
    case DType::u32: return fill_as<uint32_t>(t, v);
    case DType::i64: return fill_as<int64_t>(t, v);
    case DType::u64: return fill_as<uint64_t>(t, v);
    default: break;
  }
  // f16/bf16 have no C++ type here: fill float32 and let the Cast op round.
  HostTensor f(DType::f32, t.shape());
  fill_as<float>(f, v);
  NDArray dst(t);
  write_into(dst, NDArray(f), "fill");
}
}  // namespace

void write_into(NDArray& dst, const NDArray& src, const std::string& what) {
  if (dst.is_symbolic()) trace::unsupported(dst, what);
  if (src.is_symbolic()) trace::unsupported(src, what);
  if (!dst.defined() || !src.defined()) fail("ndarray", what, ": an array is empty (default-constructed)");
  if (dst.shape() != src.shape())
    fail("ndarray", what, ": the value has shape ", shape_str(src.shape()), " but the destination has shape ",
         shape_str(dst.shape()), "; in-place writes keep the destination's shape");
  note_write(dst);
  if (dst.on_device() || src.on_device()) return device_write(dst, src, what);  // bytes only
  NDArray s = src.dtype() == dst.dtype() ? src : src.astype(dst.dtype());
  // memmove: the source may be a view overlapping the destination (x.assign(x[::]) and such).
  // Large non-overlapping ones (a gradient into its grad array) in a part per thread.
  ThreadPool::copy(dst.data_ptr(), s.data_ptr(), s.tensor().nbytes());
  note_write(dst);  // again once written: a form derived meanwhile saw the old bytes (stable_buffers.h)
}

int normalize_axis(int64_t axis, int ndim, const std::string& what) {
  int64_t a = axis < 0 ? axis + ndim : axis;
  if (a < 0 || a >= ndim) fail("ndarray", what, ": axis ", axis, " is out of range for ", ndim, "-d arrays");
  return static_cast<int>(a);
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "(";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + (s.size() == 1 ? ",)" : ")");
}

}  // namespace nd_detail

using nd_detail::call;
using nd_detail::shape_str;

namespace {

// One resolved axis of an index list: [b, e), `single` for an integer index.
struct Range {
  int64_t b, e;
  bool single;
};

// Python's clamping of slice bounds.
int64_t clamp_bound(std::optional<int64_t> v, int64_t n, int64_t dflt) {
  if (!v) return dflt;
  int64_t x = *v < 0 ? *v + n : *v;
  return std::clamp<int64_t>(x, 0, n);
}

std::vector<Range> resolve(const std::vector<int64_t>& shape, const std::vector<Index>& idx, const char* what) {
  if (idx.size() > shape.size())
    fail("ndarray", what, ": ", idx.size(), " indices for a ", shape.size(), "-d array of shape ", shape_str(shape));
  std::vector<Range> r;
  for (size_t k = 0; k < shape.size(); ++k) {
    int64_t n = shape[k];
    if (k >= idx.size()) {
      r.push_back({0, n, false});
    } else if (idx[k].single) {
      int64_t i = *idx[k].slice.begin;
      if (i < -n || i >= n)
        fail("ndarray", what, ": index ", i, " is out of bounds for axis ", k, " with size ", n);
      if (i < 0) i += n;
      r.push_back({i, i + 1, true});
    } else {
      int64_t b = clamp_bound(idx[k].slice.begin, n, 0), e = clamp_bound(idx[k].slice.end, n, n);
      r.push_back({b, std::max(b, e), false});
    }
  }
  return r;
}

std::vector<int64_t> extents(const std::vector<Range>& r, bool drop_singles) {
  std::vector<int64_t> s;
  for (const Range& x : r)
    if (!(drop_singles && x.single)) s.push_back(x.e - x.b);
  if (drop_singles && s.empty()) s.push_back(1);  // legacy MXNet: no 0-d arrays
  return s;
}

// `block` with its sub-block ranges[axis:] replaced by `value` (shaped like that sub-block),
// built from slice_axis and Concat: the ops have no strided write, so the new block is
// assembled whole and the caller copies it over the old one.
NDArray splice(const NDArray& block, size_t axis, const std::vector<Range>& ranges, const NDArray& value) {
  bool rest_full = true;
  for (size_t k = axis; k < ranges.size(); ++k)
    rest_full = rest_full && ranges[k].b == 0 && ranges[k].e == block.shape()[k];
  if (rest_full) return value;
  int64_t n = block.shape()[axis], b = ranges[axis].b, e = ranges[axis].e;
  int ax = static_cast<int>(axis);
  NDArray mid = splice(b == 0 && e == n ? block : block.slice_axis(ax, b, e), axis + 1, ranges, value);
  std::vector<NDArray> parts;
  if (b > 0) parts.push_back(block.slice_axis(ax, 0, b));
  parts.push_back(mid);
  if (e < n) parts.push_back(block.slice_axis(ax, e, n));
  return parts.size() == 1 ? parts[0] : nd::concat(parts, ax);
}

}  // namespace

NDArray::NDArray(HostTensor t, Context ctx) : ctx_(ctx) {
  if (ctx.device_type == DeviceType::cpu) t_ = std::move(t);
  else dev_ = nd_detail::to_device(t, ctx, "NDArray");
}

void NDArray::device_read_error(const std::string& what) const {
  fail("ndarray", what, ": the array lives on ", ctx_.str(),
       " and this needs its values on the host; bring it over with as_in_context(cpu())");
}

NDArray NDArray::from_device(std::shared_ptr<const DeviceData> d) {
  NDArray x;
  x.ctx_ = gpu(d->device_id);
  x.dev_ = std::move(d);
  return x;
}

NDArray NDArray::rows(int64_t b, int64_t e) const {
  if (dev_) return from_device(nd_detail::device_rows(*dev_, b, e));
  return NDArray(t_.slice0(b, e), ctx_);
}

NDArray NDArray::symbolic(std::shared_ptr<const SymbolicValue> s) {
  NDArray x;
  x.sym_ = std::move(s);
  return x;
}

int64_t NDArray::size() const {
  if (!sym_ && !dev_) return t_.numel();
  int64_t n = 1;
  for (int64_t d : shape()) {
    if (d < 0) return -1;
    n *= d;
  }
  return n;
}

NDArray NDArray::reshape(const std::vector<int64_t>& shape, bool reverse) const {
  return call("Reshape", {{"shape", shape}, {"reverse", reverse}}, {*this});
}

NDArray NDArray::expand_dims(int axis) const { return call("expand_dims", {{"axis", int64_t(axis)}}, {*this}); }

NDArray NDArray::squeeze(const std::vector<int64_t>& axis) const {
  AttrMap a;
  if (!axis.empty()) a["axis"] = axis;
  return call("squeeze", a, {*this});
}

NDArray NDArray::flatten() const { return call("Flatten", {}, {*this}); }

NDArray NDArray::slice(int64_t begin, int64_t end) const {
  if (ndim() == 0) fail("ndarray", "slice: the array is empty (default-constructed)");
  int64_t n = shape()[0], b = clamp_bound(begin, n, 0), e = clamp_bound(end, n, n);
  if (sym_) {  // a traced value: the slice_axis op (no storage to view)
    if (n < 0) return slice_axis(0, begin, end);
    return slice_axis(0, b, std::max(b, e));
  }
  return rows(b, std::max(b, e));
}

NDArray NDArray::operator[](int64_t i) const {
  if (ndim() == 0) fail("ndarray", "x[", i, "]: the array is empty (default-constructed)");
  Range r = resolve(shape(), {Index(i)}, "x[i]")[0];
  if (sym_) {
    NDArray row = slice_axis(0, r.b, r.e);
    return ndim() > 1 ? row.squeeze({0}) : row;
  }
  std::vector<int64_t> row_shape(shape().begin() + 1, shape().end());
  if (dev_) {
    auto d = std::make_shared<DeviceData>(*nd_detail::device_rows(*dev_, r.b, r.e));
    if (ndim() > 1) d->shape = row_shape;
    return from_device(d);
  }
  HostTensor row = t_.slice0(r.b, r.e);
  if (ndim() > 1) row = row.reshaped(row_shape);
  return NDArray(row, ctx_);
}

NDArray NDArray::transpose(const std::vector<int64_t>& axes) const {
  return call("transpose", {{"axes", axes}}, {*this});
}

NDArray NDArray::slice_axis(int axis, int64_t begin, std::optional<int64_t> end) const {
  AttrMap a{{"axis", int64_t(axis)}, {"begin", begin}};
  a["end"] = end ? AttrValue(*end) : AttrValue(std::monostate{});
  return call("slice_axis", a, {*this});
}

NDArray NDArray::index(const std::vector<Index>& idx) const {
  std::vector<Range> r = resolve(shape(), idx, "index");
  bool only_axis0 = true;
  for (size_t k = 1; k < r.size(); ++k) only_axis0 = only_axis0 && !r[k].single && r[k].b == 0 && r[k].e == shape()[k];
  std::vector<int64_t> out = extents(r, true);
  if (only_axis0 && !sym_ && dev_) {
    auto d = std::make_shared<DeviceData>(*nd_detail::device_rows(*dev_, r[0].b, r[0].e));
    d->shape = out;
    return from_device(d);
  }
  if (only_axis0 && !sym_) return NDArray(t_.slice0(r[0].b, r[0].e).reshaped(out), ctx_);
  std::vector<int64_t> region = extents(r, false);
  if (std::find(region.begin(), region.end(), 0) != region.end())  // nothing to compute
    return nd::zeros(out, dtype(), ctx_);
  std::string b = "(", e = "(";
  for (size_t k = 0; k < r.size(); ++k) {
    b += (k ? ", " : "") + std::to_string(r[k].b);
    e += (k ? ", " : "") + std::to_string(r[k].e);
  }
  NDArray s = call("slice", {{"begin", b + ")"}, {"end", e + ")"}}, {*this});
  return out == region ? s : s.reshape(out);
}

NDArray NDArray::copy() const {
  // Traced, or taped (the copy must pass gradients on): the _copy op.
  if (sym_ || (autograd::is_recording() && tape::needs_grad({*this}))) return call("_copy", {}, {*this});
  if (dev_) {  // on the device: a device-to-device copy
    NDArray c;
    c.ctx_ = ctx_;
    c.dev_ = nd_detail::device_copy(*dev_, ctx_, ctx_, "copy");
    return c;
  }
  // A byte copy, not a kernel: any dtype, and no JIT for the most common operation.
  NDArray c(HostTensor(dtype(), shape()), ctx_);
  if (t_.nbytes()) std::memcpy(c.data_ptr(), t_.raw(), t_.nbytes());
  return c;
}

NDArray NDArray::copyto(Context ctx) const {
  if (sym_) trace::unsupported(*this, "copyto");
  nd_detail::check_context(ctx, "copyto");
  if (!dev_ && ctx.device_type == DeviceType::cpu) {
    NDArray c = copy();
    c.ctx_ = ctx;
    return c;
  }
  if (autograd::is_recording() && tape::needs_grad({*this}))
    fail("ndarray", "copyto(", ctx.str(), "): autograd does not record copies between cpu and gpu contexts; copy "
         "outside autograd::record()");
  NDArray c;
  c.ctx_ = ctx;
  if (!dev_) c.dev_ = nd_detail::to_device(t_, ctx, "copyto");
  else if (ctx.device_type == DeviceType::cpu) c.t_ = nd_detail::to_host(*dev_);
  else c.dev_ = nd_detail::device_copy(*dev_, ctx_, ctx, "copyto");
  return c;
}

NDArray NDArray::copyto(NDArray& other) const {
  nd_detail::write_into(other, *this, "copyto");
  return other;
}

NDArray NDArray::as_in_context(Context ctx) const { return ctx == ctx_ ? *this : copyto(ctx); }

NDArray NDArray::astype(DType t) const {
  if (t == dtype()) return copy();
  return call("Cast", {{"dtype", dtype_name(t)}}, {*this});
}

NDArray& NDArray::fill_(double v) {
  if (!defined()) fail("ndarray", "fill_: the array is empty (default-constructed)");
  if (sym_) trace::unsupported(*this, "fill_");
  if (dev_) {  // filled on the host, then uploaded
    NDArray h = nd::full(shape(), v, dtype());
    nd_detail::device_write(*this, h, "fill_");
    return *this;
  }
  nd_detail::fill(t_, v);
  return *this;
}

NDArray& NDArray::assign(const NDArray& src) {
  if (!defined() || !src.defined()) fail("ndarray", "assign: an array is empty (default-constructed)");
  nd_detail::write_into(*this, src.shape() == shape() ? src : nd::broadcast_to(src, shape()), "x[:] = y");
  return *this;
}

NDArray& NDArray::index_put_(const std::vector<Index>& idx, double v) {
  if (sym_) trace::unsupported(*this, "index_put_");
  std::vector<Range> r = resolve(shape(), idx, "index_put_");
  std::vector<int64_t> region = extents(r, false);
  if (std::find(region.begin(), region.end(), 0) != region.end()) return *this;
  NDArray rows = this->rows(r[0].b, r[0].e);
  bool rest_full = true;
  for (size_t k = 1; k < r.size(); ++k) rest_full = rest_full && r[k].b == 0 && r[k].e == shape()[k];
  if (rest_full) {  // x[a:b] = v: a fill of the rows' view
    rows.fill_(v);
    return *this;
  }
  nd_detail::write_into(rows, splice(rows, 1, r, nd::full(region, v, dtype(), ctx_)), "index_put_");
  return *this;
}

NDArray& NDArray::index_put_(const std::vector<Index>& idx, const NDArray& v) {
  if (sym_) trace::unsupported(*this, "index_put_");
  std::vector<Range> r = resolve(shape(), idx, "index_put_");
  std::vector<int64_t> region = extents(r, false);
  if (std::find(region.begin(), region.end(), 0) != region.end()) return *this;
  // numpy: the value broadcasts against x[idx] (integer axes dropped), then fills the region.
  std::vector<int64_t> indexed = extents(r, true);
  NDArray val = v.shape() == indexed ? v : nd::broadcast_to(v, indexed);
  if (val.dtype() != dtype()) val = val.astype(dtype());
  val = val.reshape(region);
  NDArray rows = this->rows(r[0].b, r[0].e);
  nd_detail::write_into(rows, splice(rows, 1, r, val), "index_put_");
  return *this;
}

#define HGC_ND_COMPOUND(OP, SYM)                                                                  \
  NDArray& NDArray::operator OP##=(const NDArray& y) {                                            \
    nd_detail::write_into(*this, *this OP y, "x " #SYM "= y");                                    \
    return *this;                                                                                 \
  }                                                                                               \
  NDArray& NDArray::operator OP##=(double s) {                                                    \
    nd_detail::write_into(*this, *this OP s, "x " #SYM "= scalar");                               \
    return *this;                                                                                 \
  }
HGC_ND_COMPOUND(+, +)
HGC_ND_COMPOUND(-, -)
HGC_ND_COMPOUND(*, *)
HGC_ND_COMPOUND(/, /)
#undef HGC_ND_COMPOUND

NDArray NDArray::sum(const std::vector<int64_t>& axis, bool keepdims) const { return nd::sum(*this, axis, keepdims); }
NDArray NDArray::mean(const std::vector<int64_t>& axis, bool keepdims) const { return nd::mean(*this, axis, keepdims); }
NDArray NDArray::max(const std::vector<int64_t>& axis, bool keepdims) const { return nd::max(*this, axis, keepdims); }
NDArray NDArray::min(const std::vector<int64_t>& axis, bool keepdims) const { return nd::min(*this, axis, keepdims); }
NDArray NDArray::argmax(std::optional<int> axis, bool keepdims) const { return nd::argmax(*this, axis, keepdims); }

std::string NDArray::str() const {
  if (sym_) symbolic_read_error(*sym_, "printing");
  if (dev_) {  // the values downloaded, the context kept
    std::string h = copyto(cpu()).str();
    return h.substr(0, h.rfind(" @")) + " @" + ctx_.str() + ">";
  }
  std::string s = "\n" + nd::array_str(*this) + "\n<NDArray ";
  for (int i = 0; i < ndim(); ++i) s += (i ? "x" : "") + std::to_string(shape()[i]);
  return s + " @" + ctx_.str() + ">";
}

std::ostream& operator<<(std::ostream& os, const NDArray& x) { return os << x.str(); }

}  // namespace hgc
