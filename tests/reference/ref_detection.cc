// Reference kernels of the detection family, written from MXNet 1.9's descriptions and CPU
// code (contrib/multibox_*.cc, bounding_box-inl.h) in doubles, in the most literal form:
// anchors by the documented loops, IoU matrices in full, NMS as a marked list.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "ref_kernels.h"

namespace hgc::ref {
namespace {

const std::vector<double>& reals(const Ctx& c, const std::string& n) { return std::get<std::vector<double>>(c.a.get(n)); }

double iou(const double* a, const double* b) {
  double w = std::max(0.0, std::min(a[2], b[2]) - std::max(a[0], b[0]));
  double h = std::max(0.0, std::min(a[3], b[3]) - std::max(a[1], b[1]));
  double i = w * h, u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - i;
  return u == 0 ? 0 : i / u;
}

void prior(Ctx& c) {
  const auto &sizes = reals(c, "sizes"), &ratios = reals(c, "ratios"), &steps = reals(c, "steps"),
             &off = reals(c, "offsets");
  double H = static_cast<double>(c.in[0].shape[2]), W = static_cast<double>(c.in[0].shape[3]);
  double sy = steps[0] > 0 && steps[1] > 0 ? steps[0] : 1 / H, sx = steps[0] > 0 && steps[1] > 0 ? steps[1] : 1 / W;
  double* o = c.out[0].v.data();
  auto put = [&](double cx, double cy, double size, double ratio) {
    double w = size * H / W * std::sqrt(ratio) / 2, h = size / std::sqrt(ratio) / 2;
    double box[4] = {cx - w, cy - h, cx + w, cy + h};
    for (double v : box) *o++ = c.a.b("clip") ? std::clamp(v, 0.0, 1.0) : v;
  };
  for (int64_t r = 0; r < c.in[0].shape[2]; ++r)
    for (int64_t col = 0; col < c.in[0].shape[3]; ++col) {
      double cy = (r + off[0]) * sy, cx = (col + off[1]) * sx;
      for (double s : sizes) put(cx, cy, s, ratios[0]);
      for (size_t j = 1; j < ratios.size(); ++j) put(cx, cy, sizes[0], ratios[j]);
    }
}

void target(Ctx& c) {
  const Arr &anc = c.in[0], &lab = c.in[1], &pred = c.in[2];
  int64_t B = lab.shape[0], L = lab.shape[1], W = lab.shape[2], A = anc.shape[1], C = pred.shape[1];
  const auto& var = reals(c, "variances");
  double thr = c.a.f("overlap_threshold"), ratio = c.a.f("negative_mining_ratio"), nthr = c.a.f("negative_mining_thresh");
  std::fill(c.out[2].v.begin(), c.out[2].v.end(), c.a.f("ignore_label"));
  for (int64_t b = 0; b < B; ++b) {
    const double* l = lab.v.data() + b * L * W;
    int64_t G = 0;
    while (G < L && l[G * W] != -1) ++G;
    if (!G) continue;
    std::vector<std::vector<double>> ov(A, std::vector<double>(G));
    for (int64_t j = 0; j < A; ++j)
      for (int64_t g = 0; g < G; ++g) ov[j][g] = iou(anc.v.data() + j * 4, l + g * W + 1);
    std::vector<int> flag(A, -1), gt_of(A, -1);
    std::vector<double> best_of(A, -1);
    std::vector<bool> used(G, false);
    int64_t pos = 0;
    for (;;) {  // bipartite: the best remaining (anchor, gt) pair, until every gt is used
      double best = 1e-6;
      int64_t ba = -1, bg = -1;
      for (int64_t j = 0; j < A; ++j)
        for (int64_t g = 0; g < G; ++g)
          if (flag[j] != 1 && !used[g] && ov[j][g] > best) best = ov[j][g], ba = j, bg = g;
      if (ba < 0) break;
      flag[ba] = 1, gt_of[ba] = static_cast<int>(bg), best_of[ba] = best, used[bg] = true, ++pos;
      if (std::all_of(used.begin(), used.end(), [](bool u) { return u; })) break;
    }
    auto argmax = [&](int64_t j) { return std::max_element(ov[j].begin(), ov[j].end()) - ov[j].begin(); };
    if (thr > 0)
      for (int64_t j = 0; j < A; ++j) {
        if (flag[j] == 1) continue;
        int64_t g = argmax(j);
        gt_of[j] = static_cast<int>(g), best_of[j] = ov[j][g];
        if (ov[j][g] > thr) flag[j] = 1, used[g] = true, ++pos;
      }
    if (ratio > 0) {
      int64_t neg = std::min<int64_t>(static_cast<int64_t>(pos * ratio), A - pos);
      std::vector<std::pair<double, int64_t>> cand;  // (background probability, anchor)
      for (int64_t j = 0; j < A && neg > 0; ++j) {
        if (flag[j] == 1) continue;
        if (best_of[j] < 0) best_of[j] = ov[j][argmax(j)];
        if (best_of[j] < nthr && flag[j] == -1) {
          double mx = -INFINITY, sum = 0;
          for (int64_t k = 0; k < C; ++k) mx = std::max(mx, pred.v[(b * C + k) * A + j]);
          for (int64_t k = 0; k < C; ++k) sum += std::exp(pred.v[(b * C + k) * A + j] - mx);
          cand.push_back({std::exp(pred.v[b * C * A + j] - mx) / sum, j});
        }
      }
      std::stable_sort(cand.begin(), cand.end(), [](auto& x, auto& y) { return x.first < y.first; });
      for (int64_t i = 0; i < std::min<int64_t>(neg, static_cast<int64_t>(cand.size())); ++i) flag[cand[i].second] = 0;
    } else {
      for (int& f : flag)
        if (f != 1) f = 0;
    }
    for (int64_t j = 0; j < A; ++j) {
      if (flag[j] == 0) c.out[2].v[b * A + j] = 0;
      if (flag[j] != 1) continue;
      const double *g = l + gt_of[j] * W, *a = anc.v.data() + j * 4;
      c.out[2].v[b * A + j] = g[0] + 1;
      double aw = a[2] - a[0], ah = a[3] - a[1], gw = g[3] - g[1], gh = g[4] - g[2];
      double t[4] = {((g[1] + g[3]) - (a[0] + a[2])) / 2 / aw / var[0], ((g[2] + g[4]) - (a[1] + a[3])) / 2 / ah / var[1],
                     std::log(gw / aw) / var[2], std::log(gh / ah) / var[3]};
      for (int k = 0; k < 4; ++k) c.out[0].v[(b * A + j) * 4 + k] = t[k], c.out[1].v[(b * A + j) * 4 + k] = 1;
    }
  }
}

void detection(Ctx& c) {
  const Arr &prob = c.in[0], &loc = c.in[1], &anc = c.in[2];
  int64_t B = prob.shape[0], C = prob.shape[1], A = prob.shape[2];
  const auto& var = reals(c, "variances");
  double thr = c.a.f("threshold"), nms = c.a.f("nms_threshold");
  int64_t topk = c.a.i("nms_topk");
  bool clip = c.a.b("clip"), force = c.a.b("force_suppress");
  std::fill(c.out[0].v.begin(), c.out[0].v.end(), -1.0);
  for (int64_t b = 0; b < B; ++b) {
    std::vector<std::vector<double>> rows;  // the detections with a class, in anchor order
    for (int64_t i = 0; i < A; ++i) {
      double score = -1;
      int64_t id = 0;
      for (int64_t k = 1; k < C; ++k)
        if (prob.v[(b * C + k) * A + i] > score) score = prob.v[(b * C + k) * A + i], id = k;
      if (id == 0 || score < thr) continue;
      const double *a = anc.v.data() + i * 4, *p = loc.v.data() + (b * A + i) * 4;
      double aw = a[2] - a[0], ah = a[3] - a[1];
      double x = p[0] * var[0] * aw + (a[0] + a[2]) / 2, y = p[1] * var[1] * ah + (a[1] + a[3]) / 2;
      double w = std::exp(p[2] * var[2]) * aw / 2, h = std::exp(p[3] * var[3]) * ah / 2;
      std::vector<double> r = {double(id - 1), score, x - w, y - h, x + w, y + h};
      if (clip)
        for (int k = 2; k < 6; ++k) r[k] = std::clamp(r[k], 0.0, 1.0);
      rows.push_back(r);
    }
    double* o = c.out[0].v.data() + b * A * 6;
    int64_t n = static_cast<int64_t>(rows.size());
    for (int64_t i = 0; i < n; ++i) std::copy(rows[i].begin(), rows[i].end(), o + i * 6);
    if (n == 0 || nms <= 0 || nms > 1) continue;
    std::vector<int64_t> ord(n);
    std::iota(ord.begin(), ord.end(), 0);
    std::stable_sort(ord.begin(), ord.end(), [&](int64_t p, int64_t q) { return rows[p][1] > rows[q][1]; });
    int64_t keep = topk > 0 && topk < n ? topk : n;
    for (int64_t i = keep; i < n; ++i) o[i * 6] = -1;  // beyond nms_topk: the id marks it dropped
    for (int64_t i = 0; i < keep; ++i) std::copy(rows[ord[i]].begin(), rows[ord[i]].end(), o + i * 6);
    for (int64_t i = 0; i < keep; ++i)
      for (int64_t j = i + 1; j < keep && o[i * 6] >= 0; ++j)
        if (o[j * 6] >= 0 && (force || o[i * 6] == o[j * 6]) && iou(o + i * 6 + 2, o + j * 6 + 2) >= nms) o[j * 6] = -1;
  }
}

// One box's [x0, x1] extent (corner) or centre/width as an interval.
std::pair<double, double> span(const double* b, int axis, bool center) {
  return center ? std::pair{b[axis] - b[axis + 2] / 2, b[axis] + b[axis + 2] / 2} : std::pair{b[axis], b[axis + 2]};
}
double box_area(const double* b, bool center) {
  double w = center ? b[2] : b[2] - b[0], h = center ? b[3] : b[3] - b[1];
  return w < 0 || h < 0 ? 0 : w * h;
}
double inter(const double* a, const double* b, bool center) {
  double r = 1;
  for (int ax = 0; ax < 2; ++ax) {
    auto [a0, a1] = span(a, ax, center);
    auto [b0, b1] = span(b, ax, center);
    r *= std::max(0.0, std::min(a1, b1) - std::max(a0, b0));
  }
  return r;
}

void nms(Ctx& c) {
  const Arr& x = c.in[0];
  int64_t N = x.shape[x.ndim() - 2], W = x.shape.back(), B = N ? x.numel() / (N * W) : 0;
  int64_t topk = c.a.i("topk"), cs = c.a.i("coord_start"), si = c.a.i("score_index"), id = c.a.i("id_index");
  double bg = static_cast<double>(c.a.i("background_id")), valid = c.a.f("valid_thresh"), thr = c.a.f("overlap_thresh");
  bool force = c.a.b("force_suppress"), in_c = c.a.s("in_format") == "center", out_c = c.a.s("out_format") == "center";
  if (topk == 0) {
    c.out[0].v = x.v;
    for (int64_t i = 0; i < B * N; ++i) c.out[1].v[i] = static_cast<double>(i % N);
    return;
  }
  std::fill(c.out[0].v.begin(), c.out[0].v.end(), -1.0);
  std::fill(c.out[1].v.begin(), c.out[1].v.end(), -1.0);
  for (int64_t b = 0; b < B; ++b) {
    const double* d = x.v.data() + b * N * W;
    std::vector<int64_t> cand;
    for (int64_t i = 0; i < N; ++i)
      if (d[i * W + si] > valid && (id < 0 || d[i * W + id] != bg)) cand.push_back(i);
    std::stable_sort(cand.begin(), cand.end(), [&](int64_t p, int64_t q) { return d[p * W + si] > d[q * W + si]; });
    if (topk > 0 && static_cast<int64_t>(cand.size()) > topk) cand.resize(topk);
    std::vector<bool> gone(cand.size(), false);
    int64_t out_row = 0;
    for (size_t r = 0; r < cand.size(); ++r) {
      if (gone[r]) continue;
      const double* rb = d + cand[r] * W;
      for (size_t p = r + 1; p < cand.size(); ++p) {
        const double* pb = d + cand[p] * W;
        if (gone[p] || (!force && id >= 0 && static_cast<int>(rb[id]) != static_cast<int>(pb[id]))) continue;
        double i = inter(rb + cs, pb + cs, in_c);
        if (i / (box_area(rb + cs, in_c) + box_area(pb + cs, in_c) - i) > thr) gone[p] = true;
      }
      double* o = c.out[0].v.data() + (b * N + out_row) * W;
      std::copy(rb, rb + W, o);
      c.out[1].v[b * N + out_row++] = static_cast<double>(cand[r]);
      if (in_c != out_c && o[cs] >= 0) {  // MXNet converts only rows whose first coordinate is >= 0
        double* q = o + cs;
        double v0 = q[0], v1 = q[1], v2 = q[2], v3 = q[3];
        if (out_c) q[0] = (v0 + v2) / 2, q[1] = (v1 + v3) / 2, q[2] = v2 - v0, q[3] = v3 - v1;
        else q[0] = v0 - v2 / 2, q[1] = v1 - v3 / 2, q[2] = v0 + v2 / 2, q[3] = v1 + v3 / 2;
      }
    }
  }
}

void box_iou(Ctx& c) {
  bool center = c.a.s("format") == "center";
  int64_t nl = c.in[0].numel() / 4, nr = c.in[1].numel() / 4;
  for (int64_t i = 0; i < nl; ++i)
    for (int64_t j = 0; j < nr; ++j) {
      const double *a = c.in[0].v.data() + i * 4, *b = c.in[1].v.data() + j * 4;
      double in = inter(a, b, center);
      c.out[0].v[i * nr + j] = in <= 0 ? 0 : in / (box_area(a, center) + box_area(b, center) - in);
    }
}

}  // namespace

void add_detection_kernels(KernelTable& t) {
  t.add("_contrib_MultiBoxPrior", prior);
  t.add("_contrib_MultiBoxTarget", target);
  t.add("_contrib_MultiBoxDetection", detection);
  t.add("_contrib_box_nms", nms);
  t.add("_contrib_box_iou", box_iou);
}

}  // namespace hgc::ref
