// Chapter "Object detection using convolutional neural networks (SSD)": MultiBoxPrior anchors
// (the book's 40x40 walk-through), class and box predictors at several scales, the toy SSD's
// output shapes at 256x256, then a small SSD trained with MultiBoxTarget targets, softmax
// cross-entropy over the positives and MultiBoxTarget's hard-mined negatives (3 per positive)
// plus the book's smooth L1 box loss, and MultiBoxDetection + IoU on held-out images.
// `--cls-loss focal` trains with the book's focal loss over every anchor instead (no mining).
#include <random>

#include "book.h"

using namespace hgc;
using namespace hgc::gluon;
namespace ndc = hgc::nd::contrib;

namespace {

// The book's down_sample: two Conv-BatchNorm-ReLU blocks, then a 2x2 max pooling.
std::shared_ptr<nn::HybridSequential> down_sample(int64_t filters) {
  auto out = std::make_shared<nn::HybridSequential>();
  for (int i = 0; i < 2; ++i) {
    out->add(std::make_shared<nn::Conv2D>(nn::Conv2DOptions(filters, {3, 3}).padding({1, 1})));
    out->add(std::make_shared<nn::BatchNorm>());
    out->add(std::make_shared<nn::Activation>("relu"));
  }
  out->add(std::make_shared<nn::MaxPool2D>(nn::Pool2DOptions({2, 2})));
  return out;
}
std::shared_ptr<nn::Conv2D> class_predictor(int64_t anchors, int64_t classes) {
  return std::make_shared<nn::Conv2D>(nn::Conv2DOptions(anchors * (classes + 1), {3, 3}).padding({1, 1}));
}
std::shared_ptr<nn::Conv2D> box_predictor(int64_t anchors) {
  return std::make_shared<nn::Conv2D>(nn::Conv2DOptions(anchors * 4, {3, 3}).padding({1, 1}));
}
NDArray flatten_prediction(const NDArray& p) { return nd::flatten(nd::transpose(p, {0, 2, 3, 1})); }

// The book's ToySSD: a body, then at each scale anchors + class and box predictions, down-
// sampling between scales and a global max pooling before the last. Returns anchors
// (1, A, 4), class predictions (N, A, classes + 1) and box predictions (N, 4A).
class ToySSD : public HybridBlock {
 public:
  ToySSD(int64_t classes, std::vector<int64_t> body_filters, int64_t down_filters, int scales)
      : HybridBlock("toyssd"), classes_(classes), scales_(scales) {
    auto scope = name_scope();
    body = register_child(std::make_shared<nn::HybridSequential>(), "body");
    for (int64_t f : body_filters) body->add(down_sample(f));
    for (int i = 0; i + 2 < scales; ++i)
      downs.push_back(register_child(down_sample(down_filters), "down" + std::to_string(i)));
    for (int i = 0; i < scales; ++i) {
      cls.push_back(register_child(class_predictor(anchors_per_pixel(), classes), "cls" + std::to_string(i)));
      box.push_back(register_child(box_predictor(anchors_per_pixel()), "box" + std::to_string(i)));
    }
  }
  int64_t anchors_per_pixel() const { return 2 + 3 - 1; }  // two sizes, three ratios
  std::vector<NDArray> hybrid_forward_multi(const std::vector<NDArray>& xs) override {
    // The book's anchor sizes for five scales (the last ones when there are fewer scales).
    static const std::vector<std::vector<double>> sizes = {{.2, .272}, {.37, .447}, {.54, .619}, {.71, .79}, {.88, .961}};
    NDArray x = (*body)(xs[0]);
    std::vector<NDArray> anchors, cp, bp;
    for (int i = 0; i < scales_; ++i) {
      const auto& sz = sizes[5 - scales_ + i];
      anchors.push_back(ndc::MultiBoxPrior(x, ndc::MultiBoxPriorOptions().sizes(sz).ratios({1, 2, .5})));
      bp.push_back(flatten_prediction((*box[i])(x)));
      cp.push_back(flatten_prediction((*cls[i])(x)));
      if (i + 2 < scales_) x = (*downs[i])(x);
      else if (i + 2 == scales_) x = nd::Pooling(x, {4, 4}, "max", {}, {}, /*global_pool=*/true);
    }
    return {nd::concat(anchors, 1), nd::concat(cp, 1).reshape({0, -1, classes_ + 1}), nd::concat(bp, 1)};
  }
  std::shared_ptr<nn::HybridSequential> body;
  std::vector<std::shared_ptr<nn::HybridSequential>> downs;
  std::vector<std::shared_ptr<nn::Conv2D>> cls, box;

 private:
  int64_t classes_;
  int scales_;
};

// Stand-in for the Pikachu set: one bright rectangle or ellipse (20-50% of the side) on a
// noisy, randomly tinted background; labels (N, 1, 5) [class 0, xmin, ymin, xmax, ymax] in [0, 1].
struct Detections {
  NDArray x, y;
  std::vector<std::array<float, 4>> boxes;
};
Detections synthetic(int64_t n, int64_t side, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0, 1);
  std::normal_distribution<float> noise(0, 0.12f);
  std::vector<float> img(static_cast<size_t>(n * 3 * side * side)), lab;
  Detections d;
  for (int64_t i = 0; i < n; ++i) {
    float bg[3] = {0.15f + 0.3f * u(rng), 0.15f + 0.3f * u(rng), 0.15f + 0.3f * u(rng)};
    float fg[3] = {0.75f + 0.25f * u(rng), 0.6f + 0.4f * u(rng), 0.2f * u(rng)};  // bright, yellowish
    float w = 0.2f + 0.3f * u(rng), h = 0.2f + 0.3f * u(rng);
    float x0 = u(rng) * (1 - w), y0 = u(rng) * (1 - h);
    bool ellipse = u(rng) < 0.5f;
    for (int64_t r = 0; r < side; ++r)
      for (int64_t c = 0; c < side; ++c) {
        float px = (c + 0.5f) / side, py = (r + 0.5f) / side;
        float dx = (px - x0 - w / 2) / (w / 2), dy = (py - y0 - h / 2) / (h / 2);
        bool in = ellipse ? dx * dx + dy * dy <= 1 : std::abs(dx) <= 1 && std::abs(dy) <= 1;
        for (int ch = 0; ch < 3; ++ch)
          img[((i * 3 + ch) * side + r) * side + c] = (in ? fg[ch] : bg[ch]) + noise(rng) - 0.5f;
      }
    lab.insert(lab.end(), {0.f, x0, y0, x0 + w, y0 + h});
    d.boxes.push_back({x0, y0, x0 + w, y0 + h});
  }
  d.x = nd::array(img, {n, 3, side, side});
  d.y = nd::array(lab, {n, 1, 5});
  return d;
}

// The book's FocalLoss: -alpha (1 - p_t)^gamma log p_t, averaged per sample.
NDArray focal_loss(const NDArray& logits, const NDArray& label, double alpha = 0.25, double gamma = 2) {
  NDArray pt = nd::pick(nd::softmax(logits, -1), label, -1, true);
  return nd::mean(-alpha * nd::power(1.0 - pt, gamma) * nd::log(pt), {0}, false, true);
}
// The book's SmoothL1Loss on masked box offsets: 0.5 d^2 below 1, |d| - 0.5 above.
NDArray smooth_l1_loss(const NDArray& pred, const NDArray& target, const NDArray& mask) {
  NDArray a = nd::abs((pred - target) * mask), m = nd::minimum(a, 1.0);
  return nd::mean(0.5 * m * m + (a - m), {0}, false, true);
}

}  // namespace

int main(int argc, char** argv) {
  book::Chapter ch(argc, argv, "Object detection using convolutional neural networks (SSD)",
                   "the book: the Pikachu dataset (rendered images, downloaded); here: seeded synthetic images, one "
                   "bright rectangle or ellipse on a noisy tinted background (1 class), 64x64",
                   " [--cls-loss ce|focal]");
  if (ch.help) return 0;

  // ---- default anchor boxes: the book's 40x40 example ----
  NDArray y = ndc::MultiBoxPrior(nd::random::uniform(0, 1, {1, 3, 40, 40}),
                                 ndc::MultiBoxPriorOptions().sizes({.5, .25, .1}).ratios({1, 2, .5}));
  std::vector<float> a = y.reshape({40, 40, -1, 4}).to_vector<float>();
  const float* first = a.data() + (20 * 40 + 20) * 5 * 4;
  bool same = std::abs(first[0] - 0.2625f) < 1e-5 && std::abs(first[1] - 0.2625f) < 1e-5 &&
              std::abs(first[2] - 0.7625f) < 1e-5 && std::abs(first[3] - 0.7625f) < 1e-5;
  ch.claim(y.shape() == std::vector<int64_t>{1, 8000, 4} && same,
           "MultiBoxPrior: 40x40x(3+3-1) anchors; the first at row 21, column 21 is [0.2625, 0.2625, 0.7625, 0.7625]");

  // ---- predictions at two scales, flattened and concatenated (the book's shapes) ----
  NDArray feat1 = nd::zeros({2, 8, 20, 20});
  auto cls1 = class_predictor(5, 10), cls2 = class_predictor(3, 10);
  auto ds = down_sample(16);
  for (auto b : std::vector<std::shared_ptr<Block>>{cls1, cls2, ds}) b->collect_params().initialize();
  NDArray y1 = (*cls1)(feat1), feat2 = (*ds)(feat1), y2 = (*cls2)(feat2);
  NDArray cat = nd::concat({flatten_prediction(y1), flatten_prediction(y2)}, 1);
  ch.claim(y1.shape() == std::vector<int64_t>{2, 55, 20, 20} && feat2.shape() == std::vector<int64_t>{2, 16, 10, 10} &&
               y2.shape() == std::vector<int64_t>{2, 33, 10, 10} && cat.shape() == std::vector<int64_t>{2, 25300},
           "class predictions (2, 55, 20, 20) and (2, 33, 10, 10) flatten and concatenate to (2, 25300)");

  // ---- the book's toy SSD on a 256x256 image: 5444 anchors ----
  {
    ToySSD toy(2, {16, 32, 64}, 128, 5);
    toy.collect_params().initialize();
    auto out = toy(std::vector<NDArray>{nd::zeros({1, 3, 256, 256})});
    ch.claim(out[0].shape() == std::vector<int64_t>{1, 5444, 4} && out[1].shape() == std::vector<int64_t>{1, 5444, 3} &&
                 out[2].shape() == std::vector<int64_t>{1, 21776},
             "ToySSD(2) at 256x256: anchors (1, 5444, 4), class prediction (1, 5444, 3), box prediction (1, 21776)");
  }

  // ---- training on the synthetic detection set ----
  const int64_t side = 64, batch = 32;
  const int64_t ntrain = ch.quick ? 1024 : 4096, ntest = ch.quick ? 200 : 500;
  Detections train = synthetic(ntrain, side, static_cast<uint32_t>(ch.seed)),
             test = synthetic(ntest, side, static_cast<uint32_t>(ch.seed) + 1000);
  const std::string which = ch.flag("--cls-loss", "ce");
  if (which != "ce" && which != "focal") {
    std::fprintf(stderr, "error: --cls-loss is ce or focal, got '%s'\n", which.c_str());
    return 2;
  }
  bool ce = which == "ce";
  // Body 64 -> 16 (two down-samplings), then scales 16, 8, 4, 2 and a global 1x1.
  ToySSD net(1, {16, 32}, 32, 5);
  net.collect_params().initialize(init::Xavier(2));
  net.hybridize();
  Trainer trainer(net.collect_params(), "sgd", {{"learning_rate", 0.1}, {"wd", 5e-4}, {"momentum", 0.9}});
  int epochs = ch.budget(5, 20);
  std::vector<double> losses;
  metric::Accuracy cls_metric;
  metric::MAE box_metric;
  std::mt19937 shuffle_rng(static_cast<uint32_t>(ch.seed));
  for (int e = 0; e < epochs; ++e) {
    std::vector<float> order(ntrain);
    for (int64_t i = 0; i < ntrain; ++i) order[i] = static_cast<float>(i);
    std::shuffle(order.begin(), order.end(), shuffle_rng);
    NDArray perm = nd::array(order, {ntrain});
    double total = 0;
    int steps = 0;
    cls_metric.reset();
    box_metric.reset();
    for (int64_t b = 0; b + batch <= ntrain; b += batch) {
      NDArray idx = perm.slice(b, b + batch);
      NDArray x = nd::take(train.x, idx), lab = nd::take(train.y, idx);
      NDArray loss, cls_target, box_target, box_mask, class_preds, box_preds;
      {
        auto rec = autograd::record();
        auto out = net(std::vector<NDArray>{x});
        class_preds = out[1], box_preds = out[2];
        auto targets = ndc::MultiBoxTarget(out[0], lab, nd::transpose(class_preds, {0, 2, 1}),
                                           ndc::MultiBoxTargetOptions().negative_mining_ratio(ce ? 3 : -1));
        box_target = targets[0], box_mask = targets[1], cls_target = targets[2];
        NDArray cls_loss;
        if (ce) {  // mined negatives and positives count; ignored anchors (-1) do not
          NDArray keep = cls_target >= 0.0;
          NDArray ll = nd::pick(nd::log_softmax(class_preds, -1), nd::maximum(cls_target, 0.0), -1);
          cls_loss = -nd::sum(ll * keep, {1}) / nd::maximum(nd::sum(keep, {1}), 1.0);
        } else {
          cls_loss = focal_loss(class_preds, cls_target);
        }
        loss = cls_loss + smooth_l1_loss(box_preds, box_target, box_mask);
      }
      loss.backward();
      trainer.step(batch);
      total += nd::mean(loss).asscalar<double>();
      ++steps;
      // Ignored anchors (-1, not mined) are background for the metric.
      cls_metric.update(nd::maximum(cls_target, 0.0), nd::transpose(class_preds, {0, 2, 1}));
      box_metric.update(box_target, box_preds * box_mask);
    }
    losses.push_back(total / steps);
    std::printf("  epoch %d: loss %.4f, training %s=%.4f, %s=%.5f\n", e, losses.back(), cls_metric.get().first.c_str(),
                cls_metric.get().second, box_metric.get().first.c_str(), box_metric.get().second);
  }
  // The mined negatives are the hardest anchors, so the cross-entropy keeps a floor; the bar is
  // the epoch mean falling by 40% (measured: by 49% and 58% at seeds 1 and 2 with --quick).
  double fall = ce ? 0.6 : 0.5;
  ch.claim(losses.back() < fall * losses.front(), "the training loss falls: epoch mean ", losses.front(), " -> ",
           losses.back(), " (bar: below ", fall, "x the first epoch's)");

  // ---- test: MultiBoxDetection on held-out images; the top detection vs the true box ----
  int hits = 0;
  double iou_sum = 0;
  for (int64_t b = 0; b < ntest; b += 100) {
    int64_t e = std::min(ntest, b + 100);
    auto out = net(std::vector<NDArray>{test.x.slice(b, e)});
    NDArray probs = nd::transpose(nd::softmax(out[1], -1), {0, 2, 1});
    NDArray det = ndc::MultiBoxDetection(probs, out[2], out[0], ndc::MultiBoxDetectionOptions().force_suppress(true).clip(false));
    std::vector<float> dv = det.to_vector<float>();
    int64_t A = det.shape()[1];
    for (int64_t i = 0; i < e - b; ++i) {
      const float* top = dv.data() + i * A * 6;  // sorted: row 0 is the best detection
      if (top[0] < 0) continue;
      NDArray pred = nd::array(std::vector<float>(top + 2, top + 6), {1, 4});
      const auto& t = test.boxes[b + i];
      double iou = ndc::box_iou(pred, nd::array(std::vector<float>(t.begin(), t.end()), {1, 4})).asscalar<double>();
      iou_sum += iou;
      hits += iou > 0.5;
    }
  }
  double rate = static_cast<double>(hits) / ntest;
  // The bars: measured 0.975 (ce) and 0.77 (focal) with --quick at seed 1; the full run trains 16x longer.
  double bar = ce ? (ch.quick ? 0.9 : 0.95) : (ch.quick ? 0.7 : 0.85);
  ch.claim(rate >= bar, "held-out images: the top detection overlaps the true box with IoU > 0.5 on ",
           hits, "/", ntest, " (", rate, "; mean IoU ", iou_sum / ntest, "; bar ", bar, ")");

  // ---- box_nms on the raw detections: what MultiBoxDetection's suppression keeps ----
  auto out = net(std::vector<NDArray>{test.x.slice(0, 1)});
  NDArray probs = nd::transpose(nd::softmax(out[1], -1), {0, 2, 1});
  NDArray raw = ndc::MultiBoxDetection(probs, out[2], out[0], ndc::MultiBoxDetectionOptions().nms_threshold(0).clip(false));
  NDArray kept = ndc::box_nms(raw, ndc::BoxNmsOptions().overlap_thresh(0.5).valid_thresh(0.5).id_index(0));
  std::vector<float> kv = kept.to_vector<float>();
  int nkept = 0;
  for (size_t i = 0; i < kv.size(); i += 6) nkept += kv[i] >= 0;
  ch.claim(nkept >= 1 && nkept <= 5, "box_nms keeps ", nkept, " of the confident boxes of the first test image");
  return ch.finish();
}
