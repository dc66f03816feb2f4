// The rest of Gluon 1.9's losses (Hinge, SquaredHinge, Logistic, PoissonNLL, Triplet,
// CosineEmbedding) as NDArray compositions, like loss.cc: the tape differentiates them and
// hybridize() traces them.
#include <cmath>

#include "hgc/base/error.h"
#include "hgc/frontend/gluon/loss.h"
#include "hgc/frontend/nd/op.h"
#include "nd/detail.h"

namespace hgc::gluon::loss {
namespace {
NDArray like(const NDArray& label, const NDArray& pred) {
  return label.shape() == pred.shape() ? label : label.reshape(pred.shape());
}
NDArray softrelu(const NDArray& x) { return nd::op("Activation", {{"act_type", std::string("softrelu")}}, {x}); }
}  // namespace

LossOptions HingeLoss::init(LossOptions o) { return o; }
NDArray HingeLoss::compute(const NDArray& pred, const NDArray& label) {
  return nd::relu(opts_.margin_ - pred * like(label, pred));
}

LossOptions SquaredHingeLoss::init(LossOptions o) { return o; }
NDArray SquaredHingeLoss::compute(const NDArray& pred, const NDArray& label) {
  return nd::square(nd::relu(opts_.margin_ - pred * like(label, pred)));
}

LossOptions LogisticLoss::init(LossOptions o) {
  if (o.label_format_ != "signed" && o.label_format_ != "binary")
    fail("gluon", "LogisticLoss: label_format must be 'signed' or 'binary', got '", o.label_format_, "'");
  return o;
}
NDArray LogisticLoss::compute(const NDArray& pred, const NDArray& label) {
  NDArray y = like(label, pred);
  if (opts_.label_format_ == "binary") y = 2.0 * y - 1.0;
  // log(1 + exp(-x)) = relu(-x) + log(1 + exp(-|x|)), x = pred * label
  NDArray x = pred * y;
  return nd::relu(-x) + softrelu(-nd::abs(x));
}

LossOptions PoissonNLLLoss::init(LossOptions o) { return o; }
NDArray PoissonNLLLoss::compute(const NDArray& pred, const NDArray& label) {
  NDArray t = like(label, pred);
  NDArray l = opts_.from_logits_.value_or(true) ? nd::exp(pred) - t * pred : pred - t * nd::log(pred + 1e-08);
  if (opts_.compute_full_) {
    NDArray stirling = t * nd::log(t + 1e-30) - t + 0.5 * nd::log(2 * M_PI * t + 1e-30);
    l = l + nd::where(t > 1.0, stirling, nd::zeros_like(t));
  }
  // Gluon's PoissonNLLLoss returns mean(loss) over everything; Loss's batch mean then
  // leaves that scalar as it is.
  return nd::mean(l);
}

NDArray Loss3::operator()(const NDArray& a, const NDArray& b, const NDArray& c, const NDArray& sample_weight) {
  std::vector<NDArray> xs{a, b, c};
  if (sample_weight.defined()) xs.push_back(sample_weight);
  return Block::operator()(xs).at(0);
}

NDArray Loss3::compute(const NDArray&, const NDArray&) { fail("gluon", "loss '", name(), "' takes three inputs"); }

std::vector<NDArray> Loss3::hybrid_forward_multi(const std::vector<NDArray>& xs) {
  if (xs.size() != 3 && xs.size() != 4)
    fail("gluon", "loss '", name(), "' takes three inputs (and an optional sample_weight), got ", xs.size());
  NDArray l = compute3(xs[0], xs[1], xs[2]);
  return {apply_weighting(l, xs.size() == 4 ? xs[3] : NDArray(), std::nullopt)};
}

NDArray TripletLoss::compute3(const NDArray& pred, const NDArray& positive, const NDArray& negative) {
  if (pred.shape() != positive.shape() || pred.shape() != negative.shape())
    fail("gluon", "TripletLoss: pred ", nd_detail::shape_str(pred.shape()), ", positive ",
         nd_detail::shape_str(positive.shape()), " and negative ", nd_detail::shape_str(negative.shape()), " must agree");
  int ax = nd_detail::normalize_axis(opts_.batch_axis_, pred.ndim(), "TripletLoss batch_axis");
  NDArray d = nd::square(positive - pred) - nd::square(negative - pred);
  NDArray s = pred.ndim() == 1 ? d : nd::sum(d, {ax}, false, true);
  return nd::relu(s + opts_.margin_);
}

NDArray CosineEmbeddingLoss::compute3(const NDArray& a, const NDArray& b, const NDArray& label) {
  if (a.shape() != b.shape())
    fail("gluon", "CosineEmbeddingLoss: input1 ", nd_detail::shape_str(a.shape()), " and input2 ",
         nd_detail::shape_str(b.shape()), " must agree");
  NDArray dot = nd::sum(a * b, {-1});
  NDArray na = nd::sqrt(nd::sum(nd::square(a), {-1})), nb = nd::sqrt(nd::sum(nd::square(b), {-1}));
  NDArray cos = dot / nd::maximum(na * nb, 1e-12);
  NDArray y = label.reshape(cos.shape());
  NDArray pos = 1.0 - cos, neg = nd::relu(cos - opts_.margin_);
  return nd::where(y == 1.0, pos, nd::where(y == -1.0, neg, nd::zeros_like(cos)));
}

}  // namespace hgc::gluon::loss
