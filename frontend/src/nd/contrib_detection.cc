// nd.contrib's detection ops: one op call each (records, kernels, reference and gradient
// rules in the detection family).
#include "hgc/frontend/nd/contrib_detection.h"

#include "nd/detail.h"

namespace hgc::nd::contrib {

NDArray MultiBoxPrior(const NDArray& data, const MultiBoxPriorOptions& o) {
  return nd_detail::call("_contrib_MultiBoxPrior",
                         {{"sizes", o.sizes_}, {"ratios", o.ratios_}, {"clip", o.clip_}, {"steps", o.steps_},
                          {"offsets", o.offsets_}},
                         {data});
}

std::array<NDArray, 3> MultiBoxTarget(const NDArray& anchor, const NDArray& label, const NDArray& cls_pred,
                                      const MultiBoxTargetOptions& o) {
  std::vector<NDArray> r = nd_detail::call_all(
      "_contrib_MultiBoxTarget",
      {{"overlap_threshold", o.overlap_threshold_}, {"ignore_label", o.ignore_label_},
       {"negative_mining_ratio", o.negative_mining_ratio_}, {"negative_mining_thresh", o.negative_mining_thresh_},
       {"minimum_negative_samples", o.minimum_negative_samples_}, {"variances", o.variances_}},
      {anchor, label, cls_pred});
  return {r[0], r[1], r[2]};
}

NDArray MultiBoxDetection(const NDArray& cls_prob, const NDArray& loc_pred, const NDArray& anchor,
                          const MultiBoxDetectionOptions& o) {
  return nd_detail::call("_contrib_MultiBoxDetection",
                         {{"clip", o.clip_}, {"threshold", o.threshold_}, {"background_id", o.background_id_},
                          {"nms_threshold", o.nms_threshold_}, {"force_suppress", o.force_suppress_},
                          {"variances", o.variances_}, {"nms_topk", o.nms_topk_}},
                         {cls_prob, loc_pred, anchor});
}

NDArray box_nms(const NDArray& data, const BoxNmsOptions& o) {
  return nd_detail::call_all("_contrib_box_nms",
                             {{"overlap_thresh", o.overlap_thresh_}, {"valid_thresh", o.valid_thresh_},
                              {"topk", o.topk_}, {"coord_start", o.coord_start_}, {"score_index", o.score_index_},
                              {"id_index", o.id_index_}, {"background_id", o.background_id_},
                              {"force_suppress", o.force_suppress_}, {"in_format", o.in_format_},
                              {"out_format", o.out_format_}},
                             {data})[0];
}

NDArray box_non_maximum_suppression(const NDArray& data, const BoxNmsOptions& o) { return box_nms(data, o); }

NDArray box_iou(const NDArray& lhs, const NDArray& rhs, const std::string& format) {
  return nd_detail::call("_contrib_box_iou", {{"format", format}}, {lhs, rhs});
}

}  // namespace hgc::nd::contrib
