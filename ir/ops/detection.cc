// The object-detection ops of MXNet 1.9's contrib namespace, with its names, attributes and
// defaults (src/operator/contrib/multibox_{prior,target,detection}-inl.h, bounding_box-inl.h):
//
//   _contrib_MultiBoxPrior      data (N, C, H, W) -> anchors (1, H*W*(sizes+ratios-1), 4)
//   _contrib_MultiBoxTarget     anchor (1, A, 4), label (B, L, >=5), cls_pred (B, C, A)
//                               -> loc_target (B, 4A), loc_mask (B, 4A), cls_target (B, A)
//   _contrib_MultiBoxDetection  cls_prob (B, C, A), loc_pred (B, 4A), anchor (1, A, 4)
//                               -> (B, A, 6) rows [id, score, xmin, ymin, xmax, ymax]
//   _contrib_box_nms            data (..., N, W) -> the kept rows sorted by score (-1 rows
//                               after), plus a hidden per-row record of the source row
//   _contrib_box_iou            lhs (..., 4), rhs (..., 4) -> lhs[:-1] + rhs[:-1]
//
// Every bad attribute is a named error here (MXNet's CHECKs), not at run time.
#include <cmath>

#include "families.h"

namespace hgc::ops {
namespace {

const std::vector<double>& reals(const AttrView& a, const std::string& name) {
  return std::get<std::vector<double>>(a.get(name));
}

void need_count(const ShapeCtx& c, const std::string& name, size_t n) {
  if (reals(c.attrs, name).size() != n)
    c.error(name + " must have " + std::to_string(n) + " elements, got " + std::to_string(reals(c.attrs, name).size()));
}

bool prior_shape(ShapeCtx& c) {
  const auto &sizes = reals(c.attrs, "sizes"), &ratios = reals(c.attrs, "ratios");
  if (sizes.empty()) c.error("sizes must not be empty");
  if (ratios.empty()) c.error("ratios must not be empty");
  for (double s : sizes)
    if (!(s > 0)) c.error("sizes must be > 0, got " + std::to_string(s));
  for (double r : ratios)
    if (!(r > 0)) c.error("ratios must be > 0, got " + std::to_string(r));
  need_count(c, "steps", 2);
  need_count(c, "offsets", 2);
  for (double o : reals(c.attrs, "offsets"))
    if (!(o >= 0 && o <= 1)) c.error("offsets must lie in [0, 1], got " + std::to_string(o));
  const auto& steps = reals(c.attrs, "steps");
  if (steps[0] * steps[1] < 0) c.error("steps: give both step_y and step_x, or neither (-1)");
  const Shape& d = c.in[0];
  if (!d.rank_known()) return false;
  if (d.ndim() < 4) c.error("data must be 4-D (batch, channel, y, x), got " + d.str());
  if (d[2] < 0 || d[3] < 0) return false;
  if (d[2] == 0 || d[3] == 0) c.error("data's height and width must be > 0, got " + d.str());
  int64_t per = static_cast<int64_t>(sizes.size() + ratios.size() - 1);
  c.assign_out(0, Shape{1, d[2] * d[3] * per, 4});
  return true;
}

bool target_shape(ShapeCtx& c) {
  need_count(c, "variances", 4);
  const Shape &a = c.in[0], &l = c.in[1], &p = c.in[2];
  if (!a.known() || !l.known() || !p.known()) return false;
  if (a.ndim() != 3 || a[0] != 1 || a[2] != 4 || a[1] < 1)
    c.error("anchor must be (1, num_anchors, 4), shared by the batch; got " + a.str());
  if (l.ndim() != 3 || l[1] < 1 || l[2] < 5)
    c.error("label must be (batch, num_labels, >= 5) rows [class, xmin, ymin, xmax, ymax]; got " + l.str());
  if (p.ndim() != 3 || p[2] != a[1] || p[0] != l[0])
    c.error("cls_pred must be (batch, num_classes, num_anchors) = (" + std::to_string(l[0]) + ", C, " +
            std::to_string(a[1]) + "); got " + p.str());
  c.assign_out(0, Shape{l[0], a[1] * 4});
  c.assign_out(1, Shape{l[0], a[1] * 4});
  c.assign_out(2, Shape{l[0], a[1]});
  return true;
}

bool detection_shape(ShapeCtx& c) {
  need_count(c, "variances", 4);
  const Shape &p = c.in[0], &l = c.in[1], &a = c.in[2];
  if (!a.known() || !l.known() || !p.known()) return false;
  if (a.ndim() != 3 || a[0] != 1 || a[2] != 4 || a[1] < 1) c.error("anchor must be (1, num_anchors, 4); got " + a.str());
  if (p.ndim() != 3 || p[2] != a[1] || p[1] < 1)
    c.error("cls_prob must be (batch, num_classes, num_anchors) with " + std::to_string(a[1]) + " anchors; got " +
            p.str());
  if (l.ndim() != 2 || l[0] != p[0] || l[1] != a[1] * 4)
    c.error("loc_pred must be (batch, num_anchors * 4) = (" + std::to_string(p[0]) + ", " + std::to_string(a[1] * 4) +
            "); got " + l.str());
  c.assign_out(0, Shape{p[0], a[1], 6});
  return true;
}

bool nms_shape(ShapeCtx& c) {
  const Shape& d = c.in[0];
  if (!d.rank_known()) return false;
  if (d.ndim() < 2) c.error("data must have rank >= 2 (..., num_box, box_width); got " + d.str());
  int64_t width = d[d.ndim() - 1];
  if (width < 0) return false;
  int64_t cs = c.attrs.i("coord_start"), si = c.attrs.i("score_index"), id = c.attrs.i("id_index");
  int64_t expected = id >= 0 ? 6 : 5;
  if (width < expected)
    c.error("box width " + std::to_string(width) + " is less than " + std::to_string(expected) +
            " (score, 4 coordinates" + (id >= 0 ? ", class id)" : ")"));
  if (si < 0 || si >= width) c.error("score_index " + std::to_string(si) + " is out of range [0, " + std::to_string(width) + ")");
  if (si >= cs && si <= cs + 3) c.error("score_index " + std::to_string(si) + " overlaps the coordinates at coord_start " + std::to_string(cs));
  if (cs < 0 || cs + 3 >= width)
    c.error("coordinates [" + std::to_string(cs) + ", " + std::to_string(cs + 3) + "] are out of range [0, " +
            std::to_string(width) + ")");
  if (id >= 0) {
    if (id >= width) c.error("id_index " + std::to_string(id) + " is out of range [0, " + std::to_string(width) + ")");
    if (id >= cs && id <= cs + 3) c.error("id_index " + std::to_string(id) + " overlaps the coordinates");
    if (id == si) c.error("id_index and score_index are both " + std::to_string(id));
  }
  c.assign_out(0, d);
  Shape rec = d;
  rec[d.ndim() - 1] = 1;
  if (c.out.size() > 1) c.assign_out(1, rec);
  return true;
}

bool iou_shape(ShapeCtx& c) {
  const Shape &l = c.in[0], &r = c.in[1];
  if (!l.rank_known() || !r.rank_known()) return false;
  if (l.ndim() < 2 || l[l.ndim() - 1] != 4) c.error("lhs must be (..., 4) with rank >= 2; got " + l.str());
  if (r.ndim() < 2 || r[r.ndim() - 1] != 4) c.error("rhs must be (..., 4) with rank >= 2; got " + r.str());
  std::vector<int64_t> o;
  for (int i = 0; i + 1 < l.ndim(); ++i) o.push_back(l[i]);
  for (int i = 0; i + 1 < r.ndim(); ++i) o.push_back(r[i]);
  c.assign_out(0, Shape(o));
  return true;
}

// Every input and output has one floating-point dtype.
bool float_type(TypeCtx& c) {
  DType t = DType::unknown;
  for (DType d : c.in)
    if (d != DType::unknown) t = d;
  if (t == DType::unknown) return false;
  if (!dtype_is_float(t)) c.error(std::string("takes floating-point data, got ") + dtype_name(t));
  for (DType& d : c.in)
    if (d == DType::unknown) d = t;
    else if (d != t) c.error(std::string("inputs disagree in dtype: ") + dtype_name(d) + " vs " + dtype_name(t));
  for (DType& d : c.out) d = t;
  return true;
}

AttrSpec variances() { return AttrSpec::float_tuple("variances").def(std::vector<double>{0.1, 0.1, 0.2, 0.2}); }

}  // namespace

void register_detection(OpRegistry& r) {
  // No gradient flows: MXNet's Backward writes zeros (MultiBoxPrior depends on data's shape only).
  r.add("_contrib_MultiBoxPrior")
      .alias("MultiBoxPrior")
      .alias("_npx_multibox_prior")
      .unary()
      .attr(AttrSpec::float_tuple("sizes").def(std::vector<double>{1.0}))
      .attr(AttrSpec::float_tuple("ratios").def(std::vector<double>{1.0}))
      .attr(AttrSpec::boolean("clip").def(false))
      .attr(AttrSpec::float_tuple("steps").def(std::vector<double>{-1.0, -1.0}))
      .attr(AttrSpec::float_tuple("offsets").def(std::vector<double>{0.5, 0.5}))
      .shape(prior_shape)
      .type(float_type);
  r.add("_contrib_MultiBoxTarget")
      .alias("MultiBoxTarget")
      .alias("_npx_multibox_target")
      .inputs(Names{"anchor", "label", "cls_pred"})
      .attr(AttrSpec::real("overlap_threshold").def(0.5))
      .attr(AttrSpec::real("ignore_label").def(-1.0))
      .attr(AttrSpec::real("negative_mining_ratio").def(-1.0))
      .attr(AttrSpec::real("negative_mining_thresh").def(0.5))
      .attr(AttrSpec::integer("minimum_negative_samples").def(int64_t(0)))
      .attr(variances())
      .outputs(3)
      .output_names([](const AttrView&) { return Names{"loc_target", "loc_mask", "cls_target"}; })
      .shape(target_shape)
      .type(float_type);
  r.add("_contrib_MultiBoxDetection")
      .alias("MultiBoxDetection")
      .alias("_npx_multibox_detection")
      .inputs(Names{"cls_prob", "loc_pred", "anchor"})
      .attr(AttrSpec::boolean("clip").def(true))
      .attr(AttrSpec::real("threshold").def(0.01))
      .attr(AttrSpec::integer("background_id").def(int64_t(0)))
      .attr(AttrSpec::real("nms_threshold").def(0.5))
      .attr(AttrSpec::boolean("force_suppress").def(false))
      .attr(variances())
      .attr(AttrSpec::integer("nms_topk").def(int64_t(-1)))
      .shape(detection_shape)
      .type(float_type);
  // Output 1 (hidden, as in MXNet) records, per output row, the input row it came from (-1
  // for none): the gradient rule scatters the output gradient back through it.
  r.add("_contrib_box_nms")
      .alias("_contrib_box_non_maximum_suppression")
      .alias("box_nms")
      .alias("_npx_box_nms")
      .unary()
      .attr(AttrSpec::real("overlap_thresh").def(0.5))
      .attr(AttrSpec::real("valid_thresh").def(0.0))
      .attr(AttrSpec::integer("topk").def(int64_t(-1)))
      .attr(AttrSpec::integer("coord_start").def(int64_t(2)))
      .attr(AttrSpec::integer("score_index").def(int64_t(1)))
      .attr(AttrSpec::integer("id_index").def(int64_t(-1)))
      .attr(AttrSpec::integer("background_id").def(int64_t(-1)))
      .attr(AttrSpec::boolean("force_suppress").def(false))
      .attr(AttrSpec::one_of("in_format", {"corner", "center"}).def(std::string("corner")))
      .attr(AttrSpec::one_of("out_format", {"corner", "center"}).def(std::string("corner")))
      .outputs([](const AttrView&) { return 2; }, [](const AttrView&) { return 1; })
      .output_names([](const AttrView&) { return Names{"output", "record"}; })
      .shape(nms_shape)
      .type(float_type);
  r.add("_contrib_box_iou")
      .alias("box_iou")
      .alias("_npx_box_iou")
      .binary()
      .attr(AttrSpec::one_of("format", {"corner", "center"}).def(std::string("corner")))
      .shape(iou_shape)
      .type(float_type);
}

}  // namespace hgc::ops
