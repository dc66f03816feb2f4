// Entropy calibration: MXNet 1.9's calibrate_entropy (src/operator/quantization/calibrate.cc)
// over a histogram of 8001 bins on [-th, th], as _LayerHistogramCollector builds it.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "hgc/base/error.h"
#include "hgc/frontend/quantization/quantization.h"

namespace hgc::quantization {
namespace {

// Zeros become eps, the mass they take comes off the non-zero bins (MXNet's SmoothDistribution).
std::vector<double> smooth(const std::vector<double>& p, double eps = 0.0001) {
  size_t zeros = static_cast<size_t>(std::count(p.begin(), p.end(), 0.0));
  size_t nonzeros = p.size() - zeros;
  if (!nonzeros) return {};
  double eps1 = eps * static_cast<double>(zeros) / static_cast<double>(nonzeros);
  if (eps1 >= 1.0) return {};
  std::vector<double> r = p;
  for (double& v : r) v += v == 0 ? eps : -eps1;
  return r;
}

// KL(p || q) of the normalized distributions (scipy.stats.entropy, as MXNet's ComputeEntropy).
double kl(const std::vector<double>& p, const std::vector<double>& q) {
  double ps = std::accumulate(p.begin(), p.end(), 0.0), qs = std::accumulate(q.begin(), q.end(), 0.0);
  double d = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    double a = p[i] / ps, b = q[i] / qs;
    if (a > 0) d += a * std::log(a / b);
  }
  return d;
}

}  // namespace

float entropy_threshold(const std::vector<double>& hist, float th, bool non_negative) {
  const int num_bins = static_cast<int>(hist.size());
  if (num_bins % 2 != 1) fail("quantization", "entropy calibration needs an odd number of bins, got ", num_bins);
  const int nq = non_negative ? 255 * 2 + 1 : 255;
  const int zero = num_bins / 2;
  if (nq / 2 > zero) fail("quantization", "entropy calibration needs more than ", nq, " bins");
  auto edge = [&](int k) { return -th + 2.0 * th * k / num_bins; };
  double best = std::numeric_limits<double>::max();
  float best_th = th;
  for (int i = nq / 2; i <= zero; ++i) {
    const int start = zero - i, stop = zero + i + 1;
    std::vector<double> sliced(static_cast<size_t>(stop - start), 0.0), p(sliced.size(), 0.0);
    for (int j = 0; j < num_bins; ++j) {
      if (j <= start) p[0] += hist[j];
      else if (j >= stop) p.back() += hist[j];
      else sliced[j - start] = p[j - start] = hist[j];
    }
    const size_t merged = sliced.size() / nq;
    std::vector<double> qb(nq, 0.0);
    for (int j = 0; j < nq; ++j)
      qb[j] = std::accumulate(sliced.begin() + j * merged, sliced.begin() + (j + 1) * merged, 0.0);
    qb.back() += std::accumulate(sliced.begin() + nq * merged, sliced.end(), 0.0);
    std::vector<double> q(sliced.size(), 0.0);
    for (int j = 0; j < nq; ++j) {
      size_t a = j * merged, b = j == nq - 1 ? q.size() : (j + 1) * merged;
      auto norm = std::count_if(sliced.begin() + a, sliced.begin() + b, [](double v) { return v != 0; });
      if (norm)
        for (size_t k = a; k < b; ++k)
          if (p[k] != 0) q[k] = qb[j] / static_cast<double>(norm);
    }
    std::vector<double> ps = smooth(p), qs = smooth(q);
    double d = qs.empty() || ps.empty() ? std::numeric_limits<double>::infinity() : kl(ps, qs);
    if (d < best) best = d, best_th = static_cast<float>(edge(stop));
  }
  return best_th;
}

}  // namespace hgc::quantization
