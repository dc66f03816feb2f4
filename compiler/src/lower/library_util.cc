// Library-call helpers (library_util.h).
#include "library_util.h"

#include "hgc/base/error.h"
#include "hgc/runtime/library.h"

namespace hgc::lower {

void require_f32(const NodeCtx& c) {
  for (DType t : c.in_types)
    if (t != DType::f32) c.error("GEMM library calls take float32, got " + dtype_name(t));
}

std::string gemm_kind(const NodeCtx& c, const std::string& kind) {
  bool all_bf16 = !c.in_types.empty();
  for (DType t : c.in_types) all_bf16 = all_bf16 && t == DType::bf16;
  if (all_bf16) return kind + "_bf16";
  require_f32(c);
  return kind;
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
LibraryCall conv_call(const NodeCtx& c, const std::string& base, const Dims& x, const Dims& y, bool bias) {
  std::string kind = base == "deconvolution" ? (require_f32(c), base) : gemm_kind(c, base);
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

}  // namespace hgc::lower
