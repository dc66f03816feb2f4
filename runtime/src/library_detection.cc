// MultiBoxTarget, MultiBoxDetection and box_nms on the CPU, following MXNet 1.9's CPU code
// step by step (its quirks included: MultiBoxDetection marks suppressed rows by their id
// alone, box_nms converts formats only where the first coordinate is >= 0), because a model
// trained or exported from MXNet must see the same targets and detections here.
#include "library_detection.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <numeric>
#include <vector>

namespace hgc::lib {

namespace {

// IoU of two corner boxes, 0 where the union is empty (MXNet's safe_divide).
float corner_iou(const float* a, const float* b) {
  float w = std::max(0.f, std::min(a[2], b[2]) - std::max(a[0], b[0]));
  float h = std::max(0.f, std::min(a[3], b[3]) - std::max(a[1], b[1]));
  float i = w * h;
  float u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - i;
  return u == 0.f ? 0.f : i / u;
}

}  // namespace

void multibox_target(const MultiBoxTargetShape& s, const float* anchor, const float* label, const float* cls_pred,
                     float* loc_target, float* loc_mask, float* cls_target) {
  const int64_t A = s.anchors, L = s.labels, W = s.label_width, C = s.classes;
  std::fill(loc_target, loc_target + s.batch * A * 4, 0.f);
  std::fill(loc_mask, loc_mask + s.batch * A * 4, 0.f);
  std::fill(cls_target, cls_target + s.batch * A, s.ignore_label);
  std::vector<float> overlap(static_cast<size_t>(A * L));
  for (int64_t b = 0; b < s.batch; ++b) {
    const float* lab = label + b * L * W;
    int64_t valid = 0;
    while (valid < L && lab[valid * W] != -1.f) ++valid;  // padding rows start with -1
    if (valid == 0) continue;
    for (int64_t j = 0; j < A; ++j)
      for (int64_t k = 0; k < L; ++k) overlap[j * L + k] = corner_iou(anchor + j * 4, lab + k * W + 1);
    std::vector<char> gt_done(valid, 0);
    std::vector<std::pair<float, int64_t>> match(A, {-1.f, -1});
    std::vector<signed char> flag(A, -1);  // -1 don't care, 0 negative, 1 positive
    int64_t positives = 0;
    // Each ground truth first takes its best free anchor, best pairs first.
    while (std::find(gt_done.begin(), gt_done.end(), 0) != gt_done.end()) {
      int64_t ba = -1, bg = -1;
      float best = 1e-6f;
      for (int64_t j = 0; j < A; ++j) {
        if (flag[j] == 1) continue;
        for (int64_t k = 0; k < valid; ++k) {
          if (gt_done[k]) continue;
          if (overlap[j * L + k] > best) ba = j, bg = k, best = overlap[j * L + k];
        }
      }
      if (ba < 0) break;
      match[ba] = {best, bg};
      ++positives;
      gt_done[bg] = 1;
      flag[ba] = 1;
    }
    auto best_gt = [&](int64_t j) {
      int64_t g = -1;
      float m = -1.f;
      for (int64_t k = 0; k < valid; ++k)
        if (overlap[j * L + k] > m) g = k, m = overlap[j * L + k];
      return std::pair<float, int64_t>{m, g};
    };
    if (s.overlap_threshold > 0) {
      for (int64_t j = 0; j < A; ++j) {
        if (flag[j] == 1) continue;
        auto m = best_gt(j);
        if (m.second < 0) continue;
        match[j] = m;
        if (m.first > s.overlap_threshold) {
          ++positives;
          gt_done[m.second] = 1;
          flag[j] = 1;
        }
      }
    }
    if (s.negative_mining_ratio > 0) {
      const float* pred = cls_pred + b * C * A;
      int64_t negatives = static_cast<int64_t>(positives * s.negative_mining_ratio);
      negatives = std::min(negatives, A - positives);
      if (negatives > 0) {
        std::vector<std::pair<float, int64_t>> cand;  // (-background probability, anchor)
        for (int64_t j = 0; j < A; ++j) {
          if (flag[j] == 1) continue;
          if (match[j].first < 0) {
            auto m = best_gt(j);
            if (m.second >= 0) match[j] = m;
          }
          if (match[j].first < s.negative_mining_thresh && flag[j] == -1) {
            float mx = pred[j];
            for (int64_t k = 1; k < C; ++k) mx = std::max(mx, pred[j + A * k]);
            float sum = 0.f;
            for (int64_t k = 0; k < C; ++k) sum += std::exp(pred[j + A * k] - mx);
            cand.push_back({-(std::exp(pred[j] - mx) / sum), j});
          }
        }
        std::stable_sort(cand.begin(), cand.end(), [](const auto& x, const auto& y) { return x.first > y.first; });
        negatives = std::min<int64_t>(negatives, static_cast<int64_t>(cand.size()));
        for (int64_t i = 0; i < negatives; ++i) flag[cand[i].second] = 0;
      }
    } else {
      for (int64_t j = 0; j < A; ++j)
        if (flag[j] != 1) flag[j] = 0;
    }
    for (int64_t j = 0; j < A; ++j) {
      float* lt = loc_target + (b * A + j) * 4;
      float* lm = loc_mask + (b * A + j) * 4;
      if (flag[j] == 1) {
        const float* g = lab + match[j].second * W;
        cls_target[b * A + j] = g[0] + 1;  // 0 is the background
        const float* a = anchor + j * 4;
        float aw = a[2] - a[0], ah = a[3] - a[1], ax = (a[0] + a[2]) * 0.5f, ay = (a[1] + a[3]) * 0.5f;
        float gw = g[3] - g[1], gh = g[4] - g[2], gx = (g[1] + g[3]) * 0.5f, gy = (g[2] + g[4]) * 0.5f;
        lt[0] = (gx - ax) / aw / s.variances[0];
        lt[1] = (gy - ay) / ah / s.variances[1];
        lt[2] = std::log(gw / aw) / s.variances[2];
        lt[3] = std::log(gh / ah) / s.variances[3];
        std::fill(lm, lm + 4, 1.f);
      } else if (flag[j] == 0) {
        cls_target[b * A + j] = 0;
      }
    }
  }
}

void multibox_detection(const MultiBoxDetectionShape& s, const float* cls_prob, const float* loc_pred,
                        const float* anchor, float* out) {
  const int64_t C = s.classes, A = s.anchors;
  std::fill(out, out + s.batch * A * 6, -1.f);
  std::vector<float> rows(static_cast<size_t>(A * 6)), temp(static_cast<size_t>(A * 6));
  for (int64_t b = 0; b < s.batch; ++b) {
    const float* p = cls_prob + b * C * A;
    const float* l = loc_pred + b * A * 4;
    float* o = out + b * A * 6;
    for (int64_t i = 0; i < A; ++i) {
      float score = -1;
      int64_t id = 0;
      for (int64_t j = 1; j < C; ++j)
        if (p[j * A + i] > score) score = p[j * A + i], id = j;
      if (id > 0 && score < s.threshold) id = 0;
      float* r = &rows[i * 6];
      r[0] = static_cast<float>(id - 1);
      r[1] = score;
      const float* a = anchor + i * 4;
      const float* d = l + i * 4;
      float aw = a[2] - a[0], ah = a[3] - a[1], ax = (a[0] + a[2]) / 2.f, ay = (a[1] + a[3]) / 2.f;
      float ox = d[0] * s.variances[0] * aw + ax, oy = d[1] * s.variances[1] * ah + ay;
      float ow = std::exp(d[2] * s.variances[2]) * aw / 2, oh = std::exp(d[3] * s.variances[3]) * ah / 2;
      auto clip = [&](float v) { return s.clip ? std::max(0.f, std::min(1.f, v)) : v; };
      r[2] = clip(ox - ow), r[3] = clip(oy - oh), r[4] = clip(ox + ow), r[5] = clip(oy + oh);
    }
    int64_t valid = 0;
    for (int64_t i = 0; i < A; ++i)
      if (rows[i * 6] >= 0) std::copy(&rows[i * 6], &rows[i * 6] + 6, o + 6 * valid++);
    if (valid < 1 || s.nms_threshold <= 0 || s.nms_threshold > 1) continue;
    std::copy(o, o + A * 6, temp.begin());
    std::vector<int64_t> order(valid);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return o[x * 6 + 1] > o[y * 6 + 1]; });
    int64_t keep = valid;
    if (s.nms_topk > 0 && s.nms_topk < keep) {
      keep = s.nms_topk;
      for (int64_t i = keep; i < valid; ++i) o[i * 6] = -1;  // only the id: MXNet's marking
    }
    for (int64_t i = 0; i < keep; ++i) std::copy(&temp[order[i] * 6], &temp[order[i] * 6] + 6, o + i * 6);
    for (int64_t i = 0; i < keep; ++i) {
      if (o[i * 6] < 0) continue;
      for (int64_t j = i + 1; j < keep; ++j) {
        if (o[j * 6] < 0) continue;
        if ((s.force_suppress || o[i * 6] == o[j * 6]) && corner_iou(o + i * 6 + 2, o + j * 6 + 2) >= s.nms_threshold)
          o[j * 6] = -1;
      }
    }
  }
}

namespace {

// Overlap of [a0, a2] and [b0, b2] (corner) or of centred extents (center), >= 0.
float extent(const float* a, const float* b, bool center) {
  float w;
  if (!center) {
    w = std::min(a[2], b[2]) - std::max(a[0], b[0]);
  } else {
    float al = a[0] - a[2] / 2, ar = a[0] + a[2] / 2, bl = b[0] - b[2] / 2, br = b[0] + b[2] / 2;
    w = std::min(ar, br) - std::max(al, bl);
  }
  return w > 0 ? w : 0.f;
}

float area(const float* b, bool center) {
  float w = center ? b[2] : b[2] - b[0], h = center ? b[3] : b[3] - b[1];
  return w < 0 || h < 0 ? 0.f : w * h;
}

}  // namespace

void box_nms(const BoxNmsShape& s, const float* data, float* out, float* record) {
  const int64_t N = s.boxes, W = s.width, total = s.batch * N * W;
  if (s.topk == 0) {  // MXNet: nothing to suppress, the input as it is
    std::copy(data, data + total, out);
    for (int64_t b = 0; b < s.batch; ++b)
      for (int64_t i = 0; i < N; ++i) record[b * N + i] = static_cast<float>(i);
    return;
  }
  std::fill(out, out + total, -1.f);
  std::fill(record, record + s.batch * N, -1.f);
  const int64_t k = s.topk < 0 ? N : std::min(N, s.topk);
  for (int64_t b = 0; b < s.batch; ++b) {
    const float* d = data + b * N * W;
    std::vector<int64_t> idx;
    for (int64_t i = 0; i < N; ++i) {
      const float* r = d + i * W;
      if (r[s.score_index] > s.valid_thresh && (s.id_index < 0 || r[s.id_index] != s.background_id)) idx.push_back(i);
    }
    std::stable_sort(idx.begin(), idx.end(), [&](int64_t x, int64_t y) { return d[x * W + s.score_index] > d[y * W + s.score_index]; });
    if (static_cast<int64_t>(idx.size()) > k) idx.resize(k);
    const int64_t n = static_cast<int64_t>(idx.size());
    for (int64_t r = 0; r < n; ++r) {
      if (idx[r] < 0) continue;
      const float* rb = d + idx[r] * W;
      for (int64_t p = r + 1; p < n; ++p) {
        if (idx[p] < 0) continue;
        const float* pb = d + idx[p] * W;
        if (!s.force_suppress && s.id_index >= 0 &&
            static_cast<int>(rb[s.id_index]) != static_cast<int>(pb[s.id_index]))
          continue;
        const float *a = rb + s.coord_start, *c = pb + s.coord_start;
        float inter = extent(a, c, s.in_center) * extent(a + 1, c + 1, s.in_center);
        float iou = inter / (area(a, s.in_center) + area(c, s.in_center) - inter);
        if (iou > s.overlap_thresh) idx[p] = -1;
      }
    }
    int64_t count = 0;
    for (int64_t r = 0; r < n; ++r) {
      if (idx[r] < 0) continue;
      std::copy(d + idx[r] * W, d + idx[r] * W + W, out + (b * N + count) * W);
      record[b * N + count] = static_cast<float>(idx[r]);
      ++count;
    }
  }
  if (s.in_center == s.out_center) return;
  for (int64_t row = 0; row < s.batch * N; ++row) {
    float* c = out + row * W + s.coord_start;
    if (c[0] < 0) continue;  // MXNet skips rows whose first coordinate is negative (the -1 rows)
    float x0 = c[0], y0 = c[1], x1 = c[2], y1 = c[3];
    if (s.out_center) c[0] = (x0 + x1) / 2, c[1] = (y0 + y1) / 2, c[2] = x1 - x0, c[3] = y1 - y0;
    else c[0] = x0 - x1 / 2, c[1] = y0 - y1 / 2, c[2] = x0 + x1 / 2, c[3] = y0 + y1 / 2;
  }
}

}  // namespace hgc::lib
