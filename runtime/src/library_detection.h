// The data-dependent detection ops as runtime library calls (MXNet 1.9 contrib's CPU
// algorithms, src/operator/contrib/multibox_target.cc, multibox_detection.cc and
// bounding_box-inl.h): matching, sorting and suppression are sequential and data-dependent,
// so they run as plain C++ here rather than as generated code. Float parameters travel in
// LibraryCall::params as their float32 bit patterns (lib::float_param), which keeps the plan
// format integer-only and every parameter non-negative.
#pragma once
#include <cstdint>

#include "hgc/runtime/library_call.h"

namespace hgc::lib {

struct MultiBoxTargetShape {
  int64_t batch, anchors, labels, label_width, classes;
  float overlap_threshold, ignore_label, negative_mining_ratio, negative_mining_thresh;
  int64_t minimum_negative_samples;
  float variances[4];
};
// anchor (A, 4), label (B, L, W), cls_pred (B, C, A) -> loc_target (B, 4A), loc_mask (B, 4A),
// cls_target (B, A).
void multibox_target(const MultiBoxTargetShape& s, const float* anchor, const float* label, const float* cls_pred,
                     float* loc_target, float* loc_mask, float* cls_target);

struct MultiBoxDetectionShape {
  int64_t batch, classes, anchors;
  bool clip;
  float threshold, nms_threshold;
  bool force_suppress;
  int64_t nms_topk;  // <= 0: no limit
  float variances[4];
};
// cls_prob (B, C, A), loc_pred (B, 4A), anchor (A, 4) -> out (B, A, 6).
void multibox_detection(const MultiBoxDetectionShape& s, const float* cls_prob, const float* loc_pred,
                        const float* anchor, float* out);

struct BoxNmsShape {
  int64_t batch, boxes, width;
  float overlap_thresh, valid_thresh;
  int64_t topk;  // < 0: every box
  int64_t coord_start, score_index, id_index;  // id_index < 0: no class ids
  float background_id;
  bool force_suppress, in_center, out_center;
};
// data (B, N, W) -> out (B, N, W), record (B, N): the input row (within its batch) each
// output row came from, -1 for none.
void box_nms(const BoxNmsShape& s, const float* data, float* out, float* record);

}  // namespace hgc::lib
