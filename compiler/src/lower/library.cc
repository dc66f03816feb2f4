// Library lowerings: GEMM-shaped ops become OpenBLAS calls in the runtime (im2col/col2im its
// C++ loops), described as data (LibraryCall, runtime/library_call.h) so AOT programs can
// carry them in their plan.
#include "../lowering.h"
#include "hgc/base/error.h"
#include "hgc/runtime/library.h"

namespace hgc::lower {
namespace {

void require_f32(const NodeCtx& c) {
  for (DType t : c.in_types)
    if (t != DType::f32) c.error("GEMM library calls take float32, got " + dtype_name(t));
}

int64_t prod(const Dims& d, size_t b, size_t e) {
  int64_t p = 1;
  for (size_t i = b; i < e; ++i) p *= d[i];
  return p;
}

// im2col/col2im parameters (library_call.h) from the image shape (N, C, spatial...) and the
// column count per row.
LibraryCall window_call(const NodeCtx& c, const std::string& kind, const Dims& im, const Dims& col) {
  require_f32(c);
  int nsp = static_cast<int>(im.size()) - 2;
  if (nsp < 1 || nsp > 2) c.error("only 1-D and 2-D windows have a lowering");
  int64_t taps = 1;
  std::vector<int64_t> p{nsp, im[0], im[1]}, in(2, 0), out(2, 0), k(2, 0), st(2, 0), pd(2, 0), dl(2, 0);
  auto tuple_or = [&](const char* n, int64_t dflt, int i) {
    const auto& v = c.attrs.tuple(n);
    return v.empty() ? dflt : v[i];
  };
  for (int d = 0; d < nsp; ++d) {
    in[d] = im[2 + d], k[d] = c.attrs.tuple("kernel")[d], taps *= k[d];
    st[d] = tuple_or("stride", 1, d), pd[d] = tuple_or("pad", 0, d), dl[d] = tuple_or("dilate", 1, d);
    out[d] = (in[d] + 2 * pd[d] - dl[d] * (k[d] - 1) - 1) / st[d] + 1;
  }
  if (out[0] * (nsp == 2 ? out[1] : 1) != col[2] || im[1] * taps != col[1])
    c.error("column shape does not match the image shape and window");
  for (const auto* v : {&in, &out, &k, &st, &pd, &dl}) p.insert(p.end(), v->begin(), v->end());
  return {kind, p, {}};
}

// The convolution parameters (library_call.h) of image x (N, C, in...) and output y (N, O,
// out...) with the node's window attributes; for a Deconvolution x is its input and y its
// output.
LibraryCall conv_call(const NodeCtx& c, const std::string& kind, const Dims& x, const Dims& y, bool bias) {
  require_f32(c);
  int nsp = static_cast<int>(x.size()) - 2;
  if (nsp < 1 || nsp > 2) c.error("only 1-D and 2-D convolutions have a lowering");
  lib::ConvShape s{};
  s.nsp = nsp;
  s.N = x[0], s.C = x[1], s.O = y[1], s.groups = c.attrs.i("num_group");
  auto tuple_or = [&](const char* n, int64_t dflt, int i) {
    const auto& v = c.attrs.tuple(n);
    return v.empty() ? dflt : v[i];
  };
  for (int d = 0; d < nsp; ++d) {
    s.in[d] = x[2 + d], s.out[d] = y[2 + d], s.k[d] = c.attrs.tuple("kernel")[d];
    s.stride[d] = tuple_or("stride", 1, d), s.pad[d] = tuple_or("pad", 0, d), s.dilate[d] = tuple_or("dilate", 1, d);
    // A Deconvolution target_shape fixes the padding (MXNet's InferPad: ceil(excess / 2); the
    // odd unit becomes adj, which only extends the output at the end).
    if (kind == "deconvolution" && tuple_or("target_shape", 0, d) > 0) {
      int64_t full = s.stride[d] * (s.in[d] - 1) + s.dilate[d] * (s.k[d] - 1) + 1;
      s.pad[d] = (full - tuple_or("target_shape", 0, d) + 1) / 2;
    }
  }
  // The layout library_call.h documents; unused 1-D entries stay 0.
  return {kind,
          {s.nsp, s.N, s.C, s.O, s.groups, bias, s.in[0], s.in[1], s.out[0], s.out[1], s.k[0], s.k[1], s.stride[0],
           s.stride[1], s.pad[0], s.pad[1], s.dilate[0], s.dilate[1]},
          {}};
}

}  // namespace

void register_library(LoweringTable& t) {
  t.library("im2col", [](const NodeCtx& c) { return window_call(c, "im2col", c.in_shapes[0], c.out_shapes[0]); });
  t.library("col2im", [](const NodeCtx& c) { return window_call(c, "col2im", c.out_shapes[0], c.in_shapes[0]); });
  t.library("FullyConnected", [](const NodeCtx& c) -> LibraryCall {
    require_f32(c);
    const Dims& x = c.in_shapes[0];
    bool flatten = c.attrs.b("flatten"), bias = !c.attrs.b("no_bias");
    int64_t N = c.attrs.i("num_hidden");
    int64_t K = flatten ? prod(x, 1, x.size()) : x.back();
    int64_t M = flatten ? x[0] : prod(x, 0, x.size() - 1);
    return {"fully_connected", {M, N, K, bias}, {}};
  });
  t.library("dot", [](const NodeCtx& c) -> LibraryCall {
    require_f32(c);
    const Dims &a = c.in_shapes[0], &b = c.in_shapes[1];
    bool ta = c.attrs.b("transpose_a"), tb = c.attrs.b("transpose_b");
    // MXNet dot: lhs collapses to 2-D around its last axis (first when transposed), rhs likewise.
    int64_t K = ta ? a[0] : a.back();
    int64_t M = prod(a, 0, a.size()) / K;
    int64_t N = prod(b, 0, b.size()) / K;
    return {"matmul", {M, N, K, ta, tb}, {}};
  });
  t.library("batch_dot", [](const NodeCtx& c) -> LibraryCall {
    require_f32(c);
    const Dims &a = c.in_shapes[0], &o = c.out_shapes[0];
    bool ta = c.attrs.b("transpose_a"), tb = c.attrs.b("transpose_b");
    int64_t B = o[0], M = o[1], N = o[2], K = ta ? a[1] : a[2];
    return {"batch_matmul", {B, M, N, K, ta, tb}, {}};
  });
  // Convolution and Deconvolution: NCW or NCHW.
  auto check_layout = [](const NodeCtx& c) {
    auto layout = c.attrs.is_none("layout") ? std::string() : c.attrs.s("layout");
    if (!layout.empty() && layout != "NCW" && layout != "NCHW") c.error("layout " + layout + " has no lowering");
  };
  t.library("Convolution", [check_layout](const NodeCtx& c) -> LibraryCall {
    check_layout(c);
    return conv_call(c, "convolution", c.in_shapes[0], c.out_shapes[0], !c.attrs.b("no_bias"));
  });
  t.library("Deconvolution", [check_layout](const NodeCtx& c) -> LibraryCall {
    check_layout(c);
    return conv_call(c, "deconvolution", c.in_shapes[0], c.out_shapes[0], !c.attrs.b("no_bias"));
  });
  t.library("_hgc_conv_data_grad", [](const NodeCtx& c) {
    return conv_call(c, "conv_data_grad", c.out_shapes[0], c.in_shapes[0], false);
  });
  t.library("_hgc_conv_weight_grad", [](const NodeCtx& c) {
    return conv_call(c, "conv_weight_grad", c.in_shapes[1], c.in_shapes[0], false);
  });
}

}  // namespace hgc::lower
