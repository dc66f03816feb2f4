// Reference kernels: Convolution and its gradient ops, Deconvolution, Pooling and its
// backward, im2col/col2im (MXNet 1.9 nn/convolution-inl.h, nn/deconvolution-inl.h,
// nn/pool.h, nn/im2col.h). Channel-last
// layouts are transposed to channel-first and back, and 1-D/2-D windows are run as 3-D ones
// with leading size-1 dims, so a single loop nest per op covers every case.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "reference/ref_kernels.h"

namespace hgc::ref {
namespace {

Dims permuted_shape(const Dims& s, const std::vector<int>& perm) {
  Dims r(perm.size());
  for (size_t j = 0; j < perm.size(); ++j) r[j] = s[perm[j]];
  return r;
}

// out.shape[j] = x.shape[perm[j]].
Arr permuted(const Arr& x, const std::vector<int>& perm) {
  Dims s = permuted_shape(x.shape, perm);
  Arr o(s);
  Dims st = strides_of(x.shape);
  int64_t k = 0;
  for (Odometer it(s); it.valid(); it.next(), ++k) {
    int64_t off = 0;
    for (size_t j = 0; j < perm.size(); ++j) off += it.idx[j] * st[perm[j]];
    o.v[k] = x.v[off];
  }
  return o;
}

// Channel-last layouts (NWC, NHWC, NDHWC) put channels at the end.
bool channel_last(const Ctx& c) {
  return !c.a.is_none("layout") && c.a.s("layout").size() > 1 && c.a.s("layout")[1] != 'C';
}
std::vector<int> to_first(int nd) {  // (N, S..., C) -> (N, C, S...)
  std::vector<int> p{0, nd - 1};
  for (int i = 1; i < nd - 1; ++i) p.push_back(i);
  return p;
}
std::vector<int> to_last(int nd) {  // (N, C, S...) -> (N, S..., C)
  std::vector<int> p{0};
  for (int i = 2; i < nd; ++i) p.push_back(i);
  p.push_back(1);
  return p;
}

// A per-spatial-dim attribute padded on the left to 3 dims with `fill`; "()" means `def`.
std::array<int64_t, 3> dims3(const Ctx& c, const std::string& name, int nk, int64_t def, int64_t fill) {
  std::vector<int64_t> v = c.a.tuple(name);
  if (v.empty()) v.assign(nk, def);
  if (static_cast<int>(v.size()) != nk) c.fail(name + " must have one entry per spatial dim");
  std::array<int64_t, 3> r{fill, fill, fill};
  for (int i = 0; i < nk; ++i) r[3 - nk + i] = v[i];
  return r;
}

// Spatial dims of a channel-first shape, padded on the left to 3 with 1s.
std::array<int64_t, 3> spatial3(const Dims& s) {
  std::array<int64_t, 3> r{1, 1, 1};
  int nk = static_cast<int>(s.size()) - 2;
  for (int i = 0; i < nk; ++i) r[3 - nk + i] = s[2 + i];
  return r;
}

struct Window {
  std::array<int64_t, 3> k, stride, dilate, pad;
};

// For every position `a` of the `from` grid and every kernel tap k, the flat position
// a*s - p + k*d on the `to` grid, or -1 where that falls into the padding.
std::vector<int64_t> tap_table(const std::array<int64_t, 3>& from, const std::array<int64_t, 3>& to,
                               const Window& win) {
  std::vector<int64_t> tab;
  for (int64_t a0 = 0; a0 < from[0]; ++a0)
    for (int64_t a1 = 0; a1 < from[1]; ++a1)
      for (int64_t a2 = 0; a2 < from[2]; ++a2)
        for (int64_t k0 = 0; k0 < win.k[0]; ++k0)
          for (int64_t k1 = 0; k1 < win.k[1]; ++k1)
            for (int64_t k2 = 0; k2 < win.k[2]; ++k2) {
              std::array<int64_t, 3> a{a0, a1, a2}, k{k0, k1, k2}, b;
              bool inside = true;
              for (int d = 0; d < 3; ++d) {
                b[d] = a[d] * win.stride[d] - win.pad[d] + k[d] * win.dilate[d];
                inside = inside && b[d] >= 0 && b[d] < to[d];
              }
              tab.push_back(inside ? (b[0] * to[1] + b[1]) * to[2] + b[2] : -1);
            }
  return tab;
}

// Convolution (transposed = false) or Deconvolution (true) on channel-first arrays.
// Convolution gathers: out[n, f, o] = b[f] + sum_{c,k} x[n, g*Cg + c, o*s - p + k*d] * w[f, c, k]
// with weight (F, C/g, K...). Deconvolution scatters: x[n, c, i] * w[c, oc, k] adds to
// out[n, g*Fg + oc, i*s - p + k*d] with weight (C, F/g, K...).
void conv_nchw(const Arr& x, const Arr& w, const Arr* bias, Arr& out, const Window& win, int64_t groups,
               bool transposed) {
  int64_t n_batch = x.shape[0], cin = x.shape[1], cout = out.shape[1];
  int64_t cg = cin / groups, fg = cout / groups;
  auto is = spatial3(x.shape), os = spatial3(out.shape);
  int64_t in_size = is[0] * is[1] * is[2], out_size = os[0] * os[1] * os[2];
  int64_t ksize = win.k[0] * win.k[1] * win.k[2];
  // Convolution walks output positions and reads inputs; Deconvolution the reverse.
  std::vector<int64_t> tab = transposed ? tap_table(is, os, win) : tap_table(os, is, win);
  int64_t from_size = transposed ? in_size : out_size;

  for (int64_t n = 0; n < n_batch; ++n)
    for (int64_t f = 0; f < cout; ++f)
      for (int64_t o = 0; o < out_size; ++o) out.v[(n * cout + f) * out_size + o] = bias ? bias->v[f] : 0.0;
  for (int64_t n = 0; n < n_batch; ++n)
    for (int64_t g = 0; g < groups; ++g)
      for (int64_t f = 0; f < fg; ++f)
        for (int64_t c = 0; c < cg; ++c) {
          const double* xin = &x.v[(n * cin + g * cg + c) * in_size];
          double* dst = &out.v[(n * cout + g * fg + f) * out_size];
          const double* wk = transposed ? &w.v[((g * cg + c) * fg + f) * ksize]
                                        : &w.v[((g * fg + f) * cg + c) * ksize];
          for (int64_t a = 0; a < from_size; ++a)
            for (int64_t k = 0; k < ksize; ++k) {
              int64_t b = tab[a * ksize + k];
              if (b < 0) continue;
              if (transposed)
                dst[b] += xin[a] * wk[k];
              else
                dst[a] += xin[b] * wk[k];
            }
        }
}

void convolution(Ctx& c, bool transposed) {
  bool last = channel_last(c);
  Arr x = last ? permuted(c.in[0], to_first(c.in[0].ndim())) : c.in[0];
  Arr w = last ? permuted(c.in[1], to_first(c.in[1].ndim())) : c.in[1];
  const Arr* bias = c.a.b("no_bias") ? nullptr : &c.in[2];
  int nk = x.ndim() - 2;
  Window win{dims3(c, "kernel", nk, 1, 1), dims3(c, "stride", nk, 1, 1), dims3(c, "dilate", nk, 1, 1),
             dims3(c, "pad", nk, 0, 0)};
  Dims out_shape = last ? permuted_shape(c.out[0].shape, to_first(c.out[0].ndim())) : c.out[0].shape;
  Arr out(out_shape);
  if (transposed) {
    // A target_shape fixes the padding: pad = ceil(excess / 2) (MXNet's InferPad; the odd
    // unit of the excess becomes adj, which only extends the output at the end).
    const auto& target = c.a.tuple("target_shape");
    bool use_target = std::any_of(target.begin(), target.end(), [](int64_t t) { return t != 0; });
    auto is = spatial3(x.shape);
    for (int i = 0; use_target && i < nk; ++i) {
      int d = 3 - nk + i;
      int64_t full = win.stride[d] * (is[d] - 1) + win.dilate[d] * (win.k[d] - 1) + 1;
      win.pad[d] = (full - target[i] + 1) / 2;
    }
  }
  conv_nchw(x, w, bias, out, win, c.a.i("num_group"), transposed);
  c.out[0] = last ? permuted(out, to_last(out.ndim())) : out;
}

// im2col (to_cols) and its adjoint col2im on channel-first images: column row c * K + k, column
// a (a block position) holds x[n, c, a*s - p + k*d], or 0 where that is padding.
void im2col_nchw(Arr& im, Arr& col, const Window& win, bool to_cols) {
  auto is = spatial3(im.shape);
  std::array<int64_t, 3> blocks;
  for (int d = 0; d < 3; ++d)
    blocks[d] = (is[d] + 2 * win.pad[d] - win.dilate[d] * (win.k[d] - 1) - 1) / win.stride[d] + 1;
  std::vector<int64_t> tab = tap_table(blocks, is, win);
  int64_t planes = im.shape[0] * im.shape[1], in_size = is[0] * is[1] * is[2];
  int64_t ksize = win.k[0] * win.k[1] * win.k[2], nblocks = blocks[0] * blocks[1] * blocks[2];
  for (int64_t pl = 0; pl < planes; ++pl)
    for (int64_t k = 0; k < ksize; ++k)
      for (int64_t a = 0; a < nblocks; ++a) {
        int64_t b = tab[a * ksize + k];
        double& cv = col.v[(pl * ksize + k) * nblocks + a];
        if (b < 0) continue;
        if (to_cols)
          cv = im.v[pl * in_size + b];
        else
          im.v[pl * in_size + b] += cv;
      }
}

Window im2col_window(const Ctx& c, int nk) {
  return {dims3(c, "kernel", nk, 1, 1), dims3(c, "stride", nk, 1, 1), dims3(c, "dilate", nk, 1, 1),
          dims3(c, "pad", nk, 0, 0)};
}

void im2col(Ctx& c) {
  im2col_nchw(c.in[0], c.out[0], im2col_window(c, c.in[0].ndim() - 2), true);
}

void col2im(Ctx& c) {
  im2col_nchw(c.out[0], c.in[0], im2col_window(c, c.out[0].ndim() - 2), false);
}

// Convolution's gradients, straight from the forward's sum (conv_nchw): with y[n, f, a] =
// sum_{c,k} x[n, g*Cg + c, a*s - p + k*d] * w[f, c, k],
//   dx[n, g*Cg + c, b] += dy[n, f, a] * w[f, c, k] and dw[f, c, k] += dy[n, f, a] * x[n, g*Cg + c, b]
// for every tap (a, k) that lands on input position b.
void conv_grad_nchw(const Arr& dy, const Arr& other, Arr& out, const Window& win, int64_t groups, bool data) {
  const Arr& x = data ? out : other;  // the image-shaped array
  const Arr& w = data ? other : out;  // the weight-shaped array
  int64_t n_batch = dy.shape[0], cin = x.shape[1], cout = dy.shape[1];
  int64_t cg = cin / groups, fg = cout / groups;
  auto is = spatial3(x.shape), os = spatial3(dy.shape);
  int64_t in_size = is[0] * is[1] * is[2], out_size = os[0] * os[1] * os[2];
  int64_t ksize = win.k[0] * win.k[1] * win.k[2];
  std::vector<int64_t> tab = tap_table(os, is, win);
  for (double& v : out.v) v = 0;
  for (int64_t n = 0; n < n_batch; ++n)
    for (int64_t g = 0; g < groups; ++g)
      for (int64_t f = 0; f < fg; ++f)
        for (int64_t c = 0; c < cg; ++c) {
          int64_t xo = (n * cin + g * cg + c) * in_size, wo = ((g * fg + f) * cg + c) * ksize;
          const double* d = &dy.v[(n * cout + g * fg + f) * out_size];
          for (int64_t a = 0; a < out_size; ++a)
            for (int64_t k = 0; k < ksize; ++k) {
              int64_t b = tab[a * ksize + k];
              if (b < 0) continue;
              if (data)
                out.v[xo + b] += d[a] * w.v[wo + k];
              else
                out.v[wo + k] += d[a] * x.v[xo + b];
            }
        }
}

void conv_data_grad(Ctx& c) {
  conv_grad_nchw(c.in[0], c.in[1], c.out[0], im2col_window(c, c.in[0].ndim() - 2), c.a.i("num_group"), true);
}
void conv_weight_grad(Ctx& c) {
  conv_grad_nchw(c.in[0], c.in[1], c.out[0], im2col_window(c, c.in[0].ndim() - 2), c.a.i("num_group"), false);
}

// The window of output position `o`: it starts at o*s - p. max reads only real elements;
// avg/sum/lp clip the window to the padded input first (that size is avg's divisor when
// count_include_pad, the default) and then [lo, hi) to the real input.
struct Span {
  std::array<int64_t, 3> lo, hi;
  int64_t padded_count = 1, real_count = 1;
};
Span window_of(const std::array<int64_t, 3>& o, const Window& win, const std::array<int64_t, 3>& is, bool is_max) {
  Span w;
  for (int d = 0; d < 3; ++d) {
    w.lo[d] = o[d] * win.stride[d] - win.pad[d];
    w.hi[d] = std::min(w.lo[d] + win.k[d], is_max ? is[d] : is[d] + win.pad[d]);
    w.padded_count *= w.hi[d] - w.lo[d];
    w.lo[d] = std::max<int64_t>(w.lo[d], 0);
    w.hi[d] = std::min(w.hi[d], is[d]);
    w.real_count *= std::max<int64_t>(0, w.hi[d] - w.lo[d]);
  }
  return w;
}

// Calls f(flat input offset within the plane) for each real element of the window, row-major.
template <typename F>
void for_window(const Span& w, const std::array<int64_t, 3>& is, F f) {
  for (int64_t i0 = w.lo[0]; i0 < w.hi[0]; ++i0)
    for (int64_t i1 = w.lo[1]; i1 < w.hi[1]; ++i1)
      for (int64_t i2 = w.lo[2]; i2 < w.hi[2]; ++i2)
        if (!f((i0 * is[1] + i1) * is[2] + i2)) return;
}

// lp sums x^p and takes the p-th root (MXNet's a_pow_p/a_root_p).
void pool_nchw(const Arr& x, Arr& out, const Window& win, const std::string& type, bool include_pad,
               int64_t p) {
  auto is = spatial3(x.shape), os = spatial3(out.shape);
  int64_t planes = x.shape[0] * x.shape[1], in_size = is[0] * is[1] * is[2];
  int64_t out_size = os[0] * os[1] * os[2];
  for (int64_t pl = 0; pl < planes; ++pl)
    for (int64_t o0 = 0; o0 < os[0]; ++o0)
      for (int64_t o1 = 0; o1 < os[1]; ++o1)
        for (int64_t o2 = 0; o2 < os[2]; ++o2) {
          Span w = window_of({o0, o1, o2}, win, is, type == "max");
          double acc = type == "max" ? -std::numeric_limits<double>::infinity() : 0.0;
          for_window(w, is, [&](int64_t i) {
            double v = x.v[pl * in_size + i];
            if (type == "max")
              acc = std::max(acc, v);
            else if (type == "lp")
              acc += std::pow(v, static_cast<double>(p));
            else
              acc += v;
            return true;
          });
          if (type == "avg") acc /= static_cast<double>(include_pad ? w.padded_count : w.real_count);
          if (type == "lp") acc = p == 2 ? std::sqrt(acc) : p == 3 ? std::cbrt(acc) : std::pow(acc, 1.0 / p);
          out.v[pl * out_size + (o0 * os[1] + o1) * os[2] + o2] = acc;
        }
}

// MXNet's pool backward (nn/pool.h unpool_*): each output gradient goes back over its window;
// max gives all of it to the window's first element equal to the output.
void unpool_nchw(const Arr& og, const Arr& x, const Arr& y, Arr& dx, const Window& win, const std::string& type,
                 bool include_pad) {
  auto is = spatial3(x.shape), os = spatial3(og.shape);
  int64_t planes = x.shape[0] * x.shape[1], in_size = is[0] * is[1] * is[2];
  int64_t out_size = os[0] * os[1] * os[2];
  for (int64_t pl = 0; pl < planes; ++pl)
    for (int64_t o0 = 0; o0 < os[0]; ++o0)
      for (int64_t o1 = 0; o1 < os[1]; ++o1)
        for (int64_t o2 = 0; o2 < os[2]; ++o2) {
          int64_t o = pl * out_size + (o0 * os[1] + o1) * os[2] + o2;
          Span w = window_of({o0, o1, o2}, win, is, type == "max");
          double g = og.v[o];
          if (type == "avg") g /= static_cast<double>(include_pad ? w.padded_count : w.real_count);
          for_window(w, is, [&](int64_t i) {
            if (type != "max") {
              dx.v[pl * in_size + i] += g;
              return true;
            }
            if (x.v[pl * in_size + i] != y.v[o]) return true;
            dx.v[pl * in_size + i] += g;
            return false;
          });
        }
}

Window pool_window(const Ctx& c, const Arr& x) {
  int nk = x.ndim() - 2;
  if (c.a.b("global_pool")) return {spatial3(x.shape), {1, 1, 1}, {1, 1, 1}, {0, 0, 0}};
  return {dims3(c, "kernel", nk, 1, 1), dims3(c, "stride", nk, 1, 1), {1, 1, 1}, dims3(c, "pad", nk, 0, 0)};
}

void pooling(Ctx& c) {
  bool last = channel_last(c);
  Arr x = last ? permuted(c.in[0], to_first(c.in[0].ndim())) : c.in[0];
  bool include_pad = c.a.is_none("count_include_pad") || c.a.b("count_include_pad");
  int64_t p = c.a.opt_i("p_value").value_or(1);
  Dims out_shape = last ? permuted_shape(c.out[0].shape, to_first(c.out[0].ndim())) : c.out[0].shape;
  Arr out(out_shape);
  pool_nchw(x, out, pool_window(c, x), c.a.s("pool_type"), include_pad, p);
  c.out[0] = last ? permuted(out, to_last(out.ndim())) : out;
}

void pooling_backward(Ctx& c) {
  if (c.a.s("pool_type") == "lp") c.fail("pool_type=lp has no backward");
  bool last = channel_last(c);
  auto first = [&](const Arr& a) { return last ? permuted(a, to_first(a.ndim())) : a; };
  Arr og = first(c.in[0]), x = first(c.in[1]), y = first(c.in[2]);
  bool include_pad = c.a.is_none("count_include_pad") || c.a.b("count_include_pad");
  Arr dx(x.shape);
  unpool_nchw(og, x, y, dx, pool_window(c, x), c.a.s("pool_type"), include_pad);
  c.out[0] = last ? permuted(dx, to_last(dx.ndim())) : dx;
}

}  // namespace

void add_nn_conv_kernels(KernelTable& t) {
  t.add("Convolution", [](Ctx& c) { convolution(c, false); });
  t.add("Deconvolution", [](Ctx& c) { convolution(c, true); });
  t.add("Pooling", pooling);
  t.add("_backward_Pooling", pooling_backward);
  t.add("im2col", im2col);
  t.add("col2im", col2im);
  t.add("_hgc_conv_data_grad", conv_data_grad);
  t.add("_hgc_conv_weight_grad", conv_weight_grad);
}

}  // namespace hgc::ref
