// Normalization layers (MXNet 1.x: nn/layer_norm, nn/batch_norm, instance_norm, nn/group_norm,
// l2_normalization). Each has hidden statistics outputs that only show with output_mean_var.
#include "nn_movement_util.h"

namespace hgc::ops {
namespace {

// Reads data's shape (output 0 has the same shape) and errors below `min_rank`.
bool data_shape(ShapeCtx& c, Shape& d, int min_rank) {
  d = c.in[0];
  Shape::merge(d, c.out[0]);
  if (!d.rank_known()) return false;
  if (d.ndim() < min_rank)
    c.error("data must have rank >= " + std::to_string(min_rank) + ", got " + d.str());
  c.assign_in(0, d);
  c.assign_out(0, d);
  return true;
}

bool layer_norm_shape(ShapeCtx& c) {
  Shape d;
  if (!data_shape(c, d, 1)) return false;
  int ax = util::axis(c, c.attrs.i("axis"), d.ndim());
  c.assign_in(1, Shape{d[ax]});
  c.assign_in(2, Shape{d[ax]});
  Shape moments = d;
  moments[ax] = 1;
  c.assign_out(1, moments);  // mean
  c.assign_out(2, moments);  // std
  return d.known();
}

bool batch_norm_shape(ShapeCtx& c) {
  Shape d;
  if (!data_shape(c, d, 1)) return false;
  int ax = util::axis(c, c.attrs.i("axis"), d.ndim());
  Shape ch{d[ax]};
  for (int i = 1; i <= 4; ++i) c.assign_in(i, ch);  // gamma, beta, moving_mean, moving_var
  c.assign_out(1, ch);
  c.assign_out(2, ch);
  return d.known();
}

// MXNet keeps BatchNorm's parameters and statistics in the accumulation type: float32 for
// float16/bfloat16 data (a cuDNN requirement), otherwise data's own type.
bool batch_norm_type(TypeCtx& c) {
  DType t = c.in[0] != DType::unknown ? c.in[0] : c.out[0];
  if (t == DType::unknown) return false;
  if (c.in[0] != DType::unknown && c.out[0] != DType::unknown && c.in[0] != c.out[0])
    c.error("data dtype " + dtype_name(c.in[0]) + " != output dtype " + dtype_name(c.out[0]));
  DType p = (t == DType::f16 || t == DType::bf16) ? DType::f32 : t;
  static const char* names[] = {"data", "gamma", "beta", "moving_mean", "moving_var"};
  for (size_t i = 1; i < c.in.size(); ++i) {
    if (c.in[i] != DType::unknown && c.in[i] != p)
      c.error(std::string(names[i]) + " has dtype " + dtype_name(c.in[i]) + ", expected " +
              dtype_name(p));
    c.in[i] = p;
  }
  c.in[0] = t;
  c.out[0] = t;
  for (size_t i = 1; i < c.out.size(); ++i) c.out[i] = p;
  return true;
}

// MXNet does not check the rank; (N, C) works as a spatial size of 1.
bool instance_norm_shape(ShapeCtx& c) {
  Shape d;
  if (!data_shape(c, d, 2)) return false;
  c.assign_in(1, Shape{d[1]});
  c.assign_in(2, Shape{d[1]});
  c.assign_out(1, Shape{d[0], d[1]});
  c.assign_out(2, Shape{d[0], d[1]});
  return d.known();
}

// MXNet 1.x GroupNorm has one gamma/beta entry per group (not per channel).
bool group_norm_shape(ShapeCtx& c) {
  int64_t g = c.attrs.i("num_groups");
  if (g < 1) c.error("num_groups must be >= 1, got " + std::to_string(g));
  Shape d;
  if (!data_shape(c, d, 3)) return false;
  if (util::known(d[1]) && d[1] % g != 0)
    c.error("channels " + std::to_string(d[1]) + " are not divisible by num_groups " +
            std::to_string(g));
  c.assign_in(1, Shape{g});
  c.assign_in(2, Shape{g});
  c.assign_out(1, Shape{d[0], g});
  c.assign_out(2, Shape{d[0], g});
  return d.known();
}

bool l2_normalization_shape(ShapeCtx& c) {
  const std::string& mode = c.attrs.s("mode");
  Shape d;
  if (!data_shape(c, d, mode == "instance" ? 1 : 3)) return false;
  Shape norm;
  if (mode == "instance") {
    norm = Shape{d[0]};
  } else if (mode == "channel") {
    norm = d;
    norm[1] = 1;
  } else {
    norm = Shape{d[0], d[1]};
  }
  c.assign_out(1, norm);
  return d.known();
}

CountFn count(int n) {
  return [n](const AttrView&) { return n; };
}
CountFn mean_var_visible() {
  return [](const AttrView& a) { return a.b("output_mean_var") ? 3 : 1; };
}

}  // namespace

void register_nn_norm(OpRegistry& r) {
  Names dgb = {"data", "gamma", "beta"};

  r.add("LayerNorm")
      .attr(AttrSpec::integer("axis").def(int64_t(-1)))
      .attr(AttrSpec::real("eps").def(1e-5))
      .attr(AttrSpec::boolean("output_mean_var").def(false))
      .inputs(dgb)
      .params({"gamma", "beta"})
      .outputs(count(3), mean_var_visible())
      .output_names(util::names({"output", "mean", "std"}))
      .shape(layer_norm_shape);

  r.add("BatchNorm")
      .attr(AttrSpec::real("eps").def(1e-3))
      .attr(AttrSpec::real("momentum").def(0.9))
      .attr(AttrSpec::boolean("fix_gamma").def(true))
      .attr(AttrSpec::boolean("use_global_stats").def(false))
      .attr(AttrSpec::boolean("output_mean_var").def(false))
      .attr(AttrSpec::integer("axis").def(int64_t(1)))
      .attr(AttrSpec::boolean("cudnn_off").def(false))
      .attr(AttrSpec::real("min_calib_range").opt())
      .attr(AttrSpec::real("max_calib_range").opt())
      .inputs(Names{"data", "gamma", "beta", "moving_mean", "moving_var"})
      .aux(2)
      .params({"gamma", "beta"})
      .outputs(count(3), mean_var_visible())
      .output_names(util::names({"output", "mean", "var"}))
      .traits(kAuxState)
      .shape(batch_norm_shape)
      .type(batch_norm_type);

  r.add("InstanceNorm")
      .attr(AttrSpec::real("eps").def(1e-3))
      .inputs(dgb)
      .params({"gamma", "beta"})
      .outputs(count(3), count(1))
      .output_names(util::names({"output", "mean", "var"}))
      .shape(instance_norm_shape);

  r.add("GroupNorm")
      .attr(AttrSpec::integer("num_groups").def(int64_t(1)))
      .attr(AttrSpec::real("eps").def(1e-5))
      .attr(AttrSpec::boolean("output_mean_var").def(false))
      .inputs(dgb)
      .params({"gamma", "beta"})
      .outputs(count(3), mean_var_visible())
      .output_names(util::names({"output", "mean", "std"}))
      .shape(group_norm_shape);

  r.add("L2Normalization")
      .attr(AttrSpec::real("eps").def(1e-10))
      .attr(
          AttrSpec::one_of("mode", {"instance", "channel", "spatial"}).def(std::string("instance")))
      .outputs(count(2), count(1))
      .output_names(util::names({"output", "norm"}))
      .shape(l2_normalization_shape);
}

}  // namespace hgc::ops
