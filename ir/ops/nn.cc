// nn family: dense layers, activations, dropout, embedding, losses, sequence masking.
// Norms live in nn_norm.cc, convolution/pooling in nn_conv.cc, dot/batch_dot in matmul.cc;
// register_nn registers them all. Schemas follow MXNet 1.x (src/operator/nn/*.h,
// leaky_relu-inl.h, softmax_output-inl.h, regression_output-inl.h, sequence_mask-inl.h).
#include "families.h"
#include "nn_movement_util.h"

namespace hgc::ops {
namespace {

using util::known;

// ---- FullyConnected ----

bool fc_shape(ShapeCtx& c) {
  const AttrView& a = c.attrs;
  int64_t nh = a.i("num_hidden");
  if (nh < 1) c.error("num_hidden must be >= 1, got " + std::to_string(nh));
  bool flatten = a.b("flatten");
  Shape d = c.in[0];
  // Only the batch dim (or, without flatten, the leading dims) can flow back from the output.
  if (d.rank_known() && c.out[0].rank_known()) {
    Shape back = d;
    int n = flatten ? 1 : d.ndim() - 1;
    for (int i = 0; i < n && i < c.out[0].ndim(); ++i) back[i] = c.out[0][i];
    c.assign_in(0, back);
    d = c.in[0];
  }
  if (!d.rank_known()) return false;
  if (d.ndim() < 1) c.error("data must have rank >= 1, got " + d.str());
  int64_t in_units = flatten ? util::prod(d, 1, d.ndim()) : d[d.ndim() - 1];
  c.assign_in(1, Shape{nh, in_units});  // completes deferred "(nh, 0)" weights
  if (!a.b("no_bias")) {
    // MXNet also accepts a (num_hidden, 1) bias.
    const Shape& b = c.in[2];
    c.assign_in(2, b.rank_known() && b.ndim() == 2 ? Shape{nh, 1} : Shape{nh});
  }
  Shape out = flatten ? Shape{d[0], nh} : d;
  if (!flatten) out[out.ndim() - 1] = nh;
  c.assign_out(0, out);
  return c.out[0].known() && c.in[1].known();
}

// ---- LeakyReLU ----

bool leaky_relu_shape(ShapeCtx& c) {
  const std::string& act = c.attrs.s("act_type");
  Shape d = c.in[0];
  Shape::merge(d, c.out[0]);
  if (!d.rank_known()) return false;
  if (act == "prelu") {
    if (d.ndim() < 2) c.error("prelu needs data of rank >= 2 (channels on axis 1), got " + d.str());
    const Shape& g = c.in[1];
    int64_t ch = d[1];
    // Gluon's PReLU defaults to one shared slope: gamma (1,) broadcasts like (C,).
    if (!g.rank_known() || (g.ndim() == 1 && g[0] < 0)) {
      c.assign_in(1, Shape{ch});
    } else if (g.ndim() == 1 && known(ch) && g[0] != 1 && g[0] != ch) {
      c.error("gamma has shape " + g.str() + ", expected (" + std::to_string(ch) + ",) or (1,)");
    }
  }
  c.assign_in(0, d);
  for (int i = 0; i < static_cast<int>(c.out.size()); ++i) c.assign_out(i, d);  // out, mask
  return d.known();
}

// ---- Dropout ----

bool dropout_shape(ShapeCtx& c) {
  double p = c.attrs.f("p");
  if (!(p >= 0 && p <= 1)) c.error("p must be in [0, 1], got " + std::to_string(p));
  Shape d = c.in[0];
  Shape::merge(d, c.out[0]);
  if (!d.rank_known()) return false;
  c.assign_in(0, d);
  c.assign_out(0, d);
  // Variational dropout shares one mask value along `axes`.
  Shape mask = d;
  for (int64_t ax : c.attrs.tuple("axes")) mask[util::axis(c, ax, d.ndim(), "axes entry")] = 1;
  c.assign_out(1, mask);
  return d.known();
}

// ---- Embedding ----

bool embedding_shape(ShapeCtx& c) {
  int64_t in_dim = c.attrs.i("input_dim"), out_dim = c.attrs.i("output_dim");
  if (in_dim < 1 || out_dim < 1)
    c.error("input_dim and output_dim must be >= 1, got " + std::to_string(in_dim) + ", " +
            std::to_string(out_dim));
  c.assign_in(1, Shape{in_dim, out_dim});
  const Shape& d = c.in[0];
  if (!d.rank_known()) return false;
  c.assign_out(0, util::splice(d, d.ndim(), d.ndim(), {out_dim}));
  return c.out[0].known();
}

// The indices keep their own (often integer) dtype; the output is the weight's dtype, which
// defaults to the `dtype` attribute.
bool embedding_type(TypeCtx& c) {
  DType t = c.in[1] != DType::unknown ? c.in[1] : c.out[0];
  if (c.in[1] != DType::unknown && c.out[0] != DType::unknown && c.in[1] != c.out[0])
    c.error("weight dtype " + dtype_name(c.in[1]) + " != output dtype " + dtype_name(c.out[0]));
  if (t == DType::unknown) t = *dtype_from_name(c.attrs.s("dtype"));
  c.in[1] = t;
  c.out[0] = t;
  return true;
}

// ---- Flatten ----

bool flatten_shape(ShapeCtx& c) {
  Shape d = c.in[0];
  if (d.rank_known() && d.ndim() >= 1 && c.out[0].rank_known()) {
    d[0] = c.out[0][0];
    c.assign_in(0, d);
    d = c.in[0];
  }
  if (!d.rank_known()) return false;
  if (d.ndim() < 1) c.error("cannot flatten a scalar");
  c.assign_out(0, Shape{d[0], util::prod(d, 1, d.ndim())});
  return c.out[0].known();
}

// ---- loss outputs ----

// The label may arrive with an unknown shape (a bare variable or a reshape of one) and is
// completed from data.
bool softmax_output_shape(ShapeCtx& c) {
  Shape d = c.in[0];
  Shape::merge(d, c.out[0]);
  if (!d.rank_known()) return false;
  if (d.ndim() < 1) c.error("data must have rank >= 1");
  c.assign_in(0, d);
  c.assign_out(0, d);
  const Shape& l = c.in[1];
  if (l.rank_known() && l.ndim() == d.ndim() && !c.attrs.b("multi_output")) {
    c.assign_in(1, d);  // probabilities as labels
  } else if (!c.attrs.b("multi_output")) {
    c.assign_in(1, util::splice(d, d.ndim() - 1, d.ndim(), {}));
  } else {
    if (d.ndim() < 2) c.error("multi_output needs data of rank >= 2, got " + d.str());
    // MXNet accepts three label layouts for (N, C, ...) data.
    std::vector<Shape> ok = {Shape{d[0], util::prod(d, 2, d.ndim())}, util::splice(d, 1, 2, {}),
                             util::splice(d, 1, 2, {1}), d};
    if (!l.rank_known()) {
      c.assign_in(1, ok[0]);
    } else {
      std::string all;
      for (const Shape& s : ok) {
        Shape m = l;
        if (Shape::merge(m, s)) {
          c.assign_in(1, s);
          return d.known();
        }
        all += (all.empty() ? "" : " or ") + s.str();
      }
      c.error("label has shape " + l.str() + ", expected " + all);
    }
  }
  return d.known();
}

bool regression_shape(ShapeCtx& c) {
  Shape d = c.in[0];
  Shape::merge(d, c.out[0]);
  if (!d.rank_known()) return false;
  c.assign_in(0, d);
  c.assign_out(0, d);
  const Shape& l = c.in[1];
  if (!l.rank_known()) {
    // MXNet lets a (N, 1) output take a 1-D label.
    bool col = d.ndim() == 2 && d[1] == 1;
    c.assign_in(1, col ? Shape{d[0]} : d);
    return d.known();
  }
  // MXNet only requires the same batch dim and size, e.g. (2, 6) data with a (2, 3, 2) label.
  Shape m = l;
  if (l.ndim() == d.ndim() && Shape::merge(m, d)) {
    c.assign_in(1, d);
  } else if (l.known() && d.known() &&
             (l.ndim() == 0 || d.ndim() == 0 || l[0] != d[0] || l.numel() != d.numel())) {
    c.error("label has shape " + l.str() + ", inconsistent with data " + d.str());
  }
  return d.known();
}

// ---- SequenceMask ----

bool sequence_mask_shape(ShapeCtx& c) {
  int64_t axis = c.attrs.i("axis");
  if (axis != 0 && axis != 1) c.error("axis must be 0 or 1, got " + std::to_string(axis));
  Shape d = c.in[0];
  Shape::merge(d, c.out[0]);
  if (!d.rank_known()) return false;
  if (d.ndim() < 2) c.error("data must have rank >= 2, got " + d.str());
  c.assign_in(0, d);
  c.assign_out(0, d);
  if (c.attrs.b("use_sequence_length")) c.assign_in(1, Shape{axis == 0 ? d[1] : d[0]});
  return d.known();
}

// Lengths keep their own dtype; like MXNet, an untyped lengths input takes data's dtype.
bool sequence_mask_type(TypeCtx& c) {
  DType seq = c.in.size() > 1 ? c.in[1] : DType::unknown;
  std::vector<DType> one = {c.in[0]};
  TypeCtx sub{c.attrs, one, c.out};
  if (!util::type_like_first(sub)) return false;
  c.in[0] = one[0];
  if (c.in.size() > 1) c.in[1] = seq == DType::unknown ? one[0] : seq;
  return true;
}

// MXNet contrib count_sketch: data (N, d) or (N, C, H, d) -> last dim out_dim; h (hash
// buckets) and s (signs) are (1, d) rows, float like data.
bool count_sketch_shape(ShapeCtx& c) {
  int64_t k = c.attrs.i("out_dim");
  if (k < 1) c.error("out_dim must be >= 1, got " + std::to_string(k));
  Shape d = c.in[0];
  if (!d.rank_known()) return false;
  if (d.ndim() != 2 && d.ndim() != 4) c.error("data must be 2-D or 4-D, got " + d.str());
  int64_t in = d[d.ndim() - 1];
  c.assign_in(1, Shape{1, in});
  c.assign_in(2, Shape{1, in});
  Shape o = d;
  o[d.ndim() - 1] = k;
  c.assign_out(0, o);
  return o.known();
}

}  // namespace

void register_nn(OpRegistry& r) {
  Names data_label = {"data", "label"};
  r.add("FullyConnected")
      .attr(AttrSpec::integer("num_hidden"))
      .attr(AttrSpec::boolean("no_bias").def(false))
      .attr(AttrSpec::boolean("flatten").def(true))
      .inputs([](const AttrView& a) {
        return a.b("no_bias") ? Names{"data", "weight"} : Names{"data", "weight", "bias"};
      })
      .params({"weight", "bias"})
      .traits(kGemm)
      .shape(fc_shape);

  // log_sigmoid and mish come from later MXNet releases; accepting them costs nothing.
  r.add("Activation")
      .attr(AttrSpec::one_of(
          "act_type", {"relu", "sigmoid", "tanh", "softrelu", "softsign", "log_sigmoid", "mish"}))
      .traits(kElementwise | kInplace)
      .shape([](ShapeCtx& c) {
        c.attrs.s("act_type");  // required: a missing one is an error even though unused here
        return rules::same_shape(c);
      });

  // Traits are per op, not per attribute value, so the rrelu variant's randomness marks the
  // whole op kRandom (it only keeps LeakyReLU nodes out of CSE/constant folding).
  r.add("LeakyReLU")
      .attr(AttrSpec::one_of("act_type", {"rrelu", "leaky", "prelu", "elu", "selu", "gelu"})
                .def(std::string("leaky")))
      .attr(AttrSpec::real("slope").def(0.25))
      .attr(AttrSpec::real("lower_bound").def(0.125))
      .attr(AttrSpec::real("upper_bound").def(0.334))
      .inputs([](const AttrView& a) {
        return a.s("act_type") == "prelu" ? Names{"data", "gamma"} : Names{"data"};
      })
      .params({"gamma"})
      // rrelu keeps its sampled mask as a hidden output (MXNet: NumVisibleOutputs() == 1).
      .outputs([](const AttrView& a) { return a.s("act_type") == "rrelu" ? 2 : 1; },
               [](const AttrView&) { return 1; })
      .output_names([](const AttrView& a) {
        return a.s("act_type") == "rrelu" ? Names{"output", "mask"} : Names{"output"};
      })
      .traits(kInplace | kRandom)
      .shape(leaky_relu_shape);

  // mode=always also drops at inference; kTrainingOnly describes the default mode.
  r.add("Dropout")
      .attr(AttrSpec::real("p").def(0.5))
      .attr(AttrSpec::one_of("mode", {"training", "always"}).def(std::string("training")))
      .attr(AttrSpec::int_tuple("axes").def(std::vector<int64_t>{}))
      .attr(AttrSpec::boolean("cudnn_off").def(false).none_ok())
      .outputs([](const AttrView&) { return 2; }, [](const AttrView&) { return 1; })
      .output_names(util::names({"output", "mask"}))
      .traits(kRandom | kTrainingOnly)
      .shape(dropout_shape);

  r.add("Embedding")
      .attr(AttrSpec::integer("input_dim"))
      .attr(AttrSpec::integer("output_dim"))
      .attr(AttrSpec::dtype("dtype").def(std::string("float32")))
      .attr(AttrSpec::boolean("sparse_grad").def(false))
      .inputs(Names{"data", "weight"})
      .params({"weight"})
      .traits(kInjective)
      .shape(embedding_shape)
      .type(embedding_type);

  r.add("Flatten").alias("flatten").traits(kInjective | kInplace).shape(flatten_shape);

  r.add("SoftmaxOutput")
      .alias("Softmax")
      .attr(AttrSpec::real("grad_scale").def(1.0))
      .attr(AttrSpec::real("ignore_label").def(-1.0))
      .attr(AttrSpec::boolean("multi_output").def(false))
      .attr(AttrSpec::boolean("use_ignore").def(false))
      .attr(AttrSpec::boolean("preserve_shape").def(false))
      .attr(AttrSpec::one_of("normalization", {"null", "batch", "valid"}).def(std::string("null")))
      .attr(AttrSpec::boolean("out_grad").def(false))
      .attr(AttrSpec::real("smooth_alpha").def(0.0))
      .inputs(data_label)
      .traits(kLoss)
      .shape(softmax_output_shape);

  for (const char* name :
       {"LinearRegressionOutput", "LogisticRegressionOutput", "MAERegressionOutput"})
    r.add(name)
        .attr(AttrSpec::real("grad_scale").def(1.0))
        .inputs(data_label)
        .traits(kLoss)
        .shape(regression_shape);

  r.add("SequenceMask")
      .attr(AttrSpec::boolean("use_sequence_length").def(false))
      .attr(AttrSpec::real("value").def(0.0))
      .attr(AttrSpec::integer("axis").def(int64_t(0)))
      .inputs([](const AttrView& a) {
        return a.b("use_sequence_length") ? Names{"data", "sequence_length"} : Names{"data"};
      })
      .shape(sequence_mask_shape)
      .type(sequence_mask_type);

  // out[..., h[i]] += s[i] * data[..., i] (MXNet registers it GPU-only; here it has a CPU
  // kernel like every op).
  r.add("_contrib_count_sketch")
      .alias("count_sketch")
      .attr(AttrSpec::integer("out_dim"))
      .attr(AttrSpec::integer("processing_batch_size").def(int64_t(32)))
      .inputs(Names{"data", "h", "s"})
      .shape(count_sketch_shape)
      .type(util::type_like_first_others_default);

  register_nn_norm(r);
  register_nn_conv(r);
  register_nn_resize(r);
  register_matmul(r);
}

}  // namespace hgc::ops
