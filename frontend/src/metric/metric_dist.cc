// Metrics summed over the ranks of a data-parallel job (metric.h: state(), allreduce).
#include "hgc/base/error.h"
#include "hgc/dist/communicator.h"
#include "hgc/frontend/metric/metric.h"

namespace hgc::gluon::metric {

void EvalMetric::set_state(const std::vector<double>& s) {
  if (s.size() < 2) fail("metric", name_, ": set_state needs {sum_metric, num_inst}, got ", s.size(), " numbers");
  sum_ = s[0];
  count_ = s[1];
}

void F1::set_state(const std::vector<double>& s) {
  if (s.size() != 6) fail("metric", name_, ": set_state needs 6 numbers, got ", s.size());
  tp_ = s[2], fp_ = s[3], fn_ = s[4], tn_ = s[5];
  if (average_ == "micro") {
    count_ = tp_ + fp_ + fn_ + tn_;
    double p = tp_ + fp_ > 0 ? tp_ / (tp_ + fp_) : 0, r = tp_ + fn_ > 0 ? tp_ / (tp_ + fn_) : 0;
    sum_ = (p + r > 0 ? 2 * p * r / (p + r) : 0) * count_;
  } else {
    sum_ = s[0];
    count_ = s[1];
  }
}

void allreduce(EvalMetric& m, dist::Communicator& comm) {
  std::vector<double> s = m.state();
  // Every rank must send as many numbers: a metric of another kind elsewhere is caught here.
  int64_t n = static_cast<int64_t>(s.size());
  std::vector<int64_t> counts(comm.size());
  comm.allgather(&n, counts.data(), sizeof n);
  for (int r = 0; r < comm.size(); ++r)
    if (counts[r] != n)
      fail("metric", "allreduce of ", m.get().first, ": rank ", r, " sends ", counts[r], " numbers, this rank ", n,
           " (different metrics on different ranks?)");
  comm.allreduce(s);
  m.set_state(s);
}

}  // namespace hgc::gluon::metric
