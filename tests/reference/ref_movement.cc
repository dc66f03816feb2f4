// Reference kernels of the movement family: data movement without indices (MXNet 1.x
// tensor/matrix_op-inl.h, nn/concat, slice_channel, swapaxis). Reshape-like ops (Reshape with
// its special values, expand_dims, squeeze) copy the row-major data unchanged: inference already
// worked out the output shape, which is all the special values mean.
#include <algorithm>

#include "reference/ref_kernels.h"

namespace hgc::ref {
namespace {

void copy(Ctx& c) {
  if (c.in[0].numel() != c.out[0].numel()) c.fail("input and output sizes differ");
  c.out[0].v = c.in[0].v;
}

// out[idx] = in[idx'] with idx'[perm[j]] = idx[j].
void permute(Ctx& c, const std::vector<int>& perm) {
  const Arr& x = c.in[0];
  Arr& o = c.out[0];
  Dims st = strides_of(x.shape);
  int64_t k = 0;
  for (Odometer it(o.shape); it.valid(); it.next(), ++k) {
    int64_t off = 0;
    for (size_t j = 0; j < perm.size(); ++j) off += it.idx[j] * st[perm[j]];
    o.v[k] = x.v[off];
  }
}

void transpose(Ctx& c) {
  int n = c.in[0].ndim();
  const auto& axes = c.a.tuple("axes");
  std::vector<int> perm(n);
  for (int j = 0; j < n; ++j) perm[j] = axes.empty() ? n - 1 - j : c.axis(axes[j], n);
  permute(c, perm);
}

void swap_axis(Ctx& c) {
  int n = c.in[0].ndim();
  std::vector<int> perm(n);
  for (int j = 0; j < n; ++j) perm[j] = j;
  std::swap(perm[c.axis(c.a.i("dim1"), n)], perm[c.axis(c.a.i("dim2"), n)]);
  permute(c, perm);
}

// Inputs are laid side by side along `dim`.
void concat(Ctx& c) {
  Arr& o = c.out[0];
  int axis = c.axis(c.a.i("dim"), o.ndim());
  AxisView ov(o.shape, axis);
  int64_t start = 0;
  for (const Arr& x : c.in) {
    AxisView xv(x.shape, axis);
    for (int64_t a = 0; a < xv.outer; ++a)
      for (int64_t j = 0; j < xv.len; ++j)
        for (int64_t i = 0; i < xv.inner; ++i) o.v[ov.at(a, start + j, i)] = x.v[xv.at(a, j, i)];
    start += xv.len;
  }
}

// A new axis of length num_args: out[a, k, i] = in_k[a, i].
void stack(Ctx& c) {
  Arr& o = c.out[0];
  int axis = c.axis(c.a.i("axis"), o.ndim());
  AxisView ov(o.shape, axis);
  for (int64_t k = 0; k < ov.len; ++k)
    for (int64_t a = 0; a < ov.outer; ++a)
      for (int64_t i = 0; i < ov.inner; ++i) o.v[ov.at(a, k, i)] = c.in[k].v[a * ov.inner + i];
}

// Output k is the k-th equal part along `axis` (squeeze_axis only drops the size-1 dim).
void slice_channel(Ctx& c) {
  const Arr& x = c.in[0];
  int axis = c.axis(c.a.i("axis"), x.ndim());
  AxisView xv(x.shape, axis);
  int64_t n = static_cast<int64_t>(c.out.size()), part = xv.len / n;
  for (int64_t k = 0; k < n; ++k) {
    int64_t m = 0;
    for (int64_t a = 0; a < xv.outer; ++a)
      for (int64_t j = 0; j < part; ++j)
        for (int64_t i = 0; i < xv.inner; ++i) c.out[k].v[m++] = x.v[xv.at(a, k * part + j, i)];
  }
}

// Both shapes align on the right; the input is read modulo its (1-padded) dims.
void tile(Ctx& c) {
  const Arr& x = c.in[0];
  Arr& o = c.out[0];
  Dims in(o.ndim() - x.ndim(), 1);
  in.insert(in.end(), x.shape.begin(), x.shape.end());
  Dims st = strides_of(in);
  int64_t k = 0;
  for (Odometer it(o.shape); it.valid(); it.next(), ++k) {
    int64_t off = 0;
    for (int d = 0; d < o.ndim(); ++d) off += (it.idx[d] % in[d]) * st[d];
    o.v[k] = x.v[off];
  }
}

// Each element repeated `repeats` times along `axis`, or in the flattened input.
void repeat(Ctx& c) {
  const Arr& x = c.in[0];
  Arr& o = c.out[0];
  int64_t reps = c.a.i("repeats");
  if (reps == 0) return;
  auto axis = c.a.opt_i("axis");
  if (!axis) {
    for (int64_t j = 0; j < o.numel(); ++j) o.v[j] = x.v[j / reps];
    return;
  }
  AxisView ov(o.shape, c.axis(*axis, x.ndim())), xv(x.shape, c.axis(*axis, x.ndim()));
  for (int64_t a = 0; a < ov.outer; ++a)
    for (int64_t j = 0; j < ov.len; ++j)
      for (int64_t i = 0; i < ov.inner; ++i) o.v[ov.at(a, j, i)] = x.v[xv.at(a, j / reps, i)];
}

void reverse(Ctx& c) {
  const Arr& x = c.in[0];
  Arr& o = c.out[0];
  std::vector<bool> flip(x.ndim(), false);
  for (int64_t a : c.a.tuple("axis")) flip[c.axis(a, x.ndim())] = true;
  Dims st = strides_of(x.shape);
  int64_t k = 0;
  for (Odometer it(o.shape); it.valid(); it.next(), ++k) {
    int64_t off = 0;
    for (int d = 0; d < x.ndim(); ++d) off += (flip[d] ? x.shape[d] - 1 - it.idx[d] : it.idx[d]) * st[d];
    o.v[k] = x.v[off];
  }
}

// MXNet's DCR order: depth_to_space reads out[n, c, h*b + i, w*b + j] from
// in[n, (i*b + j) * C_out + c, h, w]; space_to_depth is its inverse.
void block_move(Ctx& c, bool to_space) {
  const Arr& x = c.in[0];
  Arr& o = c.out[0];
  int64_t b = c.a.i("block_size");
  const Arr& deep = to_space ? x : o;  // the (N, C*b*b, H, W) side
  const Arr& wide = to_space ? o : x;  // the (N, C, H*b, W*b) side
  int64_t N = wide.shape[0], C = wide.shape[1], H = deep.shape[2], W = deep.shape[3];
  for (int64_t n = 0; n < N; ++n)
    for (int64_t ch = 0; ch < C; ++ch)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w)
          for (int64_t i = 0; i < b; ++i)
            for (int64_t j = 0; j < b; ++j) {
              int64_t d = ((n * C * b * b + (i * b + j) * C + ch) * H + h) * W + w;
              int64_t s = ((n * C + ch) * H * b + h * b + i) * W * b + w * b + j;
              if (to_space)
                o.v[s] = x.v[d];
              else
                o.v[d] = x.v[s];
            }
}

}  // namespace

void add_movement_kernels(KernelTable& t) {
  for (const char* name : {"Reshape", "_np_reshape", "expand_dims", "squeeze", "reshape_like"}) t.add(name, copy);
  t.add("transpose", transpose);
  t.add("SwapAxis", swap_axis);
  t.add("Concat", concat);
  t.add("stack", stack);
  t.add("SliceChannel", slice_channel);
  t.add("tile", tile);
  t.add("repeat", repeat);
  t.add("reverse", reverse);
  t.add("depth_to_space", [](Ctx& c) { block_move(c, true); });
  t.add("space_to_depth", [](Ctx& c) { block_move(c, false); });
  t.add("shape_array", [](Ctx& c) {
    for (int d = 0; d < c.in[0].ndim(); ++d) c.out[0].v[d] = static_cast<double>(c.in[0].shape[d]);
  });
  t.add("size_array", [](Ctx& c) { c.out[0].v[0] = static_cast<double>(c.in[0].numel()); });
}

}  // namespace hgc::ref
