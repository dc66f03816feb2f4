// Internals of the reference evaluator shared by its op-family files: a dense double array,
// the per-node kernel context and index helpers. Every kernel reads its inputs as doubles
// and writes outputs already shaped from the node's inferred out_shapes; the driver
// (reference.cc) converts from and to the tensors' dtypes.
//
//   void relu(Ctx& c) { for (int64_t i = 0; i < c.out[0].numel(); ++i)
//                         c.out[0].v[i] = std::max(0.0, c.in[0].v[i]); }
//   t.add("relu", relu);   // in ref_<family>.cc, the family of relu's op record
#pragma once
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <source_location>
#include <string>
#include <vector>

#include "hgc/ir/attr_view.h"
#include "hgc/ir/graph.h"

namespace hgc::ref {

using Dims = std::vector<int64_t>;

inline int64_t numel_of(const Dims& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

// Row-major strides of `s`.
inline Dims strides_of(const Dims& s) {
  Dims st(s.size(), 1);
  for (int i = static_cast<int>(s.size()) - 2; i >= 0; --i) st[i] = st[i + 1] * s[i + 1];
  return st;
}

// A dense row-major array of doubles.
struct Arr {
  Dims shape;
  std::vector<double> v;
  Arr() = default;
  explicit Arr(Dims s) : shape(std::move(s)), v(static_cast<size_t>(numel_of(shape)), 0.0) {}
  int64_t numel() const { return static_cast<int64_t>(v.size()); }
  int ndim() const { return static_cast<int>(shape.size()); }
};

// A tensor viewed as (outer, len, inner) around one axis: element (o, j, i) sits at
// (o * len + j) * inner + i. Most axis-wise ops (softmax, concat, norms) walk this view.
struct AxisView {
  int64_t outer = 1, len = 1, inner = 1;
  AxisView(const Dims& s, int axis) {
    for (int d = 0; d < axis; ++d) outer *= s[d];
    len = s[axis];
    for (int d = axis + 1; d < static_cast<int>(s.size()); ++d) inner *= s[d];
  }
  int64_t at(int64_t o, int64_t j, int64_t i) const { return (o * len + j) * inner + i; }
};

// Walks every multi-index of a shape in row-major order:
//   for (Odometer it(shape); it.valid(); it.next()) use(it.idx);
struct Odometer {
  Dims shape, idx;
  bool done;
  explicit Odometer(Dims s) : shape(std::move(s)), idx(shape.size(), 0), done(numel_of(shape) == 0) {}
  bool valid() const { return !done; }
  void next() {
    for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
      if (++idx[d] < shape[d]) return;
      idx[d] = 0;
    }
    done = true;
  }
};

// Flat offset of a multi-index into `shape` where size-1 dims broadcast: `idx` is aligned
// to the right of `shape` (numpy rules), so a lower-rank operand reads the trailing dims.
inline int64_t broadcast_offset(const Dims& idx, const Dims& shape) {
  int64_t off = 0, stride = 1;
  int r = static_cast<int>(shape.size()), n = static_cast<int>(idx.size());
  for (int d = r - 1; d >= 0; --d) {
    int64_t i = shape[d] == 1 ? 0 : idx[n - r + d];
    off += i * stride;
    stride *= shape[d];
  }
  return off;
}

// Everything a kernel sees of one node.
struct Ctx {
  const Node& node;
  const AttrView& a;
  std::vector<Arr> in;
  std::vector<DType> in_dtypes;
  std::vector<Arr> out;  // shaped from node.out_shapes, zero-filled
  std::vector<DType> out_dtypes;

  // Throws hgc::Error("reference", "<node 'x' (op)>: msg").
  [[noreturn]] void fail(const std::string& msg) const;
  // Normalizes a possibly negative axis against `ndim`, failing when out of range.
  int axis(int64_t ax, int ndim) const;
};

using Kernel = std::function<void(Ctx&)>;

// The kernels by canonical op name, each with the file that registered it: a kernel lives in
// tests/reference/ref_<family>.cc, the family of its op record (checked by
// tests/ir/test_op_families.cc).
class KernelTable {
 public:
  struct Entry {
    Kernel fn;
    const char* file = "";
  };
  // `where` is left defaulted: it records the registering file.
  void add(const std::string& op, Kernel fn, std::source_location where = std::source_location::current());
  // nullptr when there is none.
  const Entry* find(const std::string& op) const;
  const std::map<std::string, Entry>& entries() const { return entries_; }

 private:
  std::map<std::string, Entry> entries_;
};

// One per family file (add_<family>_kernels in ref_<family>.cc); reference.cc builds the
// table from all of them once.
void add_elementwise_kernels(KernelTable& t);
void add_broadcast_kernels(KernelTable& t);
void add_reduce_kernels(KernelTable& t);       // reductions, argmax, the softmax family
void add_movement_kernels(KernelTable& t);
void add_movement_index_kernels(KernelTable& t);  // slice*, take, pick, gather_nd
void add_init_kernels(KernelTable& t);
void add_matmul_kernels(KernelTable& t);
void add_nn_kernels(KernelTable& t);           // FC, activations, Dropout, Embedding, loss heads
void add_nn_norm_kernels(KernelTable& t);
void add_nn_conv_kernels(KernelTable& t);      // Convolution, Deconvolution, Pooling, im2col
void add_nn_resize_kernels(KernelTable& t);    // UpSampling, Crop, BilinearResize2D, AdaptiveAvgPooling2D
void add_ordering_kernels(KernelTable& t);     // topk, sort, argsort
void add_random_kernels(KernelTable& t);       // _random_*, _sample_* (the in-kernel generator)
void add_rnn_kernels(KernelTable& t);
void add_linalg_kernels(KernelTable& t);      // _linalg_gemm/gemm2/potrf/potri/trmm/trsm/syrk/..diag
void add_detection_kernels(KernelTable& t);   // _contrib_MultiBox*, box_nms, box_iou
void add_quantization_kernels(KernelTable& t);  // _contrib_quantize_v2/dequantize/requantize, _sg_mkldnn_*
void add_quantization_ops_kernels(KernelTable& t);  // _contrib_quantized_* (ref_quantization_ops.cc)

// Softmax over k of data viewed as (n, k, rest); defined in ref_reduce.cc (SoftmaxOutput and
// SoftmaxActivation share it).
void softmax_3d(const Arr& x, Arr& out, int64_t n, int64_t k);

// The binary math of elemwise_*, broadcast_* and _*_scalar keyed by the op's suffix ("add",
// "mod", "greater_equal", ...); defined in ref_elementwise.cc.
const std::map<std::string, double (*)(double, double)>& binary_fns();

// Scalar math shared between families (MXNet's mshadow_op definitions).
inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
// MXNet's softrelu: log(1 + e^x), returning x itself above 20 to avoid overflow.
inline double softrelu(double x) { return x > 20.0 ? x : std::log1p(std::exp(x)); }

}  // namespace hgc::ref
