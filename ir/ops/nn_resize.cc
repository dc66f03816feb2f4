// nn_resize family: the spatial resizing ops of MXNet 1.9 that image models (FPN detectors,
// segmentation heads) use on NCHW data: UpSampling (nn/upsampling-inl.h), the legacy Crop
// (crop-inl.h), _contrib_BilinearResize2D (contrib/bilinear_resize-inl.h) and
// _contrib_AdaptiveAvgPooling2D (contrib/adaptive_avg_pooling-inl.h). Attribute names,
// defaults and shape rules are MXNet's; MXNet's CHECK failures are named errors here.
#include <cmath>

#include "families.h"
#include "nn_movement_util.h"

namespace hgc::ops {
namespace {

using util::known;

// The (N, C, H, W) input `i`, or false while its rank is unknown.
bool nchw(ShapeCtx& c, int i, const char* what) {
  const Shape& s = c.in[i];
  if (!s.rank_known()) return false;
  if (s.ndim() != 4) c.error(std::string(what) + " must be 4-D (N, C, H, W), got " + s.str());
  return true;
}

bool spatial_known(const Shape& s) { return known(s[2]) && known(s[3]); }

// Enum attributes set in code (not parsed from text) are checked here too.
const std::string& choice(ShapeCtx& c, const std::string& name) {
  const std::string& v = c.attrs.s(name);
  const AttrSpec* spec = c.attrs.op().attr_spec(name);
  for (const std::string& ok : spec->choices)
    if (v == ok) return v;
  std::string all;
  for (const std::string& ok : spec->choices) all += (all.empty() ? "" : ", ") + ok;
  c.error(name + "='" + v + "' is not one of " + all);
}

// ---- UpSampling ----

// Bilinear UpSampling is a depthwise Deconvolution with this kernel, stride `scale` and pad
// ceil((scale - 1) / 2) (MXNet's GetDeconvolutionParam).
int64_t bilinear_kernel(int64_t scale) { return 2 * scale - scale % 2; }

bool upsampling_shape(ShapeCtx& c) {
  const AttrView& a = c.attrs;
  int64_t scale = a.i("scale"), n = a.i("num_args");
  if (scale < 1) c.error("scale must be >= 1, got " + std::to_string(scale));
  if (n < 1) c.error("num_args must be >= 1, got " + std::to_string(n));
  bool bilinear = choice(c, "sample_type") == "bilinear";
  choice(c, "multi_input_mode");
  if (!nchw(c, 0, "data")) return false;
  Shape d = c.in[0];
  if (bilinear) {
    if (n != 2) c.error("bilinear sampling takes data and weight: num_args must be 2, got " + std::to_string(n));
    if (known(d[1])) {
      int64_t f = a.i("num_filter");
      if (f != d[1])
        c.error("bilinear sampling is a depthwise deconvolution: num_filter must equal the " +
                std::to_string(d[1]) + " channels, got " + std::to_string(f));
      int64_t k = bilinear_kernel(scale);
      c.assign_in(1, Shape{d[1], 1, k, k});
    }
    Shape o = d;
    if (known(d[2])) o[2] = d[2] * scale;
    if (known(d[3])) o[3] = d[3] * scale;
    c.assign_out(0, o);
    return c.in[1].known() && o.known();
  }
  if (!spatial_known(d)) return false;
  int64_t oh = d[2] * scale, ow = d[3] * scale;
  bool sum = a.s("multi_input_mode") == "sum";
  int64_t ch = 0;
  for (int i = 0; i < static_cast<int>(n); ++i) {
    if (!nchw(c, i, ("arg" + std::to_string(i)).c_str())) return false;
    const Shape& s = c.in[i];
    if (!spatial_known(s) || !known(s[1])) return false;
    if (s[2] < 1 || s[3] < 1 || oh % s[2] != 0 || ow % s[3] != 0 || oh / s[2] != ow / s[3])
      c.error("arg" + std::to_string(i) + " " + s.str() + " does not scale to the output's " + std::to_string(oh) + "x" +
              std::to_string(ow) + " by one integer factor");
    if (sum && i > 0 && s[1] != ch)
      c.error("multi_input_mode=sum needs equal channel counts, got " + std::to_string(ch) + " and " +
              std::to_string(s[1]));
    ch = sum ? s[1] : ch + s[1];
  }
  c.assign_out(0, Shape{d[0], ch, oh, ow});
  return c.out[0].known();
}

// ---- Crop ----

// The crop's (y, x) offset into data (H, W) for an (h, w) window, as MXNet's
// InferCropOfferset (center_crop, or the offset attribute checked against the room left).
bool crop_shape(ShapeCtx& c) {
  const AttrView& a = c.attrs;
  int64_t n = a.i("num_args");
  if (n != 1 && n != 2) c.error("num_args must be 1 (crop to h_w) or 2 (crop like arg1), got " + std::to_string(n));
  if (!nchw(c, 0, "data")) return false;
  Shape d = c.in[0];
  int64_t h, w;
  if (n == 1) {
    const auto& hw = a.tuple("h_w");
    if (hw.size() != 2) c.error("h_w must be (h, w), got " + util::str(hw));
    h = hw[0], w = hw[1];
    if (h < 1 || w < 1) c.error("h_w " + util::str(hw) + " must be >= 1");
  } else {
    if (!nchw(c, 1, "crop_like (arg1)")) return false;
    if (!spatial_known(c.in[1])) return false;
    h = c.in[1][2], w = c.in[1][3];
  }
  if (!spatial_known(d)) return false;
  if (h > d[2] || w > d[3])
    c.error("crop " + std::to_string(h) + "x" + std::to_string(w) + " is larger than the data's " +
            std::to_string(d[2]) + "x" + std::to_string(d[3]));
  if (!a.b("center_crop")) {
    const auto& off = a.tuple("offset");
    if (off.size() != 2) c.error("offset must be (y, x), got " + util::str(off));
    if (off[0] < 0 || off[1] < 0 || off[0] > d[2] - h || off[1] > d[3] - w)
      c.error("offset " + util::str(off) + " leaves the data for a " + std::to_string(h) + "x" + std::to_string(w) +
              " crop of " + d.str());
  }
  c.assign_out(0, Shape{d[0], d[1], h, w});
  return c.out[0].known();
}

// ---- _contrib_BilinearResize2D ----

int64_t even_odd(int64_t v, const std::string& mode) {
  bool odd = v % 2 == 1;
  if (mode == "to_even_down") return odd ? v - 1 : v;
  if (mode == "to_even_up") return odd ? v + 1 : v;
  if (mode == "to_odd_down") return odd ? v : v - 1;
  return odd ? v : v + 1;  // to_odd_up
}

bool bilinear_resize_shape(ShapeCtx& c) {
  const AttrView& a = c.attrs;
  const std::string& mode = choice(c, "mode");
  if (a.i("height") < 1 || a.i("width") < 1)
    c.error("height and width must be >= 1, got " + std::to_string(a.i("height")) + " and " + std::to_string(a.i("width")));
  if (!nchw(c, 0, "data")) return false;
  Shape d = c.in[0];
  int64_t oh = -1, ow = -1;
  auto scale = [&](const char* name) {
    auto s = a.opt_f(name);
    if (!s) c.error(std::string("mode=") + mode + " needs " + name);
    if (*s <= 0) c.error(std::string(name) + " must be > 0, got " + std::to_string(*s));
    return static_cast<float>(*s);
  };
  if (mode == "like") {
    if (!nchw(c, 1, "like")) return false;
    if (!spatial_known(c.in[1])) return false;
    oh = c.in[1][2], ow = c.in[1][3];
  } else if (mode == "size") {
    // MXNet reads scale_width whenever scale_height is set (and only then).
    if (!a.is_none("scale_height")) {
      if (!spatial_known(d)) return false;
      oh = static_cast<int64_t>(scale("scale_height") * static_cast<float>(d[2]));
      ow = static_cast<int64_t>(scale("scale_width") * static_cast<float>(d[3]));
    } else {
      oh = a.i("height"), ow = a.i("width");
    }
  } else {
    if (!spatial_known(d)) return false;
    if (mode == "odd_scale") {
      float sh = scale("scale_height"), sw = scale("scale_width");
      oh = d[2] % 2 == 0 ? static_cast<int64_t>(d[2] * sh) : static_cast<int64_t>((d[2] - 1) * sh) + 1;
      ow = d[3] % 2 == 0 ? static_cast<int64_t>(d[3] * sw) : static_cast<int64_t>((d[3] - 1) * sw) + 1;
    } else {
      oh = even_odd(d[2], mode), ow = even_odd(d[3], mode);
    }
  }
  if (oh < 1 || ow < 1)
    c.error("the output would be " + std::to_string(oh) + "x" + std::to_string(ow) + " for data " + d.str());
  c.assign_out(0, Shape{d[0], d[1], oh, ow});
  return c.out[0].known();
}

// ---- _contrib_AdaptiveAvgPooling2D ----

bool adaptive_avg_pool_shape(ShapeCtx& c) {
  const auto& os = c.attrs.tuple("output_size");
  if (os.size() > 2) c.error("output_size must have 0, 1 or 2 entries, got " + util::str(os));
  for (int64_t v : os)
    if (v < 1) c.error("output_size " + util::str(os) + " must be >= 1");
  if (!nchw(c, 0, "data")) return false;
  Shape d = c.in[0];
  int64_t oh = os.empty() ? 1 : os[0], ow = os.empty() ? 1 : os.back();
  c.assign_out(0, Shape{d[0], d[1], oh, ow});
  return c.out[0].known();
}

}  // namespace

void register_nn_resize(OpRegistry& r) {
  // Nearest: every input upsampled to (scale * H0, scale * W0) and concatenated along the
  // channels (or summed). Bilinear: (data, weight), a depthwise deconvolution whose weight
  // (C, 1, k, k) is a parameter (initialized with init::Bilinear in MXNet).
  r.add("UpSampling")
      .attr(AttrSpec::integer("scale"))
      .attr(AttrSpec::integer("num_filter").def(int64_t(0)))
      .attr(AttrSpec::one_of("sample_type", {"nearest", "bilinear"}))
      .attr(AttrSpec::one_of("multi_input_mode", {"concat", "sum"}).def(std::string("concat")))
      .attr(AttrSpec::integer("num_args"))
      .attr(AttrSpec::integer("workspace").def(int64_t(512)))
      .variadic("num_args")
      .inputs([](const AttrView& a) {
        if (a.s("sample_type") == "bilinear") return Names{"data", "weight"};
        int64_t k = a.i("num_args");
        if (k < 1 || k > 1024) fail("ir", a.where(), ": num_args=", k, " is out of range");
        Names n;
        for (int64_t i = 0; i < k; ++i) n.push_back("arg" + std::to_string(i));
        return n;
      })
      .params({"weight"})
      .shape(upsampling_shape);

  // Crops (N, C, H, W) to h_w, or to the spatial size of a second input.
  r.add("Crop")
      .attr(AttrSpec::integer("num_args"))
      .attr(AttrSpec::int_tuple("offset").def(std::vector<int64_t>{0, 0}))
      .attr(AttrSpec::int_tuple("h_w").def(std::vector<int64_t>{0, 0}))
      .attr(AttrSpec::boolean("center_crop").def(false))
      .variadic("num_args")
      .traits(kInjective)
      .shape(crop_shape)
      .type(util::type_like_first_others_default);

  r.add("_contrib_BilinearResize2D")
      .alias("BilinearResize2D")
      .attr(AttrSpec::integer("height").def(int64_t(1)))
      .attr(AttrSpec::integer("width").def(int64_t(1)))
      .attr(AttrSpec::real("scale_height").opt())
      .attr(AttrSpec::real("scale_width").opt())
      .attr(AttrSpec::one_of("mode", {"size", "odd_scale", "like", "to_even_down", "to_even_up", "to_odd_down",
                                      "to_odd_up"})
                .def(std::string("size")))
      .attr(AttrSpec::boolean("align_corners").def(true))
      .inputs([](const AttrView& a) { return a.s("mode") == "like" ? Names{"data", "like"} : Names{"data"}; })
      .shape(bilinear_resize_shape)
      .type(util::type_like_first_others_default);

  r.add("_contrib_AdaptiveAvgPooling2D")
      .alias("AdaptiveAvgPooling2D")
      .attr(AttrSpec::int_tuple("output_size").def(std::vector<int64_t>{}))
      .shape(adaptive_avg_pool_shape);
}

}  // namespace hgc::ops
