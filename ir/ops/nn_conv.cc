// Windowed ops: Convolution, Deconvolution, Pooling and its backward, im2col/col2im (MXNet 1.x
// nn/convolution, nn/deconvolution, nn/pooling, nn/im2col). 1-D, 2-D and 3-D kernels;
// channel-first (NCW, NCHW, NCDHW) and channel-last (NWC, NHWC, NDHWC) layouts. Weights
// follow the data layout, as in MXNet's ConvertLayout.
#include <algorithm>

#include "nn_movement_util.h"

namespace hgc::ops {
namespace {

using util::known;

// Where the channel and spatial axes sit in data of rank nk + 2.
struct Layout {
  int c = 1;
  std::vector<int> spatial;
};

Layout layout_of(const ShapeCtx& c, int nk) {
  Layout l;
  if (!c.attrs.is_none("layout")) {
    const std::string& s = c.attrs.s("layout");
    if (static_cast<int>(s.size()) != nk + 2)
      c.error("layout " + s + " does not fit a " + std::to_string(nk) + "-D window");
    l.c = s[1] == 'C' ? 1 : nk + 1;
  }
  for (int i = 1; i < nk + 2; ++i)
    if (i != l.c) l.spatial.push_back(i);
  return l;
}

// A per-spatial-dim tuple attribute; "()" means `def` in every dim.
std::vector<int64_t> per_dim(const ShapeCtx& c, const std::string& name, int nk, int64_t def,
                             int64_t min) {
  std::vector<int64_t> v = c.attrs.tuple(name);
  if (v.empty()) v.assign(nk, def);
  if (static_cast<int>(v.size()) != nk)
    c.error(name + "=" + util::str(v) + " must have " + std::to_string(nk) +
            " entries, one per kernel dim");
  for (int64_t x : v)
    if (x < min) c.error(name + "=" + util::str(v) + " has an entry below " + std::to_string(min));
  return v;
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Convolution and Deconvolution share everything but the weight layout and the size formula.
bool conv_shape(ShapeCtx& c, bool deconv) {
  const AttrView& a = c.attrs;
  int nk = static_cast<int>(a.tuple("kernel").size());
  if (nk < 1 || nk > 3)
    c.error("kernel=" + util::str(a.tuple("kernel")) + " must have 1 to 3 dims");
  auto k = per_dim(c, "kernel", nk, 1, 1), stride = per_dim(c, "stride", nk, 1, 1),
       dilate = per_dim(c, "dilate", nk, 1, 1), pad = per_dim(c, "pad", nk, 0, 0);
  int64_t nf = a.i("num_filter"), g = a.i("num_group");
  if (nf < 1 || g < 1) c.error("num_filter and num_group must be >= 1");
  if (nf % g != 0)
    c.error("num_filter " + std::to_string(nf) + " is not divisible by num_group " +
            std::to_string(g));
  Layout l = layout_of(c, nk);
  std::vector<int64_t> adj, target;
  if (deconv) {
    adj = per_dim(c, "adj", nk, 0, 0);
    target = a.tuple("target_shape");
    if (!target.empty() && static_cast<int>(target.size()) != nk)
      c.error("target_shape=" + util::str(target) + " must have " + std::to_string(nk) +
              " entries");
  }

  Shape d = c.in[0];
  if (!d.rank_known()) return false;
  if (d.ndim() != nk + 2)
    c.error("data has shape " + d.str() + ", expected rank " + std::to_string(nk + 2) + " for a " +
            std::to_string(nk) + "-D kernel");
  int64_t ch = d[l.c];
  if (known(ch) && ch % g != 0)
    c.error("input channels " + std::to_string(ch) + " are not divisible by num_group " +
            std::to_string(g));

  // Convolution weight (num_filter, C/group, k...), deconvolution (C, num_filter/group, k...).
  Shape w = Shape::of_rank(nk + 2);
  w[0] = deconv ? ch : nf;
  w[l.c] = deconv ? nf / g : (known(ch) ? ch / g : Shape::kUnknownDim);
  for (int i = 0; i < nk; ++i) w[l.spatial[i]] = k[i];
  c.assign_in(1, w);
  if (!a.b("no_bias")) c.assign_in(2, Shape{nf});

  Shape out = d;
  out[l.c] = nf;
  for (int i = 0; i < nk; ++i) {
    int64_t x = d[l.spatial[i]], dk = dilate[i] * (k[i] - 1) + 1;
    int64_t& o = out[l.spatial[i]];
    if (!known(x)) continue;
    if (!deconv) {
      if (x + 2 * pad[i] < dk)
        c.error("kernel " + util::str(k) + " (dilated " + std::to_string(dk) +
                ") exceeds padded input " + std::to_string(x + 2 * pad[i]) + " of data " + d.str());
      o = (x + 2 * pad[i] - dk) / stride[i] + 1;
      continue;
    }
    int64_t full = stride[i] * (x - 1) + dk;
    if (!target.empty() && target[i] > 0) {
      // MXNet derives pad/adj from the target: pad = ceil(excess/2), adj = excess % 2.
      if (full < target[i])
        c.error("target_shape " + util::str(target) + " is too big for input " + d.str());
      if ((full - target[i]) % 2 > stride[i] - 1) c.error("target_shape needs adj >= stride");
      o = target[i];
    } else {
      if (adj[i] >= stride[i]) c.error("adj=" + util::str(adj) + " must be smaller than stride");
      o = full - 2 * pad[i] + adj[i];
      if (o <= 0) c.error("output size " + std::to_string(o) + " is not positive");
    }
  }
  c.assign_out(0, out);

  // Like MXNet: the batch dim, and spatial dims with stride 1, flow back from the output.
  if (!deconv && c.out[0].rank_known()) {
    Shape back = Shape::of_rank(nk + 2);
    back[0] = c.out[0][0];
    for (int i = 0; i < nk; ++i) {
      int64_t o = c.out[0][l.spatial[i]];
      if (known(o) && stride[i] == 1) back[l.spatial[i]] = o + dilate[i] * (k[i] - 1) - 2 * pad[i];
    }
    c.assign_in(0, back);
  }
  return c.out[0].known();
}

bool pool_shape(ShapeCtx& c) {
  const AttrView& a = c.attrs;
  if (a.s("pool_type") == "lp" && a.is_none("p_value")) c.error("lp pooling needs p_value");
  Shape d = c.in[0];
  if (!d.rank_known()) return false;
  if (d.ndim() < 3 || d.ndim() > 5)
    c.error("data has shape " + d.str() + ", expected rank 3, 4 or 5 (N, C, spatial...)");
  int nk = d.ndim() - 2;
  Layout l = layout_of(c, nk);
  Shape out = d;
  if (a.b("global_pool")) {
    for (int s : l.spatial) out[s] = 1;
  } else {
    if (a.tuple("kernel").empty()) c.error("kernel is required unless global_pool=True");
    auto k = per_dim(c, "kernel", nk, 1, 1), stride = per_dim(c, "stride", nk, 1, 1),
         pad = per_dim(c, "pad", nk, 0, 0);
    const std::string& conv = a.s("pooling_convention");
    if (conv == "same" && std::any_of(pad.begin(), pad.end(), [](int64_t p) { return p != 0; }))
      c.error("pooling_convention=same does not allow pad");
    for (int i = 0; i < nk; ++i) {
      int64_t x = d[l.spatial[i]], span = x + 2 * pad[i];
      int64_t& o = out[l.spatial[i]];
      if (!known(x)) continue;
      if (k[i] > span)
        c.error("kernel " + util::str(k) + " exceeds padded input " + std::to_string(span) +
                " of data " + d.str());
      if (conv == "valid")
        o = (span - k[i]) / stride[i] + 1;
      else if (conv == "full")
        o = ceil_div(span - k[i], stride[i]) + 1;
      else
        o = ceil_div(span, stride[i]);
    }
  }
  c.assign_out(0, out);
  if (c.out[0].rank_known()) {
    Shape back = Shape::of_rank(d.ndim());
    back[0] = c.out[0][0];
    back[l.c] = c.out[0][l.c];
    c.assign_in(0, back);
  }
  return c.out[0].known();
}

// _backward_Pooling(ograd, in_data, out_data) -> in_grad: in_grad has in_data's shape; ograd
// and out_data have the shape Pooling gives in_data.
bool pool_backward_shape(ShapeCtx& c) {
  Shape x = c.in[1];
  Shape::merge(x, c.out[0]);
  if (!x.rank_known()) return false;
  c.assign_in(1, x);
  c.assign_out(0, x);
  std::vector<Shape> fin{x}, fout{Shape()};
  static const Names kData{"data"};
  ShapeCtx fwd{c.attrs, kData, fin, fout};
  pool_shape(fwd);
  c.assign_in(0, fout[0]);
  c.assign_in(2, fout[0]);
  return x.known() && c.in[0].known();
}

// im2col: data (N, C, spatial...) -> (N, C * prod(kernel), prod(out spatial)), out spatial by
// the convolution formula. col2im: data (N, C * prod(kernel), L) -> (N, C, output_size...),
// where L must be what im2col gives for that output size.
struct Im2col {
  std::vector<int64_t> k, stride, dilate, pad;
  int64_t taps = 1;
};

Im2col im2col_attrs(const ShapeCtx& c) {
  int nk = static_cast<int>(c.attrs.tuple("kernel").size());
  if (nk < 1 || nk > 3) c.error("kernel=" + util::str(c.attrs.tuple("kernel")) + " must have 1 to 3 dims");
  Im2col w{per_dim(c, "kernel", nk, 1, 1), per_dim(c, "stride", nk, 1, 1), per_dim(c, "dilate", nk, 1, 1),
           per_dim(c, "pad", nk, 0, 0)};
  for (int64_t k : w.k) w.taps *= k;
  return w;
}

// Sliding positions along each spatial dim of `spatial`, multiplied; kUnknownDim if unknown.
int64_t im2col_blocks(const ShapeCtx& c, const Im2col& w, const std::vector<int64_t>& spatial) {
  int64_t blocks = 1;
  for (size_t i = 0; i < spatial.size(); ++i) {
    if (!known(spatial[i])) return Shape::kUnknownDim;
    int64_t dk = w.dilate[i] * (w.k[i] - 1) + 1, span = spatial[i] + 2 * w.pad[i];
    if (span < dk)
      c.error("kernel " + util::str(w.k) + " (dilated " + std::to_string(dk) + ") exceeds padded size " +
              std::to_string(span) + " of spatial dims " + util::str(spatial));
    blocks *= (span - dk) / w.stride[i] + 1;
  }
  return blocks;
}

bool im2col_shape(ShapeCtx& c) {
  Im2col w = im2col_attrs(c);
  int nk = static_cast<int>(w.k.size());
  const Shape& d = c.in[0];
  if (!d.rank_known()) return false;
  if (d.ndim() != nk + 2)
    c.error("data has shape " + d.str() + ", expected rank " + std::to_string(nk + 2) + " for a " +
            std::to_string(nk) + "-D kernel");
  std::vector<int64_t> sp(d.dims().begin() + 2, d.dims().end());
  int64_t ch = known(d[1]) ? d[1] * w.taps : Shape::kUnknownDim;
  c.assign_out(0, Shape{d[0], ch, im2col_blocks(c, w, sp)});
  return c.out[0].known();
}

bool col2im_shape(ShapeCtx& c) {
  Im2col w = im2col_attrs(c);
  std::vector<int64_t> size = c.attrs.tuple("output_size");
  if (size.size() != w.k.size())
    c.error("output_size=" + util::str(size) + " must have one entry per kernel dim " + util::str(w.k));
  for (int64_t v : size)
    if (v < 1) c.error("output_size=" + util::str(size) + " has an entry below 1");
  const Shape& d = c.in[0];
  if (!d.rank_known()) return false;
  if (d.ndim() != 3) c.error("data has shape " + d.str() + ", expected (N, C * prod(kernel), L)");
  int64_t blocks = im2col_blocks(c, w, size);
  c.assign_in(0, Shape{d[0], d[1], blocks});
  if (known(d[1]) && d[1] % w.taps != 0)
    c.error("data has " + std::to_string(d[1]) + " rows, not a multiple of the kernel's " + std::to_string(w.taps) +
            " taps");
  Shape out = Shape::of_rank(static_cast<int>(size.size()) + 2);
  out[0] = d[0];
  out[1] = known(d[1]) ? d[1] / w.taps : Shape::kUnknownDim;
  for (size_t i = 0; i < size.size(); ++i) out[2 + i] = size[i];
  c.assign_out(0, out);
  return c.out[0].known();
}

// _hgc_conv_data_grad(ograd, weight) -> data gradient (N, weight[1] * num_group,
// output_size...); _hgc_conv_weight_grad(ograd, data) -> weight gradient (ograd[1],
// data[1] / num_group, kernel...). ograd's spatial dims must be what the window gives.
bool conv_grad_shape(ShapeCtx& c, bool data) {
  Im2col w = im2col_attrs(c);
  int nk = static_cast<int>(w.k.size());
  int64_t groups = c.attrs.i("num_group");
  if (groups < 1) c.error("num_group=" + std::to_string(groups) + " must be positive");
  const Shape &dy = c.in[0], &other = c.in[1];
  if (!dy.rank_known() || !other.rank_known()) return false;
  if (dy.ndim() != nk + 2 || other.ndim() != nk + 2)
    c.error("ograd " + dy.str() + " and " + std::string(data ? "weight " : "data ") + other.str() + " must have rank " +
            std::to_string(nk + 2) + " for a " + std::to_string(nk) + "-D kernel");
  std::vector<int64_t> sp;
  if (data) {
    sp = c.attrs.tuple("output_size");
    if (static_cast<int>(sp.size()) != nk)
      c.error("output_size=" + util::str(sp) + " must have one entry per kernel dim " + util::str(w.k));
  } else {
    sp.assign(other.dims().begin() + 2, other.dims().end());
  }
  std::vector<int64_t> blocks;  // what the window gives per spatial dim
  for (int i = 0; i < nk; ++i) {
    if (!known(sp[i])) return false;
    int64_t dk = w.dilate[i] * (w.k[i] - 1) + 1, span = sp[i] + 2 * w.pad[i];
    if (span < dk) c.error("kernel " + util::str(w.k) + " exceeds padded size " + std::to_string(span));
    blocks.push_back((span - dk) / w.stride[i] + 1);
    if (known(dy[2 + i]) && dy[2 + i] != blocks.back())
      c.error("ograd " + dy.str() + " does not match the window's output size " + util::str(blocks));
  }
  if (data) {
    Shape out = Shape::of_rank(nk + 2);
    out[0] = dy[0];
    out[1] = known(other[1]) ? other[1] * groups : Shape::kUnknownDim;
    for (int i = 0; i < nk; ++i) out[2 + i] = sp[i];
    c.assign_out(0, out);
  } else {
    if (known(other[1]) && other[1] % groups) c.error("num_group=" + std::to_string(groups) + " does not divide data " + other.str());
    Shape out = Shape::of_rank(nk + 2);
    out[0] = dy[1];
    out[1] = known(other[1]) ? other[1] / groups : Shape::kUnknownDim;
    for (int i = 0; i < nk; ++i) out[2 + i] = w.k[i];
    c.assign_out(0, out);
  }
  return c.out[0].known();
}

OpBuilder pool_attrs(OpBuilder b) {
  return b.attr(AttrSpec::int_tuple("kernel").def(std::vector<int64_t>{}))
      .attr(AttrSpec::one_of("pool_type", {"max", "avg", "sum", "lp"}).def(std::string("max")))
      .attr(AttrSpec::boolean("global_pool").def(false))
      .attr(AttrSpec::boolean("cudnn_off").def(false))
      .attr(AttrSpec::one_of("pooling_convention", {"valid", "full", "same"}).def(std::string("valid")))
      .attr(AttrSpec::int_tuple("stride").def(std::vector<int64_t>{}))
      .attr(AttrSpec::int_tuple("pad").def(std::vector<int64_t>{}))
      .attr(AttrSpec::integer("p_value").opt())
      .attr(AttrSpec::boolean("count_include_pad").opt())
      .attr(AttrSpec::one_of("layout", {"NCW", "NCHW", "NCDHW", "NWC", "NHWC", "NDHWC"}).opt())
      .attr(AttrSpec::int_tuple("output_size").opt());
}

// The attributes Convolution and Deconvolution share, in MXNet's order.
OpBuilder conv_attrs(OpBuilder b, int64_t workspace, bool no_bias, bool deconv) {
  static std::vector<std::string> layouts = {"NCW", "NCHW", "NCDHW", "NHWC", "NWC", "NDHWC"};
  b.attr(AttrSpec::int_tuple("kernel"))
      .attr(AttrSpec::int_tuple("stride").def(std::vector<int64_t>{}))
      .attr(AttrSpec::int_tuple("dilate").def(std::vector<int64_t>{}))
      .attr(AttrSpec::int_tuple("pad").def(std::vector<int64_t>{}));
  if (deconv)
    b.attr(AttrSpec::int_tuple("adj").def(std::vector<int64_t>{}))
        .attr(AttrSpec::int_tuple("target_shape").def(std::vector<int64_t>{}));
  return b.attr(AttrSpec::integer("num_filter"))
      .attr(AttrSpec::integer("num_group").def(int64_t(1)))
      .attr(AttrSpec::integer("workspace").def(workspace))
      .attr(AttrSpec::boolean("no_bias").def(no_bias))
      .attr(AttrSpec::one_of("cudnn_tune", {"off", "limited_workspace", "fastest"}).opt())
      .attr(AttrSpec::boolean("cudnn_off").def(false))
      .attr(AttrSpec::one_of("layout", layouts).opt())
      .inputs([](const AttrView& a) {
        return a.b("no_bias") ? Names{"data", "weight"} : Names{"data", "weight", "bias"};
      })
      .params({"weight", "bias"})
      .traits(kGemm);  // convolution is GEMM-shaped work (im2col + sgemm)
}

}  // namespace

void register_nn_conv(OpRegistry& r) {
  conv_attrs(r.add("Convolution"), 1024, false, false).shape([](ShapeCtx& c) {
    return conv_shape(c, false);
  });
  conv_attrs(r.add("Deconvolution"), 512, true, true).shape([](ShapeCtx& c) {
    return conv_shape(c, true);
  });

  // MXNet 1.6+ sliding-block ops (nn/im2col.cc): the pieces of a general convolution gradient
  // and of Deconvolution.
  auto window = [](OpBuilder b) {
    return b.attr(AttrSpec::int_tuple("kernel"))
        .attr(AttrSpec::int_tuple("stride").def(std::vector<int64_t>{}))
        .attr(AttrSpec::int_tuple("dilate").def(std::vector<int64_t>{}))
        .attr(AttrSpec::int_tuple("pad").def(std::vector<int64_t>{}));
  };
  window(r.add("im2col")).shape(im2col_shape);
  window(r.add("col2im").attr(AttrSpec::int_tuple("output_size"))).shape(col2im_shape);

  // Convolution's gradients as two ops, so a gradient graph that needs only one (the first
  // layer needs no data gradient) computes only that one; lowered to im2col + sgemm library
  // calls over chunks of images (runtime/library.h).
  window(r.add("_hgc_conv_data_grad").attr(AttrSpec::integer("num_group").def(int64_t(1)))
             .attr(AttrSpec::int_tuple("output_size")))
      .inputs(Names{"ograd", "weight"})
      .shape([](ShapeCtx& c) { return conv_grad_shape(c, true); });
  window(r.add("_hgc_conv_weight_grad").attr(AttrSpec::integer("num_group").def(int64_t(1))))
      .inputs(Names{"ograd", "data"})
      .shape([](ShapeCtx& c) { return conv_grad_shape(c, false); });

  // `same` is MXNet's 1-D-only convention ceil(x / stride); it is accepted for any rank here.
  // output_size (adaptive pooling) is part of the schema but, as in MXNet's own shape function,
  // does not change the inferred shape.
  pool_attrs(r.add("Pooling")).shape(pool_shape);

  // MXNet's backward node of Pooling, with the same attributes: the input gradient from the
  // output gradient, the input and the output. Max pooling routes each window's gradient to
  // the window's first maximum in row-major order (as MXNet does; ties get nothing more);
  // avg divides by the window area under count_include_pad, as the forward does.
  pool_attrs(r.add("_backward_Pooling"))
      .inputs(Names{"ograd", "in_data", "out_data"})
      .shape(pool_backward_shape);
}

}  // namespace hgc::ops
