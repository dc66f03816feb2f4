// CTCLoss as a log-space alpha recursion over the blank-extended label (length S = 2L + 1):
// alpha_t(s) = logsumexp(alpha_{t-1}(s), alpha_{t-1}(s-1), [alpha_{t-1}(s-2) when ext(s) is
// not blank and differs from ext(s-2)]) + log p_t(ext(s)); the loss is -logsumexp of
// alpha_{T_n - 1} at s = 2 L_n and 2 L_n - 1. Unreachable states hold kNeg (not -inf, so no
// inf - inf appears in the forward or its gradient).
#include "hgc/frontend/gluon/loss_ctc.h"

#include "hgc/base/error.h"
#include "hgc/frontend/nd/legacy_ops.h"
#include "nd/detail.h"

namespace hgc::gluon::loss {
namespace {

constexpr double kNeg = -1e30;

// log(exp(a) + exp(b) [+ exp(c)]) elementwise, stable.
NDArray logsumexp(const std::vector<NDArray>& xs) {
  NDArray m = xs[0];
  for (size_t i = 1; i < xs.size(); ++i) m = nd::maximum(m, xs[i]);
  NDArray s = nd::exp(xs[0] - m);
  for (size_t i = 1; i < xs.size(); ++i) s = s + nd::exp(xs[i] - m);
  return m + nd::log(s);
}

// x shifted right by k along axis 1, the first k columns `fill`.
NDArray shift(const NDArray& x, int64_t k, double fill) {
  int64_t n = x.shape()[0], s = x.shape()[1];
  if (k >= s) return nd::full({n, s}, fill, x.dtype());
  return nd::concat({nd::full({n, k}, fill, x.dtype()), nd::slice_axis(x, 1, 0, s - k)}, 1);
}

}  // namespace

CTCLoss::CTCLoss(std::string layout, std::string label_layout, LossOptions opts, BlockArgs args)
    : Loss("ctcloss", std::move(opts), std::move(args)), layout_(std::move(layout)), label_layout_(std::move(label_layout)) {
  if (layout_ != "NTC" && layout_ != "TNC") fail("gluon", "CTCLoss: layout must be NTC or TNC, got '", layout_, "'");
  if (label_layout_ != "NT" && label_layout_ != "TN")
    fail("gluon", "CTCLoss: label_layout must be NT or TN, got '", label_layout_, "'");
}

NDArray CTCLoss::operator()(const NDArray& pred, const NDArray& label, const NDArray& pred_lengths,
                            const NDArray& label_lengths, const NDArray& sample_weight) {
  std::vector<NDArray> xs{pred, label, pred_lengths, label_lengths};
  if (sample_weight.defined()) xs.push_back(sample_weight);
  return Block::operator()(xs).at(0);
}

std::vector<NDArray> CTCLoss::hybrid_forward_multi(const std::vector<NDArray>& xs) {
  if (xs.size() < 2 || xs.size() > 5)
    fail("gluon", "CTCLoss '", name(), "' takes (pred, label[, pred_lengths, label_lengths][, sample_weight]), got ",
         xs.size(), " inputs");
  bool lengths = xs.size() >= 4;
  NDArray l = lengths ? ctc(xs[0], xs[1], xs[2], xs[3]) : ctc(xs[0], xs[1], {}, {});
  NDArray sw = xs.size() == 3 ? xs[2] : xs.size() == 5 ? xs[4] : NDArray();
  return {apply_weighting(l, sw, std::nullopt)};
}

NDArray CTCLoss::compute(const NDArray& pred, const NDArray& label) { return ctc(pred, label, {}, {}); }

NDArray CTCLoss::ctc(const NDArray& pred_in, const NDArray& label_in, const NDArray& pred_lengths,
                     const NDArray& label_lengths) {
  if (pred_in.ndim() != 3) fail("gluon", "CTCLoss '", name(), "': pred must be 3-D (", layout_, "), got ",
                                nd_detail::shape_str(pred_in.shape()));
  if (label_in.ndim() != 2) fail("gluon", "CTCLoss '", name(), "': label must be 2-D (", label_layout_, "), got ",
                                 nd_detail::shape_str(label_in.shape()));
  NDArray pred = layout_ == "TNC" ? nd::swapaxes(pred_in, 0, 1) : pred_in;        // (N, T, C)
  NDArray label = label_layout_ == "TN" ? nd::swapaxes(label_in, 0, 1) : label_in;  // (N, L)
  int64_t n = pred.shape()[0], t_max = pred.shape()[1], c = pred.shape()[2], lmax = label.shape()[1], s = 2 * lmax + 1;
  if (label.shape()[0] != n)
    fail("gluon", "CTCLoss '", name(), "': ", label.shape()[0], " label rows for a batch of ", n);
  if (c < 2) fail("gluon", "CTCLoss '", name(), "': needs at least one class besides the blank, got C = ", c);
  DType dt = pred.dtype();
  double blank = double(c - 1);
  label = label.astype(dt);
  if (!label.is_symbolic()) {  // values can be checked outside a trace
    double lo = nd::min(label).asscalar<double>(), hi = nd::max(label).asscalar<double>();
    if (lo < -1 || hi >= blank)
      fail("gluon", "CTCLoss '", name(), "': labels must be classes in [0, ", c - 1, ") (the last class ", c - 1,
           " is the blank) or -1 padding, got values in [", lo, ", ", hi, "]");
  }
  // The extended label: blank, l1, blank, l2, ..., blank (padding -1 stays -1).
  NDArray blanks = nd::full({n, lmax}, blank, dt);
  NDArray ext = nd::concat({nd::stack({blanks, label}, 2).reshape({n, 2 * lmax}), nd::full({n, 1}, blank, dt)}, 1);
  // log p_t(ext(s)) for every t and s: (N, T, S).
  NDArray logp = nd::log_softmax(pred, 2);
  NDArray gather = nd::one_hot(ext, c, 1, 0, dt);  // (N, S, C); -1 rows are zeros
  NDArray lp = nd::batch_dot(logp, gather, false, true);
  // Where the s-2 transition is allowed.
  NDArray allow2 = (ext != blank) * (ext != shift(ext, 2, -2.0)) * shift(nd::ones({n, s}, dt), 2, 0);
  NDArray lab_len = label_lengths.defined() ? label_lengths.astype(dt).reshape({n}) : nd::sum(label != -1.0, {1});
  NDArray pred_len = pred_lengths.defined() ? pred_lengths.astype(dt).reshape({n}) : nd::full({n}, double(t_max), dt);
  // t = 0: only s = 0 (blank) and s = 1 (the first label) are reachable.
  NDArray first = nd::broadcast_to(nd::arange(0, double(s), 1, dt).reshape({1, s}) < 2.0, {n, s});
  NDArray start = nd::where(first, nd::slice_axis(lp, 1, 0, 1).reshape({n, s}),
                            nd::full({n, s}, kNeg, dt));
  NDArray alpha = start, final_alpha = start;
  NDArray neg = nd::full({n, s}, kNeg, dt);
  for (int64_t t = 1; t < t_max; ++t) {
    NDArray a1 = shift(alpha, 1, kNeg), a2 = nd::where(allow2, shift(alpha, 2, kNeg), neg);
    alpha = logsumexp({alpha, a1, a2}) + nd::slice_axis(lp, 1, t, t + 1).reshape({n, s});
    final_alpha = nd::where(pred_len == double(t + 1), alpha, final_alpha);
  }
  // The sequence ends on its last label (s = 2L - 1) or the blank after it (s = 2L).
  NDArray pos = nd::arange(0, double(s), 1, dt).reshape({1, s});
  NDArray two_l = nd::broadcast_to((2.0 * lab_len).reshape({n, 1}), {n, s});
  NDArray end = (nd::broadcast_to(pos, {n, s}) == two_l) + (nd::broadcast_to(pos, {n, s}) == two_l - 1.0);
  NDArray ends = nd::where(end, final_alpha, neg);
  NDArray m = nd::max(ends, {1}, true);
  NDArray ll = m.reshape({n}) + nd::log(nd::sum(nd::exp(ends - nd::broadcast_to(m, {n, s})), {1}));
  return -ll;
}

}  // namespace hgc::gluon::loss
