// Movement family: reshapes, permutations, joins and splits (MXNet 1.x
// src/operator/tensor/matrix_op-inl.h, nn/concat, slice_channel, swapaxis). Slicing and
// gathers live in movement_index.cc, which register_movement also registers.
#include <algorithm>

#include "families.h"
#include "nn_movement_util.h"

namespace hgc::ops {
namespace {

using util::known;

// ---- Reshape ----

// MXNet's InferReshapeShape: 0 copies a dim, -1 infers one dim, -2 copies the rest, -3 merges
// two dims, -4 splits one dim into the next two values (one may be -1). With `reverse` the
// special values are matched right to left.
Shape infer_reshape(const ShapeCtx& c, std::vector<int64_t> spec, const Shape& in, bool reverse) {
  const std::string where = "shape=" + util::str(spec) + (reverse ? " (reverse)" : "");
  std::vector<int64_t> src = in.dims();
  if (reverse) {
    std::reverse(src.begin(), src.end());
    std::reverse(spec.begin(), spec.end());
  }
  std::vector<int64_t> out;
  size_t si = 0;
  int inferred = -1;
  auto take = [&](const char* what) {
    if (si >= src.size()) c.error(where + ": " + what + " runs past the dims of input " + in.str());
    return src[si++];
  };
  for (size_t i = 0; i < spec.size(); ++i) {
    int64_t v = spec[i];
    if (v == 0) {
      out.push_back(take("0"));
    } else if (v == -1) {
      if (inferred >= 0) c.error(where + ": at most one dim can be -1");
      inferred = static_cast<int>(out.size());
      out.push_back(1);
      ++si;
    } else if (v == -2) {
      while (si < src.size()) out.push_back(src[si++]);
    } else if (v == -3) {
      int64_t a = take("-3"), b = take("-3");
      out.push_back(known(a) && known(b) ? a * b : Shape::kUnknownDim);
    } else if (v == -4) {
      if (i + 2 >= spec.size()) c.error(where + ": -4 must be followed by two dims");
      int64_t whole = take("-4"), d1 = spec[++i], d2 = spec[++i];
      if (d1 == -1 && d2 == -1) c.error(where + ": the two dims after -4 cannot both be -1");
      if (d1 == 0 || d2 == 0 || d1 < -1 || d2 < -1)
        c.error(where + ": the dims after -4 must be positive or -1");
      if (known(whole) && d1 == -1) d1 = whole % d2 == 0 ? whole / d2 : 0;
      if (known(whole) && d2 == -1) d2 = whole % d1 == 0 ? whole / d1 : 0;
      if (known(whole) && d1 * d2 != whole)
        c.error(where + ": cannot split dim " + std::to_string(whole) + " of input " + in.str());
      out.push_back(d1);
      out.push_back(d2);
    } else if (v > 0) {
      out.push_back(v);
      ++si;
    } else {
      c.error(where + ": invalid value " + std::to_string(v));
    }
  }
  if (inferred >= 0) {
    int64_t rest = util::prod(Shape(out), 0, static_cast<int>(out.size()));
    if (!in.known()) {
      out[inferred] = Shape::kUnknownDim;
    } else if (rest <= 0 || in.numel() % rest != 0) {
      c.error(where + ": cannot reshape input " + in.str());
    } else {
      out[inferred] = in.numel() / rest;
    }
  }
  if (reverse) std::reverse(out.begin(), out.end());
  return Shape(out);
}

// Deprecated target_shape: 0 marks the one inferred dim; keep_highest keeps dim 0.
Shape legacy_reshape(const ShapeCtx& c, const Shape& in) {
  Shape o(c.attrs.tuple("target_shape"));
  int start = c.attrs.b("keep_highest") ? 1 : 0;
  if (start && in.ndim() > 0 && o.ndim() > 0) o[0] = in[0];
  int zero = -1;
  for (int i = start; i < o.ndim(); ++i) {
    if (o[i] != 0) continue;
    if (zero >= 0) c.error("target_shape=" + o.str() + " can have only one 0");
    zero = i;
  }
  if (zero >= 0) {
    o[zero] = 1;
    int64_t rest = util::prod(o, 0, o.ndim());
    o[zero] =
        in.known() && rest > 0 && in.numel() % rest == 0 ? in.numel() / rest : Shape::kUnknownDim;
  }
  return o;
}

// MXNet's ReverseReshapeInferShape: one unknown input dim follows from a known output.
void fill_from_size(Shape& in, const Shape& out) {
  if (!in.rank_known() || !out.known()) return;
  int unknown = -1;
  int64_t p = 1;
  for (int i = 0; i < in.ndim(); ++i) {
    if (known(in[i]))
      p *= in[i];
    else if (unknown >= 0)
      return;
    else
      unknown = i;
  }
  if (unknown >= 0 && p > 0 && out.numel() % p == 0) in[unknown] = out.numel() / p;
}

bool reshape_shape(ShapeCtx& c) {
  const auto& spec = c.attrs.tuple("shape");
  Shape d = c.in[0];
  bool plain =
      !spec.empty() && std::all_of(spec.begin(), spec.end(), [](int64_t v) { return v > 0; });
  if (!d.rank_known() && !plain) {
    // MXNet's ReverseReshapeInferShape: an unknown input takes the known output's shape
    // (how a loss label behind Reshape(-1) gets its shape from SoftmaxOutput).
    if (c.out[0].known()) c.assign_in(0, c.out[0]);
    return false;
  }
  if (!spec.empty())
    c.assign_out(0, plain ? Shape(spec) : infer_reshape(c, spec, d, c.attrs.b("reverse")));
  else if (!c.attrs.tuple("target_shape").empty())
    c.assign_out(0, legacy_reshape(c, d));
  fill_from_size(d, c.out[0]);
  c.assign_in(0, d);
  const Shape &in = c.in[0], &out = c.out[0];
  if (in.known() && out.known() && in.numel() != out.numel())
    c.error("cannot reshape " + in.str() + " (" + std::to_string(in.numel()) + " elements) to " +
            out.str());
  return in.known() && out.known();
}

// ---- permutations ----

// out[j] = in[perm[j]], in either direction.
bool permute(ShapeCtx& c, const std::vector<int>& perm) {
  int n = static_cast<int>(perm.size());
  Shape o = Shape::of_rank(n), i = Shape::of_rank(n);
  for (int j = 0; j < n; ++j) {
    if (c.in[0].rank_known()) o[j] = c.in[0][perm[j]];
    if (c.out[0].rank_known()) i[perm[j]] = c.out[0][j];
  }
  c.assign_in(0, i);
  c.assign_out(0, o);
  return c.out[0].known();
}

int known_rank(const ShapeCtx& c) {
  const Shape &in = c.in[0], &out = c.out[0];
  if (in.rank_known() && out.rank_known() && in.ndim() != out.ndim())
    c.error("input " + in.str() + " and output " + out.str() + " differ in rank");
  return in.rank_known() ? in.ndim() : out.rank_known() ? out.ndim() : -1;
}

bool transpose_shape(ShapeCtx& c) {
  int n = known_rank(c);
  if (n < 0) return false;
  const auto& axes = c.attrs.tuple("axes");
  std::vector<int> perm(n);
  for (int j = 0; j < n; ++j) perm[j] = n - 1 - j;
  if (!axes.empty()) {
    if (static_cast<int>(axes.size()) != n)
      c.error("axes=" + util::str(axes) + " does not match rank " + std::to_string(n));
    std::vector<bool> seen(n);
    for (int j = 0; j < n; ++j) {
      perm[j] = util::axis(c, axes[j], n, "axes entry");
      if (seen[perm[j]]) c.error("axes=" + util::str(axes) + " is not a permutation");
      seen[perm[j]] = true;
    }
  }
  return permute(c, perm);
}

bool swapaxis_shape(ShapeCtx& c) {
  int n = known_rank(c);
  if (n < 0) return false;
  std::vector<int> perm(n);
  for (int j = 0; j < n; ++j) perm[j] = j;
  std::swap(perm[util::axis(c, c.attrs.i("dim1"), n, "dim1")],
            perm[util::axis(c, c.attrs.i("dim2"), n, "dim2")]);
  return permute(c, perm);
}

// ---- rank changes ----

bool expand_dims_shape(ShapeCtx& c) {
  const Shape &in = c.in[0], &out = c.out[0];
  if (!in.rank_known() && !out.rank_known()) return false;
  int n = in.rank_known() ? in.ndim() : out.ndim() - 1;
  int ax = util::axis(c, c.attrs.i("axis"), n + 1);
  if (out.rank_known()) c.assign_in(0, util::splice(out, ax, ax + 1, {}));
  if (c.in[0].rank_known()) c.assign_out(0, util::splice(c.in[0], ax, ax, {1}));
  return c.out[0].known();
}

bool squeeze_shape(ShapeCtx& c) {
  Shape d = c.in[0];
  if (!d.rank_known()) return false;
  std::vector<bool> drop(d.ndim());
  if (auto axes = c.attrs.opt_tuple("axis")) {
    for (int64_t a : *axes) {
      int ax = util::axis(c, a, d.ndim());
      if (drop[ax]) c.error("axis=" + util::str(*axes) + " repeats an axis");
      if (known(d[ax]) && d[ax] != 1)
        c.error("cannot squeeze axis " + std::to_string(a) + " of size " + std::to_string(d[ax]));
      drop[ax] = true;
      d[ax] = 1;
    }
  } else {
    if (!d.known()) return false;  // which dims are 1 is not known yet
    for (int i = 0; i < d.ndim(); ++i) drop[i] = d[i] == 1;
  }
  c.assign_in(0, d);
  std::vector<int64_t> o;
  for (int i = 0; i < d.ndim(); ++i)
    if (!drop[i]) o.push_back(d[i]);
  if (o.empty()) o = {1};  // MXNet 1.x keeps (1,) when everything is squeezed
  c.assign_out(0, Shape(o));
  return c.out[0].known();
}

// ---- joins and splits ----

// Inputs agree except along the axis, whose sizes add up; with the output known, one input
// with an unknown axis size is completed.
bool concat_shape(ShapeCtx& c) {
  int n = static_cast<int>(c.in.size()), rank = -1;
  for (int i = 0; i <= n; ++i) {
    const Shape& s = i < n ? c.in[i] : c.out[0];
    if (!s.rank_known()) continue;
    if (rank >= 0 && s.ndim() != rank)
      c.error((i < n ? "input " + std::to_string(i) : std::string("output")) + " has shape " +
              s.str() + ", expected rank " + std::to_string(rank));
    rank = s.ndim();
  }
  if (rank < 0) return false;
  if (rank == 0) c.error("cannot concatenate scalars");
  int ax = util::axis(c, c.attrs.i("dim"), rank, "dim");
  Shape common = Shape::of_rank(rank);
  for (int i = 0; i <= n; ++i) {
    Shape s = i < n ? c.in[i] : c.out[0];
    if (!s.rank_known()) continue;
    s[ax] = Shape::kUnknownDim;
    if (!Shape::merge(common, s))
      c.error("input shapes disagree off the concat axis " + std::to_string(ax) + ": " +
              (i < n ? c.in[i] : c.out[0]).str() + " vs " + common.str());
  }
  int64_t sum = 0;
  int missing = -1, nmissing = 0;
  for (int i = 0; i < n; ++i) {
    Shape s = common;
    s[ax] = c.in[i].rank_known() ? c.in[i][ax] : Shape::kUnknownDim;
    c.assign_in(i, s);
    if (known(s[ax]))
      sum += s[ax];
    else
      missing = i, ++nmissing;
  }
  int64_t total = c.out[0].rank_known() ? c.out[0][ax] : Shape::kUnknownDim;
  if (nmissing == 1 && known(total)) {
    if (total < sum) c.error("output axis size " + std::to_string(total) + " < sum of inputs");
    Shape s = c.in[missing];
    s[ax] = total - sum;
    c.assign_in(missing, s);
    sum = total;
    nmissing = 0;
  }
  Shape o = common;
  o[ax] = nmissing == 0 ? sum : Shape::kUnknownDim;
  c.assign_out(0, o);
  return c.out[0].known();
}

bool stack_shape(ShapeCtx& c) {
  int n = static_cast<int>(c.in.size());
  Shape common;
  for (const Shape& s : c.in)
    if (!Shape::merge(common, s))
      c.error("inputs differ in shape: " + common.str() + " vs " + s.str());
  const Shape& out = c.out[0];
  int64_t a = c.attrs.i("axis");
  if (!common.rank_known() && out.rank_known())
    common = util::splice(out, util::axis(c, a, out.ndim()), util::axis(c, a, out.ndim()) + 1, {});
  if (!common.rank_known()) return false;
  int ax = util::axis(c, a, common.ndim() + 1);
  if (out.rank_known() && out.ndim() == common.ndim() + 1)
    Shape::merge(common, util::splice(out, ax, ax + 1, {}));
  for (int i = 0; i < n; ++i) c.assign_in(i, common);
  c.assign_out(0, util::splice(common, ax, ax, {n}));
  return c.out[0].known();
}

bool slice_channel_shape(ShapeCtx& c) {
  int64_t n = c.attrs.i("num_outputs");
  bool squeeze = c.attrs.b("squeeze_axis");
  Shape d = c.in[0];
  if (!d.rank_known()) return false;
  int ax = util::axis(c, c.attrs.i("axis"), d.ndim());
  // Outputs carry back the other dims (and the axis size, times n).
  for (const Shape& o : c.out) {
    if (!o.rank_known() || o.ndim() != d.ndim() - (squeeze ? 1 : 0)) continue;
    Shape back = squeeze ? util::splice(o, ax, ax, {n}) : o;
    if (!squeeze && known(o[ax]))
      back[ax] = o[ax] * n;
    else if (!squeeze)
      back[ax] = Shape::kUnknownDim;
    c.assign_in(0, back);
  }
  d = c.in[0];
  if (known(d[ax]) && d[ax] % n != 0)
    c.error("cannot split axis " + std::to_string(ax) + " of " + d.str() + " into " +
            std::to_string(n) + " equal parts");
  if (squeeze && known(d[ax]) && d[ax] != n)
    c.error("squeeze_axis needs axis size == num_outputs, got " + d.str());
  Shape o = d;
  o[ax] = known(d[ax]) ? d[ax] / n : Shape::kUnknownDim;
  if (squeeze) o = util::splice(o, ax, ax + 1, {});
  for (int i = 0; i < static_cast<int>(c.out.size()); ++i) c.assign_out(i, o);
  return o.known();
}

// ---- repetition ----

bool tile_shape(ShapeCtx& c) {
  const auto& reps = c.attrs.tuple("reps");
  for (int64_t r : reps)
    if (r < 0) c.error("reps=" + util::str(reps) + " has a negative entry");
  const Shape& d = c.in[0];
  if (!d.rank_known()) return false;
  int n = std::max<int>(d.ndim(), static_cast<int>(reps.size()));
  Shape o = Shape::of_rank(n);
  // Both are aligned on the right; missing leading entries count as 1.
  for (int i = 1; i <= n; ++i) {
    int64_t x = i <= d.ndim() ? d[d.ndim() - i] : 1;
    int64_t r = i <= static_cast<int>(reps.size()) ? reps[reps.size() - i] : 1;
    o[n - i] = known(x) ? x * r : Shape::kUnknownDim;
  }
  c.assign_out(0, o);
  return o.known();
}

bool repeat_shape(ShapeCtx& c) {
  int64_t reps = c.attrs.i("repeats");
  if (reps < 0) c.error("repeats must be >= 0, got " + std::to_string(reps));
  const Shape& d = c.in[0];
  if (!d.rank_known()) return false;
  if (reps == 0) {
    c.assign_out(0, Shape{0});  // MXNet: an empty 1-D array
  } else if (auto a = c.attrs.opt_i("axis")) {
    Shape o = d;
    int ax = util::axis(c, *a, d.ndim());
    o[ax] = known(d[ax]) ? d[ax] * reps : Shape::kUnknownDim;
    c.assign_out(0, o);
  } else {  // flattened
    int64_t n = util::prod(d, 0, d.ndim());
    c.assign_out(0, Shape{known(n) ? n * reps : Shape::kUnknownDim});
  }
  return c.out[0].known();
}

bool reverse_shape(ShapeCtx& c) {
  if (c.in[0].rank_known())
    for (int64_t a : c.attrs.tuple("axis")) util::axis(c, a, c.in[0].ndim());
  return rules::same_shape(c);
}

// depth_to_space (to_space) and space_to_depth on NCHW data.
bool block_shape(ShapeCtx& c, bool to_space) {
  int64_t b = c.attrs.i("block_size");
  if (b < 1) c.error("block_size must be >= 1, got " + std::to_string(b));
  const Shape& d = c.in[0];
  if (!d.rank_known()) return false;
  if (d.ndim() != 4) c.error("data must be 4-D (N, C, H, W), got " + d.str());
  Shape o = d;
  auto div = [&](int i, int64_t by) {
    if (!known(d[i])) return Shape::kUnknownDim;
    if (d[i] % by != 0)
      c.error("dim " + std::to_string(i) + " of " + d.str() + " is not divisible by " +
              std::to_string(by));
    return d[i] / by;
  };
  auto mul = [&](int i, int64_t by) { return known(d[i]) ? d[i] * by : Shape::kUnknownDim; };
  o[1] = to_space ? div(1, b * b) : mul(1, b * b);
  for (int i = 2; i < 4; ++i) o[i] = to_space ? mul(i, b) : div(i, b);
  c.assign_out(0, o);
  return o.known();
}

bool int64_out(TypeCtx& c) {
  if (c.out[0] != DType::unknown && c.out[0] != DType::i64)
    c.error("output dtype must be int64, got " + dtype_name(c.out[0]));
  c.out[0] = DType::i64;
  return true;
}

// _np_reshape: `newshape` is the whole result shape (one -1 inferred from the element
// count); () is a 0-d tensor, which Reshape (where () means "no shape") cannot express.
bool np_reshape_shape(ShapeCtx& c) {
  std::vector<int64_t> s = c.attrs.tuple("newshape");
  int infer = -1;
  int64_t known = 1;
  for (size_t k = 0; k < s.size(); ++k) {
    if (s[k] == -1) {
      if (infer >= 0) c.error("newshape " + Shape(s).str() + " has more than one -1");
      infer = static_cast<int>(k);
    } else if (s[k] < 0) {
      c.error("newshape " + Shape(s).str() + " has a negative dim");
    } else {
      known *= s[k];
    }
  }
  if (infer >= 0) {
    if (!c.in[0].known()) return false;
    if (known == 0 || c.in[0].numel() % known) c.error("cannot reshape " + c.in[0].str() + " to " + Shape(s).str());
    s[infer] = c.in[0].numel() / known;
  }
  if (c.in[0].known() && c.in[0].numel() != Shape(s).numel())
    c.error("cannot reshape " + c.in[0].str() + " to " + Shape(s).str());
  c.assign_out(0, Shape(s));
  return true;
}

// reshape_like: lhs's shape with lhs[lhs_begin:lhs_end] replaced by rhs[rhs_begin:rhs_end]
// (MXNet's; None: the whole). Gradients of reshapes use it so a traced gradient graph reads
// the shape off a value instead of baking a size (a dynamic batch or sequence axis).
bool reshape_like_shape(ShapeCtx& c) {
  const Shape &l = c.in[0], &r = c.in[1];
  if (!l.rank_known() || !r.rank_known()) return false;
  auto range = [&](const char* b, const char* e, int n, int& lo, int& hi) {
    lo = c.attrs.is_none(b) ? 0 : static_cast<int>(c.attrs.i(b));
    hi = c.attrs.is_none(e) ? n : static_cast<int>(c.attrs.i(e));
    if (lo < 0) lo += n;
    if (hi < 0) hi += n;
    if (lo < 0 || hi > n || lo > hi) c.error(std::string(b) + "/" + e + " select no valid range of a rank-" + std::to_string(n) + " shape");
  };
  int lb, le, rb, re;
  range("lhs_begin", "lhs_end", l.ndim(), lb, le);
  range("rhs_begin", "rhs_end", r.ndim(), rb, re);
  std::vector<int64_t> o;
  for (int i = 0; i < lb; ++i) o.push_back(l[i]);
  for (int i = rb; i < re; ++i) o.push_back(r[i]);
  for (int i = le; i < l.ndim(); ++i) o.push_back(l[i]);
  Shape out(o);
  if (l.known() && out.known() && l.numel() != out.numel())
    c.error("cannot reshape " + l.str() + " like " + r.str() + " (" + out.str() + ")");
  c.assign_out(0, out);
  return true;
}

}  // namespace

void register_movement(OpRegistry& r) {
  std::vector<int64_t> none{};
  uint32_t view = kInjective | kInplace;

  r.add("Reshape")
      .alias("reshape")
      .attr(AttrSpec::int_tuple("shape").def(none))
      .attr(AttrSpec::boolean("reverse").def(false))
      .attr(AttrSpec::int_tuple("target_shape").def(none))
      .attr(AttrSpec::boolean("keep_highest").def(false))
      .traits(view)
      .shape(reshape_shape);
  r.add("reshape_like")
      .attr(AttrSpec::integer("lhs_begin").opt())
      .attr(AttrSpec::integer("lhs_end").opt())
      .attr(AttrSpec::integer("rhs_begin").opt())
      .attr(AttrSpec::integer("rhs_end").opt())
      .inputs(Names{"lhs", "rhs"})
      .traits(view)
      .shape(reshape_like_shape)
      .type(util::type_like_first);
  r.add("_np_reshape")
      .alias("_npi_reshape")
      .unary()
      .attr(AttrSpec::int_tuple("newshape"))
      .attr(AttrSpec::one_of("order", {"C"}).def(std::string("C")))
      .traits(view)
      .shape(np_reshape_shape);
  r.add("transpose")
      .attr(AttrSpec::int_tuple("axes").def(none))
      .traits(kInjective)
      .shape(transpose_shape);
  r.add("SwapAxis")
      .alias("swapaxes")
      .attr(AttrSpec::integer("dim1").def(int64_t(0)))
      .attr(AttrSpec::integer("dim2").def(int64_t(0)))
      .traits(kInjective)
      .shape(swapaxis_shape);
  r.add("expand_dims").attr(AttrSpec::integer("axis")).traits(view).shape(expand_dims_shape);
  r.add("squeeze").attr(AttrSpec::int_tuple("axis").opt()).traits(view).shape(squeeze_shape);

  r.add("Concat")
      .alias("concat")
      .attr(AttrSpec::integer("num_args"))
      .attr(AttrSpec::integer("dim").def(int64_t(1)))
      .variadic("num_args")
      .traits(kInjective)
      .shape(concat_shape);
  r.add("stack")
      .attr(AttrSpec::integer("axis").def(int64_t(0)))
      .attr(AttrSpec::integer("num_args"))
      .variadic("num_args")
      .traits(kInjective)
      .shape(stack_shape);
  auto split_count = [](const AttrView& a) {
    int64_t n = a.i("num_outputs");
    if (n < 1 || n > 100000) fail("ir", a.where(), ": num_outputs=", n, " is out of range");
    return static_cast<int>(n);
  };
  r.add("SliceChannel")
      .alias("split")
      .attr(AttrSpec::integer("num_outputs"))
      .attr(AttrSpec::integer("axis").def(int64_t(1)))
      .attr(AttrSpec::boolean("squeeze_axis").def(false))
      .outputs(split_count, split_count)
      .output_names([split_count](const AttrView& a) {
        Names n;
        for (int i = 0; i < split_count(a); ++i) n.push_back("output" + std::to_string(i));
        return n;
      })
      .traits(kInjective)
      .shape(slice_channel_shape);

  r.add("tile").attr(AttrSpec::int_tuple("reps")).traits(kInjective).shape(tile_shape);
  r.add("repeat")
      .attr(AttrSpec::integer("repeats"))
      .attr(AttrSpec::integer("axis").opt())
      .traits(kInjective)
      .shape(repeat_shape);
  r.add("reverse")
      .alias("flip")
      .attr(AttrSpec::int_tuple("axis"))
      .traits(kInjective)
      .shape(reverse_shape);
  r.add("depth_to_space")
      .attr(AttrSpec::integer("block_size"))
      .traits(kInjective)
      .shape([](ShapeCtx& c) { return block_shape(c, true); });
  r.add("space_to_depth")
      .attr(AttrSpec::integer("block_size"))
      .traits(kInjective)
      .shape([](ShapeCtx& c) { return block_shape(c, false); });

  // Metadata, not data movement: no traits; the result is always int64.
  r.add("shape_array")
      .shape([](ShapeCtx& c) {
        if (!c.in[0].rank_known()) return false;
        c.assign_out(0, Shape{c.in[0].ndim()});
        return true;
      })
      .type(int64_out);
  r.add("size_array")
      .shape([](ShapeCtx& c) {
        c.assign_out(0, Shape{1});
        return true;
      })
      .type(int64_out);

  register_movement_index(r);
}

}  // namespace hgc::ops
