// mx.nd.contrib's object-detection ops (MXNet 1.9 names, attributes and defaults): anchors,
// training targets, decoded detections, non-maximum suppression and IoU. Each is one op of the
// detection family (ir/ops/detection.cc); MultiBoxTarget, MultiBoxDetection and box_nms run
// as CPU library calls and take float32.
//
//   NDArray anchors = nd::contrib::MultiBoxPrior(feat, MultiBoxPriorOptions().sizes({.5, .25}).ratios({1, 2, .5}));
//   auto [loc_t, loc_mask, cls_t] = nd::contrib::MultiBoxTarget(anchors, labels, cls_preds);  // 3 arrays
//   NDArray det = nd::contrib::MultiBoxDetection(cls_probs, box_preds, anchors,
//                                                MultiBoxDetectionOptions().force_suppress(true).clip(false));
//   NDArray kept = nd::contrib::box_nms(det, BoxNmsOptions().overlap_thresh(0.45));
#pragma once
#include <array>
#include <string>
#include <vector>

#include "hgc/frontend/nd/ndarray.h"

namespace hgc::nd::contrib {

struct MultiBoxPriorOptions {
  std::vector<double> sizes_ = {1.0}, ratios_ = {1.0}, steps_ = {-1.0, -1.0}, offsets_ = {0.5, 0.5};
  bool clip_ = false;
  MultiBoxPriorOptions& sizes(std::vector<double> v) { sizes_ = std::move(v); return *this; }
  MultiBoxPriorOptions& ratios(std::vector<double> v) { ratios_ = std::move(v); return *this; }
  MultiBoxPriorOptions& clip(bool c) { clip_ = c; return *this; }
  MultiBoxPriorOptions& steps(std::vector<double> v) { steps_ = std::move(v); return *this; }
  MultiBoxPriorOptions& offsets(std::vector<double> v) { offsets_ = std::move(v); return *this; }
};
// data (N, C, H, W) -> (1, H*W*(sizes+ratios-1), 4) anchors [xmin, ymin, xmax, ymax].
NDArray MultiBoxPrior(const NDArray& data, const MultiBoxPriorOptions& o = {});

struct MultiBoxTargetOptions {
  double overlap_threshold_ = 0.5, ignore_label_ = -1, negative_mining_ratio_ = -1, negative_mining_thresh_ = 0.5;
  int64_t minimum_negative_samples_ = 0;
  std::vector<double> variances_ = {0.1, 0.1, 0.2, 0.2};
  MultiBoxTargetOptions& overlap_threshold(double v) { overlap_threshold_ = v; return *this; }
  MultiBoxTargetOptions& ignore_label(double v) { ignore_label_ = v; return *this; }
  MultiBoxTargetOptions& negative_mining_ratio(double v) { negative_mining_ratio_ = v; return *this; }
  MultiBoxTargetOptions& negative_mining_thresh(double v) { negative_mining_thresh_ = v; return *this; }
  MultiBoxTargetOptions& minimum_negative_samples(int64_t v) { minimum_negative_samples_ = v; return *this; }
  MultiBoxTargetOptions& variances(std::vector<double> v) { variances_ = std::move(v); return *this; }
};
// anchor (1, A, 4), label (B, L, 5+) rows [class, xmin, ymin, xmax, ymax] (-1 rows pad),
// cls_pred (B, num_classes + 1, A) -> {loc_target (B, 4A), loc_mask (B, 4A), cls_target (B, A)}.
std::array<NDArray, 3> MultiBoxTarget(const NDArray& anchor, const NDArray& label, const NDArray& cls_pred,
                                      const MultiBoxTargetOptions& o = {});

struct MultiBoxDetectionOptions {
  bool clip_ = true, force_suppress_ = false;
  double threshold_ = 0.01, nms_threshold_ = 0.5;
  int64_t background_id_ = 0, nms_topk_ = -1;
  std::vector<double> variances_ = {0.1, 0.1, 0.2, 0.2};
  MultiBoxDetectionOptions& clip(bool v) { clip_ = v; return *this; }
  MultiBoxDetectionOptions& threshold(double v) { threshold_ = v; return *this; }
  MultiBoxDetectionOptions& background_id(int64_t v) { background_id_ = v; return *this; }
  MultiBoxDetectionOptions& nms_threshold(double v) { nms_threshold_ = v; return *this; }
  MultiBoxDetectionOptions& force_suppress(bool v) { force_suppress_ = v; return *this; }
  MultiBoxDetectionOptions& variances(std::vector<double> v) { variances_ = std::move(v); return *this; }
  MultiBoxDetectionOptions& nms_topk(int64_t v) { nms_topk_ = v; return *this; }
};
// cls_prob (B, num_classes + 1, A), loc_pred (B, 4A), anchor (1, A, 4) -> (B, A, 6) rows
// [class id, score, xmin, ymin, xmax, ymax], best first; id -1 marks no or a suppressed detection.
NDArray MultiBoxDetection(const NDArray& cls_prob, const NDArray& loc_pred, const NDArray& anchor,
                          const MultiBoxDetectionOptions& o = {});

struct BoxNmsOptions {
  double overlap_thresh_ = 0.5, valid_thresh_ = 0;
  int64_t topk_ = -1, coord_start_ = 2, score_index_ = 1, id_index_ = -1, background_id_ = -1;
  bool force_suppress_ = false;
  std::string in_format_ = "corner", out_format_ = "corner";
  BoxNmsOptions& overlap_thresh(double v) { overlap_thresh_ = v; return *this; }
  BoxNmsOptions& valid_thresh(double v) { valid_thresh_ = v; return *this; }
  BoxNmsOptions& topk(int64_t v) { topk_ = v; return *this; }
  BoxNmsOptions& coord_start(int64_t v) { coord_start_ = v; return *this; }
  BoxNmsOptions& score_index(int64_t v) { score_index_ = v; return *this; }
  BoxNmsOptions& id_index(int64_t v) { id_index_ = v; return *this; }
  BoxNmsOptions& background_id(int64_t v) { background_id_ = v; return *this; }
  BoxNmsOptions& force_suppress(bool v) { force_suppress_ = v; return *this; }
  BoxNmsOptions& in_format(std::string v) { in_format_ = std::move(v); return *this; }
  BoxNmsOptions& out_format(std::string v) { out_format_ = std::move(v); return *this; }
};
// data (..., N, W): the rows kept by greedy NMS, best score first, then rows of -1.
NDArray box_nms(const NDArray& data, const BoxNmsOptions& o = {});
NDArray box_non_maximum_suppression(const NDArray& data, const BoxNmsOptions& o = {});
// lhs (..., 4), rhs (..., 4) -> IoU of every pair, shape lhs[:-1] + rhs[:-1]; format "corner"
// or "center".
NDArray box_iou(const NDArray& lhs, const NDArray& rhs, const std::string& format = "corner");

}  // namespace hgc::nd::contrib
