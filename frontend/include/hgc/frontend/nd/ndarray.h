// NDArray: the frontend's imperative n-dimensional array, MXNet's mx.nd in C++.
//
//   using namespace hgc;
//   nd::random::seed(1);
//   NDArray x = nd::ones({3, 4});
//   NDArray y = nd::random::normal(0, 1, {3, 4});
//   NDArray z = nd::exp(x + 2 * y);          // each op: one cached JIT kernel (invoke)
//   x += y;                                   // in place: x keeps its buffer
//   x.slice(1, 3).fill_(7);                   // x[1:3] = 7 (axis-0 slices are views)
//   x.index_put_({1, Slice(1, 3)}, 5.0);      // x[1, 1:3] = 5
//   std::cout << nd::dot(x, y.T());           // "\n[[...]]\n<NDArray 3x3 @cpu(0)>"
//   nd::save("xy.params", {{"x", x}, {"y", y}});
//   auto d = nd::load_dict("xy.params");      // d["x"]
//
// An NDArray is a handle, like a Python variable: copying it shares the data (use copy()
// for a new buffer). Every computation goes through hgc::invoke, one registered op per
// call, on the same lowerings and JIT as compiled graphs; the frontend itself only fills,
// copies and prints. Views (reshape, expand_dims, squeeze, flatten, slice, operator[]) share
// storage, so in-place writes through them show in the original. Errors are hgc::Error.
//
// gpu(i) contexts hold their data in device memory of the CUDA runtime (runtime/cuda.h,
// dlopen'ed): creation, copyto, as_in_context, copy, printing and to_vector move bytes between
// host and device. Operations run on cpu only: an op on a gpu array is an hgc::Error saying
// to bring it over with as_in_context(cpu()). Without a driver or device, a gpu context is an
// hgc::Error naming it and the driver's reason.
#pragma once
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "hgc/frontend/nd/context.h"
#include "hgc/base/tensor.h"

namespace hgc {

// The DType of a C++ element type (float -> f32, int64_t -> i64, ...).
template <typename T>
constexpr DType dtype_of() {
  if constexpr (std::is_same_v<T, float>) return DType::f32;
  else if constexpr (std::is_same_v<T, double>) return DType::f64;
  else if constexpr (std::is_same_v<T, int8_t>) return DType::i8;
  else if constexpr (std::is_same_v<T, uint8_t>) return DType::u8;
  else if constexpr (std::is_same_v<T, int16_t>) return DType::i16;
  else if constexpr (std::is_same_v<T, uint16_t>) return DType::u16;
  else if constexpr (std::is_same_v<T, int32_t>) return DType::i32;
  else if constexpr (std::is_same_v<T, uint32_t>) return DType::u32;
  else if constexpr (std::is_same_v<T, int64_t>) return DType::i64;
  else if constexpr (std::is_same_v<T, uint64_t>) return DType::u64;
  else static_assert(sizeof(T) == 0, "no hgc DType for this element type (bool: use uint8_t)");
}

// A half-open range of one axis for NDArray::index / index_put_, Python's begin:end.
// nullopt is "from the start" / "to the end"; negative values count from the end.
struct Slice {
  std::optional<int64_t> begin, end;
  Slice(std::optional<int64_t> b = std::nullopt, std::optional<int64_t> e = std::nullopt) : begin(b), end(e) {}
};

// One entry of an index list: an integer (x[i]: the axis is dropped on reads) or a Slice.
// What a traced NDArray holds instead of data (hybridize() traces, sym::var): the graph it
// records into, its value there, and the shape and dtype inferred so far (-1: unknown dim).
struct TraceGraph;  // frontend-internal
struct SymbolicValue {
  std::shared_ptr<TraceGraph> graph;
  int node = -1, index = 0;
  std::vector<int64_t> shape;
  DType dtype = DType::f32;
};

// Throws the hgc::Error for reading the values of a traced array (`what`: "asscalar", ...).
[[noreturn]] void symbolic_read_error(const SymbolicValue& s, const std::string& what);

// An array's autograd record (autograd.h): a leaf's grad buffer, or the taped op that
// computed it. frontend-internal.
struct AGEntry;
// MXNet's grad_req: overwrite the gradient, add to it, or compute none.
enum class GradReq { null_req, write, add };

// The data of an array on a gpu(i) context: a block of device memory, freed (back to the
// device's caching allocator) when the last handle goes. Read-only metadata; frontend-internal.
struct DeviceData {
  std::vector<int64_t> shape;
  DType dtype = DType::f32;
  int device_id = 0;  // gpu(device_id)
  uint64_t ptr = 0;   // cuda::DevicePtr
  std::size_t nbytes = 0;
  std::shared_ptr<void> owner;  // holds the device and frees the block
};

struct Index {
  Index(int64_t i) : slice(i), single(true) {}
  Index(int i) : slice(i), single(true) {}
  Index(Slice s) : slice(s), single(false) {}
  Slice slice;
  bool single;
};

class NDArray {
 public:
  NDArray() = default;
  // Wraps `t` without copying on cpu; on gpu(i), copies it to the device. Throws for a gpu
  // context without a device (naming the context and the driver's reason).
  explicit NDArray(HostTensor t, Context ctx = Context());

  // A traced value (see SymbolicValue): shape and dtype work, reading values throws.
  static NDArray symbolic(std::shared_ptr<const SymbolicValue> s);
  // An array over a device block on gpu(d->device_id) (frontend-internal: the GPU paths
  // wrap the blocks they allocate).
  static NDArray from_device(std::shared_ptr<const DeviceData> d);

  const std::vector<int64_t>& shape() const { return sym_ ? sym_->shape : dev_ ? dev_->shape : t_.shape(); }
  DType dtype() const { return sym_ ? sym_->dtype : dev_ ? dev_->dtype : t_.dtype(); }
  Context context() const { return ctx_; }
  // The element count; -1 for a traced value with unknown dims.
  int64_t size() const;
  int ndim() const { return static_cast<int>(shape().size()); }
  bool defined() const { return sym_ || dev_ || t_.defined(); }
  // Whether the data lives in device memory (a gpu context); device_data() is then set.
  bool on_device() const { return dev_ != nullptr; }
  const DeviceData* device_data() const { return dev_.get(); }
  bool is_symbolic() const { return sym_ != nullptr; }
  const SymbolicValue* symbolic_value() const { return sym_.get(); }
  const std::shared_ptr<const SymbolicValue>& symbolic_ptr() const { return sym_; }
  // Throws for traced values (they have no data) and device arrays (their data is not here).
  const HostTensor& tensor() const {
    if (sym_) symbolic_read_error(*sym_, "reading its tensor");
    if (dev_) device_read_error("reading its values");
    return t_;
  }
  // The first element's address (row-major storage). Writable even through a const handle,
  // as in PyTorch: the handle is const, the shared buffer is not.
  void* data_ptr() const {
    if (sym_) symbolic_read_error(*sym_, "data_ptr()");
    if (dev_) device_read_error("data_ptr()");
    return const_cast<void*>(t_.raw());
  }
  // True when both see (parts of) one buffer, e.g. an array and its slice.
  bool shares_storage(const NDArray& o) const {
    return dev_ || o.dev_ ? dev_ && o.dev_ && dev_->owner == o.dev_->owner : t_.shares_storage(o.t_);
  }
  // Throws the hgc::Error for using a gpu array where host data is needed (`what`).
  [[noreturn]] void device_read_error(const std::string& what) const;

  // ---- views: no copy ----
  // MXNet's Reshape with its special values (0 copy, -1 infer, -2 rest, -3 merge, -4 split).
  NDArray reshape(const std::vector<int64_t>& shape, bool reverse = false) const;
  NDArray expand_dims(int axis) const;
  // Drops the listed size-1 axes, or every size-1 axis when `axis` is empty.
  NDArray squeeze(const std::vector<int64_t>& axis = {}) const;
  // (d0, d1, ...) -> (d0, d1 * ...), MXNet's Flatten.
  NDArray flatten() const;
  // x[begin:end] along axis 0; negative bounds count from the end, out-of-range ones clamp.
  NDArray slice(int64_t begin, int64_t end) const;
  // x[i]: row i with axis 0 dropped; a 1-D array gives shape (1,) (MXNet has no 0-d arrays).
  NDArray operator[](int64_t i) const;

  // ---- copies ----
  NDArray T() const { return transpose(); }
  // Permutes axes; empty `axes` reverses them.
  NDArray transpose(const std::vector<int64_t>& axes = {}) const;
  NDArray slice_axis(int axis, int64_t begin, std::optional<int64_t> end) const;
  // Basic indexing x[i, a:b, ...]: a view when only axis 0 is restricted, else a copy.
  NDArray index(const std::vector<Index>& idx) const;
  NDArray copy() const;
  NDArray copyto(Context ctx) const;
  // Writes this array's values into `other` (same shape; dtype converted) and returns it.
  NDArray copyto(NDArray& other) const;
  // This array itself when it already lives on `ctx`, else a copy (MXNet's as_in_context).
  NDArray as_in_context(Context ctx) const;
  // A converted copy (MXNet's astype copies even for the same dtype).
  NDArray astype(DType t) const;

  // ---- in place: the result goes into this array's own buffer (MXNet's x[:] = ...) ----
  NDArray& fill_(double v);
  // x[:] = src, src broadcast to this shape (numpy rules) and converted to this dtype.
  NDArray& assign(const NDArray& src);
  // x[idx] = v.
  NDArray& index_put_(const std::vector<Index>& idx, double v);
  NDArray& index_put_(const std::vector<Index>& idx, const NDArray& v);
  NDArray& operator+=(const NDArray& y);
  NDArray& operator-=(const NDArray& y);
  NDArray& operator*=(const NDArray& y);
  NDArray& operator/=(const NDArray& y);
  NDArray& operator+=(double s);
  NDArray& operator-=(double s);
  NDArray& operator*=(double s);
  NDArray& operator/=(double s);

  // ---- reductions (see nd::sum) ----
  NDArray sum(const std::vector<int64_t>& axis = {}, bool keepdims = false) const;
  NDArray mean(const std::vector<int64_t>& axis = {}, bool keepdims = false) const;
  NDArray max(const std::vector<int64_t>& axis = {}, bool keepdims = false) const;
  NDArray min(const std::vector<int64_t>& axis = {}, bool keepdims = false) const;
  NDArray argmax(std::optional<int> axis = std::nullopt, bool keepdims = false) const;

  // ---- values ----
  // The single value of a one-element array (MXNet's asscalar).
  template <typename T = float>
  T asscalar() const;
  // Every value in row-major order, converted to T through the Cast op when needed.
  template <typename T>
  std::vector<T> to_vector() const;
  // MXNet's print(x): "\n[[1. 2.]\n [3. 4.]]\n<NDArray 2x2 @cpu(0)>".
  std::string str() const;

  // ---- autograd (autograd.h) ----
  // Marks this handle (and copies taken after) as a variable: ops recorded under
  // autograd::record() that read it get a gradient into grad(), a zero buffer of this shape.
  void attach_grad(GradReq req = GradReq::write);
  // The gradient buffer; throws unless attach_grad() was called.
  NDArray grad() const;
  // Backpropagates from this array (head_grad: ones when empty) into the attached grads.
  void backward(const NDArray& head_grad = {}, bool retain_graph = false) const;
  // The same data with no autograd history (MXNet's detach).
  NDArray detach() const;
  const std::shared_ptr<AGEntry>& ag_entry() const { return ag_; }
  void set_ag_entry(std::shared_ptr<AGEntry> e) { ag_ = std::move(e); }

 private:
  // Rows [b, e) along axis 0 sharing this array's storage (host or device).
  NDArray rows(int64_t b, int64_t e) const;
  HostTensor t_;
  Context ctx_;
  std::shared_ptr<const SymbolicValue> sym_;
  std::shared_ptr<const DeviceData> dev_;  // set on gpu contexts (t_ is then empty)
  std::shared_ptr<AGEntry> ag_;  // null: not part of any gradient computation
};

std::ostream& operator<<(std::ostream& os, const NDArray& x);

// ---- arithmetic: broadcast_* ops for arrays (numpy broadcasting), *_scalar ops for numbers ----
NDArray operator+(const NDArray& a, const NDArray& b);
NDArray operator-(const NDArray& a, const NDArray& b);
NDArray operator*(const NDArray& a, const NDArray& b);
NDArray operator/(const NDArray& a, const NDArray& b);
NDArray operator%(const NDArray& a, const NDArray& b);
NDArray operator+(const NDArray& a, double s);
NDArray operator-(const NDArray& a, double s);
NDArray operator*(const NDArray& a, double s);
NDArray operator/(const NDArray& a, double s);
NDArray operator%(const NDArray& a, double s);
NDArray operator+(double s, const NDArray& a);
NDArray operator-(double s, const NDArray& a);
NDArray operator*(double s, const NDArray& a);
NDArray operator/(double s, const NDArray& a);
NDArray operator%(double s, const NDArray& a);
NDArray operator-(const NDArray& a);
// Comparisons give 0/1 in the inputs' dtype, as in MXNet 1.x.
NDArray operator==(const NDArray& a, const NDArray& b);
NDArray operator!=(const NDArray& a, const NDArray& b);
NDArray operator<(const NDArray& a, const NDArray& b);
NDArray operator>(const NDArray& a, const NDArray& b);
NDArray operator<=(const NDArray& a, const NDArray& b);
NDArray operator>=(const NDArray& a, const NDArray& b);
NDArray operator==(const NDArray& a, double s);
NDArray operator!=(const NDArray& a, double s);
NDArray operator<(const NDArray& a, double s);
NDArray operator>(const NDArray& a, double s);
NDArray operator<=(const NDArray& a, double s);
NDArray operator>=(const NDArray& a, double s);
NDArray operator==(double s, const NDArray& a);
NDArray operator!=(double s, const NDArray& a);
NDArray operator<(double s, const NDArray& a);
NDArray operator>(double s, const NDArray& a);
NDArray operator<=(double s, const NDArray& a);
NDArray operator>=(double s, const NDArray& a);

namespace nd {

// ---- creation ----
// Zero-filled; MXNet's empty() gives garbage, hgc's gives zeros.
NDArray empty(const std::vector<int64_t>& shape, DType dtype = DType::f32, Context ctx = {});
NDArray zeros(const std::vector<int64_t>& shape, DType dtype = DType::f32, Context ctx = {});
NDArray ones(const std::vector<int64_t>& shape, DType dtype = DType::f32, Context ctx = {});
NDArray full(const std::vector<int64_t>& shape, double value, DType dtype = DType::f32, Context ctx = {});
NDArray zeros_like(const NDArray& x);
NDArray ones_like(const NDArray& x);
// [start, stop) by step (the _arange op); arange(n) counts 0..n-1.
NDArray arange(double start, std::optional<double> stop = std::nullopt, double step = 1,
               DType dtype = DType::f32);
// `values` in row-major order; an empty shape means 1-D. Converted to `dtype`.
NDArray array(const std::vector<float>& values, const std::vector<int64_t>& shape = {}, DType dtype = DType::f32);
NDArray array(const std::vector<std::vector<float>>& rows, DType dtype = DType::f32);
NDArray array(const HostTensor& t);  // a copy

// ---- elementwise math (float dtypes) ----
#define HGC_ND_UNARY(name) NDArray name(const NDArray& x);
HGC_ND_UNARY(exp) HGC_ND_UNARY(expm1) HGC_ND_UNARY(log) HGC_ND_UNARY(log1p) HGC_ND_UNARY(log2)
HGC_ND_UNARY(log10) HGC_ND_UNARY(sqrt) HGC_ND_UNARY(rsqrt) HGC_ND_UNARY(cbrt) HGC_ND_UNARY(square)
HGC_ND_UNARY(reciprocal) HGC_ND_UNARY(abs) HGC_ND_UNARY(negative) HGC_ND_UNARY(sign) HGC_ND_UNARY(floor)
HGC_ND_UNARY(ceil) HGC_ND_UNARY(round) HGC_ND_UNARY(rint) HGC_ND_UNARY(fix) HGC_ND_UNARY(trunc)
HGC_ND_UNARY(sigmoid) HGC_ND_UNARY(tanh) HGC_ND_UNARY(relu) HGC_ND_UNARY(softsign) HGC_ND_UNARY(erf)
HGC_ND_UNARY(sin) HGC_ND_UNARY(cos) HGC_ND_UNARY(tan) HGC_ND_UNARY(arcsin) HGC_ND_UNARY(arccos)
HGC_ND_UNARY(arctan) HGC_ND_UNARY(sinh) HGC_ND_UNARY(cosh) HGC_ND_UNARY(arcsinh) HGC_ND_UNARY(arccosh)
HGC_ND_UNARY(arctanh) HGC_ND_UNARY(degrees) HGC_ND_UNARY(radians) HGC_ND_UNARY(logical_not)
#undef HGC_ND_UNARY
NDArray maximum(const NDArray& a, const NDArray& b);
NDArray minimum(const NDArray& a, const NDArray& b);
NDArray maximum(const NDArray& a, double s);
NDArray minimum(const NDArray& a, double s);
NDArray power(const NDArray& a, const NDArray& b);
NDArray power(const NDArray& a, double s);
NDArray power(double s, const NDArray& a);
NDArray clip(const NDArray& x, double a_min, double a_max);
// condition != 0 ? x : y (a 1-D condition selects rows, as in MXNet).
NDArray where(const NDArray& condition, const NDArray& x, const NDArray& y);
NDArray softmax(const NDArray& x, int axis = -1);
NDArray log_softmax(const NDArray& x, int axis = -1);

// ---- reductions: empty `axis` reduces everything (to shape (1,), MXNet's legacy rule) ----
NDArray sum(const NDArray& x, const std::vector<int64_t>& axis = {}, bool keepdims = false, bool exclude = false);
NDArray mean(const NDArray& x, const std::vector<int64_t>& axis = {}, bool keepdims = false, bool exclude = false);
NDArray max(const NDArray& x, const std::vector<int64_t>& axis = {}, bool keepdims = false, bool exclude = false);
NDArray min(const NDArray& x, const std::vector<int64_t>& axis = {}, bool keepdims = false, bool exclude = false);
NDArray prod(const NDArray& x, const std::vector<int64_t>& axis = {}, bool keepdims = false, bool exclude = false);
// Index of the first maximum (minimum) as a value of x's dtype; no axis: of the flattened array.
NDArray argmax(const NDArray& x, std::optional<int> axis = std::nullopt, bool keepdims = false);
NDArray argmin(const NDArray& x, std::optional<int> axis = std::nullopt, bool keepdims = false);
// The L2 norm of all elements, shape (1,).
NDArray norm(const NDArray& x);

// ---- linear algebra (float32, OpenBLAS) ----
NDArray dot(const NDArray& a, const NDArray& b, bool transpose_a = false, bool transpose_b = false);
NDArray batch_dot(const NDArray& a, const NDArray& b, bool transpose_a = false, bool transpose_b = false);

// ---- shape and movement ----
NDArray reshape(const NDArray& x, const std::vector<int64_t>& shape, bool reverse = false);
NDArray transpose(const NDArray& x, const std::vector<int64_t>& axes = {});
NDArray swapaxes(const NDArray& x, int dim1, int dim2);
NDArray expand_dims(const NDArray& x, int axis);
NDArray squeeze(const NDArray& x, const std::vector<int64_t>& axis = {});
NDArray flatten(const NDArray& x);
NDArray slice_axis(const NDArray& x, int axis, int64_t begin, std::optional<int64_t> end);
// MXNet's nd.concat: joins along `dim` (default 1, as in MXNet).
NDArray concat(const std::vector<NDArray>& xs, int dim = 1);
// Joins along a new axis.
NDArray stack(const std::vector<NDArray>& xs, int axis = 0);
// numpy-style: missing leading dims are added, size-1 dims repeated.
NDArray broadcast_to(const NDArray& x, const std::vector<int64_t>& shape);
NDArray one_hot(const NDArray& indices, int64_t depth, double on_value = 1, double off_value = 0,
                DType dtype = DType::f32);
// Rows (`axis` slices) of `a` picked by `indices`; out-of-range indices clip (or wrap).
NDArray take(const NDArray& a, const NDArray& indices, int axis = 0, bool wrap = false);

// ---- files ----
// MXNet .params: a list (unnamed) or a dict (named) of arrays.
void save(const std::string& path, const std::vector<NDArray>& arrays);
// nd::save(path, {x, y}): without it the braces could also build a map from an iterator pair.
void save(const std::string& path, std::initializer_list<NDArray> arrays);
void save(const std::string& path, const std::map<std::string, NDArray>& arrays);
// What nd.load returns: `dict` for named files (names without "arg:"/"aux:"), else `list`.
struct Loaded {
  bool is_dict = false;
  std::vector<NDArray> list;
  std::map<std::string, NDArray> dict;
};
Loaded load(const std::string& path);
// The arrays in file order, named or not.
std::vector<NDArray> load_list(const std::string& path);
// Throws for files without names.
std::map<std::string, NDArray> load_dict(const std::string& path);
NDArray load_npy(const std::string& path);
void save_npy(const std::string& path, const NDArray& x);

// numpy's str(a) of the values, without MXNet's "<NDArray ...>" footer.
std::string array_str(const NDArray& x);

namespace random {
// Reseeds the global generator every nd::random function draws from.
void seed(uint64_t s);
NDArray uniform(double low = 0, double high = 1, const std::vector<int64_t>& shape = {1}, DType dtype = DType::f32);
NDArray normal(double loc = 0, double scale = 1, const std::vector<int64_t>& shape = {1}, DType dtype = DType::f32);
// The two above draw on the host imperatively; inside a hybridized forward they are the ops
// _random_uniform/_random_normal, fed a fresh seed from this generator at every call. The
// forms below are always ops (_random_*_like, _sample_*), so imperative and hybridized runs
// draw the same numbers after the same seed(). Samples carry no gradient (as in MXNet):
// write a reparameterized draw as loc + scale * normal_like(loc).
NDArray uniform_like(const NDArray& data, double low = 0, double high = 1);
NDArray normal_like(const NDArray& data, double loc = 0, double scale = 1);
// mx.nd.random.uniform/normal with array parameters: out = low.shape + shape, each
// parameter element's samples after it.
NDArray uniform(const NDArray& low, const NDArray& high, const std::vector<int64_t>& shape = {});
NDArray normal(const NDArray& loc, const NDArray& scale, const std::vector<int64_t>& shape = {});
}  // namespace random

}  // namespace nd

// ---- template definitions ----
template <typename T>
std::vector<T> NDArray::to_vector() const {
  if (sym_) symbolic_read_error(*sym_, "to_vector()");
  if (dev_) return copyto(cpu()).to_vector<T>();
  NDArray c = dtype() == dtype_of<T>() ? *this : astype(dtype_of<T>());
  std::vector<T> v(static_cast<std::size_t>(c.size()));
  if (!v.empty()) std::memcpy(v.data(), c.t_.raw(), v.size() * sizeof(T));
  return v;
}

template <typename T>
T NDArray::asscalar() const {
  if (sym_) symbolic_read_error(*sym_, "asscalar()");
  if (dev_) return copyto(cpu()).asscalar<T>();
  if (size() != 1)
    fail("ndarray", "asscalar needs exactly one element; this array has ", size(), " (", t_.describe(), ")");
  return to_vector<T>()[0];
}

}  // namespace hgc
